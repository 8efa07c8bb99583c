"""ACL engine micro-benchmark: Strongroom's compiled ACL on a 100-rule policy set, next to OpenBao answering
`sys/capabilities` for the same policies in the same run.

    .venv/bin/python bench/policy/run.py [--number 20000] [--no-bao]

The two sides do not do the same amount of work: ours is the in-process check on a cached compiled ACL;
OpenBao's number is a loopback HTTP round trip that includes token lookup and building the ACL (OpenBao
compiles one per request). The ratio shows what per-token ACL caching plus the compiled index buy on the
request path, not a like-for-like ACL-vs-ACL figure. Never used as a test assertion.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import timeit

import httpx

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "src"))

from strongroom.core.policy import ACL, default_policy, parse_policy  # noqa: E402
from strongroom.sdk.operations import Operation  # noqa: E402

WORDS = ["app", "team", "db", "web", "prod", "dev", "ops", "ci", "billing", "auth", "kv", "pki"]


def build_policies(rng: random.Random) -> dict[str, str]:
    """4 policies, 100 rules: 50 exact, 30 prefix, 20 segment-wildcard."""
    rules: list[str] = []
    for i in range(50):
        rules.append(f'path "secret/data/{rng.choice(WORDS)}/{rng.choice(WORDS)}-{i}" {{ capabilities = ["read"] }}')
    for i in range(30):
        rules.append(f'path "kv{i}/{rng.choice(WORDS)}/*" {{ capabilities = ["read", "list"] }}')
    for i in range(20):
        rules.append(f'path "team{i}/+/{rng.choice(WORDS)}/*" {{ capabilities = ["create", "update"] }}')
    rng.shuffle(rules)
    return {f"bench-{k}": "\n".join(rules[k * 25 : (k + 1) * 25]) for k in range(4)}


def per_call_us(fn: object, number: int) -> float:
    timer = timeit.Timer(fn)  # type: ignore[arg-type]
    best = min(timer.repeat(repeat=5, number=number))
    return best / number * 1e6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bao_capabilities_us(policies: dict[str, str], paths: list[str], rounds: int) -> float:
    port = free_port()
    addr = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))} | {"HOME": home}
        proc = subprocess.Popen(
            [
                os.path.join(REPO, ".venv", "bin", "bao"),
                "server",
                "-dev",
                "-dev-root-token-id=root",
                f"-dev-listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            with httpx.Client(base_url=f"{addr}/v1", headers={"X-Vault-Token": "root"}, timeout=10) as c:
                for _ in range(300):
                    try:
                        if c.get("/sys/health").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.05)
                for name, text in policies.items():
                    c.put(f"/sys/policies/acl/{name}", json={"policy": text}).raise_for_status()
                token = c.post("/auth/token/create", json={"policies": list(policies)}).json()["auth"]["client_token"]
                start = time.perf_counter()
                for i in range(rounds):
                    r = c.post("/sys/capabilities", json={"token": token, "paths": [paths[i % len(paths)]]})
                    r.raise_for_status()
                return (time.perf_counter() - start) / rounds * 1e6
        finally:
            proc.terminate()
            proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000, help="calls per timing repeat")
    parser.add_argument("--no-bao", action="store_true", help="skip the OpenBao side")
    args = parser.parse_args()

    rng = random.Random(7)
    texts = build_policies(rng)
    policies = [default_policy(), *(parse_policy(n, t) for n, t in texts.items())]
    acl = ACL.compile(policies)
    exact = next(r.pattern for p in policies[1:] for r in p.rules if r.kind.value == "exact")
    prefix = next(r.key for p in policies[1:] for r in p.rules if r.kind.value == "prefix") + "x/y"
    segment = next(r.pattern for p in policies[1:] for r in p.rules if r.kind.value == "segment")
    segment = segment.replace("+", "anything").rstrip("*") + "leaf"
    cases = {
        "check exact hit (read)": lambda: acl.check(exact, Operation.READ),
        "check prefix hit (list)": lambda: acl.check(prefix, Operation.LIST),
        "check segment hit (update, 2 params)": lambda: acl.check(segment, Operation.UPDATE, {"a": 1, "b": "x"}),
        "check miss (denied)": lambda: acl.check("nowhere/at/all", Operation.READ),
        "capabilities (segment path)": lambda: acl.capabilities(segment),
    }
    for case in cases.values():  # sanity: the paths exercise what their names say
        case()
    assert acl.check(exact, Operation.READ).allowed and acl.check(segment, Operation.UPDATE).allowed
    assert acl.check(prefix, Operation.LIST).allowed and not acl.check("nowhere/at/all", Operation.READ).allowed

    print(f"ACL: {len(acl)} merged rules from {len(policies)} policies (100 generated + default)")
    ref = {"a": 1}
    print(
        f"  machine reference: dict.get via lambda {per_call_us(lambda: ref.get('a'), args.number * 10) * 1000:.0f} ns;"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    results = {name: per_call_us(fn, args.number) for name, fn in cases.items()}
    results["compile 5 parsed policies"] = per_call_us(lambda: ACL.compile(policies), 200)
    results["parse one 25-rule HCL policy"] = per_call_us(lambda: parse_policy("p", texts["bench-0"]), 50)
    for name, us in results.items():
        print(f"  {name:40s} {us:10.2f} µs")

    if not args.no_bao:
        ours = results["capabilities (segment path)"]
        theirs = bao_capabilities_us(texts, [exact, prefix, segment], 400)
        print(
            f"  {'OpenBao sys/capabilities, loopback HTTP':40s} {theirs:10.2f} µs"
            "  (includes HTTP, token lookup and building the ACL)"
        )
        print(f"  ratio OpenBao request / Strongroom cached-ACL capabilities: {theirs / ours:.0f}x")


if __name__ == "__main__":
    main()
