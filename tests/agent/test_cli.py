"""`strongroom agent` as a user runs it: a subprocess with flags or a config file, Kubernetes auth through a
TokenReview server, exec mode with a real child process, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid

import pytest
from click.testing import CliRunner

from strongroom.cli.agent import cli
from tests.agent.conftest import Env, read, wait_for
from tests.auth import kubeapi
from tests.harness import STRONGROOM

TPL = '{{ with secret "secret/data/app" }}{{ .Data.data.password }}{{ end }}'


def agent(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "STRONGROOM_"))}
    return subprocess.run([STRONGROOM, "agent", *args], capture_output=True, text=True, env={**e, **(env or {})},
                          timeout=timeout)


def approle_flags(env: Env) -> list[str]:
    return ["--address", env.server.addr, "--auth-method", "approle", "--auth-mount", env.mount,
            "--role-id-file", env.role_id_file, "--secret-id-file", env.secret_id_file]


def test_help() -> None:
    assert "Usage:" in agent("--help").stdout
    for sub in (["run"], ["exec"], ["validate"]):
        out = CliRunner().invoke(cli, [*sub, "--help"])
        assert out.exit_code == 0 and "Usage:" in out.output


def test_run_once_with_flags_json(env: Env, tmp_path) -> None:
    env.put("app", {"password": "flag-secret"})
    (tmp_path / "t.tpl").write_text(TPL)
    dest, whole = str(tmp_path / "v" / "pw"), str(tmp_path / "v" / "app.json")
    out = agent("run", "--once", "--format", "json", *approle_flags(env), "--template",
                f"{dest}={tmp_path / 't.tpl'}:0440", "--secret", f"{whole}=secret/data/app")
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    assert status["exit_code"] == 0 and sorted(status["rendered"]) == sorted([dest, whole])
    assert read(dest) == "flag-secret" and oct(os.stat(dest).st_mode & 0o777) == "0o440"
    assert json.loads(read(whole)) == {"password": "flag-secret"}
    assert "flag-secret" not in out.stdout + out.stderr


def test_config_file_yaml_and_hcl(env: Env, tmp_path) -> None:
    env.put("app", {"password": "cfg-secret"})
    role_id = read(env.role_id_file)
    y = tmp_path / "agent.yaml"
    y.write_text(textwrap.dedent(f"""\
        address: {env.server.addr}
        once: true
        auth: {{method: approle, mount: {env.mount}, role_id: {role_id}, secret_id_file: {env.secret_id_file}}}
        templates:
          - destination: {tmp_path}/a
            contents: '{TPL}'
            perms: "0600"
        """))
    assert agent("validate", "--config", str(y), "--format", "json").stdout.strip().startswith('{"valid": true')
    out = agent("run", "--config", str(y))
    assert out.returncode == 0, out.stderr
    assert read(tmp_path / "a") == "cfg-secret"
    env.new_secret_id()
    h = tmp_path / "agent.hcl"
    escaped = TPL.replace('"', '\\"')
    h.write_text(textwrap.dedent(f"""\
        address = "{env.server.addr}"
        once = true
        auto_auth {{
          method "approle" {{
            mount_path = "auth/{env.mount}"
            config = {{ role_id_file = "{env.role_id_file}", secret_id_file = "{env.secret_id_file}" }}
          }}
        }}
        template {{
          destination = "{tmp_path}/b"
          contents = "{escaped}"
          perms = 0640
        }}
        template {{
          destination = "{tmp_path}/c"
          contents = "{escaped}"
          perms = "0400"
        }}
        """))
    out = agent("run", "--config", str(h))
    assert out.returncode == 0, out.stderr
    assert read(tmp_path / "b") == "cfg-secret" and read(tmp_path / "c") == "cfg-secret"
    assert oct(os.stat(tmp_path / "b").st_mode & 0o777) == "0o640"  # `perms = 0640` unquoted is still octal
    assert oct(os.stat(tmp_path / "c").st_mode & 0o777) == "0o400"


def test_config_from_environment(env: Env, tmp_path) -> None:
    env.put("app", {"password": "env-cfg"})
    cfg = {"address": env.server.addr, "once": True,
           "auth": {"method": "approle", "mount": env.mount, "role_id_file": env.role_id_file,
                    "secret_id_file": env.secret_id_file},
           "templates": [{"destination": str(tmp_path / "e"), "contents": TPL}]}
    out = agent("run", env={"STRONGROOM_AGENT_CONFIG": json.dumps(cfg)})
    assert out.returncode == 0, out.stderr
    assert read(tmp_path / "e") == "env-cfg"


@pytest.mark.parametrize(("content", "want"), [
    ("auth: {method: ldap}\n", "auth.method must be one of"),
    ("auth: {method: kubernetes}\n", "auth.role is required"),
    ("bogus: 1\n", "unknown field(s) bogus"),
    ("templates: [{destination: /x, contents: a, perms: rwx}]\nauth: {method: token, token: t}\n",
     "perms must be an octal"),
    ("- not a mapping\n", "must be a mapping"),
    ("a: [unclosed\n", "cannot parse config"),
])
def test_bad_config_is_a_clear_error(tmp_path, content: str, want: str) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(content)
    out = CliRunner().invoke(cli, ["run", "--config", str(p)])
    assert out.exit_code != 0 and want in out.output, out.output
    v = CliRunner().invoke(cli, ["validate", "--config", str(p), "--format", "json"])
    assert v.exit_code == 1 and json.loads(v.output)["valid"] is False


def test_kubernetes_auth_with_projected_token(env: Env, tmp_path) -> None:
    kube = kubeapi.start()
    try:
        mount = env.mount.replace("approle", "kubernetes")
        env.root.sys.enable_auth_method("kubernetes", path=mount)
        env.root.auth.kubernetes.configure(kube.url, kubernetes_ca_cert=kube.ca_pem,
                                           token_reviewer_jwt=kube.reviewer_jwt, mount_point=mount)
        env.root.auth.kubernetes.create_role("web", ["web"], ["prod"], policies=["agent"], mount_point=mount)
        kube.cluster.add_sa("prod", "web")
        jwt = tmp_path / "token"
        jwt.write_text(kube.cluster.token("prod", "web"))
        env.put("app", {"password": "k8s-secret"})
        out = agent("run", "--once", "--address", env.server.addr, "--auth-method", "kubernetes",
                    "--auth-mount", mount, "--role", "web", "--jwt-path", str(jwt),
                    "--secret", f"{tmp_path}/s=secret/data/app")
        assert out.returncode == 0, out.stderr
        assert json.loads(read(tmp_path / "s")) == {"password": "k8s-secret"}
        # a service account the role does not bind is refused with a clear message
        kube.cluster.add_sa("prod", "other")
        jwt.write_text(kube.cluster.token("prod", "other"))
        out = agent("run", "--once", "--address", env.server.addr, "--auth-method", "kubernetes",
                    "--auth-mount", mount, "--role", "web", "--jwt-path", str(jwt),
                    "--secret", f"{tmp_path}/t=secret/data/app")
        assert out.returncode == 1 and "login denied" in out.stderr
        assert not (tmp_path / "t").exists()
    finally:
        kube.close()


CHILD = textwrap.dedent("""\
    import os, signal, sys, time
    out = sys.argv[1]
    def write():
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            f.write(os.environ["DB_PASSWORD"] + " " + str(os.getpid()))
        os.replace(tmp, out)
    write()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    while True:
        time.sleep(0.05)
    """)


def test_exec_restarts_child_on_change_and_revokes_on_sigterm(env: Env, tmp_path) -> None:
    env.put("app", {"password": "exec-one"})
    (tmp_path / "child.py").write_text(CHILD)
    out = tmp_path / "child.out"
    e = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "STRONGROOM_"))}
    proc = subprocess.Popen([STRONGROOM, "agent", "exec", *approle_flags(env), "--poll-interval", "0.3",
                             "--env-secret", "DB_PASSWORD=secret/data/app#password", "--log-format", "json",
                             "--", sys.executable, str(tmp_path / "child.py"), str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
    try:
        wait_for(lambda: out.exists() and out.read_text().startswith("exec-one "), what="child started")
        pid1 = out.read_text().split()[1]
        env.put("app", {"password": "exec-two"})
        wait_for(lambda: out.read_text().startswith("exec-two "), what="child restarted with the new value")
        assert out.read_text().split()[1] != pid1
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any("revoked the agent token" in rec["msg"] for rec in logs)
    assert "exec-one" not in err and "exec-two" not in err


def test_exec_once_passes_exit_code(env: Env) -> None:
    env.put("app", {"password": "code-secret"})
    script = "import os, sys; sys.exit(7 if os.environ['PW'] == 'code-secret' else 1)"
    out = agent("exec", "--once", *approle_flags(env), "--env-secret", "PW=secret/data/app#password",
                "--", sys.executable, "-c", script)
    assert out.returncode == 7, out.stderr


def test_exec_bad_env_secret_spec(env: Env) -> None:
    out = agent("exec", *approle_flags(env), "--env-secret", "PW=secret/data/app", "--", "true")
    assert out.returncode != 0 and "NAME=PATH#KEY" in out.stderr


@pytest.mark.bao
def test_against_openbao(bao_server, tmp_path) -> None:
    """The agent speaks the Vault API: it renders from a real OpenBao server too (AppRole login, KV v2)."""
    import hvac

    c = hvac.Client(url=bao_server.addr, token=bao_server.root_token)
    c.secrets.kv.v2.create_or_update_secret("app", secret={"password": "bao-secret"}, mount_point="secret")
    mount = f"ar-{uuid.uuid4().hex[:6]}"
    c.sys.enable_auth_method("approle", path=mount)
    c.sys.create_or_update_policy("agent", 'path "secret/data/app" { capabilities = ["read"] }')
    c.auth.approle.create_or_update_approle("agent", token_policies=["agent"], mount_point=mount)
    (tmp_path / "rid").write_text(c.auth.approle.read_role_id("agent", mount_point=mount)["data"]["role_id"])
    (tmp_path / "sid").write_text(c.auth.approle.generate_secret_id("agent", mount_point=mount)["data"]["secret_id"])
    out = agent("run", "--once", "--address", bao_server.addr, "--auth-method", "approle", "--auth-mount", mount,
                "--role-id-file", str(tmp_path / "rid"), "--secret-id-file", str(tmp_path / "sid"),
                "--secret", f"{tmp_path}/o=secret/data/app", "--revoke-on-exit", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(read(tmp_path / "o")) == {"password": "bao-secret"}
    assert json.loads(out.stdout)["token_revoked"] is True
