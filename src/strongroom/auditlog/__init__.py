"""Reading, searching, summarising and exporting audit files, without a server (used by `strongroom audit` and
the UI). Pure library: no core imports; HMAC values are compared as the device wrote them."""

from __future__ import annotations

from strongroom.auditlog.export import cef, jsonl, ocsf
from strongroom.auditlog.model import Record, record
from strongroom.auditlog.query import (
    Filter,
    Summary,
    find_value,
    hmac_matches,
    parse_when,
    prefilter,
    select,
    summarise,
)
from strongroom.auditlog.reader import AuditFileError, Line, ReadStats, follow, parse_line, read, total_size

__all__ = ["AuditFileError", "Filter", "Line", "ReadStats", "Record", "Summary", "cef", "find_value", "follow",
           "hmac_matches", "jsonl", "ocsf", "parse_line", "parse_when", "prefilter", "read", "record", "select",
           "summarise", "total_size"]
