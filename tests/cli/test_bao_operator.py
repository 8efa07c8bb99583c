"""`bao operator` init/unseal/seal, rotate-keys (rekey) with verification and generate-root, against a NOT-dev
Strongroom (sqlite, config file) with a NOT-dev OpenBao (inmem) as the oracle.

One module-scoped pair of servers walks the whole lifecycle in order (each step needs the keys of the last).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.cli._util import assert_same, bao, bao_json, both, both_text, config_servers, each, parallel
from tests.harness import Server

pytestmark = pytest.mark.slow


class Pair:
    def __init__(self, sr: Server, ob: Server) -> None:
        self.servers = (sr, ob)
        self.keys: dict[str, list[str]] = {}

    @property
    def sr(self) -> Server:
        return self.servers[0]

    @property
    def ob(self) -> Server:
        return self.servers[1]


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with config_servers() as (sr, ob):
        yield Pair(sr, ob)


def per_server(p: Pair, fn: Callable[[Server], Any]) -> list[Any]:
    """fn(server) for Strongroom and OpenBao concurrently (each walks its own keys)."""
    return parallel(fn, (p.sr,), (p.ob,))


def _unseal_all(p: Pair, keys_name: str = "unseal") -> list[Any]:
    def unseal(s: Server) -> Any:
        for k in p.keys[f"{keys_name}:{s.addr}"][:2]:
            out = bao_json(s, "operator", "unseal", k)
        return out
    return per_server(p, unseal)


def test_01_uninitialised_status(pair: Pair):
    ours, theirs = both_text(pair.sr, pair.ob, "status")  # exit 2: sealed
    strip = [ln for ln in ours.splitlines() if not ln.startswith(("Version", "Storage Type"))]
    assert strip == [ln for ln in theirs.splitlines() if not ln.startswith(("Version", "Storage Type",
                                                                              "Commit Date"))]
    assert "Initialized        false" in ours
    for s in pair.servers:
        r = httpx.get(s.addr + "/v1/sys/health")
        assert r.status_code == 501 and r.json()["initialized"] is False
        assert httpx.get(s.addr + "/v1/sys/init").json() == {"initialized": False}


def test_02_init(pair: Pair):
    outs = each(pair.servers, "operator", "init", "-key-shares=3", "-key-threshold=2", json_out=True)
    assert_same(outs[0], outs[1])
    for s, out in zip(pair.servers, outs, strict=True):
        assert len(out["unseal_keys_b64"]) == 3 and out["unseal_threshold"] == 2
        s.root_token = out["root_token"]
        pair.keys[f"unseal:{s.addr}"] = out["unseal_keys_b64"]
    ours, theirs = both_text(pair.sr, pair.ob, "operator", "init")
    assert "Code: 400" in ours and "Code: 400" in theirs and "already initialized" in ours


def test_03_unseal_progress_reset_and_sealed_errors(pair: Pair):
    for s in pair.servers:
        r = httpx.get(s.addr + "/v1/sys/health")
        assert r.status_code == 503 and r.json()["sealed"] is True
        r = httpx.get(s.addr + "/v1/sys/health?sealedcode=299")
        assert r.status_code == 299
        r = httpx.get(s.addr + "/v1/secret/data/x", headers={"X-Vault-Token": s.root_token})
        assert r.status_code == 503 and r.json()["errors"] == ["Vault is sealed"]
    outs = each(pair.servers, "operator", "unseal", pair.keys[f"unseal:{s.addr}"][0], json_out=True)
    assert_same(outs[0], outs[1])
    assert outs[0]["progress"] == 1 and outs[0]["sealed"] is True
    outs = each(pair.servers, "operator", "unseal", "-reset", json_out=True)
    assert_same(outs[0], outs[1])
    assert outs[0]["progress"] == 0
    ours, theirs = both_text(pair.sr, pair.ob, "operator", "unseal", "not-a-key")
    assert "Code: 400" in ours and "Code: 400" in theirs
    outs = _unseal_all(pair)
    assert_same(outs[0], outs[1])
    assert outs[0]["sealed"] is False
    both(pair.sr, pair.ob, "status")


def test_04_seal_and_unseal_again(pair: Pair):
    for s in pair.servers:  # no secret/ mount outside dev mode: fails on both
        assert bao(s, "kv", "put", "secret/x", "a=1", check=False).returncode == 2
    ours, theirs = both_text(pair.sr, pair.ob, "operator", "seal")
    assert ours == theirs == "Success! Vault is sealed.\n"
    ours, theirs = both_text(pair.sr, pair.ob, "secrets", "list")
    assert "Code: 503" in ours and "Code: 503" in theirs and "Vault is sealed" in ours
    outs = _unseal_all(pair)
    assert_same(outs[0], outs[1])
    each(pair.servers, "secrets", "enable", "-path=secret", "-version=2", "kv")
    each(pair.servers, "kv", "put", "secret/persisted", "v=1")


def test_05_rotate_keys_with_verification(pair: Pair):
    """`bao operator rotate-keys` (OpenBao 2.4+: authenticated sys/rotate/root/*) with -verify."""
    init = each(pair.servers, "operator", "rotate-keys", "-init", "-key-shares=4", "-key-threshold=3", "-verify",
                json_out=True)
    assert_same(init[0], init[1])
    assert init[0]["verification_required"] is True and init[0]["required"] == 2
    status = each(pair.servers, "operator", "rotate-keys", "-status", json_out=True)
    assert_same(status[0], status[1])
    def submit(s: Server) -> Any:
        st = init[pair.servers.index(s)]
        keys = pair.keys[f"unseal:{s.addr}"]
        first = bao_json(s, "operator", "rotate-keys", f"-nonce={st['nonce']}", keys[0])
        assert first["progress"] == 1 and first["started"] is True
        return bao_json(s, "operator", "rotate-keys", f"-nonce={st['nonce']}", keys[1])
    done = per_server(pair, submit)
    assert_same(done[0], done[1])
    assert done[0]["complete"] is True and done[0]["verification_required"] is True
    vstatus = each(pair.servers, "operator", "rotate-keys", "-verify", "-status", json_out=True)
    assert_same(vstatus[0], vstatus[1])
    for i in range(2):  # the verification, step by step, in lockstep with OpenBao
        step = [bao_json(s, "operator", "rotate-keys", "-verify", f"-nonce={d['verification_nonce']}",
                         d["keys_base64"][i]) for s, d in zip(pair.servers, done, strict=True)]
        assert_same(step[0], step[1])
        assert step[0]["progress"] == i + 1
    last = [bao(s, "operator", "rotate-keys", "-verify", f"-nonce={d['verification_nonce']}",
                d["keys_base64"][2]).stdout for s, d in zip(pair.servers, done, strict=True)]
    assert last[0] == last[1] and last[0].startswith("Rotation verification successful.")
    for s, d in zip(pair.servers, done, strict=True):
        assert len(d["keys_base64"]) == 4
        pair.keys[f"rotated:{s.addr}"] = d["keys_base64"]
    outs = each(pair.servers, "operator", "rotate-keys", "-status", json_out=True)
    assert_same(outs[0], outs[1])
    assert outs[0]["started"] is False
    # the new shares (3 of 4) unseal; the old ones do not
    def reseal(s: Server) -> None:
        bao(s, "operator", "seal")
        old = pair.keys[f"unseal:{s.addr}"]
        bao(s, "operator", "unseal", old[0])
        bao(s, "operator", "unseal", old[1])
        r = bao(s, "operator", "unseal", old[2], check=False)  # 3 old shares combine to the wrong key
        assert r.returncode == 2 and "Code: 400" in r.stderr, r.stdout
        for k in pair.keys[f"rotated:{s.addr}"][:3]:
            out = bao_json(s, "operator", "unseal", k)
        assert out["sealed"] is False and out["t"] == 3 and out["n"] == 4
        assert bao_json(s, "kv", "get", "secret/persisted")["data"]["data"] == {"v": "1"}
    per_server(pair, reseal)


def test_06_rotate_keys_cancel(pair: Pair):
    for s in pair.servers:
        bao(s, "operator", "rotate-keys", "-init", "-key-shares=1", "-key-threshold=1")
    ours, theirs = both_text(pair.sr, pair.ob, "operator", "rotate-keys", "-cancel")
    assert ours == theirs
    outs = each(pair.servers, "operator", "rotate-keys", "-status", json_out=True)
    assert_same(outs[0], outs[1])
    # without a token the authenticated endpoints refuse; as OpenBao, they need the capability but not sudo
    # (the key-share quorum is the guard)
    policy = 'path "sys/rotate/root/*" { capabilities = ["create", "read", "update", "delete"] }\n' \
             'path "sys/generate-root-token/*" { capabilities = ["create", "read", "update", "delete"] }'
    seen = []
    for s in pair.servers:
        r = httpx.put(s.addr + "/v1/sys/rotate/root/init", json={"secret_shares": 1, "secret_threshold": 1})
        assert r.status_code == 403
        bao(s, "policy", "write", "no-sudo", "-", input=policy)
        tok = bao_json(s, "token", "create", "-policy=no-sudo")["auth"]["client_token"]
        codes = []
        for path in ("sys/rotate/root/init", "sys/generate-root-token/attempt"):
            hdr = {"X-Vault-Token": tok}
            codes.append(httpx.get(f"{s.addr}/v1/{path}", headers=hdr).status_code)
            codes.append(httpx.post(f"{s.addr}/v1/{path}", headers=hdr,
                                    json={"secret_shares": 1, "secret_threshold": 1}).status_code)
            codes.append(httpx.delete(f"{s.addr}/v1/{path}", headers=hdr).status_code)
        seen.append(codes)
        r = httpx.post(f"{s.addr}/v1/sys/rotate/keyring", headers={"X-Vault-Token": tok})
        assert r.status_code == 403  # no capability on it at all
    assert seen[0] == seen[1] == [200, 200, 204] * 2


def test_07_generate_root(pair: Pair):
    init = each(pair.servers, "operator", "generate-root", "-init", json_out=True)
    assert_same(init[0], init[1])
    assert init[0]["started"] is True and init[0]["required"] == 3 and len(init[0]["otp"]) == 26
    status = each(pair.servers, "operator", "generate-root", "-status", json_out=True)
    assert_same(status[0], status[1])
    def generate(s: Server) -> None:
        st = init[pair.servers.index(s)]
        keys = pair.keys[f"rotated:{s.addr}"]
        for k in keys[:2]:
            out = bao_json(s, "operator", "generate-root", f"-nonce={st['nonce']}", k)
        assert out["complete"] is False and out["progress"] == 2
        out = bao_json(s, "operator", "generate-root", f"-nonce={st['nonce']}", keys[2])
        assert out["complete"] is True and out["encoded_token"]
        decoded = bao_json(s, "operator", "generate-root", f"-decode={out['encoded_token']}", f"-otp={st['otp']}")
        new_root = decoded["token"]
        me = bao_json(s, "token", "lookup", token=new_root)["data"]
        assert me["policies"] == ["root"] and me["ttl"] == 0
        assert bao(s, "secrets", "list", token=new_root).returncode == 0
    per_server(pair, generate)
    # a wrong nonce and a cancel behave the same
    each(pair.servers, "operator", "generate-root", "-init")
    ours, theirs = both_text(pair.sr, pair.ob, "operator", "generate-root", "-nonce=wrong",
                             pair.keys[f"rotated:{pair.sr.addr}"][0])
    # intentional divergence: OpenBao answers a wrong nonce with a 500, Strongroom with a 400
    assert "Code: 400" in ours and "incorrect nonce supplied" in ours and "incorrect nonce supplied" in theirs
    ours, theirs = both_text(pair.sr, pair.ob, "operator", "generate-root", "-cancel")
    assert ours == theirs == "Success! Root token generation canceled (if it was started)\n"
    # -generate-otp is local; sizes agree
    assert len(bao(pair.sr, "operator", "generate-root", "-generate-otp").stdout.strip()) == 26


def test_08_legacy_operator_rekey(pair: Pair):
    """`bao operator rekey` speaks Vault's unauthenticated sys/rekey/* (hvac uses them too). OpenBao 2.5+ disables
    them by default, so there is no oracle here: Strongroom keeps them for Vault clients."""
    s = pair.sr
    r = bao(pair.ob, "operator", "rekey", "-init", "-key-shares=2", "-key-threshold=2", check=False)
    assert r.returncode == 2 and "Code: 405" in r.stderr  # OpenBao: disabled
    init = bao_json(s, "operator", "rekey", "-init", "-key-shares=2", "-key-threshold=2")
    assert init["started"] is True and init["required"] == 3 and init["n"] == 2
    assert bao_json(s, "operator", "rekey", "-status")["nonce"] == init["nonce"]
    keys = pair.keys[f"rotated:{s.addr}"]
    for i, k in enumerate(keys[:2]):
        out = bao_json(s, "operator", "rekey", f"-nonce={init['nonce']}", k)
        assert out["progress"] == i + 1
    out = bao_json(s, "operator", "rekey", f"-nonce={init['nonce']}", keys[2])
    assert out["complete"] is True and len(out["keys_base64"]) == 2
    new = out["keys_base64"]
    bao(s, "operator", "seal")
    for k in new:
        status = bao_json(s, "operator", "unseal", k)
    assert status["sealed"] is False and status["t"] == 2 and status["n"] == 2
    # and hvac's cancel path over the same endpoints
    r = httpx.put(s.addr + "/v1/sys/rekey/init", json={"secret_shares": 1, "secret_threshold": 1})
    assert r.status_code == 200 and r.json()["started"] is True
    assert httpx.delete(s.addr + "/v1/sys/rekey/init").status_code == 204
    assert httpx.get(s.addr + "/v1/sys/rekey/init").json()["started"] is False
