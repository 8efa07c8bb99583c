"""Strongroom server."""
