"""Strongroom cli."""
