"""Response wrapping: a response is stored behind a single-use token and handed over exactly once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from strongroom.core import clock
from strongroom.core.barrier import View
from strongroom.core.tokens.entry import TokenEntry
from strongroom.sdk.errors import InvalidRequest

if TYPE_CHECKING:
    from strongroom.core.core import Core
    from strongroom.core.request import ApiResult

MAX_WRAP_TTL = 32 * 24 * 3600


class Wrapping:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.view = View(core.barrier, "sys/wrapping/")

    async def wrap_payload(self, payload: dict[str, Any], ttl: int, creation_path: str,
                           creator: TokenEntry | None) -> dict[str, Any]:
        if ttl <= 0:
            raise InvalidRequest("wrapping TTL must be positive")
        ttl = min(ttl, MAX_WRAP_TTL)
        now = clock.now()
        entry = TokenEntry(id_hash="", accessor="", policies=["response-wrapping"], num_uses=1, ttl=ttl,
                           display_name="token", path=creation_path, explicit_max_ttl=ttl, orphan=True, renewable=False,
                           expire_time=now + ttl, creation_time=now,
                           wrapping={"creation_path": creation_path, "creation_ttl": ttl, "creation_time": now})
        token = await self.core.tokens.create(entry)
        await self.view.put(entry.id_hash, orjson.dumps(payload))
        info: dict[str, Any] = {"token": token, "accessor": entry.accessor, "ttl": ttl,
                                "creation_time": clock.rfc3339(now), "creation_path": creation_path}
        if creator is not None and creator.entity_id:
            info["wrapped_entity_id"] = creator.entity_id
        return info

    async def wrap(self, result: ApiResult, ttl: int, path: str, creator: TokenEntry | None) -> dict[str, Any]:
        from strongroom.core.envelope import envelope

        payload = envelope(result, wrapped=True)
        info = await self.wrap_payload(payload, ttl, path, creator)
        if result.auth is not None:
            info["wrapped_accessor"] = result.auth.get("accessor", "")
        return info

    async def _entry(self, token: str, *, used_by_this_request: bool = False) -> TokenEntry:
        """The wrapping token's entry. When it authenticated this very request (X-Vault-Token), the pipeline has
        already spent its single use on it; that use is this unwrap, so an exhausted entry is accepted then."""
        e = await self.core.tokens.lookup(token)
        if e is None or "response-wrapping" not in e.policies or (e.num_uses < 0 and not used_by_this_request):
            raise InvalidRequest("wrapping token is not valid or does not exist")
        return e

    async def unwrap(self, token: str, *, used_by_this_request: bool = False) -> dict[str, Any]:
        e = await self._entry(token, used_by_this_request=used_by_this_request)
        raw = await self.view.get(e.id_hash)
        await self.view.delete(e.id_hash)
        await self.core.tokens.revoke_tree(e)
        if raw is None:
            raise InvalidRequest("wrapping token is not valid or does not exist")
        payload: dict[str, Any] = orjson.loads(raw)
        return payload

    async def lookup(self, token: str) -> dict[str, Any]:
        e = await self._entry(token)
        w = e.wrapping
        return {"creation_path": w.get("creation_path", ""), "creation_ttl": w.get("creation_ttl", 0),
                "creation_time": clock.rfc3339(w.get("creation_time", e.creation_time))}

    async def rewrap(self, token: str) -> dict[str, Any]:
        e = await self._entry(token)
        raw = await self.view.get(e.id_hash)
        if raw is None:
            raise InvalidRequest("wrapping token is not valid or does not exist")
        w = e.wrapping
        await self.view.delete(e.id_hash)
        await self.core.tokens.revoke_tree(e)
        return await self.wrap_payload(orjson.loads(raw), int(w.get("creation_ttl", 300)),
                                       str(w.get("creation_path", "")), None)
