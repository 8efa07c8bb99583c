"""Loading: multi-document files, List objects, JSON, directories, stdin, and errors that lose nothing."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.rbaclint.loader import load_paths, load_text

MULTI = """# leading comment
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: x}
---
---
# Source: chart/templates/b.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: b
--- # trailing comment on separator
kind: Broken
  oops: [
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Secret, metadata: {name: c, namespace: y}}
- {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: d, namespace: ignored}}
"""


def test_multi_document_lines_and_errors():
    result = load_text(MULTI, "m.yaml")
    refs = [(o.ref, o.line) for o in result.objects]
    assert refs == [("ConfigMap/x/a", 2), ("ServiceAccount/default/b", 8), ("Secret/y/c", 16), ("ClusterRole/d", 16)]
    assert len(result.errors) == 1
    assert result.errors[0].line == 14 and "invalid YAML" in result.errors[0].message


def test_json_list_and_directories(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub" / "dump.json").write_bytes(
        orjson.dumps({"kind": "List", "items": [{"kind": "Namespace", "metadata": {"name": "n"}}]})
    )
    (tmp_path / "a.yml").write_text("kind: ServiceAccount\nmetadata: {name: s}\n")
    (tmp_path / "notes.txt").write_text("kind: ServiceAccount\n")
    (tmp_path / ".git" / "x.yaml").write_text("kind: ServiceAccount\nmetadata: {name: hidden}\n")
    result = load_paths([str(tmp_path)])
    assert sorted(o.ref for o in result.objects) == ["Namespace/n", "ServiceAccount/default/s"]
    assert not result.errors


def test_stdin_and_missing_path():
    result = load_paths(["-", "/no/such/file.yaml"], stdin_text="kind: Role\nmetadata: {name: r}\n")
    assert [o.source for o in result.objects] == ["<stdin>"]
    assert result.errors[0].message == "no such file or directory"


def test_non_mapping_and_binary(tmp_path):
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00kind")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    result = load_paths([str(tmp_path)])
    messages = sorted(e.message for e in result.errors)
    assert messages == ["cannot read: UnicodeDecodeError", "document is not a mapping (object)"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([*"ab:-{}[]#\n '\"\t&*!|>%@`", "---\n", "kind: X\n"]), max_size=80).map("".join))
def test_loader_never_crashes(text):
    result = load_text(text, "fuzz.yaml")
    for err in result.errors:
        assert err.source == "fuzz.yaml" and err.line >= 1


def test_kubernetes_yaml11_semantics():
    from strongroom.rbaclint.loader import parse_yaml

    doc = parse_yaml("mode: 0644\nautomount: no\nflag: on\nbase: &b {x: 1}\nmerged:\n  <<: *b\n  y: 2\nt: 2024-01-01\n")
    assert doc["mode"] == 0o644 and doc["automount"] is False and doc["flag"] is True
    assert doc["merged"] == {"x": 1, "y": 2}
    assert parse_yaml("a: '0644'\nb: 420\n") == {"a": "0644", "b": 420}
    assert parse_yaml("a: 1\na: 2\n") == {"a": 2}  # duplicate keys: PyYAML's reading, not an error


_scalars = st.one_of(
    st.integers(-(2**40), 2**40),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.sampled_from([*"aZ09 -:._/#'\"{}[],&*!|>%@`\n", "yes", "0644", "on", "<<", "1e3"]), max_size=8).map(
        "".join
    ),
)
_docs = st.recursive(
    _scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(st.text("abcXYZ019-_./", min_size=1, max_size=8), kids, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text("abcxyz-", min_size=1, max_size=6), _docs, min_size=1, max_size=5), st.booleans())
def test_fast_yaml_path_agrees_with_pyyaml(doc, flow):
    import yaml

    from strongroom.rbaclint.loader import parse_yaml

    text = yaml.safe_dump(doc, default_flow_style=flow)
    assert parse_yaml(text) == yaml.load(text, Loader=yaml.CSafeLoader)


def test_fixtures_agree_with_pyyaml():
    from pathlib import Path

    import yaml

    from strongroom.rbaclint.loader import parse_yaml

    for path in (Path(__file__).parent / "fixtures").rglob("*.yaml"):
        for chunk in path.read_text().split("\n---"):
            assert parse_yaml(chunk) == yaml.load(chunk, Loader=yaml.CSafeLoader), path


def test_scalar_tokens_read_like_kubernetes():
    """Differential check of the fast path on random number-, bool- and date-like plain scalars."""
    import random

    import yaml

    from strongroom.rbaclint.loader import parse_yaml

    rnd = random.Random(5)
    alphabet = "0123456789abefxXoOBE+-._:~nNyYtT"
    for _ in range(3000):
        token = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 6)))
        for text in (f"k: {token}\n", f"- {token}\n", f"k: [{token}]\n"):
            try:
                expected = yaml.load(text, Loader=yaml.CSafeLoader)
            except yaml.YAMLError:
                continue
            assert repr(parse_yaml(text)) == repr(expected), text
