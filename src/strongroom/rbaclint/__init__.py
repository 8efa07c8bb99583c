"""Strongroom rbaclint."""
