"""Differential tests against a real OpenBao dev server: the same policies must give the same
`sys/capabilities` answers, the same accept/reject on write, and the same parameter decisions."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest

from strongroom.core.policy import ACL, parse_policy
from strongroom.sdk.errors import InvalidRequest
from strongroom.sdk.operations import Operation as Op

pytestmark = pytest.mark.bao

SEGMENTS = ["a", "b", "ab", "c"]
CAPS = ["create", "read", "update", "delete", "list", "patch", "sudo"]


def random_pattern(rng: random.Random) -> str:
    parts = [rng.choice(SEGMENTS) for _ in range(rng.randint(1, 4))]
    kind = rng.choice(["exact", "prefix", "segment"])
    text = "/".join(parts)
    if kind == "exact":
        return text
    if kind == "prefix":
        return text[: rng.randint(0, len(text))] + "*"
    parts = [("+" if rng.random() < 0.5 else p) for p in parts]
    if "+" not in parts:
        parts[rng.randrange(len(parts))] = "+"
    text = "/".join(parts)
    tail = rng.choice(["", "/*", "*"])
    if tail == "*" and text.endswith("+"):
        tail = "/*"
    return text + tail


def random_policy(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(1, 8)):
        caps = ["deny"] if rng.random() < 0.15 else rng.sample(CAPS, rng.randint(0, 4))
        lines.append(f'path "{random_pattern(rng)}" {{ capabilities = {json.dumps(caps)} }}')
    return "\n".join(lines)


def random_path(rng: random.Random) -> str:
    path = "/".join(rng.choice(SEGMENTS) for _ in range(rng.randint(1, 4)))
    return path + ("/" if rng.random() < 0.2 else "")


@pytest.fixture(scope="module")
def bao(bao_server: Any) -> Any:
    with httpx.Client(
        base_url=f"{bao_server.addr}/v1", headers={"X-Vault-Token": bao_server.root_token}, timeout=10
    ) as client:
        yield client


def put_policy(bao: httpx.Client, name: str, text: str) -> httpx.Response:
    return bao.put(f"/sys/policies/acl/{name}", json={"policy": text})


def token_for(bao: httpx.Client, names: list[str]) -> str:
    r = bao.post("/auth/token/create", json={"policies": names, "no_default_policy": True, "ttl": "10m"})
    r.raise_for_status()
    return str(r.json()["auth"]["client_token"])


def bao_capabilities(bao: httpx.Client, token: str, paths: list[str]) -> dict[str, list[str]]:
    r = bao.post("/sys/capabilities", json={"token": token, "paths": paths})
    r.raise_for_status()
    data = r.json()["data"]
    return {p: data[p] for p in paths}


def test_capabilities_match_openbao_on_random_policies(bao: httpx.Client) -> None:
    rng = random.Random(20261122)
    mismatches = []
    for scenario in range(40):
        texts = [random_policy(rng) for _ in range(rng.randint(1, 3))]
        names = [f"diff-{scenario}-{i}" for i in range(len(texts))]
        for name, text in zip(names, texts, strict=True):
            put_policy(bao, name, text).raise_for_status()
        acl = ACL.compile([parse_policy(n, t) for n, t in zip(names, texts, strict=True)])
        paths = sorted({random_path(rng) for _ in range(25)})
        theirs = bao_capabilities(bao, token_for(bao, names), paths)
        for path in paths:
            ours = acl.capabilities(path)
            if ours != sorted(theirs[path]):
                mismatches.append((texts, path, ours, theirs[path]))
    assert not mismatches, "\n".join(
        f"{m[1]!r} ours={m[2]} theirs={m[3]}\n{chr(10).join(m[0])}\n" for m in mismatches[:8]
    )


@pytest.mark.parametrize(
    "text",
    [
        """
        path "x/y" { capabilities = ["deny"] }
        path "x/y" { capabilities = ["read"] }
        path "x/z" { capabilities = ["read"] }
        path "x/z" { capabilities = ["list"]  policy = "write" }
        """,
        'path "x/y" { capabilities = ["read"] \n capabilities = ["list"]  policy = "deny"  policy = "sudo" }',
        '{"path": {"x/y": {"capabilities": ["read"], "capabilities": ["patch"]}, "x/z": {"policy": "read"}}}',
    ],
)
def test_repeated_blocks_and_keys_fold_like_openbao(bao: httpx.Client, text: str) -> None:
    put_policy(bao, "dup", text).raise_for_status()
    theirs = bao_capabilities(bao, token_for(bao, ["dup"]), ["x/y", "x/z"])
    acl = ACL.compile([parse_policy("dup", text)])
    assert {p: acl.capabilities(p) for p in theirs} == {p: sorted(c) for p, c in theirs.items()}


VALIDITY = [
    'path "x" { capabilities = ["reed"] }',
    'path "x" { capabilities = ["read"]  policy = "admin" }',
    'path "x" { capabilities = ["read"]  bogus = 1 }',
    'path "x/+*" { capabilities = ["read"] }',
    'path "x" { min_wrapping_ttl = 100  max_wrapping_ttl = 50 }',
    'path "x" { capabilities = [ }',
    "foo = 1",
    'path "x" { capabilities = ["read"] }',
    'path "x" { policy = "sudo" }',
    'path "+/y/*" { capabilities = ["read", "deny"] }',
    '{"path": {"x": {"capabilities": ["read"]}}}',
    '{"path": {"x": {"capabilities": ["bogus"]}}}',
    'path "x" { capabilities = ["read"]  allowed_parameters = { "a" = ["b", "c*"] }  required_parameters = ["a"] }',
    'path "x" { capabilities = ["scan"] }',
    'path "x" { capabilities = "read" }',
    'path "x" { required_parameters = "a" }',
    'path "x" { capabilities = ["READ"] }',
    'path "x" { capabilities = ["deny", "bogus"] }',
    'path "x" { capabilities = ["read"]  comment = "hi"  expiration = "2099-01-01T00:00:00Z" }',
    'path "x" { capabilities = ["read"]  expiration = "tomorrow" }',
    'path "x" { min_wrapping_ttl = "2d" }',
    'path "x" { min_wrapping_ttl = "soon" }',
    'path "{{identity.entity.id" { capabilities = ["read"] }',
    'path "identity/{{identity.entity.id}}" { capabilities = ["read"] }',
    'name = "x"\npath "x" {}',
    '{"path": [{"x": {"capabilities": ["read"]}}]}',
]


@pytest.mark.parametrize("text", VALIDITY)
def test_accept_and_reject_like_openbao(bao: httpx.Client, text: str) -> None:
    theirs_ok = put_policy(bao, "validity", text).status_code < 300
    try:
        parse_policy("validity", text)
        ours_ok = True
    except InvalidRequest:
        ours_ok = False
    assert ours_ok == theirs_ok


PARAMS_POLICY = """
path "cubbyhole/*" {
  capabilities = ["create", "update", "read"]
  allowed_parameters = { "color" = ["red", "bl*"]  "size" = []  "n" = [1, 2]  "on" = [true] }
  denied_parameters = { "size" = ["huge"] }
}
path "cubbyhole/needs" {
  capabilities = ["create", "update"]
  required_parameters = ["owner"]
}
"""


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("cubbyhole/a", {"color": "red"}),
        ("cubbyhole/b", {"color": "blue"}),
        ("cubbyhole/c", {"color": "green"}),
        ("cubbyhole/d", {"size": "small"}),
        ("cubbyhole/e", {"size": "huge"}),
        ("cubbyhole/f", {"other": "x"}),
        ("cubbyhole/g", {"color": "red", "size": "huge"}),
        ("cubbyhole/h", {"on": True}),
        ("cubbyhole/i", {"on": False}),
        ("cubbyhole/needs", {"owner": "me"}),
        ("cubbyhole/needs", {"other": "me"}),
    ],
)
def test_parameter_decisions_match_openbao(bao: httpx.Client, path: str, data: dict[str, object]) -> None:
    put_policy(bao, "params", PARAMS_POLICY).raise_for_status()
    token = token_for(bao, ["params"])
    r = bao.post(f"/{path}", json=data, headers={"X-Vault-Token": token})
    assert r.status_code in (200, 204, 403), r.text
    ours = ACL.compile([parse_policy("params", PARAMS_POLICY)]).check(path, Op.CREATE, data)
    assert ours.allowed == (r.status_code != 403), ours.reason
