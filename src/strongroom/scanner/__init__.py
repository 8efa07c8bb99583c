"""Strongroom secret scanner: rules as data, a keyword-prefiltered engine, Kubernetes and git awareness."""

from strongroom.scanner.engine import Finding, Scanner
from strongroom.scanner.rules import RULES, Rule

__all__ = ["RULES", "Finding", "Rule", "Scanner"]
