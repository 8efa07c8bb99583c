"""The token store: tokens hashed at rest (HMAC-SHA256 with a per-cluster salt), accessors, the parent/child
tree for cascading revocation, TTL/period/num_uses. A small in-process cache keeps lookup-self off storage.
"""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from strongroom.core import clock
from strongroom.core.barrier import View
from strongroom.core.tokens.entry import TokenEntry
from strongroom.crypto import hmac_sha256, random_bytes
from strongroom.sdk.errors import InvalidRequest

_ALPHABET = string.ascii_letters + string.digits
TOKEN_PREFIX = "s."
TOKEN_RANDOM_LEN = 24
TOKEN_LEN = len(TOKEN_PREFIX) + TOKEN_RANDOM_LEN  # also the generate-root OTP length
DEFAULT_TTL = 32 * 24 * 3600  # 768h, Vault's system default
MAX_TTL = 32 * 24 * 3600

RevokeHook = Callable[[TokenEntry], Awaitable[None]]


def random_id(n: int = TOKEN_RANDOM_LEN) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


@dataclass
class TTLDecision:
    ttl: int
    expire_time: float


class TokenStore:
    def __init__(self, view: View) -> None:
        self.view = view  # chrooted at sys/token/
        self._salt: bytes | None = None
        self._cache: dict[str, TokenEntry] = {}
        self.on_revoke: list[RevokeHook] = []
        self.on_create: list[Callable[[TokenEntry], None]] = []

    async def setup(self) -> None:
        salt = await self.view.get("salt")
        if salt is None:
            salt = random_bytes(32)
            await self.view.put("salt", salt)
        self._salt = salt
        self._cache.clear()

    def reset(self) -> None:
        self._salt = None
        self._cache.clear()

    def hash(self, value: str) -> str:
        if self._salt is None:
            raise RuntimeError("token store is not set up")
        return base64.urlsafe_b64encode(hmac_sha256(self._salt, value.encode())).decode().rstrip("=")

    # --- persistence ------------------------------------------------------------------------------------------

    async def _save(self, e: TokenEntry) -> None:
        await self.view.put(f"id/{e.id_hash}", e.to_json())
        self._cache[e.id_hash] = e

    async def _load(self, id_hash: str) -> TokenEntry | None:
        e = self._cache.get(id_hash)
        if e is not None:
            return e
        raw = await self.view.get(f"id/{id_hash}")
        if raw is None:
            return None
        e = TokenEntry.from_json(raw)
        self._cache[id_hash] = e
        return e

    def invalidate(self, id_hash: str | None = None) -> None:
        if id_hash is None:
            self._cache.clear()
        else:
            self._cache.pop(id_hash, None)

    # --- create / lookup --------------------------------------------------------------------------------------

    async def create(self, entry: TokenEntry, *, token_id: str | None = None) -> str:
        token = token_id or TOKEN_PREFIX + random_id()
        entry.id_hash = self.hash(token)
        if await self._load(entry.id_hash) is not None:
            raise InvalidRequest("cannot create a token with a duplicate ID")
        entry.accessor = entry.accessor or random_id()
        now = clock.now()
        entry.creation_time = entry.creation_time or now
        entry.issue_time = entry.issue_time or now
        items: list[tuple[str, bytes | None]] = [
            (f"id/{entry.id_hash}", entry.to_json()),
            (f"accessor/{self.hash('accessor:' + entry.accessor)}", entry.id_hash.encode()),
        ]
        if entry.parent_hash:
            items.append((f"parent/{entry.parent_hash}/{entry.id_hash}", b""))
        await self.view.put_many(items)  # entry and indexes in one atomic commit
        self._cache[entry.id_hash] = entry
        for hook in self.on_create:
            hook(entry)
        return token

    async def lookup(self, token: str) -> TokenEntry | None:
        if not token:
            return None
        return await self.lookup_hash(self.hash(token))

    async def lookup_hash(self, id_hash: str) -> TokenEntry | None:
        e = await self._load(id_hash)
        if e is None:
            return None
        if e.expire_time and e.expire_time <= clock.now():
            await self.revoke_tree(e)
            return None
        return e

    async def lookup_accessor(self, accessor: str) -> TokenEntry | None:
        raw = await self.view.get(f"accessor/{self.hash('accessor:' + accessor)}")
        if raw is None:
            return None
        return await self.lookup_hash(raw.decode())

    async def use(self, e: TokenEntry) -> bool:
        """Counts one use. Returns True when this was the last permitted use (revoke after the request)."""
        if e.num_uses <= 0:
            return False
        e.num_uses -= 1
        if e.num_uses == 0:
            e.num_uses = -1  # exhausted: not usable again even before revocation lands
            await self._save(e)
            return True
        await self._save(e)
        return False

    async def update(self, e: TokenEntry) -> None:
        await self._save(e)

    async def children(self, e: TokenEntry) -> list[str]:
        return [c for c in await self.view.list(f"parent/{e.id_hash}/") if not c.endswith("/")]

    # --- revocation -------------------------------------------------------------------------------------------

    async def _revoke_one(self, e: TokenEntry) -> None:
        for hook in self.on_revoke:
            await hook(e)
        items: list[tuple[str, bytes | None]] = [
            (f"id/{e.id_hash}", None), (f"accessor/{self.hash('accessor:' + e.accessor)}", None)]
        if e.parent_hash:
            items.append((f"parent/{e.parent_hash}/{e.id_hash}", None))
        await self.view.put_many(items)
        self._cache.pop(e.id_hash, None)

    async def revoke_tree(self, e: TokenEntry) -> None:
        """Revokes a token and all its descendants (depth first, iterative: deep trees don't recurse)."""
        stack = [e]
        order: list[TokenEntry] = []
        while stack:
            cur = stack.pop()
            order.append(cur)
            for child_hash in await self.children(cur):
                child = await self._load(child_hash)
                if child is not None:
                    stack.append(child)
                else:
                    await self.view.delete(f"parent/{cur.id_hash}/{child_hash}")
        for cur in reversed(order):
            await self._revoke_one(cur)

    async def revoke_orphan(self, e: TokenEntry) -> None:
        """Revokes only this token; its children become orphans."""
        for child_hash in await self.children(e):
            child = await self._load(child_hash)
            if child is not None:
                child.parent_hash = ""
                child.orphan = True
                await self._save(child)
            await self.view.delete(f"parent/{e.id_hash}/{child_hash}")
        await self._revoke_one(e)

    # --- TTL --------------------------------------------------------------------------------------------------

    @staticmethod
    def compute_ttl(*, requested: int, period: int, explicit_max: int, mount_default: int, mount_max: int,
                    now: float, created: float, max_expire: float = 0.0) -> TTLDecision:
        """Vault's rules: period wins (renewable forever up to explicit max); else ttl capped by max TTLs."""
        default = mount_default or DEFAULT_TTL
        system_max = mount_max or MAX_TTL
        if period > 0:
            ttl = period
        else:
            ttl = requested if requested > 0 else default
            ttl = min(ttl, system_max)
            hard = created + system_max
            ttl = min(ttl, max(0, int(hard - now)))
        if explicit_max > 0:
            ttl = min(ttl, max(0, int(created + explicit_max - now))) if ttl else explicit_max
        if max_expire:
            ttl = min(ttl, max(0, int(max_expire - now)))
        return TTLDecision(ttl, now + ttl if ttl > 0 else 0.0)

    async def tidy(self) -> int:
        """Removes expired tokens and dangling index entries. Returns how many tokens were revoked."""
        n = 0
        for h in await self.view.list("id/"):
            raw = await self.view.get(f"id/{h}")
            if raw is None:
                continue
            e = TokenEntry.from_json(raw)
            if e.expire_time and e.expire_time <= clock.now():
                await self.revoke_tree(e)
                n += 1
        for parent in await self.view.list("parent/"):
            parent_hash = parent.rstrip("/")
            if await self._load(parent_hash) is None:
                for child_hash in await self.view.list(f"parent/{parent}"):
                    child = await self._load(child_hash)
                    if child is not None:
                        child.parent_hash = ""
                        child.orphan = True
                        await self._save(child)
                    await self.view.delete(f"parent/{parent}{child_hash}")
        return n
