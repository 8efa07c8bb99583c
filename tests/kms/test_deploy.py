"""The shipped manifests: least privilege, flags the CLI really has, a config our linter passes."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from strongroom.atrest.config import load
from strongroom.atrest.lint import lint_config
from strongroom.cli.kms_plugin import cli

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kms-plugin"


def test_static_pod_is_least_privilege_and_uses_real_flags() -> None:
    pod = yaml.safe_load((DEPLOY / "static-pod.yaml").read_text())
    spec = pod["spec"]
    assert spec["automountServiceAccountToken"] is False and "hostNetwork" not in spec
    main = spec["containers"][0]
    sc = main["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and sc["capabilities"]["drop"] == ["ALL"]
    assert sc["allowPrivilegeEscalation"] is False
    init = spec["initContainers"][0]["securityContext"]
    assert init["capabilities"] == {"drop": ["ALL"], "add": ["CHOWN"]}
    help_text = CliRunner().invoke(cli, ["serve", "--help"]).output
    for arg in main["args"]:
        assert arg.split("=")[0] in help_text, arg
    probe = main["livenessProbe"]["exec"]["command"]
    assert probe[1:3] == ["kms-plugin", "status"]
    socket = next(a for a in main["args"] if a.startswith("--socket="))
    config = load(DEPLOY / "encryption-config.yaml")
    assert config.providers_for("secrets")[0].raw["endpoint"] == socket.split("=", 1)[1]


def test_encryption_config_lints_clean() -> None:
    findings = lint_config(load(DEPLOY / "encryption-config.yaml"))
    assert not [f for f in findings if f.severity != "info"]
