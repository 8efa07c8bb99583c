"""Strongroom sdk."""
