"""Log setup: plain or JSON lines. Log records never carry secret values; see server/errors.py."""

from __future__ import annotations

import logging
import sys

import orjson

LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
          "warning": logging.WARNING, "error": logging.ERROR}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"@timestamp": self.formatTime(record), "@level": record.levelname.lower(),
                 "@module": record.name, "@message": record.getMessage()}
        if record.exc_info and record.exc_info[0] is not None:
            entry["@error"] = record.exc_info[0].__name__
        return orjson.dumps(entry).decode()


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] %(name)s: %(message)s"))
    root = logging.getLogger("strongroom")
    root.handlers[:] = [handler]
    root.setLevel(LEVELS.get(level, logging.INFO))
    root.propagate = False
