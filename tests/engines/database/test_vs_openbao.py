"""The same database/ calls against Strongroom and a real OpenBao: the response shapes must match."""

from __future__ import annotations

from collections.abc import Iterator

import hvac
import pytest

from tests.engines.database.conftest import CREATE, Db
from tests.harness import Server, openbao_server


@pytest.fixture(scope="module")
def bao() -> Iterator[Server]:
    with openbao_server() as s:
        yield s


def _setup(c: hvac.Client, db: Db) -> None:
    c.sys.enable_secrets_engine("database", path="cmp")
    c.secrets.database.configure("pg", "postgresql-database-plugin", allowed_roles=["cmp"],
                                 connection_url=db.template_url, username=db.pg.user, password=db.pg.password,
                                 mount_point="cmp")
    c.secrets.database.create_role("cmp", "pg", creation_statements=[CREATE], default_ttl="1h", max_ttl="2h",
                                   mount_point="cmp")


def test_shapes_match_openbao(server: Server, bao: Server, db: Db) -> None:
    ours, theirs = hvac.Client(url=server.addr, token="root"), hvac.Client(url=bao.addr, token="root")
    for c in (ours, theirs):
        _setup(c, db)
    pairs = [(c.secrets.database.read_connection("pg", mount_point="cmp")["data"],
              c.secrets.database.read_role("cmp", mount_point="cmp")["data"],
              c.secrets.database.generate_credentials("cmp", mount_point="cmp")) for c in (ours, theirs)]
    (oc, orole, ocr), (bc, brole, bcr) = pairs
    assert oc == bc  # same keys, same values, no password
    assert orole == brole
    assert set(ocr["data"]) == set(bcr["data"]) == {"username", "password"}
    assert ocr["lease_duration"] == bcr["lease_duration"] == 3600 and ocr["renewable"] == bcr["renewable"]
    assert ocr["lease_id"].startswith("cmp/creds/cmp/") and bcr["lease_id"].startswith("cmp/creds/cmp/")
    for c, cr in ((ours, ocr), (theirs, bcr)):
        looked = c.sys.read_lease(cr["lease_id"])["data"]
        assert {"id", "issue_time", "expire_time", "renewable", "ttl"} <= set(looked)
        renewed = c.sys.renew_lease(cr["lease_id"], increment=1800)
        assert renewed["lease_duration"] == 1800 and renewed["renewable"] is True
        c.sys.revoke_lease(cr["lease_id"])
        assert not db.role_exists(cr["data"]["username"])
