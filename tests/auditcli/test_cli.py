"""`strongroom audit` over files rendered by the real audit formatter (core.audit.format), as a device writes."""

from __future__ import annotations

import gzip
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom import auditlog as al
from strongroom.cli.audit import cli
from strongroom.core.audit.format import FormatOptions, render
from strongroom.core.audit.hashing import hash_value

SALT = b"s" * 32
PASSWORD = "hunter2-PLANTED-value"


def entry(kind: str, t: str, path: str, op: str = "read", name: str = "token-app", error: str = "",
          data: dict[str, Any] | None = None, k8s: tuple[str, str] | None = None) -> dict[str, Any]:
    auth: dict[str, Any] = {"client_token": "s.rawtoken", "accessor": f"acc-{name}", "display_name": name,
                            "policies": ["default"], "metadata": None}
    if k8s:
        auth["kubernetes"] = {"namespace": k8s[0], "service_account": k8s[1], "pod": ""}
    e: dict[str, Any] = {"time": t, "type": kind, "auth": auth,
                         "request": {"id": f"id-{t}", "operation": op, "path": path, "mount_point": "secret/",
                                     "mount_type": "kv", "remote_address": "10.1.2.3", "client_token": "s.rawtoken"}}
    if error:
        e["error"] = error
    if kind == "response":
        e["response"] = {"data": data} if data else {}
    return e


def workload() -> list[dict[str, Any]]:
    out = []
    rows = [("2026-01-01T10:00:00Z", "secret/data/app/db", "read", "token-app", "", {"password": PASSWORD}, None),
            ("2026-01-01T10:05:00Z", "secret/data/app/db", "read", "kubernetes-web", "", {"password": PASSWORD},
             ("payments", "web")),
            ("2026-01-01T11:00:00Z", "secret/data/other", "read", "kubernetes-web", "permission denied", None,
             ("payments", "web")),
            ("2026-01-01T11:30:00Z", "secret/data/app/api", "update", "token-ops", "", None, None)]
    for t, path, op, name, error, data, k8s in rows:
        out.append(entry("request", t, path, op, name, error, None, k8s))
        out.append(entry("response", t, path, op, name, error, data, k8s))
    out.append({"time": "2026-01-01T11:31:00Z", "type": "alert",
                "alert": {"id": "a1", "rule": "denial_burst", "message": "10 denials", "request": {
                    "path": "secret/data/other", "operation": "read"}}, "auth": {"accessor": "acc-x"}})
    return out


@pytest.fixture
def log(tmp_path: Path) -> Path:
    p = tmp_path / "audit.log"
    opts = FormatOptions(salt=SALT, hmac_accessor=False)
    p.write_bytes(b"".join(render(e, opts) for e in workload()) + b"this is not json\n{\"no_type\": 1}\n")
    return p


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def js(*args: str) -> Any:
    r = run(*args, "--format", "json")
    assert r.exit_code == 0, r.output
    return orjson.loads(r.stdout)


def test_the_log_holds_no_plaintext(log: Path) -> None:
    text = log.read_text()
    assert PASSWORD not in text and "s.rawtoken" not in text


def test_search_filters(log: Path) -> None:
    assert js("search", str(log))["count"] == 9
    assert js("search", str(log), "--type", "response", "--path", "secret/data/app/*")["count"] == 3
    found = js("search", str(log), "--namespace", "payments", "--errors")
    assert found["count"] == 2 and {m["path"] for m in found["matches"]} == {"secret/data/other"}
    assert js("search", str(log), "--service-account", "web", "--operation", "read")["count"] == 4
    assert js("search", str(log), "--display-name", "token-*", "--type", "request")["count"] == 2
    assert js("search", str(log), "--accessor", "acc-token-ops")["count"] == 2
    assert js("search", str(log), "--since", "2026-01-01T11:00:00Z", "--until", "2026-01-01T11:30:00Z",
              "--type", "response")["count"] == 2
    assert js("search", str(log), "--error", "DENIED")["count"] == 2
    assert js("search", str(log), "--type", "alert")["matches"][0]["rule"] == "denial_burst"
    assert js("search", str(log))["malformed_lines"] == 2


def test_malformed_lines_are_reported_and_strict_fails(log: Path) -> None:
    r = run("search", str(log))
    assert r.exit_code == 0 and "skipped 2 malformed line(s)" in r.stderr and "audit.log:10" in r.stderr
    assert run("search", str(log), "--strict").exit_code == 1


def test_summarise(log: Path) -> None:
    s = js("summarise", str(log))
    assert s["requests"] == 4 and s["denials"] == 1 and s["alerts"] == 1
    assert s["who_read_what"] == {"k8s:payments/web": ["secret/data/app/db"], "token-app": ["secret/data/app/db"]}
    assert s["top_paths"][0] == {"path": "secret/data/app/db", "count": 2}
    assert s["per_hour"] == [{"hour": "2026-01-01T10:00Z", "count": 2}, {"hour": "2026-01-01T11:00Z", "count": 2}]
    table = run("summarize", str(log))
    assert table.exit_code == 0 and "Who read what" in table.stdout and "Requests per hour" in table.stdout


def test_verify_hmac_finds_the_entries_that_carried_the_value(log: Path) -> None:
    h = hash_value(SALT, PASSWORD)
    out = js("verify-hmac", str(log), "--hash", h)
    assert out["count"] == 2 and {m["display_name"] for m in out["matches"]} == {"token-app", "kubernetes-web"}
    assert out["matches"][0]["fields"] == ["response.data.password"]
    bare = js("verify-hmac", str(log), "--hash", h.split(":", 1)[1])
    assert bare["count"] == 2
    assert js("verify-hmac", str(log), "--hash", hash_value(SALT, "other"))["count"] == 0
    assert run("verify-hmac", str(log)).exit_code == 2  # neither --hash nor --salt-from-server


def test_export_cef_and_ocsf(log: Path, tmp_path: Path) -> None:
    r = run("export", str(log), "--to", "cef", "--type", "response")
    lines = r.stdout.splitlines()
    assert len(lines) == 4 and all(x.startswith("CEF:0|Strongroom|Strongroom|") for x in lines)
    assert "request=secret/data/other" in lines[2] and "outcome=failure" in lines[2] and "cs2=payments" in lines[2]
    out = tmp_path / "o.jsonl"
    assert run("export", str(log), "--to", "ocsf", "-o", str(out)).exit_code == 0
    events = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    assert len(events) == 9 and all(e["class_uid"] == 6003 and e["type_uid"] // 100 == 6003 for e in events)
    denied = [e for e in events if e["status_id"] == 2]
    assert denied and denied[0]["actor"]["user"]["account"] == {"name": "web", "uid": "payments"}
    raw = run("export", str(log), "--to", "jsonl", "--path", "secret/data/app/db")
    assert len(raw.stdout.splitlines()) == 4 and PASSWORD not in raw.stdout


def test_cef_escapes_separators() -> None:
    r = al.record({"time": "2026-01-01T00:00:00Z", "type": "response", "error": "bad=x\nnext",
                   "request": {"operation": "read", "path": "a|b\\c"}})
    line = al.cef(r)
    assert "request=a|b\\\\c" in line and "msg=bad\\=x\\nnext" in line and "\n" not in line


def test_tail_last_n_and_json_lines(log: Path) -> None:
    r = run("tail", "-n", "3", str(log), "--format", "json")
    rows = [orjson.loads(x) for x in r.stdout.splitlines()]
    assert [x["type"] for x in rows] == ["request", "response", "alert"]
    assert "secret/data/other" in run("tail", "-n", "1", str(log), "--errors").stdout


def test_follow_survives_rotation(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_bytes(b"")
    got: list[str] = []
    opts = FormatOptions(salt=SALT)
    deadline = time.monotonic() + 20  # never hang the suite
    it = al.follow(str(p), poll=0.01, stop=lambda: time.monotonic() > deadline)
    with open(p, "ab") as f:
        f.write(render(entry("request", "2026-01-01T00:00:01Z", "a"), opts))
        f.write(render(entry("request", "2026-01-01T00:00:02Z", "b"), opts)[:20])  # half a line
    got.append(next(it).entry["request"]["path"])
    with open(p, "ab") as f:
        f.write(render(entry("request", "2026-01-01T00:00:02Z", "b"), opts)[20:])
    got.append(next(it).entry["request"]["path"])
    p.rename(tmp_path / "a.log.1")  # logrotate
    p.write_bytes(render(entry("request", "2026-01-01T00:00:03Z", "c"), opts))
    got.append(next(it).entry["request"]["path"])
    assert got == ["a", "b", "c"]


def test_gzip_and_prefix_and_errors(tmp_path: Path) -> None:
    opts = FormatOptions(salt=SALT, prefix="AUDIT: ")
    gz = tmp_path / "old.log.gz"
    with gzip.open(gz, "wb") as f:
        f.write(render(entry("response", "2026-01-01T00:00:00Z", "secret/data/x"), opts))
    assert js("search", str(gz))["count"] == 1
    missing = run("search", str(tmp_path / "nope.log"))
    assert missing.exit_code == 1 and "does not exist" in missing.output
    assert run("search", "--since", "yesterday-ish", str(gz)).exit_code == 2


def test_forced_progress_bar_does_not_disturb_output(log: Path) -> None:
    r = run("search", str(log), "--progress", "--format", "json")
    assert r.exit_code == 0 and orjson.loads(r.stdout)["count"] == 9


def test_every_command_has_help() -> None:
    for cmd in ("", "search", "summarise", "summarize", "tail", "verify-hmac", "export"):
        r = run(*([cmd] if cmd else []), "--help")
        assert r.exit_code == 0 and "Usage" in r.output


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_parse_line_never_crashes(raw: bytes) -> None:
    try:
        e = al.parse_line(raw)
    except ValueError:
        return
    assert isinstance(e, dict) and "type" in e
    al.record(e)  # any dict with a type flattens without error


def test_prefilter_never_hides_a_match(log: Path) -> None:
    lines = list(al.read([str(log)]))
    for flt in (al.Filter(paths=["secret/data/app/*"]), al.Filter(paths=["secret/data/o*", "*api"]),
                al.Filter(paths=["secret/data/[ab]pp/*"]), al.Filter(accessor="acc-token-ops"),
                al.Filter(paths=["secret/data/app/db"], accessor="acc-token-app")):
        keep = al.prefilter(flt)
        full = [ln.number for ln, _ in al.select(lines, flt)]
        fast = [ln.number for ln, _ in al.select(al.read([str(log)], keep=keep), flt)]
        assert full == fast and full
    assert al.prefilter(al.Filter(paths=["*db"])) is None  # no literal prefix: no prefilter
    keep = al.prefilter(al.Filter(paths=["secret/data/app/*"]))
    assert keep is not None and not keep(b'{"type":"request","request":{"path":"secret/data/other"}}')
