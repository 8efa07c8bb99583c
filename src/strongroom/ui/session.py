"""Dashboard sessions: the Vault token lives only inside an AEAD-encrypted, HttpOnly, SameSite=Strict cookie
(never in localStorage or a URL). The key is random per server process, so a restart signs everyone out.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from dataclasses import dataclass

import orjson

from strongroom.crypto import CryptoError, aead, constant_time_eq

COOKIE = "sr_session"
AAD = b"strongroom-ui-session-v1"


@dataclass
class Session:
    token: str
    csrf: str
    display: str
    last_seen: float

    def check_csrf(self, value: str | None) -> bool:
        return bool(value) and constant_time_eq(self.csrf, value or "")


class SessionCodec:
    def __init__(self, *, idle_seconds: int = 900, secure: bool = False) -> None:
        self._key = aead.generate_key()
        self.idle_seconds = idle_seconds
        self.secure = secure

    def new(self, token: str, display: str) -> Session:
        return Session(token, secrets.token_urlsafe(24), display, time.time())

    def encode(self, s: Session) -> str:
        raw = orjson.dumps({"t": s.token, "c": s.csrf, "d": s.display, "l": s.last_seen})
        return base64.urlsafe_b64encode(aead.seal(self._key, 1, raw, AAD)).decode()

    def decode(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            raw = aead.open_(self._key, base64.urlsafe_b64decode(cookie.encode()), AAD)
            d = orjson.loads(raw)
        except (CryptoError, binascii.Error, ValueError, orjson.JSONDecodeError):
            return None
        s = Session(d["t"], d["c"], d["d"], float(d["l"]))
        if time.time() - s.last_seen > self.idle_seconds:
            return None  # idle auto-lock
        return s

    def set_cookie(self, s: Session) -> str:
        s.last_seen = time.time()
        attrs = f"{COOKIE}={self.encode(s)}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={self.idle_seconds}"
        return attrs + ("; Secure" if self.secure else "")

    def clear_cookie(self) -> str:
        return f"{COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0" + ("; Secure" if self.secure else "")
