"""The only package that talks to the Kubernetes API. Everything else gets plain dicts and typed errors."""

from strongroom.operator.kube import kinds
from strongroom.operator.kube.client import FIELD_MANAGER, Kube, Obj, load_config
from strongroom.operator.kube.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeError,
    NotFound,
    Unavailable,
)
from strongroom.operator.kube.kinds import ResourceKind

__all__ = [
    "FIELD_MANAGER",
    "AlreadyExists",
    "Conflict",
    "Forbidden",
    "Gone",
    "Invalid",
    "Kube",
    "KubeError",
    "NotFound",
    "Obj",
    "ResourceKind",
    "Unavailable",
    "kinds",
    "load_config",
]
