"""Sealing keys wrapped by Strongroom transit: a real `strongroom server -dev` with the transit engine, the real
controller on the fake API server, and `strongroom seal reencrypt --key-wrap transit`."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from strongroom.cli.main import cli
from strongroom.client import Client
from strongroom.operator.kube import Kube
from strongroom.operator.sealedsecret import KeyRegistry, TransitKeyWrapper
from strongroom.sealing import SealingError, load_manifests, load_recipient, seal_secret
from tests.fakekube import FakeKube
from tests.operator.harness import CTRL_NS, eventually, start_operator

TOKEN_VALUE_MARKER = "root"


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as server:
        yield server


@pytest.fixture
def transit(fresh_server: Any, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Transit mounted with a key `sealed-secrets`; a token limited to encrypt/decrypt with it, in a file."""
    with Client(address=fresh_server.addr, token=fresh_server.root_token) as c:
        c.write("sys/mounts/transit", {"type": "transit"})
        c.write("transit/keys/sealed-secrets", {})
        c.write("sys/policies/acl/sealer", {"policy": (
            'path "transit/encrypt/sealed-secrets" { capabilities = ["update"] }\n'
            'path "transit/decrypt/sealed-secrets" { capabilities = ["update"] }\n')})
        token = (c.write("auth/token/create", {"policies": ["sealer"], "no_default_policy": True})
                 or {})["auth"]["client_token"]
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    yield fresh_server.addr, token_file


def _wrapper(addr: str, token_file: Path) -> TransitKeyWrapper:
    return TransitKeyWrapper(addr, "sealed-secrets", token_file=token_file)


def _tls_key(fake: FakeKube) -> list[bytes]:
    return [base64.b64decode(s["data"]["tls.key"]) for s in fake.objects("secrets", CTRL_NS)]


def test_controller_keeps_only_transit_wrapped_keys(fake: FakeKube, transit: tuple[str, Path]) -> None:
    addr, token_file = transit

    async def scenario() -> None:
        op = await start_operator(fake, key_wrapper=_wrapper(addr, token_file))
        try:
            [stored] = _tls_key(fake)
            assert stored.startswith(b"vault:v1:") and b"PRIVATE KEY" not in stored
            [secret] = fake.objects("secrets", CTRL_NS)
            assert secret["metadata"]["annotations"]["strongroom.io/key-wrap"] == "transit"
            assert secret["metadata"]["annotations"]["strongroom.io/transit-key"] == "transit/sealed-secrets"
            cert = await op.cert()
            sealed = seal_secret({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "app"},
                                  "data": {"password": base64.b64encode(b"pw").decode()}}, load_recipient(cert))
            fake.put("sealedsecrets", sealed, group="bitnami.com")
            out = await eventually(lambda: fake.get("secrets", "db", "app"), what="Secret")
            assert base64.b64decode(out["data"]["password"]) == b"pw"
            await op.app.rotate()  # renewal wraps the new key too
            assert all(k.startswith(b"vault:v1:") for k in _tls_key(fake)) and len(_tls_key(fake)) == 2
        finally:
            await op.stop()
        # a restarted controller unwraps both keys in memory
        op2 = await start_operator(fake, key_wrapper=_wrapper(addr, token_file))
        try:
            assert len(op2.app.registry.keys) == 2
        finally:
            await op2.stop()
        # without the wrapper it refuses to start rather than make a new plain key beside the wrapped ones
        async with Kube(fake.config(CTRL_NS)) as kube:
            with pytest.raises(SealingError, match="transit-wrapped key: run with --key-wrap transit"):
                await KeyRegistry(kube, CTRL_NS).load()
            # a token transit refuses: a clear error, never the token
            bad = tmp_path_token(token_file, "not-a-token")
            with pytest.raises(SealingError) as info:
                await KeyRegistry(kube, CTRL_NS, key_wrapper=_wrapper(addr, bad)).load()
            assert "transit decrypt" in str(info.value) and "not-a-token" not in str(info.value)
        assert len(fake.objects("secrets", CTRL_NS)) == 2

    asyncio.run(asyncio.wait_for(scenario(), 120))


def tmp_path_token(token_file: Path, value: str) -> Path:
    bad = token_file.with_name("bad-token")
    bad.write_text(value)
    return bad


def test_reencrypt_and_operator_cli_with_transit_wrapped_keys(fake: FakeKube, transit: tuple[str, Path],
                                                              tmp_path: Path) -> None:
    addr, token_file = transit
    kc = str(fake.write_kubeconfig(tmp_path / "kubeconfig"))
    wrap = ["--key-wrap", "transit", "--transit-address", addr, "--transit-token-file", str(token_file)]

    async def scenario() -> None:
        op = await start_operator(fake, key_wrapper=_wrapper(addr, token_file))
        try:
            sealed = seal_secret({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "app"},
                                  "data": {"password": base64.b64encode(b"pw").decode()}},
                                 load_recipient(await op.cert()))
            fake.put("sealedsecrets", sealed, group="bitnami.com")
            await op.app.rotate()
            base = ["seal", "reencrypt", "--in-cluster", "--kubeconfig", kc, "--controller-namespace", CTRL_NS,
                    "-o", "json"]

            def invoke(*args: str) -> Any:
                return CliRunner().invoke(cli, list(args), catch_exceptions=False)

            r = await asyncio.to_thread(invoke, *base)
            assert r.exit_code == 1 and "--key-wrap transit" in r.output
            r = await asyncio.to_thread(invoke, "seal", "reencrypt", "--in-cluster", "--key-wrap", "transit",
                                        "--kubeconfig", kc)
            assert r.exit_code == 2 and "--transit-address" in r.output
            r = await asyncio.to_thread(invoke, *base, *wrap)
            assert r.exit_code == 0, r.output
            assert json.loads(r.stdout)["counts"] == {"reencrypted": 1}
            # keys list / backup / restore work on wrapped keys (identified by certificate); the backup
            # holds only transit ciphertext
            r = await asyncio.to_thread(invoke, "operator", "keys", "list", "--kubeconfig", kc, "-n", CTRL_NS,
                                        "--format", "json")
            assert r.exit_code == 0 and len(json.loads(r.stdout)) == 2
            assert {k["fingerprint"] for k in json.loads(r.stdout)} == {
                k.fingerprint for k in op.app.registry.keys}
            backup = tmp_path / "keys.yaml"
            r = await asyncio.to_thread(invoke, "operator", "keys", "backup", "--kubeconfig", kc, "-n", CTRL_NS,
                                        "-o", str(backup))
            assert r.exit_code == 0 and b"PRIVATE KEY" not in backup.read_bytes()
            r = await asyncio.to_thread(invoke, "operator", "keys", "restore", "--kubeconfig", kc, "-n", "other",
                                        "-f", str(backup), "--format", "json")
            assert r.exit_code == 0 and {k["action"] for k in json.loads(r.stdout)} == {"created"}
            # `keys rotate` never adds a plain key beside wrapped ones; with the options it wraps the new key
            rotate = ["operator", "keys", "rotate", "--kubeconfig", kc, "-n", CTRL_NS, "--key-size", "2048"]
            r = await asyncio.to_thread(invoke, *rotate)
            assert r.exit_code == 1 and "transit-wrapped: pass the controller's --key-wrap" in r.output
            assert len(_tls_key(fake)) == 2
            r = await asyncio.to_thread(invoke, *rotate, *wrap, "--format", "json")
            assert r.exit_code == 0, r.output
            assert len(_tls_key(fake)) == 3 and all(k.startswith(b"vault:v1:") for k in _tls_key(fake))
        finally:
            await op.stop()
        stored = fake.get("sealedsecrets", "db", "app", group="bitnami.com")
        assert load_manifests(json.dumps(stored).encode())  # still a well-formed object
        r = CliRunner().invoke(cli, ["operator", "run", "--kubeconfig", kc, "--key-wrap", "transit"])
        assert r.exit_code == 2 and "--transit-token-file" in r.output

    asyncio.run(asyncio.wait_for(scenario(), 120))
