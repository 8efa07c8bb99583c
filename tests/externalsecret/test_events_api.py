"""`sys/events/kv` on a real Strongroom server: long-poll for KV changes, paths only, ACL-protected."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import httpx
import hvac

from strongroom.core.events import ChangeFeed


def _get(server: Any, token: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{server.addr}/v1/sys/events/kv", params=params, headers={"X-Vault-Token": token}, timeout=30)


def test_long_poll_returns_changed_paths_never_values(dev_server: Any) -> None:
    client = hvac.Client(url=dev_server.addr, token="root")
    start = _get(dev_server, "root", since=-1).json()["data"]
    assert start["events"] == [] and isinstance(start["index"], int)
    key = f"ev-{uuid.uuid4().hex[:6]}"

    def write() -> None:
        time.sleep(0.3)
        client.secrets.kv.v2.create_or_update_secret(key, secret={"pw": "never-in-events"}, mount_point="secret")

    threading.Thread(target=write).start()
    t = time.monotonic()
    resp = _get(dev_server, "root", since=start["index"], wait="10s")
    assert resp.status_code == 200 and time.monotonic() - t < 5
    data = resp.json()["data"]
    assert f"secret/{key}" in [e["path"] for e in data["events"]]
    assert data["index"] > start["index"] and "never-in-events" not in resp.text
    empty = _get(dev_server, "root", since=data["index"], wait="0").json()["data"]
    assert empty["events"] == [] and empty["index"] == data["index"]


def test_bad_input_and_acl(dev_server: Any) -> None:
    assert _get(dev_server, "root", since=0, wait="5m").status_code == 400
    client = hvac.Client(url=dev_server.addr, token="root")
    client.sys.create_or_update_policy("no-events", 'path "secret/*" { capabilities = ["read"] }')
    token = client.auth.token.create(policies=["no-events"])["auth"]["client_token"]
    assert _get(dev_server, token, since=-1).status_code == 403


def test_feed_reports_reset_when_events_were_dropped() -> None:
    feed = ChangeFeed(capacity=3)
    for i in range(5):
        feed.publish(f"kv/k{i}")
    events, reset = feed.since(0)
    assert reset and [e.path for e in events] == ["kv/k2", "kv/k3", "kv/k4"]
    events, reset = feed.since(3)
    assert not reset and [e.index for e in events] == [4, 5]


def test_feed_caught_up_and_restarted() -> None:
    feed = ChangeFeed()
    for i in range(5):
        feed.publish(f"kv/k{i}")
    assert feed.since(5) == ([], False)
    assert feed.since(99) == ([], True)  # index from before a restart: re-read everything
