"""Proof that audit logs and server logs never hold a secret value or a raw token.

Plants values, runs a workload through hvac AND the real bao CLI with a file audit device, then greps every file
the server wrote (audit log, server log, the data dir) for each planted plaintext (and its base64 form) and
each raw token. Also exercises hvac's audit API and `strongroom audit verify-hmac` against that log."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import hvac
import orjson
import pytest

from tests.harness import STRONGROOM, Server, run_cli, strongroom_server

pytestmark = [pytest.mark.slow, pytest.mark.bao]

ROOT = "PLANTEDroot" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with strongroom_server(root_token=ROOT) as s:
        yield s


def planted(kind: str) -> str:
    return f"PLANTED-{kind}-{secrets.token_hex(8)}"


def files_under(root: str) -> Iterator[str]:
    for d, _, names in os.walk(root):
        for n in names:
            yield os.path.join(d, n)


def test_no_plaintext_and_no_raw_tokens_anywhere(server: Server) -> None:
    audit_path = os.path.join(server.data_dir, "audit.log")
    c = hvac.Client(url=server.addr, token=ROOT)
    c.sys.enable_audit_device("file", options={"file_path": audit_path})
    values = {k: planted(k) for k in ("kv2", "cli", "transit", "userpass", "wrapped", "patch")}
    tokens = [ROOT]

    c.secrets.kv.v2.create_or_update_secret("app/db", secret={"password": values["kv2"], "user": "svc"})
    assert c.secrets.kv.v2.read_secret_version("app/db", raise_on_deleted_version=False)["data"]["data"][
        "password"] == values["kv2"]
    child = c.auth.token.create(policies=["default"], display_name="child")["auth"]
    tokens.append(child["client_token"])
    c.sys.enable_secrets_engine("transit")
    c.secrets.transit.create_key("k")
    ct = c.secrets.transit.encrypt_data("k", base64.b64encode(values["transit"].encode()).decode())
    c.secrets.transit.decrypt_data("k", ct["data"]["ciphertext"])

    run_cli(server, "kv", "put", "secret/cli", f"token={values['cli']}")
    assert values["cli"] in run_cli(server, "kv", "get", "-field=token", "secret/cli").stdout
    run_cli(server, "kv", "patch", "secret/cli", f"extra={values['patch']}")
    run_cli(server, "auth", "enable", "userpass")
    run_cli(server, "write", "auth/userpass/users/alice", f"password={values['userpass']}", "policies=default")
    login = run_cli(server, "login", "-no-store", "-format=json", "-method=userpass", "username=alice",
                    f"password={values['userpass']}")
    tokens.append(orjson.loads(login.stdout)["auth"]["client_token"])
    run_cli(server, "kv", "put", "secret/wrapme", f"v={values['wrapped']}")
    wrapped = run_cli(server, "kv", "get", "-wrap-ttl=60", "-format=json", "secret/wrapme")
    wrap_token = orjson.loads(wrapped.stdout)["wrap_info"]["token"]
    tokens.append(wrap_token)
    assert values["wrapped"] in run_cli(server, "unwrap", "-format=json", wrap_token).stdout
    bad = run_cli(server, "kv", "get", "secret/app/db", token=tokens[1], check=False)  # denied: default policy
    assert bad.returncode != 0

    needles = [v.encode() for v in values.values()]
    needles += [base64.b64encode(v.encode()) for v in values.values()]
    needles += [t.encode() for t in tokens]
    assert os.path.getsize(audit_path) > 0
    server_log = server.log().encode()
    # dev mode prints the root token once in its banner, by design (as `vault server -dev` does); nothing else may
    banner_free = b"\n".join(x for x in server_log.splitlines() if not x.startswith(b"Root Token: "))
    contents = {p: Path(p).read_bytes() for p in files_under(server.data_dir) if not p.endswith(".log")}
    contents["audit.log"] = Path(audit_path).read_bytes()
    leaks = [(p, n[:16]) for p, data in contents.items() for n in needles if n in data]
    leaks += [("server log", n[:16]) for n in needles if n in banner_free]
    assert leaks == []

    # hvac's audit API, and the CLI finding the planted value's HMAC in the log
    listed = c.sys.list_enabled_audit_devices()
    assert "file/" in listed["data"] and listed["data"]["file/"]["type"] == "file"
    h = c.sys.calculate_hash("file", values["kv2"])["data"]["hash"]
    assert h.startswith("hmac-sha256:")
    found = subprocess.run([STRONGROOM, "audit", "verify-hmac", audit_path, "--hash", h, "--format", "json"],
                           capture_output=True, text=True, check=True)
    matches = orjson.loads(found.stdout)["matches"]
    # the write and the read of the secret, and the audit-hash request itself (its input is HMAC'd too)
    assert {m["path"] for m in matches} == {"secret/data/app/db", "sys/audit-hash/file"}
    assert any("password" in f for m in matches for f in m["fields"])
    via_server = subprocess.run(
        [STRONGROOM, "audit", "verify-hmac", audit_path, "--salt-from-server", "file/", "--format", "json"],
        input=values["cli"], capture_output=True, text=True, check=True, env=server.env())
    cli_matches = orjson.loads(via_server.stdout)
    assert cli_matches["count"] >= 2 and values["cli"] not in via_server.stdout + via_server.stderr
    summary = subprocess.run([STRONGROOM, "audit", "summarise", audit_path, "--format", "json"],
                             capture_output=True, text=True, check=True)
    s = orjson.loads(summary.stdout)
    assert s["denials"] >= 1 and s["malformed_lines"] == 0
    c.sys.disable_audit_device("file")
    assert "file/" not in c.sys.list_enabled_audit_devices()["data"]
