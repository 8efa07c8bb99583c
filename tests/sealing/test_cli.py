"""`strongroom seal` driven as a user would: files, stdin, flags, a loopback controller, and bad input."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from strongroom import sealing
from strongroom.cli.main import cli

from .conftest import make_secret
from .controller_stub import stub_controller

SECRET_YAML = """\
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"stringData":{"password":"hunter2"}}'
type: Opaque
stringData:
  password: hunter2
data:
  user: YWRtaW4=
"""


@pytest.fixture()
def files(tmp_path, pair, other_pair):
    (tmp_path / "cert.pem").write_bytes(pair.cert_pem)
    (tmp_path / "other.pem").write_bytes(other_pair.cert_pem)
    (tmp_path / "key.pem").write_bytes(pair.pkcs1_pem)
    (tmp_path / "secret.yaml").write_text(SECRET_YAML)
    return tmp_path


def run(*args, input=None):
    return CliRunner().invoke(cli, ["seal", *map(str, args)], input=input, catch_exceptions=False)


def _unseal(obj, pair):
    return {k: base64.b64decode(v) for k, v in sealing.unseal_sealed_secret(obj, [pair.key])["data"].items()}


def test_help():
    result = run("--help")
    assert result.exit_code == 0 and "--recovery-unseal" in result.output and "diff" in result.output
    assert run("diff", "--help").exit_code == 0 and run("keygen", "--help").exit_code == 0


def test_seal_stdin_json_default(files, pair):
    result = run("--cert", files / "cert.pem", input=SECRET_YAML)
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    assert obj["kind"] == "SealedSecret"
    assert "hunter2" not in result.stdout and "last-applied" not in result.stdout
    assert _unseal(obj, pair) == {"password": b"hunter2", "user": b"admin"}


def test_seal_file_yaml_to_output_file(files, pair):
    out = files / "sealed.yaml"
    result = run("--cert", files / "cert.pem", "-f", files / "secret.yaml", "-w", out, "--scope", "namespace-wide")
    assert result.exit_code == 0 and result.stdout == ""
    text = out.read_text()
    assert text.startswith("---\n")
    [obj] = yaml.safe_load_all(text)
    assert obj["metadata"]["annotations"] == {sealing.ANNOTATION_NAMESPACE_WIDE: "true"}
    assert _unseal(obj, pair)["password"] == b"hunter2"


def test_multi_document_input(files, pair):
    two = SECRET_YAML + "---\n" + SECRET_YAML.replace("name: db", "name: db2")
    result = run("--cert", files / "cert.pem", "-o", "yaml", input=two)
    objs = list(yaml.safe_load_all(result.stdout))
    assert [o["metadata"]["name"] for o in objs] == ["db", "db2"]


def test_several_certificates(files, pair, other_pair):
    result = run("--cert", f"prod={files / 'cert.pem'}", "--cert", f"dev={files / 'other.pem'}",
                 "-f", files / "secret.yaml", "-w", files / "out" / "{cluster}" / "db.yaml")
    assert result.exit_code == 0, result.output
    prod = yaml.safe_load((files / "out" / "prod" / "db.yaml").read_text())
    dev = yaml.safe_load((files / "out" / "dev" / "db.yaml").read_text())
    assert _unseal(prod, pair)["user"] == b"admin" and _unseal(dev, other_pair)["user"] == b"admin"
    stream = run("--cert", files / "cert.pem", "--cert", files / "other.pem", input=SECRET_YAML)
    assert len(sealing.load_manifests(stream.stdout)) == 2
    refused = run("--cert", files / "cert.pem", "--cert", files / "other.pem", "-w", files / "x.yaml",
                  input=SECRET_YAML)
    assert refused.exit_code == 1 and "{cluster}" in refused.output and not (files / "x.yaml").exists()


def test_raw(files, pair):
    (files / "value.txt").write_bytes(b"\x00binary\xff")
    result = run("--raw", "--cert", files / "cert.pem", "--namespace", "prod", "--name", "db",
                 "--from-file", f"password={files / 'value.txt'}")
    assert result.exit_code == 0 and not result.stdout.endswith("\n")
    assert sealing.unseal_value([pair.key], sealing.Scope.STRICT, "prod", "db", result.stdout) == b"\x00binary\xff"
    stdin = run("--raw", "--cert", files / "cert.pem", "--scope", "cluster-wide", input="v")
    assert sealing.unseal_value([pair.key], sealing.Scope.CLUSTER_WIDE, None, None, stdin.stdout) == b"v"
    missing_name = run("--raw", "--cert", files / "cert.pem", input="v")
    assert missing_name.exit_code == 1 and "--name" in missing_name.output


def test_merge_into(files, pair):
    target = files / "sealed.yaml"
    assert run("--cert", files / "cert.pem", "-f", files / "secret.yaml", "-w", target).exit_code == 0
    before = yaml.safe_load(target.read_text())
    update = make_secret(name="ignored", namespace="prod", user=b"root", extra=b"new")
    result = run("--cert", files / "cert.pem", "--merge-into", target, input=json.dumps(update))
    assert result.exit_code == 0, result.output
    after = yaml.safe_load(target.read_text())  # stays YAML
    assert after["spec"]["encryptedData"]["password"] == before["spec"]["encryptedData"]["password"]
    assert _unseal(after, pair) == {"password": b"hunter2", "user": b"root", "extra": b"new"}
    mismatch = run("--cert", files / "cert.pem", "--merge-into", target, "--scope", "cluster-wide",
                   input=json.dumps(update))
    assert mismatch.exit_code == 1 and yaml.safe_load(target.read_text()) == after


def test_recovery_unseal_with_pem_and_backup(files, pair, other_pair):
    sealed = run("--cert", files / "cert.pem", input=SECRET_YAML).stdout
    backup = sealing.dump_manifests([sealing.key_pair_secret(other_pair.key, other_pair.cert_pem, namespace="k"),
                                     sealing.key_pair_secret(pair.key, pair.cert_pem, namespace="k")], "yaml")
    (files / "backup.yaml").write_text(backup)
    (files / "wrong.pem").write_bytes(other_pair.pkcs8_pem)
    for keyspec in (files / "key.pem", files / "backup.yaml", f"{files / 'wrong.pem'},{files / 'key.pem'}"):
        result = run("--recovery-unseal", "--recovery-private-key", keyspec, "-o", "yaml", input=sealed)
        assert result.exit_code == 0, result.output
        secret = yaml.safe_load(result.stdout)
        assert secret["kind"] == "Secret" and base64.b64decode(secret["data"]["password"]) == b"hunter2"
    wrong = run("--recovery-unseal", "--recovery-private-key", files / "wrong.pem", input=sealed)
    assert wrong.exit_code == 1 and "no key could decrypt" in wrong.output and "hunter2" not in wrong.output


def test_controller_endpoints(files, pair, other_pair):
    with stub_controller([pair.key, other_pair.key], pair.cert_pem) as ctrl:
        fetched = run("--fetch-cert", "--controller-url", ctrl.url)
        assert fetched.exit_code == 0 and fetched.stdout.encode() == pair.cert_pem
        via_url = run("--cert", f"{ctrl.url}/v1/cert.pem", input=SECRET_YAML)
        assert via_url.exit_code == 0
        sealed = run("--controller-url", ctrl.url, input=SECRET_YAML).stdout
        assert run("--validate", "--controller-url", ctrl.url, input=sealed).exit_code == 0
        old = run("--cert", files / "other.pem", input=SECRET_YAML).stdout
        path = files / "old.json"
        path.write_text(old)
        rotated = run("--re-encrypt", "--controller-url", ctrl.url, "-f", path)
        assert rotated.exit_code == 0, rotated.output
        new = json.loads(path.read_text())  # rewritten in place
        assert "generation" not in new["metadata"] and new["metadata"]["creationTimestamp"] is None
        assert _unseal(new, pair)["password"] == b"hunter2"
        with pytest.raises(sealing.UnsealError):
            sealing.unseal_sealed_secret(new, [other_pair.key])
        assert [r for r in ctrl.requests if r[0] == "POST"] == [("POST", "/v1/verify"), ("POST", "/v1/rotate")]
    with stub_controller([other_pair.key], other_pair.cert_pem) as ctrl:
        bad = run("--validate", "--controller-url", ctrl.url, input=sealed)
        assert bad.exit_code == 1 and "unable to decrypt sealed secret: db" in bad.output


@pytest.mark.parametrize(("args", "stdin", "message"), [
    ((), "apiVersion: v1\nkind: Secret\nstringData: [unclosed hunter2\n", "not valid YAML (line"),
    ((), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n", "expected a v1 Secret"),
    ((), "", "no Secret found"),
    ((), "- a\n- b\n", "not a Kubernetes object"),
    (("--namespace", "other"), SECRET_YAML, "namespace mismatch"),
])
def test_bad_input_is_a_clear_error(files, args, stdin, message):
    result = run("--cert", files / "cert.pem", *args, input=stdin)
    assert result.exit_code == 1
    assert message in result.output and "hunter2" not in result.output
    assert "Traceback" not in result.output


def test_certificate_errors(files):
    no_cert = run(input=SECRET_YAML)
    assert no_cert.exit_code == 1 and "--cert" in no_cert.output
    missing = run("--cert", files / "nope.pem", input=SECRET_YAML)
    assert missing.exit_code == 1 and "no such file" in missing.output
    (files / "junk.pem").write_text("not a cert")
    junk = run("--cert", files / "junk.pem", input=SECRET_YAML)
    assert junk.exit_code == 1 and "certificate" in junk.output
    unreachable = run("--controller-url", "http://127.0.0.1:9", "--timeout", "2", input=SECRET_YAML)
    assert unreachable.exit_code == 1 and "cannot fetch" in unreachable.output
    assert run("--re-encrypt", input="{}").exit_code == 1
    combined = run("--raw", "--validate", input="x")
    assert combined.exit_code == 2


def test_output_file_untouched_on_error(files):
    out = files / "sealed.yaml"
    out.write_text("precious\n")
    result = run("--cert", files / "cert.pem", "-w", out, input="kind: ConfigMap\napiVersion: v1\n")
    assert result.exit_code == 1 and out.read_text() == "precious\n"


def test_diff_command(files, pair):
    old = files / "old.yaml"
    new = files / "new.yaml"
    run("--cert", files / "cert.pem", "-f", files / "secret.yaml", "-w", old)
    changed = SECRET_YAML.replace("password: hunter2", "password: hunter22").replace("user: YWRtaW4=", "k: dg==")
    run("--cert", files / "cert.pem", "-w", new, input=changed)
    table = run("diff", old, new)
    assert table.exit_code == 0 and "password" in table.output and "hunter" not in table.output
    report = json.loads(run("diff", old, new, "-o", "json").stdout)
    items = {i["item"]: i["change"] for i in report["objects"][0]["items"]}
    assert items == {"password": "changed", "user": "removed", "k": "added"}
    assert run("diff", old, old, "--exit-code").exit_code == 0
    assert run("diff", old, new, "--exit-code").exit_code == 1
    keyed = json.loads(run("diff", files / "secret.yaml", old, "--private-key", files / "key.pem", "-o",
                           "json").stdout)
    assert {i["change"] for i in keyed["objects"][0]["items"]} == {"unchanged"}
    assert run("diff", old, files / "missing.yaml").exit_code == 1


def test_keygen(files):
    key, cert, secret = files / "k.pem", files / "c.pem", files / "s.yaml"
    result = run("keygen", "--key-out", key, "--cert-out", cert, "--bits", "2048", "--secret-out", secret)
    assert result.exit_code == 0, result.output
    assert os.stat(key).st_mode & 0o777 == 0o600
    assert sealing.load_private_keys(key.read_bytes()) and sealing.load_recipient(cert.read_bytes())
    assert len(sealing.load_private_keys(secret.read_bytes())) == 1
    again = run("keygen", "--key-out", key, "--cert-out", cert)
    assert again.exit_code == 1 and "--force" in again.output


def test_entry_point_in_a_pipe(files, pair):
    """The installed `strongroom` script, stdin to stdout, as in `strongroom seal < secret.yaml`."""
    exe = Path(sys.executable).parent / "strongroom"
    proc = subprocess.run([str(exe), "seal", "--cert", str(files / "cert.pem"), "-o", "yaml"],
                          input=SECRET_YAML.encode(), capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert _unseal(yaml.safe_load(proc.stdout), pair)["user"] == b"admin"
    bad = subprocess.run([str(exe), "seal", "--cert", str(files / "cert.pem")], input=b"{not json",
                         capture_output=True, timeout=60, check=False)
    assert bad.returncode == 1 and b"Error:" in bad.stderr and b"not valid JSON" in bad.stderr


def test_kubectl_list_input(files, pair):
    listing = {"apiVersion": "v1", "kind": "List", "items": [make_secret(name="a"), make_secret(name="b")]}
    result = run("--cert", files / "cert.pem", input=json.dumps(listing))
    assert [o["metadata"]["name"] for o in sealing.load_manifests(result.stdout)] == ["a", "b"]


def test_positional_file_gets_a_hint(files):
    result = run("--cert", files / "cert.pem", files / "secret.yaml")
    assert result.exit_code == 2 and "-f FILE" in result.output


def test_cert_sources_file_url_env_and_expired(files, pair, monkeypatch):
    import datetime as dt

    from strongroom.crypto import _primitives as prim

    by_url = run("--cert", (files / "cert.pem").as_uri(), input=SECRET_YAML)
    assert by_url.exit_code == 0 and _unseal(json.loads(by_url.stdout), pair)["user"] == b"admin"
    monkeypatch.setenv("SEALED_SECRETS_CERT", str(files / "cert.pem"))
    by_env = run(input=SECRET_YAML)
    assert by_env.exit_code == 0 and _unseal(json.loads(by_env.stdout), pair)["user"] == b"admin"
    monkeypatch.delenv("SEALED_SECRETS_CERT")
    expired = prim.sealed_secrets_certificate(pair.key, not_before=dt.datetime(2001, 1, 1, tzinfo=dt.UTC),
                                              validity=dt.timedelta(days=30))
    (files / "expired.pem").write_bytes(prim.certificate_to_pem(expired))
    refused = run("--cert", files / "expired.pem", input=SECRET_YAML)
    assert refused.exit_code == 1 and "expired" in refused.output


def test_public_api_is_stable():
    """The controller imports these names; removing one is a breaking change."""
    expected = {
        "API_VERSION", "KIND", "Scope", "SealingError", "UnsealError", "TemplateError", "CertificateError",
        "InvalidObjectError", "ManifestError", "seal_secret", "seal_value", "unseal_sealed_secret",
        "unseal_value", "reseal_sealed_secret", "generate_key_pair", "key_pair_secret", "load_recipient",
        "load_private_keys", "certificate_not_before", "load_manifests", "dump_manifests", "scope_of",
        "label_for", "diff_objects", "DEFAULT_KEY_BITS", "DEFAULT_KEY_PREFIX", "LABEL_SEALING_KEY",
        "ANNOTATION_MANAGED", "ANNOTATION_PATCH", "ANNOTATION_SKIP_OWNER_REFERENCES", "key_fingerprint",
    }
    assert expected <= set(sealing.__all__)
    assert all(hasattr(sealing, name) for name in sealing.__all__)
