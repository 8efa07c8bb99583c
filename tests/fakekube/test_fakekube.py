"""The fake API server's behaviours, proven with lightkube (a client we did not write) as the client."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx2
import pytest
from lightkube import ApiError, Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta, OwnerReference
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import ConfigMap, Namespace, Secret
from lightkube.types import PatchType

from tests.fakekube import FakeKube

SealedSecret = create_namespaced_resource("bitnami.com", "v1alpha1", "SealedSecret", "sealedsecrets")


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube(history=50) as server:
        yield server


@pytest.fixture
def client(fake: FakeKube) -> Iterator[Client]:
    c = Client(config=fake.config(), field_manager="tester")
    yield c
    c.close()


def _secret(name: str, **data: str) -> Secret:
    return Secret(metadata=ObjectMeta(name=name, namespace="default", labels={"app": "x"}), stringData=data)


def test_crud_and_errors_as_status_objects(client: Client) -> None:
    created = client.create(_secret("a", k="v"))
    assert created.metadata.uid and created.metadata.resourceVersion
    assert client.get(Secret, "a", namespace="default").data == {"k": "dg=="}  # stringData folded as upstream
    with pytest.raises(ApiError) as err:
        client.create(_secret("a"))
    assert err.value.status.code == 409 and err.value.status.reason == "AlreadyExists"
    client.delete(Secret, "a", namespace="default")
    with pytest.raises(ApiError) as err:
        client.get(Secret, "a", namespace="default")
    assert err.value.status.code == 404 and err.value.status.reason == "NotFound"


def test_stale_update_conflicts_and_rv_is_monotonic(client: Client) -> None:
    first = client.create(_secret("a", k="1"))
    first.stringData = {"k": "2"}
    second = client.replace(first)
    assert int(second.metadata.resourceVersion) > int(first.metadata.resourceVersion)
    first.stringData = {"k": "3"}
    with pytest.raises(ApiError) as err:
        client.replace(first)  # first still carries the old resourceVersion
    assert err.value.status.code == 409 and err.value.status.reason == "Conflict"


def test_generation_and_status_subresource(client: Client) -> None:
    ss = SealedSecret(metadata=ObjectMeta(name="s", namespace="default"), spec={"encryptedData": {"a": "x"}},
                      status={"bogus": True})
    created = client.create(ss)
    assert created.metadata.generation == 1 and created.get("status") is None
    patched = client.patch(SealedSecret, "s", {"metadata": {"labels": {"l": "1"}}}, namespace="default")
    assert patched.metadata.generation == 1  # metadata is not spec
    patched = client.patch(SealedSecret, "s", {"spec": {"encryptedData": {"a": "y"}}, "status": {"x": 1}},
                           namespace="default")
    assert patched.metadata.generation == 2 and patched.get("status") is None  # main endpoint ignores status
    st = client.patch(SealedSecret.Status, "s", {"status": {"observedGeneration": 2}, "spec": {"z": 1}},
                      namespace="default")
    assert st["status"] == {"observedGeneration": 2} and "z" not in st["spec"] and st.metadata.generation == 2


def test_label_selector_and_list_resource_version(client: Client) -> None:
    client.create(_secret("a"))
    client.create(Secret(metadata=ObjectMeta(name="b", namespace="default", labels={"app": "y"})))
    listed = client.list(Secret, namespace="default", labels={"app": "x"})
    assert [s.metadata.name for s in listed] == ["a"]
    assert int(listed.resourceVersion) >= 2
    assert len(list(client.list(Secret, namespace="*"))) == 2


def test_server_side_apply_conflicts_force_and_field_removal(client: Client) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"},
          "data": {"a": "1", "b": "2"}}
    client.apply(ConfigMap.from_dict(cm), field_manager="one")
    with pytest.raises(ApiError) as err:
        client.apply(ConfigMap.from_dict({**cm, "data": {"a": "other"}}), field_manager="two")
    assert err.value.status.code == 409
    got = client.apply(ConfigMap.from_dict({**cm, "data": {"a": "other"}}), field_manager="two", force=True)
    assert got.data == {"a": "other", "b": "2"}
    got = client.apply(ConfigMap.from_dict({**cm, "data": {"c": "3"}}), field_manager="one")
    assert got.data == {"a": "other", "c": "3"}  # b dropped (no longer applied by "one"), a now owned by "two"
    assert {m.manager for m in got.metadata.managedFields} == {"one", "two"}


def test_garbage_collection_and_finalizers(client: Client) -> None:
    owner = client.create(SealedSecret(metadata=ObjectMeta(name="o", namespace="default"), spec={}))
    ref = OwnerReference(apiVersion="bitnami.com/v1alpha1", kind="SealedSecret", name="o",
                         uid=owner.metadata.uid, controller=True)
    dep = _secret("dep")
    dep.metadata.ownerReferences = [ref]
    dep.metadata.finalizers = ["example.com/hold"]
    client.create(dep)
    client.delete(SealedSecret, "o", namespace="default")
    held = client.get(Secret, "dep", namespace="default")
    assert held.metadata.deletionTimestamp is not None
    client.patch(Secret, "dep", {"metadata": {"finalizers": None}}, namespace="default",
                 patch_type=PatchType.MERGE)
    with pytest.raises(ApiError):
        client.get(Secret, "dep", namespace="default")


def test_watch_streams_changes_and_410_when_compacted(fake: FakeKube, client: Client) -> None:
    rv = client.list(Secret, namespace="default")
    list(rv)
    start = rv.resourceVersion
    client.create(_secret("w1"))
    seen: list[tuple[str, str]] = []
    for typ, obj in client.watch(Secret, namespace="default", resource_version=start):
        seen.append((typ, obj.metadata.name))
        if obj.metadata.name == "w1":
            break
    assert seen == [("ADDED", "w1")]
    fake.compact()
    with pytest.raises(ApiError) as err:
        for _ in client.watch(Secret, namespace="default", resource_version=start):
            pass
    assert err.value.status.code == 410


def test_history_is_bounded(fake: FakeKube, client: Client) -> None:
    for i in range(60):  # history=50
        client.create(Lease(metadata=ObjectMeta(name=f"l{i}", namespace="default")))
    with pytest.raises(ApiError) as err:
        next(iter(client.watch(Lease, namespace="default", resource_version="1")))
    assert err.value.status.code == 410


def test_fault_injection_and_dropped_watch(fake: FakeKube, client: Client) -> None:
    fake.fail_next(2, 500, method="POST")
    for _ in range(2):
        with pytest.raises(ApiError) as err:
            client.create(_secret("f"))
        assert err.value.status.code == 500
    client.create(_secret("f"))

    errors: list[BaseException] = []

    def watch() -> None:
        try:
            for _ in client.watch(Secret, namespace="default", resource_version="1"):
                pass
        except Exception as exc:
            errors.append(exc)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    import time

    time.sleep(0.3)
    fake.drop_watches()
    t.join(5)
    assert not t.is_alive() and isinstance(errors[0], httpx2.HTTPError)


def test_generate_name_cluster_scope_and_namespace_cascade(client: Client) -> None:
    client.create(Namespace(metadata=ObjectMeta(name="team")))
    s = client.create(Secret(metadata=ObjectMeta(generateName="key-", namespace="team")))
    assert s.metadata.name.startswith("key-") and len(s.metadata.name) == 9
    client.delete(Namespace, "team")
    assert list(client.list(Secret, namespace="team")) == []


def test_bad_input_gets_clear_status(fake: FakeKube) -> None:
    r = httpx2.post(f"{fake.url}/api/v1/namespaces/default/secrets", content=b"{not json",
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["kind"] == "Status"
    r = httpx2.patch(f"{fake.url}/api/v1/namespaces/default/secrets/x", content=b"[]",
                     headers={"Content-Type": "application/json-patch+json"})
    assert r.status_code in (400, 404, 415)
    r = httpx2.get(f"{fake.url}/apis/nope.io/v1/things")
    assert r.status_code == 404 and r.json()["reason"] == "NotFound"
