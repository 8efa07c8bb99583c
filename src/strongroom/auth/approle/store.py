"""AppRole storage: roles, the role_id index and secret IDs, all keyed by HMAC with a per-mount salt.

Layout (inside the mount's encrypted view):
    salt                                   32 random bytes, created on first use
    role/<name>                            the role (JSON), including its role_id
    role_id/<hmac(role_id)>                {"name": <role>}
    secret_id/<hmac(role)>/<hmac(sid)>     a secret ID's entry (the secret ID itself is never stored)
    accessor/<hmac(accessor)>              {"role": <role>, "hmac": <hmac(sid)>}
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from strongroom.crypto import hmac_sha256, random_bytes
from strongroom.sdk import Storage
from strongroom.sdk.storage import write_all


@dataclass
class SecretIDEntry:
    accessor: str
    num_uses: int = 0
    ttl: int = 0
    creation_time: float = 0.0
    expiration_time: float = 0.0  # 0 = never
    last_updated_time: float = 0.0
    metadata: dict[str, str] = field(default_factory=dict)
    cidr_list: list[str] = field(default_factory=list)
    token_bound_cidrs: list[str] = field(default_factory=list)

    def expired(self, now: float) -> bool:
        return bool(self.expiration_time) and now >= self.expiration_time

    def view(self) -> dict[str, Any]:
        return {"cidr_list": self.cidr_list, "creation_time": _rfc3339(self.creation_time),
                "expiration_time": _rfc3339(self.expiration_time), "last_updated_time":
                    _rfc3339(self.last_updated_time), "metadata": self.metadata,
                "secret_id_accessor": self.accessor, "secret_id_num_uses": self.num_uses,
                "secret_id_ttl": self.ttl, "token_bound_cidrs": self.token_bound_cidrs}


def _rfc3339(t: float) -> str:
    if not t:
        return "0001-01-01T00:00:00Z"
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"


class AppRoleStore:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._salt: bytes | None = None
        self.lock = asyncio.Lock()  # serialises secret-ID use counting and role-id changes

    async def _key(self) -> bytes:
        if self._salt is None:
            salt = await self.storage.get("salt")
            if salt is None:
                salt = random_bytes(32)
                await self.storage.put("salt", salt)
            self._salt = salt
        return self._salt

    async def hmac(self, value: str) -> str:
        digest = hmac_sha256(await self._key(), value.encode())
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    # --- roles ---------------------------------------------------------------------------------------------

    async def role(self, name: str) -> dict[str, Any] | None:
        raw = await self.storage.get(f"role/{name}")
        return None if raw is None else dict(orjson.loads(raw))

    async def put_role(self, name: str, role: dict[str, Any]) -> None:
        await self.storage.put(f"role/{name}", orjson.dumps(role))

    async def roles(self) -> list[str]:
        return await self.storage.list("role/")

    async def role_by_id(self, role_id: str) -> tuple[str, dict[str, Any]] | None:
        raw = await self.storage.get(f"role_id/{await self.hmac(role_id)}")
        if raw is None:
            return None
        name = str(orjson.loads(raw)["name"])
        role = await self.role(name)
        return None if role is None else (name, role)

    async def role_id_owner(self, role_id: str) -> str | None:
        raw = await self.storage.get(f"role_id/{await self.hmac(role_id)}")
        return None if raw is None else str(orjson.loads(raw)["name"])

    async def set_role_id(self, name: str, old: str, new: str) -> None:
        items: list[tuple[str, bytes | None]] = [(f"role_id/{await self.hmac(old)}", None)] if old else []
        items.append((f"role_id/{await self.hmac(new)}", orjson.dumps({"name": name})))
        await write_all(self.storage, items)

    async def delete_role(self, name: str, role: dict[str, Any]) -> None:
        for sid_hmac in await self.storage.list(f"secret_id/{await self.hmac(name)}/"):
            await self.delete_secret_id(name, sid_hmac)
        if role.get("role_id"):
            await self.storage.delete(f"role_id/{await self.hmac(role['role_id'])}")
        await self.storage.delete(f"role/{name}")

    # --- secret IDs ----------------------------------------------------------------------------------------

    async def _sid_key(self, role: str, sid_hmac: str) -> str:
        return f"secret_id/{await self.hmac(role)}/{sid_hmac}"

    async def secret_id(self, role: str, sid_hmac: str) -> SecretIDEntry | None:
        raw = await self.storage.get(await self._sid_key(role, sid_hmac))
        return None if raw is None else SecretIDEntry(**orjson.loads(raw))

    async def put_secret_id(self, role: str, sid_hmac: str, e: SecretIDEntry, *, new: bool = True) -> None:
        """The entry and (when new) its accessor index, in one commit where the storage allows."""
        items: list[tuple[str, bytes | None]] = [(await self._sid_key(role, sid_hmac), orjson.dumps(asdict(e)))]
        if new:
            items.append((f"accessor/{await self.hmac(e.accessor)}", orjson.dumps({"role": role, "hmac": sid_hmac})))
        await write_all(self.storage, items)

    async def delete_secret_id(self, role: str, sid_hmac: str) -> None:
        e = await self.secret_id(role, sid_hmac)
        items: list[tuple[str, bytes | None]] = []
        if e is not None:
            items.append((f"accessor/{await self.hmac(e.accessor)}", None))
        items.append((await self._sid_key(role, sid_hmac), None))
        await write_all(self.storage, items)

    async def by_accessor(self, role: str, accessor: str) -> tuple[str, SecretIDEntry] | None:
        raw = await self.storage.get(f"accessor/{await self.hmac(accessor)}")
        if raw is None:
            return None
        ref = orjson.loads(raw)
        if ref["role"] != role:
            return None
        e = await self.secret_id(role, ref["hmac"])
        return None if e is None else (ref["hmac"], e)

    async def secret_id_hmacs(self, role: str) -> list[str]:
        return await self.storage.list(f"secret_id/{await self.hmac(role)}/")

    async def tidy(self, now: float) -> int:
        """Deletes expired secret IDs and accessor entries whose secret ID is gone. Returns how many went."""
        removed = 0
        for name in await self.roles():
            for sid_hmac in await self.secret_id_hmacs(name):
                e = await self.secret_id(name, sid_hmac)
                if e is not None and e.expired(now):
                    await self.delete_secret_id(name, sid_hmac)
                    removed += 1
        for acc_key in await self.storage.list("accessor/"):
            raw = await self.storage.get(f"accessor/{acc_key}")
            if raw is None:
                continue
            ref = orjson.loads(raw)
            if await self.secret_id(ref["role"], ref["hmac"]) is None:
                await self.storage.delete(f"accessor/{acc_key}")
                removed += 1
        return removed


__all__ = ["AppRoleStore", "SecretIDEntry"]
