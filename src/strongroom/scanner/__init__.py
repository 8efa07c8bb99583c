"""Strongroom scanner."""
