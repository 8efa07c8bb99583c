"""`spec.provider.fake` (ESO's Fake store): static `data[{key, value, version}]`, for tests and demos."""

from __future__ import annotations

import json
import re
from typing import Any

from strongroom.operator.externalsecret.providers import base
from strongroom.operator.externalsecret.providers.base import NoSecretError, Ref, StoreConfigError, StoreContext


class FakeProvider:
    name = "fake"

    def __init__(self, ctx: StoreContext) -> None:
        self.entries: list[dict[str, Any]] = list(ctx.provider_spec("fake").get("data") or [])
        for e in self.entries:
            if "key" not in e:
                raise StoreConfigError("spec.provider.fake.data[] entries need a key")
        self.reads = 0

    def _value(self, key: str, version: str) -> str:
        self.reads += 1
        for e in self.entries:
            if e.get("key") == key and str(e.get("version") or "") == version:
                return str(e.get("value", ""))
        raise NoSecretError(f"secret {key!r} not found")

    async def validate(self) -> None:
        return None

    async def get_secret(self, ref: Ref) -> bytes:
        value = self._value(ref.key, ref.version)
        if not ref.property:
            return value.encode()
        try:
            doc = json.loads(value)
        except ValueError:
            raise NoSecretError(f"secret {ref.key!r} is not JSON, cannot select a property") from None
        return base.select_property(doc, ref.property, f"secret {ref.key!r}")

    async def get_secret_map(self, ref: Ref) -> dict[str, bytes]:
        try:
            doc = json.loads(self._value(ref.key, ref.version))
        except ValueError:
            raise NoSecretError(f"secret {ref.key!r} is not a JSON map") from None
        if not isinstance(doc, dict):
            raise NoSecretError(f"secret {ref.key!r} is not a JSON map")
        return {str(k): base.encode_value(v) for k, v in doc.items()}

    async def find(self, path: str, name_regexp: str, tags: dict[str, str]) -> dict[str, bytes]:
        rx = re.compile(name_regexp) if name_regexp else None
        return {str(e["key"]).replace("/", "_"): str(e.get("value", "")).encode() for e in self.entries
                if str(e["key"]).startswith(path) and (rx is None or rx.search(str(e["key"])))}

    async def close(self) -> None:
        return None


async def factory(ctx: StoreContext) -> FakeProvider:
    return FakeProvider(ctx)


base.register("fake", factory)
