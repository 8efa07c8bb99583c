"""reencrypt against the fake API server (tests/fakekube), driven by lightkube like a real cluster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from strongroom.atrest.reencrypt import Checkpoint, parse_target
from strongroom.cli.atrest import cli
from tests.fakekube import FakeKube


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with FakeKube() as fake:
        for ns in ("a", "b", "c"):
            for i in range(10):
                fake.put(
                    "secrets",
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": {"name": f"s{i}", "namespace": ns, "labels": {"k": "v"}},
                        "data": {"pw": "aHVudGVyMg=="},
                        "type": "Opaque",
                    },
                )
        for i in range(5):
            fake.put(
                "configmaps",
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": f"cm{i}", "namespace": "a"},
                    "data": {"x": "y"},
                },
            )
        yield fake


def _run(kube: FakeKube, tmp_path: Path, *extra: str):
    kc = kube.write_kubeconfig(tmp_path / "kubeconfig")
    return CliRunner().invoke(
        cli,
        [
            "reencrypt",
            "--kubeconfig",
            str(kc),
            "--checkpoint",
            str(tmp_path / "cp"),
            "--qps",
            "0",
            "--format",
            "json",
            "--no-progress",
            *extra,
        ],
    )


def _rvs(kube: FakeKube, plural: str) -> dict[str, str]:
    return {
        f"{o['metadata']['namespace']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"]
        for o in kube.objects(plural)
    }


def _put_objects(kube: FakeKube) -> set[str]:
    out = set()
    for method, path in kube.requests:
        if method == "PUT" and "/secrets/" in path:
            parts = path.split("?")[0].split("/")
            out.add(f"{parts[parts.index('namespaces') + 1]}/{parts[-1]}")
    return out


def test_rewrites_every_secret_with_get_then_conditional_put(kube: FakeKube, tmp_path: Path) -> None:
    cms = _rvs(kube, "configmaps")
    kube.fail_next(2, 409, method="PUT")
    kube.fail_next(1, 503, method="PUT")
    res = _run(kube, tmp_path)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["rewritten"] == 30 and out["conflicts_retried"] == 2 and not out["failed"]
    # the real API server skips a no-op write unless the stored value is stale (read with a non-primary key):
    # the fake has no staleness, so check that every Secret was sent back, each PUT after its GET
    assert _put_objects(kube) == {f"{ns}/s{i}" for ns in "abc" for i in range(10)}
    assert _rvs(kube, "configmaps") == cms  # not chosen
    obj = kube.get("secrets", "s3", "b")
    assert obj["data"] == {"pw": "aHVudGVyMg=="} and obj["metadata"]["labels"] == {"k": "v"}
    puts = [p for m, p in kube.requests if m == "PUT"]
    gets = [p for m, p in kube.requests if m == "GET" and "/secrets/" in p]
    assert len(puts) == 33 and len(gets) >= 30
    assert "aHVudGVyMg" not in res.output  # never echo secret data


def test_interrupted_run_resumes_from_checkpoint(kube: FakeKube, tmp_path: Path) -> None:
    kube.fail_next(10, 403, method="PUT", path="/namespaces/c/")
    first = _run(kube, tmp_path, "--resource", "secrets", "--resource", "configmaps")
    assert first.exit_code == 1
    out = json.loads(first.stdout)
    assert out["rewritten"] == 25 and len(out["failed"]) == 10 and "403" in out["failed"][0]["error"]
    assert not Checkpoint(tmp_path / "cp").complete
    kube.requests.clear()
    second = _run(kube, tmp_path, "--resource", "secrets", "--resource", "configmaps")
    assert second.exit_code == 0, second.output
    out = json.loads(second.stdout)
    assert out["skipped_from_checkpoint"] == 25 and out["rewritten"] == 10
    assert _put_objects(kube) == {f"c/s{i}" for i in range(10)}
    assert Checkpoint(tmp_path / "cp").complete


def test_object_deleted_midway_is_skipped(kube: FakeKube, tmp_path: Path) -> None:
    kube.fail_next(1, 404, method="GET", path="/namespaces/a/secrets/s0")
    res = _run(kube, tmp_path, "--namespace", "a")
    out = json.loads(res.stdout)
    assert res.exit_code == 0 and out["gone"] == 1 and out["rewritten"] == 9


def test_torn_checkpoint_line_is_tolerated(tmp_path: Path) -> None:
    (tmp_path / "cp").write_bytes(b'{"done":"secrets/a/s1"}\n{"done":"secr')
    cp = Checkpoint(tmp_path / "cp")
    assert cp.done == {"secrets/a/s1"} and not cp.complete
    cp.close()


def test_bad_resource_spec_is_a_usage_error(kube: FakeKube, tmp_path: Path) -> None:
    res = _run(kube, tmp_path, "--resource", "pods.v1")
    assert res.exit_code == 1 and "group/version/Kind/plural" in res.output
    assert parse_target("apps/v1/Deployment/deployments").name == "deployments.apps"
