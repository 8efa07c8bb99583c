"""Strongroom kms."""
