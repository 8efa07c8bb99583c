"""Helpers for driving Strongroom and a real OpenBao with the same `bao` commands and comparing the answers.

Outputs are compared after normalising what legitimately differs between two servers (ids, accessors, times,
nonces, key material, versions); TTLs are compared with a small tolerance.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from tests.harness import BAO, Server, run_cli, start_strongroom, wait_ready
from tests.services import free_port

# values that differ between any two servers (or two runs): compared by type only
VOLATILE = {
    "request_id", "accessor", "client_token", "id", "creation_time", "expire_time", "issue_time",
    "created_time", "updated_time", "install_time", "nonce", "verification_nonce", "cluster_id", "cluster_name",
    "build_date", "commit_date", "storage_type", "keys", "keys_base64", "unseal_keys_b64",
    "unseal_keys_hex", "root_token", "otp", "encoded_token", "encoded_root_token", "token", "wrapped_accessor",
    "uuid", "running_plugin_version", "plugin_version", "running_sha256", "last_renewal_time",
    "server_time_utc", "deletion_time", "encryptions", "deprecation_status", "last_renewal",
}
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bao-cli")
# seconds that tick while a request is in flight
APPROX = {"ttl", "lease_duration", "creation_ttl"}


def bao(server: Server, *args: str, token: str | None = None, input: str | None = None,
        check: bool = True, fmt: str = "") -> subprocess.CompletedProcess[str]:
    """The real bao CLI; `fmt` sets BAO_FORMAT (flags must precede positional args, so no -format= here)."""
    if not fmt:
        return run_cli(server, *args, token=token, input=input, check=check)
    env = {**server.env(token), "BAO_FORMAT": fmt}
    proc = subprocess.run([BAO, *args], capture_output=True, text=True, env=env, input=input, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def bao_json(server: Server, *args: str, token: str | None = None, input: str | None = None) -> Any:
    proc = bao(server, *args, token=token, input=input, fmt="json")
    if not proc.stdout.strip():
        return None
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"bao {' '.join(args)} printed no JSON:\n{proc.stdout}\n{proc.stderr}") from None


def diff(a: Any, b: Any, path: str = "", *, ignore: frozenset[str] = frozenset(), tolerance: int = 2) -> list[str]:
    """Differences between two JSON values after normalisation ('' when they agree)."""
    out: list[str] = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            p = f"{path}.{k}"
            if k in ignore:
                continue
            if k not in a or k not in b:
                out.append(f"{p}: only in {'strongroom' if k in a else 'openbao'}")
            elif k == "version" and isinstance(a[k], str) and isinstance(b[k], str):
                continue  # server build version (KV's integer `version` is still compared)
            elif k in VOLATILE:
                if (a[k] is None) != (b[k] is None) and not (a[k] in ("", [], {}) or b[k] in ("", [], {})):
                    out.append(f"{p}: {type(a[k]).__name__} vs {type(b[k]).__name__}")
            elif k in APPROX and isinstance(a[k], int) and isinstance(b[k], int):
                if abs(a[k] - b[k]) > tolerance:
                    out.append(f"{p}: {a[k]} vs {b[k]}")
            else:
                out.extend(diff(a[k], b[k], p, ignore=ignore, tolerance=tolerance))
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items vs {len(b)}")
        else:
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                out.extend(diff(x, y, f"{path}[{i}]", ignore=ignore, tolerance=tolerance))
    elif a != b:
        out.append(f"{path}: {a!r} vs {b!r}")
    return out


def assert_same(ours: Any, theirs: Any, *, ignore: tuple[str, ...] = (), tolerance: int = 2) -> None:
    d = diff(ours, theirs, ignore=frozenset(ignore), tolerance=tolerance)
    assert not d, "Strongroom diverges from OpenBao:\n" + "\n".join(d)


def parallel(fn: Callable[..., Any], *calls: tuple[Any, ...]) -> list[Any]:
    """fn(*call) for each call, concurrently (the CLI spends most of its time starting up)."""
    futures = [_POOL.submit(fn, *c) for c in calls]
    return [f.result() for f in futures]


def each(servers: tuple[Server, ...] | list[Server], *args: str, json_out: bool = False,
         input: str | None = None) -> list[Any]:
    """The same bao command on every server, concurrently; checked; stdout (or parsed JSON) per server."""
    if json_out:
        return parallel(lambda s: bao_json(s, *args, input=input), *((s,) for s in servers))
    return [p.stdout for p in parallel(lambda s: bao(s, *args, input=input), *((s,) for s in servers))]


def both(sr: Server, ob: Server, *args: str, token: tuple[str | None, str | None] = (None, None),
         input: str | None = None, ignore: tuple[str, ...] = ()) -> tuple[Any, Any]:
    """Runs `bao <args>` (JSON output) against both servers and asserts the answers agree."""
    ours, theirs = parallel(lambda s, t: bao_json(s, *args, token=t, input=input), (sr, token[0]),
                             (ob, token[1]))
    assert_same(ours, theirs, ignore=ignore)
    return ours, theirs


def both_text(sr: Server, ob: Server, *args: str, input: str | None = None) -> tuple[str, str]:
    """Runs a command against both; asserts the same exit code and the same output with the address replaced."""
    a, b = parallel(lambda s: bao(s, *args, input=input, check=False), (sr,), (ob,))
    assert a.returncode == b.returncode, f"exit {a.returncode} vs {b.returncode}:\n{a.stdout}{a.stderr}\n--\n" \
                                         f"{b.stdout}{b.stderr}"
    ours = (a.stdout + a.stderr).replace(sr.addr, "ADDR")
    theirs = (b.stdout + b.stderr).replace(ob.addr, "ADDR")
    return ours, theirs


def error_lines(text: str) -> list[str]:
    """The `* message` lines of a bao CLI API error, with OpenBao's multierror wrapper removed."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("* ")]
    return [ln for ln in lines if not ln.endswith("error occurred:") and not ln.endswith("errors occurred:")]


@contextmanager
def config_servers() -> Iterator[tuple[Server, Server]]:
    """A NOT-dev Strongroom (sqlite, from a config file) and a NOT-dev OpenBao (inmem), both uninitialised."""
    sr_dir = tempfile.mkdtemp(prefix="strongroom-cfg-")
    port = free_port()
    cfg = os.path.join(sr_dir, "server.hcl")
    with open(cfg, "w", encoding="utf-8") as f:
        f.write(f'storage "sqlite" {{\n  path = "{sr_dir}/strongroom.db"\n}}\n'
                f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n')
    sr = start_strongroom(f"-config={cfg}", data_dir=sr_dir, dev=False, port=port, root_token="")
    ob = _openbao_config()
    try:
        yield sr, ob
    finally:
        for s in (sr, ob):
            s.stop()
            shutil.rmtree(s.data_dir, ignore_errors=True)


def _openbao_config() -> Server:
    data_dir = tempfile.mkdtemp(prefix="openbao-cfg-")
    port = free_port()
    cfg = os.path.join(data_dir, "bao.hcl")
    with open(cfg, "w", encoding="utf-8") as f:
        f.write(f'storage "inmem" {{}}\ndisable_mlock = true\n'
                f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n')
    log_path = os.path.join(data_dir, "bao.log")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([BAO, "server", f"-config={cfg}"], stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "HOME": data_dir})
    addr = f"http://127.0.0.1:{port}"
    wait_ready(addr, proc, log_path)
    return Server(addr, "", proc, data_dir, "", log_path)


__all__ = ["VOLATILE", "assert_same", "bao", "bao_json", "both", "both_text", "config_servers", "diff", "each",
           "error_lines", "parallel"]
