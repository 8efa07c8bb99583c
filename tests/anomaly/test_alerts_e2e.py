"""Each anomaly rule driven by synthetic traffic against a real config-mode server; the alert is checked in
sys/alerts, in the Prometheus metric, in the audit file (type "alert") and at a webhook receiver (HMAC-signed)."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import hvac
import pytest

from tests.anomaly.helpers import Receiver, anomaly_server, start, webhook_receiver
from tests.harness import Server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with webhook_receiver(fail_first=1) as rec:  # the first delivery fails: retried with backoff
        yield rec


@pytest.fixture(scope="module")
def env(receiver: Receiver) -> Iterator[tuple[Server, hvac.Client]]:
    with anomaly_server(receiver.url) as (server, root):
        c = hvac.Client(url=server.addr, token=root)
        c.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
        c.sys.create_or_update_policy("reader", 'path "secret/data/app/*" { capabilities = ["read"] }')
        for i in range(20):
            c.secrets.kv.v2.create_or_update_secret(f"app/s{i}", secret={"v": f"value-{i}"})
        yield server, c


def wait_for(fn: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def alerts(c: hvac.Client, **params: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{c.url}/v1/sys/alerts", params=params, headers={"X-Vault-Token": c.token})
    r.raise_for_status()
    return list(r.json()["data"]["alerts"])


def token(c: hvac.Client, name: str) -> hvac.Client:
    t = c.auth.token.create(policies=["reader"], display_name=name)["auth"]["client_token"]
    return hvac.Client(url=c.url, token=t)


def metric(c: hvac.Client, rule: str) -> float:
    text = httpx.get(f"{c.url}/v1/sys/metrics", params={"format": "prometheus"},
                     headers={"X-Vault-Token": c.token}).text
    m = re.search(rf'^strongroom_alerts_total{{rule="{rule}"}} (\S+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


def read(client: hvac.Client, path: str) -> None:
    with contextlib.suppress(hvac.exceptions.Forbidden, hvac.exceptions.InvalidPath):
        client.secrets.kv.v2.read_secret_version(path, raise_on_deleted_version=False)


def check_everywhere(server: Server, c: hvac.Client, receiver: Receiver, rule: str) -> dict[str, Any]:
    found = wait_for(lambda: [a for a in alerts(c, rule=rule)])
    a = found[0]
    assert metric(c, rule) >= 1
    assert wait_for(lambda: receiver.alerts(rule))  # signature verified inside
    with open(f"{server.data_dir}/audit.log", encoding="utf-8") as f:
        assert any('"type":"alert"' in line and a["id"] in line for line in f)
    return a


def test_denial_burst(env: tuple[Server, hvac.Client], receiver: Receiver) -> None:
    server, c = env
    app = token(c, "denied-app")
    for i in range(6):
        read(app, f"other/x{i}")
    a = check_everywhere(server, c, receiver, "denial_burst")
    assert a["caller"]["display_name"] == "token-denied-app" and a["caller"]["accessor"]
    assert a["request"]["outcome"] == "denied" and a["severity"] == "high"


def test_failed_logins_and_bad_tokens(env: tuple[Server, hvac.Client], receiver: Receiver) -> None:
    server, c = env
    c.sys.enable_auth_method("userpass")
    c.auth.userpass.create_or_update_user("alice", password="correct-horse-battery", policies=["reader"])
    anon = hvac.Client(url=c.url)
    for _ in range(4):
        with pytest.raises(hvac.exceptions.VaultError):
            anon.auth.userpass.login("alice", "wrong-password-guess")
    a = check_everywhere(server, c, receiver, "auth_failure_burst")
    assert a["request"]["path"].startswith("auth/userpass/login") and a["caller"]["remote_address"] == "127.0.0.1"
    assert "wrong-password-guess" not in str(a)


def test_enumeration(env: tuple[Server, hvac.Client], receiver: Receiver) -> None:
    server, c = env
    scraper = token(c, "scraper")
    for i in range(20):
        read(scraper, f"app/s{i}")
    a = check_everywhere(server, c, receiver, "enumeration")
    assert a["subject"] == "name:token-scraper" and a["details"]["distinct_paths"] > 15
    assert not any(f"value-{i}" in str(a) for i in range(20))  # paths, never values


def test_first_access(env: tuple[Server, hvac.Client], receiver: Receiver) -> None:
    server, c = env
    read(token(c, "first-a"), "app/s3")
    read(token(c, "first-b"), "app/s3")
    a = wait_for(lambda: [x for x in alerts(c, rule="first_access") if x["subject"] == "name:token-first-b"])[0]
    assert a["details"]["path"] == "secret/data/app/s3"
    check_everywhere(server, c, receiver, "first_access")


def test_rate_spike(env: tuple[Server, hvac.Client], receiver: Receiver) -> None:
    server, c = env
    busy = token(c, "bursty")
    for _ in range(8):  # a baseline of ~3 requests/s
        for _ in range(3):
            read(busy, "app/s1")
        time.sleep(0.3)
    for _ in range(150):
        read(busy, "app/s1")
    a = check_everywhere(server, c, receiver, "rate_spike")
    assert a["details"]["requests"] >= 40


def test_filters_ack_and_persistence(env: tuple[Server, hvac.Client], receiver: Receiver) -> None:
    server, c = env
    app = token(c, "ack-app")
    for i in range(6):
        read(app, f"nope/y{i}")
    mine = wait_for(lambda: [a for a in alerts(c, rule="denial_burst") if a["caller"]["display_name"]
                             == "token-ack-app"])[0]
    listed = c.adapter.request("LIST", "/v1/sys/alerts", params={"rule": "denial_burst"})["data"]
    assert mine["id"] in listed["keys"] and listed["key_info"][mine["id"]]["acknowledged"] is False
    one = c.read(f"sys/alerts/{mine['id']}")["data"]
    assert one["id"] == mine["id"] and "created" not in one
    acked = c.write(f"sys/alerts/{mine['id']}/ack", note="investigated")["data"]
    assert acked["acknowledged"] is True and acked["acknowledged_by"]
    assert mine["id"] not in {a["id"] for a in alerts(c, acknowledged="false")}
    assert mine["id"] in {a["id"] for a in alerts(c, acknowledged="true", since="1h")}
    assert alerts(c, since="2999-01-01T00:00:00Z") == []
    bad = httpx.get(f"{c.url}/v1/sys/alerts", params={"since": "whenever"}, headers={"X-Vault-Token": c.token})
    assert bad.status_code == 400 and "since must be" in bad.text
    missing = httpx.get(f"{c.url}/v1/sys/alerts/000000000000-00000000", headers={"X-Vault-Token": c.token})
    assert missing.status_code == 404
    assert c.read("sys/alerts/000000000000-00000000") is None
    denied = token(c, "no-sys")
    with pytest.raises(hvac.exceptions.Forbidden):
        denied.read("sys/alerts")
    # persisted behind the barrier: still there (and acknowledged) after a restart
    port = int(server.addr.rsplit(":", 1)[1])
    server.stop()
    again, _ = start(server.data_dir, port, receiver.url, init=False)
    server.proc = again.proc
    kept = c.read(f"sys/alerts/{mine['id']}")["data"]
    assert kept["acknowledged"] is True and kept["note"] == "investigated"
    assert receiver.posts and all("whsec" not in h.get("x-strongroom-signature", "") for h, _ in receiver.posts)
