"""Audit devices: file (path or stdout), socket (tcp/udp/unix) and syslog. Each writes whole JSON lines.

A device does blocking I/O on its own thread, so a stalled disk or socket never blocks the event loop; the
broker decides how long to wait for it.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import socket
import sys
import threading
from typing import Any, Protocol

from strongroom.sdk.errors import InvalidRequest

log = logging.getLogger("strongroom.audit")


class Device(Protocol):
    def write(self, line: bytes) -> None:
        """Blocking; raises on failure."""
        ...

    def reopen(self) -> None: ...

    def close(self) -> None: ...


class FileDevice:
    def __init__(self, options: dict[str, Any]) -> None:
        self.path = str(options.get("file_path") or options.get("path") or "")
        if not self.path:
            raise InvalidRequest("file audit device needs options.file_path (a path, 'stdout' or 'discard')")
        mode = str(options.get("mode", "0600"))
        try:
            self.mode = int(mode, 8)
        except ValueError:
            raise InvalidRequest(f"invalid file mode {mode!r}") from None
        self._lock = threading.Lock()
        self._fh: Any = None
        self.reopen()

    def reopen(self) -> None:
        with self._lock:
            if self.path in ("stdout", "discard"):
                return
            if self._fh is not None:
                self._fh.close()
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, self.mode)
            if self.mode:
                os.chmod(self.path, self.mode)
            self._fh = os.fdopen(fd, "ab", buffering=0)

    def write(self, line: bytes) -> None:
        if self.path == "discard":
            return
        if self.path == "stdout":
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()
            return
        with self._lock:
            self._fh.write(line)

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


class SocketDevice:
    def __init__(self, options: dict[str, Any]) -> None:
        self.address = str(options.get("address", ""))
        self.kind = str(options.get("socket_type", "tcp")).lower()
        if not self.address or self.kind not in ("tcp", "udp", "unix"):
            raise InvalidRequest("socket audit device needs options.address and socket_type tcp|udp|unix")
        self.timeout = float(str(options.get("write_timeout", "2s")).rstrip("s") or 2)
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def _connect(self) -> socket.socket:
        if self.kind == "unix":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(self.timeout)
            s.connect(self.address)
            return s
        host, _, port = self.address.rpartition(":")
        stype = socket.SOCK_STREAM if self.kind == "tcp" else socket.SOCK_DGRAM
        s = socket.socket(socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET, stype)
        s.settimeout(self.timeout)
        s.connect((host.strip("[]"), int(port)))
        return s

    def write(self, line: bytes) -> None:
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = self._connect()
                self._sock.sendall(line)
            except OSError:
                if self._sock is not None:
                    self._sock.close()
                self._sock = None
                raise

    def reopen(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
            self._sock = None

    def close(self) -> None:
        self.reopen()


class SyslogDevice:
    FACILITIES = logging.handlers.SysLogHandler.facility_names

    def __init__(self, options: dict[str, Any]) -> None:
        facility = str(options.get("facility", "AUTH")).lower()
        if facility not in self.FACILITIES:
            raise InvalidRequest(f"unknown syslog facility {facility!r}")
        self.tag = str(options.get("tag", "strongroom"))
        address = str(options.get("address", "/dev/log"))
        addr: str | tuple[str, int] = address
        if ":" in address and not address.startswith("/"):
            h, _, p = address.rpartition(":")
            addr = (h, int(p))
        self.handler = logging.handlers.SysLogHandler(address=addr, facility=self.FACILITIES[facility])

    def write(self, line: bytes) -> None:
        record = logging.LogRecord(self.tag, logging.INFO, "", 0, line.decode().rstrip("\n"), None, None)
        msg = self.handler.format(record)
        prio = self.handler.encodePriority(self.handler.facility, "info")
        data = f"<{prio}>{msg}\x00".encode()
        sock = self.handler.socket  # type: ignore[attr-defined]  # set by SysLogHandler.__init__
        if self.handler.unixsocket:
            sock.send(data)
        else:
            sock.sendto(data, self.handler.address)

    def reopen(self) -> None:
        return None

    def close(self) -> None:
        self.handler.close()


def build(kind: str, options: dict[str, Any]) -> Device:
    if kind == "file":
        return FileDevice(options)
    if kind == "socket":
        return SocketDevice(options)
    if kind == "syslog":
        return SyslogDevice(options)
    raise InvalidRequest(f"unknown audit device type {kind!r} (file, socket or syslog)")
