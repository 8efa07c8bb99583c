"""Strongroom client."""
