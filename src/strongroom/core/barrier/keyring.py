"""The keyring: an immutable value. The newest term encrypts; every term decrypts. Rotation clones."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field

import orjson

from strongroom.crypto import aead


@dataclass(frozen=True)
class Key:
    term: int
    value: bytes
    install_time: float


@dataclass(frozen=True)
class Keyring:
    root_key: bytes
    keys: tuple[Key, ...] = field(default_factory=tuple)
    encryptions_since_rotation: int = 0

    @classmethod
    def new(cls, root_key: bytes) -> Keyring:
        return cls(root_key, (Key(1, aead.generate_key(), time.time()),))

    @property
    def active(self) -> Key:
        return self.keys[-1]

    def key(self, term: int) -> Key | None:
        for k in self.keys:
            if k.term == term:
                return k
        return None

    def rotate(self) -> Keyring:
        nxt = Key(self.active.term + 1, aead.generate_key(), time.time())
        return Keyring(self.root_key, (*self.keys, nxt))

    def with_root_key(self, root_key: bytes) -> Keyring:
        return Keyring(root_key, self.keys)

    def serialize(self) -> bytes:
        return orjson.dumps({
            "root_key": base64.b64encode(self.root_key).decode(),
            "keys": [{"term": k.term, "value": base64.b64encode(k.value).decode(), "install_time": k.install_time}
                     for k in self.keys],
        })

    @classmethod
    def deserialize(cls, raw: bytes) -> Keyring:
        d = orjson.loads(raw)
        return cls(base64.b64decode(d["root_key"]),
                   tuple(Key(k["term"], base64.b64decode(k["value"]), k["install_time"]) for k in d["keys"]))
