"""Strongroom atrest."""
