"""A fake Kubernetes API server for tests: a real HTTP server on loopback, driven by any Kubernetes client.

    from tests.fakekube import FakeKube
    with FakeKube() as kube:
        client = lightkube.AsyncClient(config=kube.config())

See docs/operator.md ("Testing against the fake API server") for what it honours and its knobs.
"""

from tests.fakekube.server import BUILTINS, FakeKube
from tests.fakekube.store import ApiStatusError, Resource, Store

__all__ = ["BUILTINS", "ApiStatusError", "FakeKube", "Resource", "Store"]
