"""Stored ACL policies (HCL/JSON text + parsed form), with compiled ACLs cached per policy set."""

from __future__ import annotations

from collections import OrderedDict

import orjson

from strongroom.core.barrier import View
from strongroom.core.policy import (
    ACL,
    Policy,
    builtin_policies,
    check_policy_deletable,
    check_policy_writable,
    parse_policy,
)
from strongroom.core.policy.defaults import DEFAULT_POLICY_HCL
from strongroom.sdk.errors import InvalidRequest

CACHE_SIZE = 1024
MAX_POLICY_BYTES = 512 * 1024  # pyhcl is slow on huge inputs; real policies are a few KiB


class PolicyStore:
    def __init__(self, view: View) -> None:
        self.view = view  # sys/policy/
        self._parsed: dict[str, Policy] = {}
        self._acls: OrderedDict[frozenset[str], ACL] = OrderedDict()

    async def setup(self) -> None:
        self._parsed.clear()
        self._acls.clear()
        if await self.view.get("acl/default") is None:
            await self.view.put("acl/default", orjson.dumps({"name": "default", "policy": DEFAULT_POLICY_HCL}))

    async def names(self) -> list[str]:
        return sorted([*(n for n in await self.view.list("acl/") if not n.endswith("/")), "root"])

    async def get_text(self, name: str) -> str | None:
        raw = await self.view.get(f"acl/{name}")
        return None if raw is None else str(orjson.loads(raw)["policy"])

    async def get(self, name: str) -> Policy | None:
        p = self._parsed.get(name)
        if p is not None:
            return p
        text = await self.get_text(name)
        if text is None:
            return None
        p = parse_policy(name, text)
        self._parsed[name] = p
        return p

    async def put(self, name: str, text: str) -> None:
        name = check_policy_writable(name)
        if not text.strip():
            raise InvalidRequest("'policy' parameter not supplied or empty")
        if len(text) > MAX_POLICY_BYTES:
            raise InvalidRequest(f"policy is larger than {MAX_POLICY_BYTES} bytes")
        parsed = parse_policy(name, text)
        await self.view.put(f"acl/{name}", orjson.dumps({"name": name, "policy": text}))
        self._parsed[name] = parsed
        self._acls.clear()

    async def delete(self, name: str) -> None:
        name = check_policy_deletable(name)
        await self.view.delete(f"acl/{name}")
        self._parsed.pop(name, None)
        self._acls.clear()

    def invalidate(self) -> None:
        self._parsed.clear()
        self._acls.clear()

    async def acl(self, names: list[str] | tuple[str, ...]) -> ACL:
        key = frozenset(names)
        acl = self._acls.get(key)
        if acl is not None:
            self._acls.move_to_end(key)
            return acl
        policies: list[Policy] = []
        builtins = builtin_policies()
        for n in sorted(key):
            if n in builtins and n != "default":
                policies.append(builtins[n])
                continue
            p = await self.get(n)
            if p is not None:
                policies.append(p)
        acl = ACL.compile(policies)
        self._acls[key] = acl
        if len(self._acls) > CACHE_SIZE:
            self._acls.popitem(last=False)
        return acl
