"""SecretProviderClass parameter parsing: no objectName can escape the volume, and bad input is a ParamError that
names the parameter (never a crash, never a value)."""

from __future__ import annotations

import contextlib
import json
import posixpath
import re

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.csi.params import ParamError, parse


def attrs(objects: object, **extra: str) -> str:
    return json.dumps({"roleName": "r", "strongroomAddress": "http://x", "objects": yaml.safe_dump(objects),
                       **extra})


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab./-_~\\ ", min_size=1, max_size=12))
def test_object_names_never_escape_the_volume(name: str) -> None:
    try:
        p = parse(attrs([{"objectName": name, "secretPath": "secret/data/x"}]), "420")
    except ParamError:
        return
    got = p.objects[0].name
    assert not got.startswith("/") and ".." not in got.split("/")
    assert posixpath.normpath(posixpath.join("/vol", got)).startswith("/vol/")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40), st.text(max_size=10))
def test_arbitrary_attributes_and_permission_never_crash(a: str, perm: str) -> None:
    with contextlib.suppress(ParamError):
        parse(a, perm)


@pytest.mark.parametrize(("objects", "want"), [
    ([], "non-empty list"),
    ({"a": 1}, "non-empty list"),
    (["x"], "objects[0] must be a mapping"),
    ([{"objectName": "a"}], "needs objectName and secretPath"),
    ([{"objectName": "a", "secretPath": "p", "filePermission": "999"}], "octal"),
    ([{"objectName": "a", "secretPath": "p", "encoding": "rot13"}], "encoding"),
    ([{"objectName": "a", "secretPath": "p"}, {"objectName": "a", "secretPath": "q"}], "share an objectName"),
])
def test_bad_objects(objects: object, want: str) -> None:
    with pytest.raises(ParamError, match=re.escape(want)):
        parse(attrs(objects), "420")
