"""Strongroom sealing."""
