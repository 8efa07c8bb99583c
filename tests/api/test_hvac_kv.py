"""KV v2 and v1 through hvac (client.secrets.kv), compared with a real OpenBao."""

from __future__ import annotations

import uuid

import hvac
import hvac.exceptions
import pytest

from tests.cli._util import assert_same


def uid(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def clients(dev_server, bao_server):
    return hvac.Client(url=dev_server.addr, token="root"), hvac.Client(url=bao_server.addr, token="root")


def each(clients, fn):
    out = [fn(c) for c in clients]
    if hasattr(out[0], "status_code"):  # hvac hands back the raw response for 204s
        assert out[0].status_code == out[1].status_code
    else:
        assert_same(out[0], out[1])
    return out[0]


def test_kv2_lifecycle(clients):
    p = uid("hv-")
    kv = lambda c: c.secrets.kv.v2  # noqa: E731 - short accessor
    each(clients, lambda c: kv(c).create_or_update_secret(p, secret={"a": "1"}))
    each(clients, lambda c: kv(c).create_or_update_secret(p, secret={"a": "2", "b": "x"}, cas=1))
    for c in clients:
        with pytest.raises(hvac.exceptions.InvalidRequest):
            kv(c).create_or_update_secret(p, secret={"a": "3"}, cas=1)
    got = each(clients, lambda c: kv(c).read_secret_version(p, raise_on_deleted_version=True))
    assert got["data"]["data"] == {"a": "2", "b": "x"}
    each(clients, lambda c: kv(c).patch(p, secret={"b": "y"}))
    got = each(clients, lambda c: kv(c).read_secret_version(p, version=1, raise_on_deleted_version=True))
    assert got["data"]["data"] == {"a": "1"}
    each(clients, lambda c: kv(c).update_metadata(p, max_versions=4, custom_metadata={"o": "t"}))
    meta = each(clients, lambda c: kv(c).read_secret_metadata(p))
    assert meta["data"]["current_version"] == 3 and meta["data"]["max_versions"] == 4
    each(clients, lambda c: kv(c).delete_latest_version_of_secret(p))
    each(clients, lambda c: kv(c).undelete_secret_versions(p, versions=[3]))
    each(clients, lambda c: kv(c).delete_secret_versions(p, versions=[1]))
    each(clients, lambda c: kv(c).destroy_secret_versions(p, versions=[2]))
    meta = each(clients, lambda c: kv(c).read_secret_metadata(p))
    assert meta["data"]["versions"]["2"]["destroyed"] is True
    assert meta["data"]["versions"]["1"]["deletion_time"]
    listed = each(clients, lambda c: kv(c).list_secrets(""))
    assert p in listed["data"]["keys"]
    each(clients, lambda c: kv(c).delete_metadata_and_all_versions(p))
    for c in clients:
        with pytest.raises(hvac.exceptions.InvalidPath):
            kv(c).read_secret_version(p, raise_on_deleted_version=True)
    each(clients, lambda c: kv(c).read_configuration())


def test_kv1_through_hvac(clients):
    mount = uid("hv1-")
    for c in clients:
        c.sys.enable_secrets_engine("kv", path=mount, options={"version": "1"})
    try:
        kv = lambda c: c.secrets.kv.v1  # noqa: E731 - short accessor
        for c in clients:
            assert kv(c).create_or_update_secret("app/db", {"user": "u", "pw": "p"}, mount_point=mount) \
                .status_code == 204
        got = [kv(c).read_secret("app/db", mount_point=mount) for c in clients]
        assert_same(got[0], got[1])
        assert got[0]["data"] == {"user": "u", "pw": "p"}
        each(clients, lambda c: kv(c).list_secrets("app", mount_point=mount))
        for c in clients:
            kv(c).delete_secret("app/db", mount_point=mount)
            with pytest.raises(hvac.exceptions.InvalidPath):
                kv(c).read_secret("app/db", mount_point=mount)
    finally:
        for c in clients:
            c.sys.disable_secrets_engine(mount)
