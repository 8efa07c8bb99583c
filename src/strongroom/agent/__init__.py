"""Strongroom agent."""
