"""The shipped manifests are consistent with the code: the agent accepts its example config, the injector
mutates its example pod, the CSI provider accepts the example SecretProviderClass, and `strongroom lint` finds
nothing above low severity."""

from __future__ import annotations

import json
import os
import subprocess

import yaml

from strongroom.agent.config import from_dict
from strongroom.csi.params import parse
from strongroom.injector.mutate import InjectorConfig, patch_for
from tests.harness import REPO, STRONGROOM


def _docs(rel: str) -> list[dict]:
    with open(os.path.join(REPO, rel)) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def test_agent_example_config_is_valid() -> None:
    cm = next(d for d in _docs("deploy/agent/pod-with-agent.yaml") if d["kind"] == "ConfigMap")
    cfg = from_dict(yaml.safe_load(cm["data"]["agent.yaml"]))
    cfg.validate()
    assert cfg.auth.method == "kubernetes" and cfg.templates[0].perms == 0o440


def test_injector_example_pod_is_mutated() -> None:
    pod = _docs("deploy/injector/example-pod.yaml")[0]
    ops = patch_for(pod, InjectorConfig())
    assert any(op["path"] == "/spec/initContainers" for op in ops)


def test_csi_example_parameters_parse() -> None:
    spc = next(d for d in _docs("deploy/csi/secretproviderclass-example.yaml")
               if d["kind"] == "SecretProviderClass")
    p = parse(json.dumps(spc["spec"]["parameters"]), "420")
    assert [o.name for o in p.objects] == ["db-password", "db.json"] and p.objects[1].mode == 0o440


def test_manifests_pass_strongroom_lint() -> None:
    out = subprocess.run([STRONGROOM, "lint", "check", "--format", "json", "deploy/agent", "deploy/injector",
                          "deploy/csi"], capture_output=True, text=True, cwd=REPO, timeout=120)
    report = json.loads(out.stdout)
    findings = report.get("findings", report) if isinstance(report, dict) else report
    assert not [f for f in findings if f.get("severity") not in ("low", "info")], findings
