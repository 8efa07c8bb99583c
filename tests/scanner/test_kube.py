"""Kubernetes awareness: decoded Secret data, kubeconfig keys, dockerconfigjson, sealed manifests."""

from __future__ import annotations

import base64
import json

from strongroom.scanner import Scanner

S = Scanner()
PASSWORD = "Zq8v!nR2kd7W"  # strongroom:allow
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"  # strongroom:allow  # noqa: E501
    "dk0qWk12dwb4XYaQAkrWvaNAG+nIy8zJNfbNH2EiauFTOK4aNABNM7oNJGrATIGxuvI+O\n-----END RSA PRIVATE KEY-----\n"
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_secret_data_is_decoded_and_reported_on_its_line() -> None:
    doc = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n"
        f"  username: {b64('admin')}\n  password: {b64(PASSWORD)}\n  placeholder: {b64('changeme')}\n"
    )
    findings = S.scan_text(doc, "secret.yaml")
    assert [(f.rule_id, f.line) for f in findings] == [("generic-password", 8)]
    f = findings[0]
    assert f.source == "kubernetes Secret data (base64)"
    assert b64(PASSWORD) not in f.preview and PASSWORD not in f.preview


def test_kubectl_json_output_is_decoded() -> None:
    doc = json.dumps({"apiVersion": "v1", "kind": "Secret", "data": {"api-token": b64("Qm3xT7pLw9Zc4Vb8Nk2Rj6Hd")}})
    assert [f.rule_id for f in S.scan_text(doc, "s.json")] == ["generic-secret"]


def test_kubeconfig_client_key_data() -> None:
    cert = b64("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")
    cfg = (
        "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n"
        f"    client-certificate-data: {cert}\n"
        f"    client-key-data: {b64(PEM)}\n"
    )
    findings = S.scan_text(cfg, "kubeconfig")
    assert [(f.rule_id, f.line) for f in findings] == [("private-key", 7)]


def test_dockerconfigjson_secret() -> None:
    auth = b64("robot:" + PASSWORD)
    cfg = json.dumps({"auths": {"ghcr.io": {"auth": auth}}})
    doc = (
        f"apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {b64(cfg)}\n"
    )
    assert [(f.rule_id, f.line) for f in S.scan_text(doc, "regcred.yaml")] == [("docker-config-auth", 5)]


def test_sealed_and_external_secrets_are_not_findings() -> None:
    doc = (
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: db\nspec:\n  encryptedData:\n"
        "    password: AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq2Zq8vnR2kd7WdK0qWk12dwb4XYaQAkrWvaNAG\n"
        "---\napiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nspec:\n  data:\n"
        "  - secretKey: password\n    remoteRef:\n      key: prod/db/password\n"
        f"---\napiVersion: v1\nkind: ConfigMap\ndata:\n  db_password: {PASSWORD}\n"
    )
    assert [(f.rule_id, f.line) for f in S.scan_text(doc, "all.yaml")] == [("generic-password", 20)]


def test_helm_templates_and_values_references() -> None:
    tpl = (
        "apiVersion: v1\nkind: Secret\ndata:\n  password: {{ .Values.db.password | b64enc }}\n"
        'stringData:\n  token: {{ required "token" .Values.token }}\n  api_key: ${API_KEY}\n'
    )
    assert S.scan_text(tpl, "templates/secret.yaml") == []
    values = f"db:\n  password: {PASSWORD}\n  passwordSecretRef: db-creds\n"
    assert [f.line for f in S.scan_text(values, "values.yaml")] == [2]


def test_kubectl_list_output_from_stdin_style_text() -> None:
    listing = (
        "apiVersion: v1\nitems:\n- apiVersion: v1\n  data:\n"
        f"    token: {b64('Qm3xT7pLw9Zc4Vb8Nk2Rj6Hd')}\n  kind: Secret\n  metadata:\n    name: a\n"
        "- apiVersion: v1\n  data:\n"
        f"    ca.crt: {b64('-----BEGIN CERTIFICATE-----')}\n  kind: Secret\n  metadata:\n    name: b\n"
        "kind: List\n"
    )
    assert [(f.rule_id, f.line) for f in S.scan_text(listing, "<stdin>")] == [("generic-secret", 5)]


def test_kubeconfig_user_token() -> None:
    cfg = (
        "users:\n- name: ci\n  user:\n    token: 7f3k9q.x2m8v4b1n6c0z5lw\n"  # strongroom:allow
        "- name: sa\n  user:\n    token: ${SA_TOKEN}\n"
    )
    assert [(f.rule_id, f.line) for f in S.scan_text(cfg, "kubeconfig")] == [("generic-secret", 4)]
