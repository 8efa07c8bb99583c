"""The web dashboard, served by `strongroom server` at /ui. See app.py."""

from strongroom.ui.app import Dashboard

__all__ = ["Dashboard"]
