"""Page scripts of the web app (run by st.navigation, not imported)."""
