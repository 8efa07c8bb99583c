"""Benchmark `strongroom lint` on a generated 10,000-object cluster dump (JSON and YAML), next to an anchor.

Each run is a fresh process (so import time counts, as a user sees it); peak memory is the process's max RSS
as GNU time reports it. The anchor is checkov's Kubernetes framework when a `checkov` executable is found
(`--checkov PATH`, or on PATH). It gets the objects as a multi-document YAML file (it does not read `List`
objects) and a smaller dump (`--anchor-objects`, default 1,000) because it needs minutes for 10,000; both tools
run on that same file for the ratio.

    .venv/bin/python bench/rbaclint/run.py                # 10,000 objects, 3 runs each, best and median
    .venv/bin/python bench/rbaclint/run.py --nice -10 --checkov /tmp/anchor-checkov/bin/checkov

Needs GNU time at /usr/bin/time (Debian package `time`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.rbaclint.clustergen import generate  # noqa: E402

STRONGROOM = str(ROOT / ".venv" / "bin" / "strongroom")
TIME = "/usr/bin/time"  # GNU time (Debian package `time`)
# Installed packages carry bytecode (pip compiles on install); PYTHONDONTWRITEBYTECODE, set on some dev machines,
# would make every run recompile ~130 modules. The warm-up run writes __pycache__ once (git-ignored).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
NICE: list[str] = []  # `--nice -10` (root) keeps other sessions' load on a shared machine out of wall times


def measure(cmd: list[str], stdout_path: Path | None = None) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in MiB, exit code) of one fresh process.

    GNU time (`/usr/bin/time`) reports the tool's own peak RSS and CPU time; wait4() from this (large) process
    would report the RSS inherited at fork. CPU time is printed too because wall time on a shared 2-core machine
    moves with the load.
    """
    with tempfile.NamedTemporaryFile("r") as out, open(stdout_path or os.devnull, "wb") as sink:
        start = time.perf_counter()
        code = subprocess.call(
            [*NICE, TIME, "-f", "%M %U %S", "-o", out.name, *cmd],
            stdout=sink,
            stderr=subprocess.DEVNULL,
            env=ENV,
        )
        elapsed = time.perf_counter() - start
        peak_kib, user, system = out.read().strip().splitlines()[-1].split()
    return elapsed, float(user) + float(system), int(peak_kib) / 1024, code


def bench(
    name: str, cmd: list[str], repeat: int, warmup: bool = True, stdout_path: Path | None = None
) -> dict[str, float]:
    if warmup:
        measure(cmd)
    runs = [measure(cmd, stdout_path) for _ in range(repeat)]
    times = [r[0] for r in runs]
    row = {
        "best_s": min(times),
        "median_s": statistics.median(times),
        "cpu_s": min(r[1] for r in runs),
        "peak_mib": max(r[2] for r in runs),
        "exit": runs[-1][3],
    }
    print(
        f"{name:<48} wall best {row['best_s']:6.2f} s  median {row['median_s']:6.2f} s  "
        f"cpu {row['cpu_s']:6.2f} s  peak {row['peak_mib']:5.0f} MiB  exit {row['exit']}",
        flush=True,
    )
    return row


# our rule(s) <-> checkov check(s) that test the same thing
PAIRS: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("secret-in-env",), ("CKV_K8S_35",)),
    (("automount-serviceaccount-token",), ("CKV_K8S_38",)),
    (("wildcard-all", "secrets-wildcard-read"), ("CKV_K8S_49",)),
    (("escalate-bind",), ("CKV_K8S_157", "CKV_K8S_158")),
    (("cluster-wide-serviceaccount-grant", "default-serviceaccount-grant"), ("CKV_K8S_42",)),
]


def agreement(path: Path, checkov_json: Path) -> None:
    """Per overlapping rule: objects flagged by both tools, only by us, only by checkov."""
    from strongroom.rbaclint import lint, load_paths

    doc = orjson.loads(checkov_json.read_bytes())
    doc = doc[0] if isinstance(doc, list) else doc
    theirs: dict[str, set[str]] = {}
    for r in doc["results"]["failed_checks"]:
        theirs.setdefault(r["check_id"], set()).add(r["resource"])
    ours: dict[str, set[str]] = {}
    for f in lint(load_paths([str(path)]).objects).findings:
        if f.obj is not None:
            ours.setdefault(f.rule_id, set()).add(f"{f.obj.kind}.{f.obj.namespace or 'default'}.{f.obj.name}")
    print("agreement with checkov on overlapping checks (objects):")
    for our_ids, their_ids in PAIRS:
        a = set().union(*(ours.get(i, set()) for i in our_ids))
        b = set().union(*(theirs.get(i, set()) for i in their_ids))
        only_b = sorted(b - a)
        print(
            f"  {'/'.join(our_ids):<58} <-> {'/'.join(their_ids):<22} both {len(a & b):4}  "
            f"only ours {len(a - b):4}  only checkov {len(only_b):4}" + (f"  e.g. {only_b[0]}" if only_b else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--checkov", default=shutil.which("checkov"), help="checkov executable (anchor)")
    parser.add_argument("--anchor-objects", type=int, default=1_000)
    parser.add_argument("--nice", type=int, default=None, help="run measured commands under `nice -n N`")
    args = parser.parse_args()
    if not Path(TIME).exists():
        parser.exit(2, f"{TIME} (GNU time) is missing: apt-get install time\n")
    if args.nice is not None:
        NICE[:] = ["nice", "-n", str(args.nice)]

    data = generate(args.objects)
    with tempfile.TemporaryDirectory() as tmp:
        dump_json = Path(tmp) / "dump.json"
        dump_yaml = Path(tmp) / "dump.yaml"
        multi_yaml = Path(tmp) / "multi.yaml"
        dump_json.write_bytes(orjson.dumps(data))
        dump_yaml.write_text(yaml.safe_dump(data, sort_keys=False))
        multi_yaml.write_text(yaml.safe_dump_all(data["items"], sort_keys=False))
        print(
            f"{len(data['items'])} objects; JSON {dump_json.stat().st_size / 1e6:.1f} MB, "
            f"YAML {dump_yaml.stat().st_size / 1e6:.1f} MB; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}"
        )
        ours = {
            "json": bench(
                "strongroom lint dump.json", [STRONGROOM, "lint", str(dump_json), "--format", "json"], args.repeat
            ),
            "yaml": bench(
                "strongroom lint dump.yaml", [STRONGROOM, "lint", str(dump_yaml), "--format", "json"], args.repeat
            ),
            "multi": bench(
                "strongroom lint multi.yaml (multi-doc)",
                [STRONGROOM, "lint", str(multi_yaml), "--format", "json"],
                args.repeat,
            ),
        }
        bench(
            "strongroom lint --format sarif dump.json",
            [STRONGROOM, "lint", str(dump_json), "--format", "sarif"],
            args.repeat,
        )
        bench(
            "strongroom lint who-can read secret/db",
            [STRONGROOM, "lint", "who-can", "read", "secret/db", "-n", "ns-0001", str(dump_json), "--format", "json"],
            args.repeat,
        )
        bench("strongroom lint unused", [STRONGROOM, "lint", "unused", str(dump_json), "--format", "json"], args.repeat)
        if args.checkov:
            small = Path(tmp) / "anchor.yaml"
            small.write_text(yaml.safe_dump_all(generate(args.anchor_objects)["items"], sort_keys=False))
            label = f"({args.anchor_objects} objects, multi-doc YAML)"
            mine = bench(f"strongroom lint {label}", [STRONGROOM, "lint", str(small), "--format", "json"], args.repeat)
            tiny = Path(tmp) / "tiny.yaml"
            tiny.write_text(yaml.safe_dump_all(generate(20)["items"]))
            checkov = [args.checkov, "--framework", "kubernetes", "--quiet", "--compact", "-o", "json", "-f"]
            measure([*checkov, str(tiny)])  # warm-up: bytecode and caches, like ours
            checkov_out = Path(tmp) / "checkov.json"
            anchor = bench(
                f"anchor: checkov -f {label}", [*checkov, str(small)], 1, warmup=False, stdout_path=checkov_out
            )
            print(
                f"ratio checkov / strongroom on the same file: {anchor['best_s'] / mine['best_s']:.1f}x wall, "
                f"{anchor['cpu_s'] / mine['cpu_s']:.1f}x cpu, "
                f"{anchor['peak_mib'] / mine['peak_mib']:.1f}x peak memory"
            )
            agreement(small, checkov_out)
        else:
            print("anchor: none (no checkov executable; pass --checkov PATH)")
        target = 5.0
        verdict = "OK" if ours["json"]["best_s"] < target and ours["yaml"]["best_s"] < target else "SLOW"
        cpu = "OK" if ours["json"]["cpu_s"] < target and ours["yaml"]["cpu_s"] < target else "SLOW"
        print(
            f"target < {target:.0f} s for {args.objects} objects: wall {verdict}, cpu {cpu}"
            f" (load average now {os.getloadavg()[0]:.1f})"
        )


if __name__ == "__main__":
    main()
