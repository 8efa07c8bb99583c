"""Property tests of the mutation: any pod that does not opt in is untouched; for any pod that does, the patch
applies cleanly with an independent RFC 6902 implementation and yields exactly one agent of each kind, unique
volume names, and the secrets volume in every selected container."""

from __future__ import annotations

import copy

import jsonpatch
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.injector.mutate import InjectError, InjectorConfig, patch_for

names = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
mounts = st.lists(st.fixed_dictionaries({"name": names, "mountPath": st.just("/m")}), max_size=2)
containers = st.lists(st.fixed_dictionaries({"name": names, "image": st.just("x")},
                                            optional={"volumeMounts": mounts}),
                      min_size=1, max_size=3, unique_by=lambda c: c["name"])
volumes = st.lists(st.fixed_dictionaries({"name": names, "emptyDir": st.just({})}), max_size=3,
                   unique_by=lambda v: v["name"])
files = st.dictionaries(st.from_regex(r"[a-z0-9][a-z0-9._-]{0,12}", fullmatch=True),
                        st.from_regex(r"secret/data/[a-z]{1,8}", fullmatch=True), min_size=1, max_size=3)


@st.composite
def pods(draw: st.DrawFn, opted_in: bool) -> dict:
    ann = {f"strongroom.io/agent-inject-secret-{f}": p for f, p in draw(files).items()}
    ann["strongroom.io/role"] = "r"
    if opted_in:
        ann["strongroom.io/agent-inject"] = "true"
    elif draw(st.booleans()):
        ann["strongroom.io/agent-inject"] = draw(st.sampled_from(["false", "no", "", "maybe"]))
    spec: dict = {"containers": draw(containers)}
    if draw(st.booleans()):
        spec["volumes"] = draw(volumes)
    if draw(st.booleans()):
        spec["initContainers"] = [{"name": "setup", "image": "x"}]
    meta: dict = {"name": "p"}
    if ann:
        meta["annotations"] = ann
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


@settings(max_examples=80, deadline=None)
@given(pods(opted_in=False))
def test_pods_that_do_not_opt_in_are_never_patched(pod: dict) -> None:
    assert patch_for(pod, InjectorConfig()) == []


@settings(max_examples=80, deadline=None)
@given(pods(opted_in=True))
def test_patch_always_applies_and_is_well_formed(pod: dict) -> None:
    try:
        ops = patch_for(pod, InjectorConfig())
    except InjectError as exc:  # only a name clash with our own volumes/containers may be refused
        assert "already has" in str(exc)
        return
    out = jsonpatch.apply_patch(copy.deepcopy(pod), ops)
    spec = out["spec"]
    vol_names = [v["name"] for v in spec["volumes"]]
    assert len(vol_names) == len(set(vol_names))
    assert [c["name"] for c in spec["containers"]].count("strongroom-agent") == 1
    assert spec["initContainers"][0]["name"] == "strongroom-agent-init"
    for c in spec["containers"][:-1]:
        assert any(m["name"] == "strongroom-secrets" for m in c["volumeMounts"])
    assert patch_for(out, InjectorConfig()) == []  # injected pods are never injected twice
