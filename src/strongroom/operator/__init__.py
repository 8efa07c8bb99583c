"""Strongroom operator."""
