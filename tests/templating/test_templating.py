"""The shared Go text/template + Sprig subset: Go's semantics, ESO's functions, precise value-free errors."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.sealing.template import render_template as sealing_render
from strongroom.templating import Template, TemplateError, render

DATA = {"user": "bob", "pw": "s3cr3t", "json": '{"a":{"b":[1,2]},"n":null}', "empty": ""}


@pytest.mark.parametrize(("src", "want"), [
    ("plain", "plain"),
    ("{{ .user }}", "bob"),
    ("{{ .user | upper }}-{{ .user | lower | quote }}", 'BOB-"bob"'),
    ("{{ .pw | b64enc }}", base64.b64encode(b"s3cr3t").decode()),
    ("{{ .pw | b64enc | b64dec }}", "s3cr3t"),
    ("{{ (fromJson .json).a.b }}", "[1 2]"),
    ("{{ index (fromJson .json).a.b 1 }}", "2"),
    ("{{ .json | fromJson | toJson }}", '{"a":{"b":[1,2]},"n":null}'),
    ("{{ dict \"k\" .user | toYaml }}", "k: bob"),
    ("{{ .empty | default \"dflt\" }}", "dflt"),
    ("{{ default \"dflt\" .user }}", "bob"),
    ("  {{- .user -}}  \n", "bob"),
    ("{{/* a comment */}}x", "x"),
    ("{{ if eq .user \"bob\" }}yes{{ else }}no{{ end }}", "yes"),
    ("{{ if .empty }}a{{ else if .user }}b{{ else }}c{{ end }}", "b"),
    ("{{ with .user }}{{ . }}!{{ end }}", "bob!"),
    ("{{ with .empty }}x{{ else }}none{{ end }}", "none"),
    ("{{ range $i, $v := list \"a\" \"b\" }}{{ $i }}{{ $v }},{{ end }}", "0a,1b,"),
    ("{{ range $k, $v := dict \"z\" 1 \"a\" 2 }}{{ $k }}={{ $v }};{{ end }}", "a=2;z=1;"),
    ("{{ range list }}x{{ else }}empty{{ end }}", "empty"),
    ("{{ range list 1 2 3 }}{{ if eq . 2 }}{{ break }}{{ end }}{{ . }}{{ end }}", "1"),
    ("{{ $x := .user }}{{ $x = printf \"%s!\" $x }}{{ $x }}", "bob!"),
    ("{{ printf \"%s:%d:%q:%v\" .user 7 .user true }}", 'bob:7:"bob":true'),
    ("{{ and .user .empty }}|{{ or .empty .user }}|{{ not .empty }}", "|bob|true"),
    ("{{ len .user }} {{ trim \"  x  \" }} {{ replace \"o\" \"0\" .user }}", "3 x b0b"),
    ("{{ .user | trimPrefix \"b\" | trimSuffix \"b\" }}", "o"),
    ("{{ splitList \",\" \"a,b\" | join \"-\" }}", "a-b"),
    ("{{ `raw {{ }}` }}", "raw {{ }}"),
    ("{{ \"tab\\there\" }}", "tab\there"),
    ("{{ 1.5 }} {{ 0x10 }} {{ nil }}", "1.5 16 <nil>"),
    ("{{ $.user }}{{ range list 1 }}{{ $.user }}{{ end }}", "bobbob"),
    ("{{ .user | sha256sum | trunc 8 }}", "81b637d8"),
    ("{{ \"a\" | indent 2 }}|{{ \"a\" | nindent 2 }}", "  a|\n  a"),
])
def test_renders_like_go(src: str, want: str) -> None:
    assert render(src, DATA) == want


def test_missing_key_modes() -> None:
    with pytest.raises(TemplateError, match='map has no entry for key "nope"'):
        render("{{ .nope }}", DATA)
    assert render("{{ .nope }}", DATA, missing_key="default") == "<no value>"
    assert render("{{ .nope | default \"d\" }}", DATA, missing_key="zero") == "d"


@pytest.mark.parametrize(("src", "fragment"), [
    ("{{ .user ", "unclosed action"),
    ("{{ if .user }}x", "missing {{end}}"),
    ("{{ end }}", "unexpected {{end}}"),
    ("{{ nosuch .user }}", 'function "nosuch" not defined'),
    ("{{ define \"x\" }}{{ end }}", "not supported"),
    ("{{ .user 1 }}", "can't give argument to non-function"),
    ("{{ .user.x }}", "can't evaluate field x in type string"),
    ("{{ (.user }}", "unclosed left paren"),
])
def test_errors_are_precise(src: str, fragment: str) -> None:
    with pytest.raises(TemplateError) as exc:
        render(src, DATA, name="data.tls")
    assert fragment in str(exc.value) and "data.tls" in str(exc.value)


def test_error_position() -> None:
    with pytest.raises(TemplateError) as exc:
        render("line1\n  {{ .nope }}", DATA, name="t")
    assert (exc.value.line, exc.value.col) == (2, 6)


SECRETS = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=8, max_size=40)


@settings(max_examples=60, deadline=None)
@given(SECRETS)
def test_errors_never_contain_values(secret: str) -> None:
    data = {"v": secret}
    for src in ("{{ .v | fromJson }}", "{{ .v | b64dec }}", "{{ .v | fromYaml | toJson }}{{ .missing }}",
                "{{ .v.x }}", "{{ index .v 99 }}", "{{ int .v }}",
                "{{ required \"need v\" .nope }}{{ .v | nosuch }}",
                "{{ regexMatch .v .v }}"):
        try:
            render(src, data)
        except TemplateError as exc:
            assert secret not in str(exc)


def test_template_is_reusable_and_custom_functions() -> None:
    t = Template("{{ shout .v }}", funcs={"shout": lambda s: s.upper() + "!"})
    assert t.execute({"v": "a"}) == "A!" and t.execute({"v": "b"}) == "B!"


@pytest.mark.parametrize("src", [
    "{{ .user }}", "{{ .pw | b64enc }}", "{{- if eq .user \"bob\" -}} y {{- else -}} n {{- end }}",
    "{{ printf \"%s-%s\" .user .pw }}", "{{ .user | upper | quote }}", "{{ index . \"user\" }}",
])
def test_superset_of_the_sealing_subset(src: str) -> None:
    """Templates the sealing engine accepts render identically here."""
    values = {k: v.encode() for k, v in DATA.items()}
    assert render(src, DATA, missing_key="default").encode() == sealing_render(src, values)


def test_json_roundtrip_of_unicode_and_bytes() -> None:
    out = render("{{ toJson . }}", {"k": "ü\"x", "b": b"raw"})
    assert json.loads(out) == {"k": "ü\"x", "b": "raw"}
