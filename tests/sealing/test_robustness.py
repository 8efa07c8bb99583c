"""Arbitrary input never escapes the typed error tree (no tracebacks for users, no values in messages)."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.sealing import ManifestError, TemplateError, load_manifests, render_template

ACTIONISH = st.text(alphabet=st.sampled_from(list('{}.|()"`$-/* abcdefghijklmnopqrstuvwxyz0123456789=:\n')),
                    max_size=80)


@settings(max_examples=300, deadline=None)
@given(source=st.one_of(ACTIONISH, st.text(max_size=80)))
def test_templates_render_or_raise_template_error(source):
    try:
        render_template(source, {"a": b"SECRETVALUE", "b": b""})
    except TemplateError as exc:
        assert "SECRETVALUE" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_manifests_load_or_raise_manifest_error(text):
    with contextlib.suppress(ManifestError):
        load_manifests(text)


def test_deeply_nested_input_is_a_manifest_error():
    import pytest

    for text in ("[" * 100_000, '{"a":' * 100_000, "a: " + "[" * 100_000):
        with pytest.raises(ManifestError, match="nested too deeply"):
            load_manifests(text)
