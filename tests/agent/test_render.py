"""The agent against a real Strongroom server: render files (modes, atomically), re-render on change, renew and
revoke its token, keep cached values through an outage."""

from __future__ import annotations

import json
import os
import stat
import time

import pytest

from strongroom.agent.config import AgentConfig, AuthConfig, TemplateConfig
from strongroom.agent.runner import Agent
from tests.agent.conftest import Env, read, wait_for
from tests.harness import start_strongroom

TPL = '{{ with secret "secret/data/app" }}user={{ .Data.data.user }}\npass={{ .Data.data.password }}\n{{ end }}'


def test_once_renders_files_with_modes(env: Env) -> None:
    env.put("app", {"user": "alice", "password": "s3cr3t-v1"})
    out = os.path.join(env.tmp, "out", "app.env")
    cfg = env.config(once=True, templates=[TemplateConfig(destination=out, contents=TPL, perms=0o640)])
    agent = Agent(cfg)
    assert agent.run() == 0
    assert read(out) == "user=alice\npass=s3cr3t-v1\n"
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640
    assert os.listdir(os.path.dirname(out)) == ["app.env"]  # no temp files left behind
    assert agent.status.rendered == [out] and agent.status.token_revoked is False  # init mode keeps the token
    assert agent.session is not None and env.accessor_alive(agent.session.accessor)


def test_sidecar_rerenders_on_change_and_revokes_on_exit(env: Env, running) -> None:
    env.put("app", {"user": "bob", "password": "first"})
    out = os.path.join(env.tmp, "app.env")
    r = running(Agent(env.config(poll_interval=0.3, templates=[TemplateConfig(destination=out, contents=TPL)])))
    wait_for(lambda: os.path.exists(out), what="first render")
    assert "pass=first" in read(out)
    inode = os.stat(out).st_ino
    time.sleep(0.8)
    assert os.stat(out).st_ino == inode  # unchanged secret: the file is not rewritten
    env.put("app", {"user": "bob", "password": "second"})
    wait_for(lambda: "pass=second" in read(out), what="re-render after rotation")
    accessor = r.agent.session.accessor
    assert env.accessor_alive(accessor)
    assert r.stop() == 0
    assert r.agent.status.token_revoked is True
    assert not env.accessor_alive(accessor)


def test_wake_rerenders_immediately(env: Env, running) -> None:
    env.put("app", {"user": "u", "password": "one"})
    out = os.path.join(env.tmp, "app.env")
    r = running(Agent(env.config(poll_interval=3600, templates=[TemplateConfig(destination=out, contents=TPL)])))
    wait_for(lambda: os.path.exists(out), what="first render")
    env.put("app", {"user": "u", "password": "two"})
    r.agent.wake()  # what a change notification (or SIGHUP) does
    wait_for(lambda: "pass=two" in read(out), what="render after wake")
    r.stop()


def test_change_notification_rerenders_without_polling(env: Env, running) -> None:
    from tests.agent.conftest import POLICY

    env.root.sys.create_or_update_policy("agent", POLICY + 'path "sys/events/kv" { capabilities = ["read"] }')
    env.put("app", {"user": "u", "password": "n1"})
    out = os.path.join(env.tmp, "app.env")
    r = running(Agent(env.config(poll_interval=3600, templates=[TemplateConfig(destination=out, contents=TPL)])))
    wait_for(lambda: os.path.exists(out), what="first render")
    time.sleep(0.5)  # let the watcher take its starting index
    env.put("app-other", {"x": "y"})  # a change to a secret we don't render: no re-render
    env.put("app", {"user": "u", "password": "n2"})
    wait_for(lambda: "pass=n2" in read(out), what="render after a change notification")
    assert r.agent.status.notifications >= 1
    r.stop()


def test_token_is_renewed(env: Env, running) -> None:
    env.root.auth.approle.create_or_update_approle("agent", token_policies=["agent"], token_ttl="3s",
                                                   token_max_ttl="1h", mount_point=env.mount)
    env.put("app", {"user": "u", "password": "p"})
    out = os.path.join(env.tmp, "app.env")
    r = running(Agent(env.config(poll_interval=0.5, templates=[TemplateConfig(destination=out, contents=TPL)])))
    wait_for(lambda: r.agent.status.token_renewals >= 2, timeout=20, what="two token renewals")
    assert r.agent.status.logins == 1  # renewed, not re-logged-in
    assert env.accessor_alive(r.agent.session.accessor)
    r.stop()


def test_relogin_when_max_ttl_reached(env: Env, running) -> None:
    env.root.auth.approle.create_or_update_approle("agent", token_policies=["agent"], token_ttl="2s",
                                                   token_max_ttl="3s", secret_id_num_uses=0, mount_point=env.mount)
    env.put("app", {"user": "u", "password": "p"})
    out = os.path.join(env.tmp, "app.env")
    r = running(Agent(env.config(poll_interval=0.5, templates=[TemplateConfig(destination=out, contents=TPL)])))
    wait_for(lambda: r.agent.status.logins >= 2, timeout=20, what="a fresh login at max_ttl")
    env.put("app", {"user": "u", "password": "after-relogin"})
    wait_for(lambda: "after-relogin" in read(out), what="render with the new token")
    r.stop()


def test_revoked_token_leads_to_a_new_login(env: Env, running) -> None:
    env.put("app", {"user": "u", "password": "before"})
    out = os.path.join(env.tmp, "app.env")
    r = running(Agent(env.config(poll_interval=0.2, retry_interval=0.2,
                                 templates=[TemplateConfig(destination=out, contents=TPL)])))
    wait_for(lambda: os.path.exists(out), what="first render")
    env.root.auth.token.revoke_accessor(r.agent.session.accessor)  # an operator revokes the agent's token
    env.put("app", {"user": "u", "password": "after"})
    wait_for(lambda: "pass=after" in read(out), what="render after re-login")
    assert r.agent.status.logins == 2
    r.stop()


def test_outage_keeps_cached_values_then_recovers(tmp_path) -> None:
    import hvac

    for d in ("data", "data2"):
        (tmp_path / d).mkdir()
    server = start_strongroom(data_dir=str(tmp_path / "data"))
    try:
        root = hvac.Client(url=server.addr, token="root")
        root.secrets.kv.v2.create_or_update_secret("app", secret={"user": "c", "password": "cached"},
                                                   mount_point="secret")
        out, cache = str(tmp_path / "vol" / "app.env"), str(tmp_path / "vol")
        tok = tmp_path / "token"
        tok.write_text(root.auth.token.create(policies=["root"], ttl="1h")["auth"]["client_token"])
        cfg = AgentConfig(address=server.addr, auth=AuthConfig(method="token", token_file=str(tok)),
                          poll_interval=0.2, retry_interval=0.2, cache_dir=cache,
                          templates=[TemplateConfig(destination=out, contents=TPL)])
        agent = Agent(cfg)
        import threading

        t = threading.Thread(target=agent.run, daemon=True)
        t.start()
        wait_for(lambda: os.path.exists(out), what="first render")
        server.stop()  # the store goes away
        wait_for(lambda: agent.status.degraded, what="degraded mode")
        time.sleep(0.5)
        assert read(out) == "user=c\npass=cached\n"  # the running pod keeps its file
        assert t.is_alive()

        # a restarted init container renders from the tmpfs cache while the store is still down
        out2 = str(tmp_path / "vol" / "again.env")
        once = Agent(AgentConfig(address=server.addr, auth=AuthConfig(method="token", token_file=str(tok)),
                                 once=True, retry_interval=0.1, startup_timeout=0.5, cache_dir=cache,
                                 templates=[TemplateConfig(destination=out2, contents=TPL)]))
        assert once.run() == 0
        assert read(out2) == "user=c\npass=cached\n"
        assert stat.S_IMODE(os.stat(os.path.join(cache, "strongroom-agent-cache.json")).st_mode) == 0o600

        # the store comes back (same data, same port): changes flow again
        port = server.addr.rsplit(":", 1)[1]
        server = start_strongroom(data_dir=str(tmp_path / "data2"), port=int(port))
        root = hvac.Client(url=server.addr, token="root")
        root.secrets.kv.v2.create_or_update_secret("app", secret={"user": "c", "password": "fresh"},
                                                   mount_point="secret")
        agent.fetcher.client.token = "root"  # a new dev server: the old token is gone
        wait_for(lambda: "pass=fresh" in read(out), what="render after recovery")
        assert not agent.status.degraded
        agent.stop()
        t.join(30)
    finally:
        server.stop()


def test_no_store_no_cache_fails_clearly(tmp_path) -> None:
    tok = tmp_path / "token"
    tok.write_text("s.not-a-real-token")
    agent = Agent(AgentConfig(address="http://127.0.0.1:9", auth=AuthConfig(method="token", token_file=str(tok)),
                              once=True, retry_interval=0.1, startup_timeout=0.3,
                              templates=[TemplateConfig(destination=str(tmp_path / "x"), contents=TPL)]))
    assert agent.run() == 1
    assert "unreachable" in agent.status.errors[0]
    assert not os.path.exists(tmp_path / "x")


def test_template_error_names_position_not_value(env: Env) -> None:
    env.put("app", {"user": "u", "password": "hunter2-secret"})
    bad = '{{ with secret "secret/data/app" }}{{ .Data.data.nokey }}{{ end }}'
    out = os.path.join(env.tmp, "bad")
    agent = Agent(env.config(once=True, templates=[TemplateConfig(destination=out, contents=bad)]))
    assert agent.run() == 1
    err = agent.status.errors[0]
    assert 'no entry for key "nokey"' in err and out in err and "hunter2" not in err
    assert not os.path.exists(out)


def test_missing_and_forbidden_secret(env: Env) -> None:
    out = os.path.join(env.tmp, "x")
    for path, want in (("secret/data/app-missing", "no secret at secret/data/app-missing"),
                       ("secret/data/other", "permission denied")):
        tpl = '{{ with secret "' + path + '" }}{{ .Data }}{{ end }}'
        agent = Agent(env.config(once=True, templates=[TemplateConfig(destination=out, contents=tpl)]))
        assert agent.run() == 1
        assert want in agent.status.errors[0]


def test_bad_login_is_a_clear_error(env: Env) -> None:
    with open(env.secret_id_file, "w") as f:
        f.write("wrong-secret-id")
    agent = Agent(env.config(once=True, templates=[TemplateConfig(destination=os.path.join(env.tmp, "x"),
                                                                  contents="x")]))
    assert agent.run() == 1
    assert "login" in agent.status.errors[0] and "wrong-secret-id" not in json.dumps(agent.status.as_dict())


@pytest.mark.parametrize("perms", [0o400, 0o644])
def test_umask_does_not_change_mode(env: Env, perms: int) -> None:
    env.put("app", {"user": "u", "password": "p"})
    out = os.path.join(env.tmp, f"m{perms:o}")
    old = os.umask(0o077)
    try:
        assert Agent(env.config(once=True, templates=[TemplateConfig(destination=out, contents=TPL,
                                                                     perms=perms)])).run() == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(out).st_mode) == perms


def test_exec_signals_child_when_files_change(env: Env, running, tmp_path) -> None:
    """A child that re-reads its files on SIGHUP is signalled, not restarted, when a rendered file changes."""
    import sys

    from strongroom.agent.config import ExecConfig

    env.put("app", {"user": "u", "password": "sig-one"})
    out, marks = os.path.join(env.tmp, "app.env"), tmp_path / "hups"
    script = tmp_path / "child.py"
    script.write_text(
        "import os, signal, sys, time\n"
        "def hup(*a):\n"
        f"    open({str(marks)!r}, 'a').write(str(os.getpid()) + '\\n')\n"
        "signal.signal(signal.SIGHUP, hup)\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
        "while True: time.sleep(0.05)\n")
    cfg = env.config(poll_interval=0.3, templates=[TemplateConfig(destination=out, contents=TPL)],
                     exec=ExecConfig(command=[sys.executable, str(script)], restart_on_change=False,
                                     signal_on_change="SIGHUP"))
    r = running(Agent(cfg))
    wait_for(lambda: r.agent.child is not None and r.agent.child.proc is not None, what="child started")
    time.sleep(0.3)
    env.put("app", {"user": "u", "password": "sig-two"})
    wait_for(lambda: marks.exists() and marks.read_text().strip(), what="SIGHUP delivered")
    assert marks.read_text().split() == [str(r.agent.child.proc.pid)] and r.agent.child.restarts == 0
    assert r.stop() == 0
