"""sys/ endpoints for the seal lifecycle: init, unseal, seal, health, leader, rotate, rekey, generate-root."""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING, Any

from strongroom import __version__
from strongroom.core import clock
from strongroom.core.context import caller
from strongroom.core.seal import SealConfig, encode_root_token
from strongroom.core.tokens.store import TOKEN_LEN
from strongroom.sdk.errors import InvalidRequest, PermissionDenied
from strongroom.sdk.framework import Field, FieldData, FieldType, Path
from strongroom.sdk.operations import Operation as Op
from strongroom.sdk.request import Request, Response

if TYPE_CHECKING:
    from strongroom.core.core import Core


def plain(data: dict[str, Any], status: int | None = None) -> Response:
    return Response(data=data, plain=True, raw_status=status)


def paths(core: Core) -> list[Path]:  # noqa: C901 - a route table; mccabe counts its handlers into it
    async def seal_status(req: Request, d: FieldData) -> Response:
        st = await core.seal.status()
        st.update({"version": __version__, "build_date": "", "storage_type": core.config.storage_type})
        if not st["sealed"]:
            st.update({"cluster_name": core.config.cluster_name, "cluster_id": core.cluster_id})
        return plain(st)

    async def init_status(req: Request, d: FieldData) -> Response:
        return plain({"initialized": await core.seal.initialized()})

    async def init(req: Request, d: FieldData) -> Response:
        if d.get("pgp_keys") or d.get("root_token_pgp_key"):
            raise InvalidRequest("PGP-encrypted key shares are not supported; omit pgp_keys")
        shares, threshold = d.get("secret_shares"), d.get("secret_threshold")
        if d.has("recovery_shares") and not d.has("secret_shares"):
            shares, threshold = d.get("recovery_shares"), d.get("recovery_threshold")
        keys, token = await core.initialize(shares, threshold)
        return plain({"keys": [k.hex() for k in keys], "keys_base64": [base64.b64encode(k).decode() for k in keys],
                      "root_token": token})

    async def unseal(req: Request, d: FieldData) -> Response:
        if d.get("reset"):
            core.seal.reset_unseal()
        elif d.has("key"):
            await core.unseal(d.get("key"))
        elif not core.sealed:
            pass
        else:
            raise InvalidRequest("'key' must be specified in request body as JSON, or 'reset' set to true")
        return await seal_status(req, d)

    async def seal(req: Request, d: FieldData) -> Response | None:
        if core.sealed:
            return None
        await core.seal_vault()
        return None

    async def health(req: Request, d: FieldData) -> Response:
        q = req.query
        init = await core.seal.initialized()

        def code(name: str, default: int) -> int:
            v = q.get(name)
            return int(v) if v and v.isdigit() else default

        if not init:
            status = code("uninitcode", 501)
        elif core.sealed:
            status = code("sealedcode", 503)
        else:
            status = code("activecode", 200)
        body = {"initialized": init, "sealed": core.sealed, "standby": False,
                "performance_standby": False, "replication_performance_mode": "disabled",
                "replication_dr_mode": "disabled", "server_time_utc": int(time.time()), "version": __version__,
                "cluster_name": core.config.cluster_name, "cluster_id": core.cluster_id}
        return plain(body, status)

    async def leader(req: Request, d: FieldData) -> Response:
        return plain({"ha_enabled": False, "is_self": True, "active_time": "0001-01-01T00:00:00Z",
                      "leader_address": core.config.api_addr, "leader_cluster_address": "",
                      "performance_standby": False, "performance_standby_last_remote_wal": 0})

    async def step_down(req: Request, d: FieldData) -> None:
        return None

    async def rotate(req: Request, d: FieldData) -> None:
        await core.barrier.rotate()

    async def key_status(req: Request, d: FieldData) -> Response:
        k = core.barrier.keyring.active
        data = {"term": k.term, "install_time": clock.rfc3339(k.install_time), "encryptions": 0}
        return Response(data=data, top_level=True)

    # --- rekey ---
    def rekey_status() -> dict[str, Any]:
        st = core.seal.rekey
        if st is None:
            return {"nonce": "", "started": False, "t": 0, "n": 0, "progress": 0, "required": 0,
                    "pgp_fingerprints": None, "backup": False, "verification_required": False}
        return {"nonce": st.collector.nonce, "started": True, "t": st.config.secret_threshold,
                "n": st.config.secret_shares, "progress": st.collector.progress,
                "required": st.collector.threshold, "pgp_fingerprints": None, "backup": False,
                "verification_required": st.require_verification,
                "verification_nonce": st.verification_nonce}

    async def rekey_get(req: Request, d: FieldData) -> Response:
        return plain(rekey_status())

    async def rekey_init(req: Request, d: FieldData) -> Response:
        if d.get("pgp_keys"):
            raise InvalidRequest("PGP-encrypted key shares are not supported; omit pgp_keys")
        await core.seal.rekey_init(SealConfig(d.get("secret_shares"), d.get("secret_threshold")),
                                   d.get("require_verification"))
        return plain(rekey_status())

    async def rekey_cancel(req: Request, d: FieldData) -> None:
        core.seal.rekey_cancel()

    async def rekey_update(req: Request, d: FieldData) -> Response:
        result = await core.seal.rekey_update(d.get("key"), d.get("nonce"))
        if result is None:
            return plain(rekey_status())
        return plain(result)

    def verify_status() -> dict[str, Any]:
        st = core.seal.rekey
        if st is None or st.verify is None:
            raise InvalidRequest("no rekey verification in progress")
        return {"nonce": st.verification_nonce, "started": True, "t": st.config.secret_threshold,
                "n": st.config.secret_shares, "progress": st.verify.progress}

    async def verify_get(req: Request, d: FieldData) -> Response:
        return plain(verify_status())

    async def verify_update(req: Request, d: FieldData) -> Response:
        nonce = d.get("nonce")
        done = await core.seal.rekey_verify(d.get("key"), nonce)
        if done:
            return plain({"nonce": nonce, "complete": True})
        return plain(verify_status())

    async def verify_cancel(req: Request, d: FieldData) -> Response:
        core.seal.rekey_verify_cancel()
        return plain(verify_status())

    # --- generate-root ---
    def gen_status() -> dict[str, Any]:
        st = core.seal.generate_root
        cfg_t = st.collector.threshold if st else 0
        return {"nonce": st.collector.nonce if st else "", "started": st is not None,
                "progress": st.collector.progress if st else 0, "required": cfg_t, "complete": False,
                "encoded_token": "", "encoded_root_token": "", "pgp_fingerprint": "",
                "otp_length": TOKEN_LEN, "otp": ""}

    async def gen_get(req: Request, d: FieldData) -> Response:
        cfg = await core.seal.config()
        out = gen_status()
        if cfg and not out["started"]:
            out["required"] = cfg.secret_threshold
        return plain(out)

    async def gen_init(req: Request, d: FieldData) -> Response:
        if d.get("pgp_key"):
            raise InvalidRequest("PGP-encrypted root tokens are not supported; use an OTP")
        st = await core.seal.generate_root_init(d.get("otp"), TOKEN_LEN)
        out = gen_status()
        if not d.get("otp"):
            out["otp"] = st.otp
        return plain(out)

    async def gen_cancel(req: Request, d: FieldData) -> None:
        core.seal.generate_root_cancel()

    async def gen_update(req: Request, d: FieldData) -> Response:
        st = core.seal.generate_root
        done = await core.seal.generate_root_update(d.get("key"), d.get("nonce"))
        if not done or st is None:
            return plain(gen_status())
        token = await core.create_root_token()
        core.seal.generate_root = None
        encoded = encode_root_token(token, st.otp)
        return plain({"nonce": st.collector.nonce, "started": True, "progress": st.collector.threshold,
                      "required": st.collector.threshold, "complete": True, "encoded_token": encoded,
                      "encoded_root_token": encoded, "pgp_fingerprint": "", "otp_length": TOKEN_LEN, "otp": ""})

    async def sealed_guard(req: Request, d: FieldData) -> None:
        if caller().entry is None:
            raise PermissionDenied()

    _ = sealed_guard
    S, N, B = FieldType.STRING, FieldType.INT, FieldType.BOOL
    return [
        Path("seal-status", {Op.READ: seal_status}),
        Path("init", {Op.READ: init_status, Op.UPDATE: init}, fields={
            "secret_shares": Field(N, "Number of key shares", default=5),
            "secret_threshold": Field(N, "Shares needed to unseal", default=3),
            "pgp_keys": Field(FieldType.COMMA_STRING_SLICE), "root_token_pgp_key": Field(S),
            "recovery_shares": Field(N), "recovery_threshold": Field(N),
            "recovery_pgp_keys": Field(FieldType.COMMA_STRING_SLICE), "stored_shares": Field(N)},
            help_synopsis="Initialize a new server."),
        Path("unseal", {Op.UPDATE: unseal}, fields={
            "key": Field(S, "One unseal key share (hex or base64)", sensitive=True),
            "reset": Field(B, "Discard the shares entered so far"), "migrate": Field(B)},
            help_synopsis="Submit an unseal key share."),
        Path("seal", {Op.UPDATE: seal}, help_synopsis="Seal the server."),
        Path("health", {Op.READ: health}, help_synopsis="Health status with Vault's status codes."),
        Path("leader", {Op.READ: leader}),
        Path("step-down", {Op.UPDATE: step_down}),
        Path("rotate", {Op.UPDATE: rotate}, help_synopsis="Add a new barrier key term."),
        Path("rotate/keyring", {Op.UPDATE: rotate}),
        Path("key-status", {Op.READ: key_status}),
        Path("rotate/keyring/key-status", {Op.READ: key_status}),
        Path("rekey/init", {Op.READ: rekey_get, Op.UPDATE: rekey_init, Op.DELETE: rekey_cancel}, fields={
            "secret_shares": Field(N, default=5), "secret_threshold": Field(N, default=3),
            "pgp_keys": Field(FieldType.COMMA_STRING_SLICE), "backup": Field(B),
            "require_verification": Field(B)}),
        Path("rekey/update", {Op.UPDATE: rekey_update}, fields={"key": Field(S, sensitive=True),
                                                                "nonce": Field(S, required=True)}),
        Path("rekey/verify", {Op.READ: verify_get, Op.UPDATE: verify_update, Op.DELETE: verify_cancel},
             fields={"key": Field(S, sensitive=True), "nonce": Field(S)}),
        Path("generate-root/attempt", {Op.READ: gen_get, Op.UPDATE: gen_init, Op.DELETE: gen_cancel},
             fields={"otp": Field(S), "pgp_key": Field(S)}),
        Path("generate-root/update", {Op.UPDATE: gen_update}, fields={"key": Field(S, sensitive=True),
                                                                      "nonce": Field(S, required=True)}),
    ]
