"""The minemap web app (Streamlit): thin pages over the ``minemap`` library.

Start it with ``minemap serve [--store PATH] [--port N]``. Nothing in ``minemap`` imports
this package; this package imports ``minemap`` through :mod:`minemap_app.cache` only.
"""
