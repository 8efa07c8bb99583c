"""The cubbyhole engine: a private key/value space per token, as Vault's `cubbyhole/` mount.

Every entry lives under `<client_token_id>/` in the mount's storage; `client_token_id` is the core's stable,
salted per-token id, so one token can never see another's cubbyhole (not even with a root policy). When a
token is revoked the core destroys its cubbyhole by deleting everything under `<client_token_id>/` in this
mount's storage (`sdk.storage.delete_recursive`), as Vault's token store does.

No lease hint here: unlike kv v1, Vault's cubbyhole never returns a lease_duration.
"""

from __future__ import annotations

import orjson

from strongroom.sdk import InvalidRequest, Operation, Request, Response, Storage, StrongroomError
from strongroom.sdk.framework import Backend, BackendConfig, Field, FieldData, FieldType, OperationSpec, Path

HELP = """The cubbyhole backend reads and writes arbitrary secrets to the backend. The secrets are scoped to
the token that writes them: every token has its own cubbyhole, and it is destroyed with the token."""


def _scope(req: Request) -> tuple[Storage, str]:
    if req.storage is None:
        raise StrongroomError("no storage attached to the request")
    tid = req.client_token_id
    if not tid:
        raise InvalidRequest("client token empty")
    if "/" in tid:
        raise StrongroomError("client token id must not contain '/'")
    return req.storage, tid + "/"


def _check_key(key: str) -> None:
    if key == "":
        raise InvalidRequest("missing path")
    if key.endswith("/"):
        raise InvalidRequest("cannot write to a path ending in '/'")
    if any(part == "" for part in key.split("/")):
        raise InvalidRequest("invalid path: it must not start with '/' or contain '//'")


def factory(config: BackendConfig) -> Backend:
    async def exists(req: Request, d: FieldData) -> bool:
        st, prefix = _scope(req)
        return await st.get(prefix + d.get("path")) is not None

    async def read(req: Request, d: FieldData) -> Response | None:
        st, prefix = _scope(req)
        raw = await st.get(prefix + d.get("path"))
        return None if raw is None else Response(data=orjson.loads(raw))

    async def write(req: Request, d: FieldData) -> Response | None:
        st, prefix = _scope(req)
        key = d.get("path")
        _check_key(key)
        if not req.data:
            raise InvalidRequest("missing data fields")
        try:
            blob = orjson.dumps(dict(req.data))
        except TypeError:
            raise InvalidRequest("data contains a value that cannot be stored as JSON "
                                 "(integers must fit in 64 bits)") from None
        await st.put(prefix + key, blob)
        return None

    async def delete(req: Request, d: FieldData) -> Response | None:
        st, prefix = _scope(req)
        await st.delete(prefix + d.get("path"))
        return None

    async def list_keys(req: Request, d: FieldData) -> Response | None:
        st, prefix = _scope(req)
        path = d.get("path")
        if path and not path.endswith("/"):
            path += "/"
        keys = await st.list(prefix + path)
        return Response(data={"keys": keys}) if keys else None

    path = Path(
        pattern=r"(?P<path>.*)",
        fields={"path": Field(FieldType.STRING, "Specifies the path of the secret.")},
        operations={
            Operation.READ: OperationSpec(read, "Retrieve the secret at the specified location."),
            Operation.CREATE: OperationSpec(write, "Store a secret at the specified location."),
            Operation.UPDATE: OperationSpec(write, "Store a secret at the specified location."),
            Operation.DELETE: OperationSpec(delete, "Deletes the secret at the specified location."),
            Operation.LIST: OperationSpec(list_keys, "List secret entries at the specified location."),
        },
        existence_check=exists,
        takes_arbitrary_input=True,
        help_synopsis="Pass-through secret storage to a token-specific cubbyhole in the storage backend, "
                      "allowing you to read/write arbitrary data into secret storage.",
        help_description="The cubbyhole backend reads and writes arbitrary data into secret storage, "
                         "encrypting it along the way. The view into the cubbyhole storage space is "
                         "different for each token; it is a per-token private space.",
    )
    return Backend(paths=[path], help=HELP)


__all__ = ["factory"]
