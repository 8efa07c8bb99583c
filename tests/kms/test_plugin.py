"""The plugin as the API server sees it: a gRPC client over the unix socket (Status polling, Encrypt of DEK
seeds, Decrypt after restart and after KEK rotation), with the keyring backend."""

from __future__ import annotations

import os
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import generate_latest

from strongroom.atrest import formats
from strongroom.crypto import random_bytes
from strongroom.kms import keyring as kr
from strongroom.kms.backend import BackendError
from strongroom.kms.client import KMSClient
from strongroom.kms.keyid import Journal
from strongroom.kms.keyring import KeyringBackend
from strongroom.kms.server import PluginServer, clear_stale_socket
from strongroom.kms.service import KMSService


def _client(server: PluginServer) -> KMSClient:
    return KMSClient(f"unix://{server.path}")


def test_status_polling_is_stable_and_v2(keyring_plugin: PluginServer) -> None:
    with _client(keyring_plugin) as c:
        ids = {c.status().key_id for _ in range(5)}
        st = c.status()
    assert st.version == "v2" and st.healthz == "ok"
    assert ids == {st.key_id} and 0 < len(st.key_id) <= 1024


def test_encrypt_seeds_like_the_apiserver(keyring_plugin: PluginServer) -> None:
    with _client(keyring_plugin) as c:
        key_id = c.status().key_id
        seeds = [random_bytes(32) for _ in range(20)]
        outs = [c.encrypt(s, uid=f"uid-{i}") for i, s in enumerate(seeds)]
        assert all(o.key_id == key_id for o in outs)
        assert len({o.ciphertext for o in outs}) == 20
        assert all(0 < len(o.ciphertext) <= 1024 for o in outs)
        assert all("." in k for o in outs for k in o.annotations)
        for seed, o in zip(seeds, outs, strict=True):
            assert c.decrypt(o.ciphertext, o.key_id, dict(o.annotations)) == seed


def test_kms_v2_envelope_roundtrip_through_plugin(keyring_plugin: PluginServer) -> None:
    """Write a value in the exact etcd format (seed mode) and read it back via Decrypt, as the API server."""
    with _client(keyring_plugin) as c:
        seed = random_bytes(32)
        enc = c.encrypt(seed)
        key = b"/registry/secrets/default/db"
        value = formats.seal_kms_v2(
            "strongroom", seed, enc.ciphertext, enc.key_id, dict(enc.annotations), b"k8s\x00payload", key
        )
        assert value.startswith(b"k8s:enc:kms:v2:strongroom:")
        stored = formats.parse(value)
        assert stored.key_id == enc.key_id
        plain = formats.open_kms_v2(stored.payload, key, lambda ct, kid, ann: c.decrypt(ct, kid, ann))
        assert plain == b"k8s\x00payload"


def test_rotation_changes_key_id_and_old_seeds_still_decrypt(keyring_plugin: PluginServer, keyring_file: Path) -> None:
    with _client(keyring_plugin) as c:
        old = c.encrypt(b"s" * 32)
        before = c.status().key_id
        kr.rotate(keyring_file)
        after = c.status().key_id
        assert after != before
        new = c.encrypt(b"t" * 32)
        assert new.key_id == after
        assert c.decrypt(old.ciphertext, old.key_id, dict(old.annotations)) == b"s" * 32
        assert c.decrypt(new.ciphertext, new.key_id, dict(new.annotations)) == b"t" * 32


def test_decrypt_after_restart(keyring_file: Path, short_dir: Path) -> None:
    endpoint = f"unix://{short_dir}/r.sock"
    server = PluginServer(KMSService(KeyringBackend(keyring_file), journal=Journal(short_dir / "st")), endpoint)
    server.start()
    with KMSClient(endpoint) as c:
        enc = c.encrypt(b"x" * 32)
        key_id = c.status().key_id
    server.stop(1)
    assert not os.path.exists(server.path)
    server = PluginServer(KMSService(KeyringBackend(keyring_file), journal=Journal(short_dir / "st")), endpoint)
    server.start()
    try:
        with KMSClient(endpoint) as c:
            assert c.status().key_id == key_id
            assert c.decrypt(enc.ciphertext, enc.key_id, dict(enc.annotations)) == b"x" * 32
    finally:
        server.stop(1)


def test_key_id_never_reused() -> None:
    j = Journal()
    a, b = "sr1:keyring/x:v1", "sr1:keyring/x:v2"
    assert [j.issue(a), j.issue(a), j.issue(b), j.issue(a), j.issue(b), j.issue(a)] == [
        a,
        a,
        b,
        f"{a}_001",
        f"{b}_001",
        f"{a}_002",
    ]


def test_key_id_journal_survives_restart(tmp_path: Path) -> None:
    Journal(tmp_path / "s").issue("sr1:k/x:v1")
    Journal(tmp_path / "s").issue("sr1:k/x:v2")
    assert Journal(tmp_path / "s").issue("sr1:k/x:v1") == "sr1:k/x:v1_001"


@pytest.mark.parametrize(
    "mutate, why",
    [
        (lambda r: {**r, "key_id": "someone-else:v1"}, "not issued"),
        (lambda r: {**r, "key_id": "sr1:keyring/other:v1"}, "another KEK"),
        (
            lambda r: {**r, "ciphertext": r["ciphertext"][:-1] + bytes([r["ciphertext"][-1] ^ 1])},
            "authentication",
        ),
        (lambda r: {**r, "ciphertext": b"x" * 1025}, "1..1024"),
        (lambda r: {**r, "annotations": {"nodots": b"1"}}, "DNS"),
    ],
)
def test_decrypt_refuses_bad_input(keyring_plugin: PluginServer, mutate, why: str) -> None:
    with _client(keyring_plugin) as c:
        enc = c.encrypt(b"q" * 32)
        req = mutate({"ciphertext": enc.ciphertext, "key_id": enc.key_id, "annotations": dict(enc.annotations)})
        with pytest.raises(grpc.RpcError) as err:
            c.decrypt(req["ciphertext"], req["key_id"], req["annotations"])
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert why in err.value.details()
        # the plugin is still healthy and serving
        assert c.decrypt(enc.ciphertext, enc.key_id, dict(enc.annotations)) == b"q" * 32


def test_encrypt_refuses_empty_plaintext(keyring_plugin: PluginServer) -> None:
    with _client(keyring_plugin) as c, pytest.raises(grpc.RpcError) as err:
        c.encrypt(b"")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_unhealthy_backend_reported_then_recovers(keyring_plugin: PluginServer, keyring_file: Path) -> None:
    good = keyring_file.read_bytes()
    with _client(keyring_plugin) as c:
        key_id = c.status().key_id
        keyring_file.write_text("{not json")
        st = c.status()
        assert st.healthz != "ok" and "not valid JSON" in st.healthz
        assert st.key_id == key_id  # last known id, never empty
        with pytest.raises(grpc.RpcError) as err:
            c.encrypt(b"z" * 32)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        keyring_file.write_bytes(good)
        os.utime(keyring_file)
        import time

        time.sleep(1.1)  # unhealthy results are cached for 1 s
        assert c.status().healthz == "ok"


def test_concurrent_decrypts(keyring_plugin: PluginServer) -> None:
    with _client(keyring_plugin) as c:
        encs = [(bytes([i]) * 32, c.encrypt(bytes([i]) * 32)) for i in range(16)]
        with ThreadPoolExecutor(16) as pool:
            got = list(pool.map(lambda p: c.decrypt(p[1].ciphertext, p[1].key_id, dict(p[1].annotations)), encs * 8))
        assert got == [seed for seed, _ in encs * 8]


def test_metrics_count_calls_and_hash_key_id(keyring_plugin: PluginServer) -> None:
    with _client(keyring_plugin) as c:
        key_id = c.status().key_id
        c.encrypt(b"m" * 32)
    text = generate_latest(keyring_plugin.service.metrics.registry).decode()
    assert 'strongroom_kms_operations_total{code="OK",method="Encrypt"} 1.0' in text
    assert "strongroom_kms_healthy 1.0" in text
    assert key_id not in text  # only its sha256


def test_stale_socket_removed_but_live_or_foreign_files_refused(short_dir: Path, keyring_plugin: PluginServer) -> None:
    stale = str(short_dir / "stale.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(stale)
    s.close()  # file stays, nobody listens
    clear_stale_socket(stale)
    assert not os.path.exists(stale)
    with pytest.raises(BackendError, match="another process"):
        clear_stale_socket(keyring_plugin.path)
    regular = short_dir / "file"
    regular.write_text("keep me")
    with pytest.raises(BackendError, match="not a socket"):
        clear_stale_socket(str(regular))
    assert regular.read_text() == "keep me"


def test_keyring_file_is_private_and_versions_grow(keyring_file: Path) -> None:
    assert (keyring_file.stat().st_mode & 0o777) == 0o600
    assert kr.rotate(keyring_file) == 2 and kr.rotate(keyring_file) == 3
    info = kr.info(keyring_file)
    assert info["primary"] == 3 and info["versions"] == [1, 2, 3]
    assert "secret" not in str(info)


def test_key_id_changes_exactly_with_the_kek_version(keyring_plugin: PluginServer, keyring_file: Path) -> None:
    """Staged add keeps the key_id; promote changes it; restoring an old backup (A -> B -> A) gives a new id."""
    import json

    with _client(keyring_plugin) as c:
        a = c.status().key_id
        backup = keyring_file.read_bytes()
        kr.rotate(keyring_file, promote=False)
        assert c.status().key_id == a
        kr.promote(keyring_file)
        b = c.status().key_id
        assert b != a
        old_seed = c.encrypt(b"o" * 32)
        keyring_file.write_bytes(backup)  # operator restores yesterday's keyring: version 1 is primary again
        doc = json.loads(backup)
        assert doc["primary"] == 1
        back = c.status().key_id
        assert back not in (a, b) and back.startswith(a) and back.endswith("_001")
        with pytest.raises(grpc.RpcError) as err:  # the restored file lacks version 2
            c.decrypt(old_seed.ciphertext, old_seed.key_id, dict(old_seed.annotations))
        assert "no version 2" in err.value.details()


def test_stop_drains_in_flight_calls(keyring_file: Path, short_dir: Path) -> None:
    """SIGTERM path: stop() lets a call that is already running finish, then refuses new ones."""
    import threading
    import time

    class Slow(KeyringBackend):
        def unwrap(self, ciphertext: bytes) -> bytes:
            time.sleep(0.8)
            return super().unwrap(ciphertext)

    endpoint = f"unix://{short_dir}/d.sock"
    server = PluginServer(KMSService(Slow(keyring_file), cache_size=0), endpoint)
    server.start()
    c = KMSClient(endpoint)
    enc = c.encrypt(b"w" * 32)
    got: list[bytes] = []
    t = threading.Thread(target=lambda: got.append(c.decrypt(enc.ciphertext, enc.key_id, dict(enc.annotations))))
    t.start()
    time.sleep(0.2)
    server.stop(grace=5)
    t.join(5)
    assert got == [b"w" * 32]
    assert not os.path.exists(server.path)
    with pytest.raises(grpc.RpcError):
        c.status()
    c.close()


@given(st.lists(st.sampled_from(["sr1:k/x:v1", "sr1:k/x:v2", "sr1:k/x:v3"]), max_size=40))
def test_key_id_journal_property(bases: list[str]) -> None:
    """Same KEK version in a row -> same id; any change -> an id never issued before."""
    j = Journal()
    issued: list[str] = []
    for i, base in enumerate(bases):
        key_id = j.issue(base)
        assert key_id.startswith(base)
        if i and bases[i - 1] == base:
            assert key_id == issued[-1]
        else:
            assert key_id not in issued
        issued.append(key_id)
