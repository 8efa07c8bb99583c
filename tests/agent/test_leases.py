"""Dynamic secrets (the database engine on a real PostgreSQL): the agent keeps one credential and renews its lease
instead of minting a new one per poll, and revokes it on exit."""

from __future__ import annotations

import os

import pytest

from strongroom.agent.config import TemplateConfig
from strongroom.agent.runner import Agent
from tests.agent.conftest import POLICY, Env, read, wait_for
from tests.engines.database.conftest import CREATE, Db, fresh_db

pytestmark = pytest.mark.postgres


def _db_mount(env: Env, db: Db, pg: object, mount: str) -> None:
    env.root.sys.enable_secrets_engine("database", path=mount)
    env.root.secrets.database.configure("pg", "postgresql-database-plugin", allowed_roles=["*"],
                                        connection_url=db.template_url, username=db.pg.user,
                                        password=db.pg.password, mount_point=mount)
    env.root.secrets.database.create_role("ro", "pg", creation_statements=[CREATE], default_ttl=3, max_ttl=600,
                                          mount_point=mount)


def test_lease_renewed_not_reissued_and_revoked_on_exit(env: Env, pg, running) -> None:
    db = fresh_db(pg)
    mount = "db" + env.mount.removeprefix("approle")
    _db_mount(env, db, pg, mount)
    out = os.path.join(env.tmp, "db")
    tpl = '{{ with secret "' + mount + '/creds/ro" }}{{ .Data.username }} {{ .Data.password }}{{ end }}'
    r = running(Agent(env.config(poll_interval=0.3, templates=[TemplateConfig(destination=out, contents=tpl)])))
    wait_for(lambda: os.path.exists(out), what="first render")
    user, password = read(out).split()
    assert db.can_login(user, password)
    wait_for(lambda: r.agent.fetcher.renewals >= 2, timeout=20, what="two lease renewals")
    assert read(out).split()[0] == user  # polling did not mint a new credential
    assert db.can_login(user, password)  # past the 3 s TTL thanks to renewals
    assert r.stop() == 0
    assert r.agent.status.token_revoked  # the policy has no sys/leases/revoke: the token takes its lease along
    wait_for(lambda: not db.role_exists(user), timeout=15, what="the database user to be dropped")


def test_lease_revoked_explicitly_when_policy_allows(env: Env, pg, running) -> None:
    env.root.sys.create_or_update_policy("agent", POLICY + 'path "sys/leases/revoke" { capabilities = ["update"] }')
    db = fresh_db(pg)
    mount = "db" + env.mount.removeprefix("approle")
    _db_mount(env, db, pg, mount)
    out = os.path.join(env.tmp, "db")
    tpl = '{{ with secret "' + mount + '/creds/ro" }}{{ .Data.username }} {{ .Data.password }}{{ end }}'
    r = running(Agent(env.config(poll_interval=0.3, templates=[TemplateConfig(destination=out, contents=tpl)])))
    wait_for(lambda: os.path.exists(out), what="first render")
    user = read(out).split()[0]
    r.stop()
    assert r.agent.status.revoked_leases == 1
    wait_for(lambda: not db.role_exists(user), timeout=15, what="the database user to be dropped")
