"""The Go text/template + Sprig subset used by spec.template.data."""

from __future__ import annotations

import pytest

from strongroom.sealing import TemplateError, render_template, render_templates

VALUES = {"user": b"admin", "password": b"p@ss", "tls.crt": b"CERT", "empty": b"", "raw": b"\xff\xfe"}


@pytest.mark.parametrize(("source", "expected"), [
    ("plain text", "plain text"),
    ("{{ .user }}", "admin"),
    ("{{.user}}:{{.password}}", "admin:p@ss"),
    ('{{ index . "tls.crt" }}', "CERT"),
    ("{{ .missing }}", "<no value>"),
    ("{{ .user | upper }}", "ADMIN"),
    ("{{ .user | b64enc }}", "YWRtaW4="),
    ('{{ "YWRtaW4=" | b64dec }}', "admin"),
    ("{{ toJson .password }}", '"p@ss"'),
    ('{{ printf "%s-%s" .user .password }}', "admin-p@ss"),
    ('{{ printf "%q" .user }}', '"admin"'),
    ("{{ .user | quote }}", '"admin"'),
    ("{{ .user | squote }}", "'admin'"),
    ('{{ .empty | default "fallback" }}', "fallback"),
    ('{{ replace "a" "A" .user }}', "Admin"),
    ("{{ .user | trimPrefix `ad` }}", "min"),
    ("{{ len .user }}", "5"),
    ("{{ if .user }}yes{{ else }}no{{ end }}", "yes"),
    ("{{ if .empty }}yes{{ else }}no{{ end }}", "no"),
    ('{{ if eq .user "root" }}r{{ else if eq .user "admin" }}a{{ else }}x{{ end }}', "a"),
    ("{{ if and .user (not .empty) }}ok{{ end }}", "ok"),
    ("a  {{- .user -}}  b", "aadminb"),
    ("{{/* a comment */}}x", "x"),
    ("{{ .user | sha256sum }}", "8c6976e5b5410415bde908bd4dee15dfb167a9c873fc4bb8a81f6f2ab448a918"),
    ("{{ .user | nindent 2 }}", "\n  admin"),
    ("line1\n{{ .user }}\n", "line1\nadmin\n"),
])
def test_render(source, expected):
    assert render_template(source, VALUES) == expected.encode()


def test_non_utf8_bytes_survive():
    assert render_template("<{{ .raw }}>", VALUES) == b"<\xff\xfe>"


@pytest.mark.parametrize("source", [
    "{{ range .x }}{{ end }}", "{{ with .user }}{{ end }}", '{{ define "x" }}{{ end }}', "{{ env \"HOME\" }}",
    "{{ nosuchfunc .user }}", "{{ if .user }}unclosed", "{{ end }}", "{{ $x := .user }}", "{{ .user | }}",
    "{{ (.user }}",
])
def test_unsupported_or_broken_templates_fail_clearly(source):
    with pytest.raises(TemplateError):
        render_template(source, VALUES)


def test_errors_are_collected_per_item_without_values():
    with pytest.raises(TemplateError) as info:
        render_templates({"a": "{{ nosuch }}", "b": "{{ .user }}", "c": "{{ b64dec .password }}"}, VALUES)
    assert info.value.items == ("a", "c")
    assert "p@ss" not in str(info.value) and "admin" not in str(info.value)
