"""Placeholder: being built."""

from __future__ import annotations

from minemap_app import ui

ui.page_header("upload")
