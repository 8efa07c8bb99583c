"""sys/ endpoints for the seal lifecycle: init, unseal, seal, health, leader, rotate, rekey, generate-root."""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING, Any

from strongroom import __version__
from strongroom.core import clock
from strongroom.core.seal import SealConfig, decode_root_token, encode_root_token
from strongroom.core.tokens.store import TOKEN_LEN
from strongroom.sdk.errors import InvalidRequest
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
        st.update({"version": __version__, "commit_date": "", "storage_type": core.config.storage_type})
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
        elif core.ha is not None and not core.ha.is_leader:  # scale-out standby: serves requests too
            status = 200 if q.get("perfstandbyok") in ("true", "1") or q.get("standbyok") in ("true", "1") \
                else code("performancestandbycode", 473)
        else:
            status = code("activecode", 200)
        standby = bool(core.ha is not None and not core.ha.is_leader and not core.sealed)
        body: dict[str, Any] = {
            "initialized": init, "sealed": core.sealed, "standby": standby, "replication_performance_mode": "disabled",
            "replication_dr_mode": "disabled", "server_time_utc": int(time.time()), "version": __version__,
            "cluster_name": core.config.cluster_name, "cluster_id": core.cluster_id}
        if core.ha is not None:  # OpenBao reports performance_standby only with HA storage
            body["performance_standby"] = standby
        return plain(body, status)

    async def leader(req: Request, d: FieldData) -> Response:
        if core.ha is not None:
            return plain(core.ha.leader_status())
        return plain({"ha_enabled": False})  # as OpenBao without HA storage

    async def step_down(req: Request, d: FieldData) -> None:
        return None

    async def rotate(req: Request, d: FieldData) -> None:
        await core.barrier.rotate()

    async def key_status(req: Request, d: FieldData) -> Response:
        k = core.barrier.keyring.active
        data = {"term": k.term, "install_time": clock.rfc3339(k.install_time), "encryptions": 0}
        return Response(data=data, top_level=True)

    # --- rekey (legacy sys/rekey/*: plain JSON) and OpenBao 2.x sys/rotate/root/* (authenticated, enveloped) ---
    def reply(data: dict[str, Any], enveloped: bool) -> Response:
        return Response(data=data) if enveloped else plain(data)

    async def current_threshold() -> int:
        cfg = await core.seal.config()
        return cfg.secret_threshold if cfg else 0

    async def rekey_status() -> dict[str, Any]:
        st = core.seal.rekey
        if st is None:
            return {"nonce": "", "started": False, "t": 0, "n": 0, "progress": 0,
                    "required": await current_threshold(), "pgp_fingerprints": None, "backup": False,
                    "verification_required": False, "verification_nonce": ""}
        return {"nonce": st.collector.nonce, "started": True, "t": st.config.secret_threshold,
                "n": st.config.secret_shares, "progress": st.collector.progress,
                "required": st.collector.threshold, "pgp_fingerprints": None, "backup": False,
                "verification_required": st.require_verification,
                "verification_nonce": st.verification_nonce}

    def verify_status() -> dict[str, Any]:
        st = core.seal.rekey
        if st is None:
            return {"nonce": "", "started": False, "t": 0, "n": 0, "progress": 0}
        if st.verify is None:
            return {"nonce": "", "started": False, "t": st.config.secret_threshold,
                    "n": st.config.secret_shares, "progress": 0}
        return {"nonce": st.verification_nonce, "started": True, "t": st.config.secret_threshold,
                "n": st.config.secret_shares, "progress": st.verify.progress}

    def rekey_ops(enveloped: bool) -> tuple[dict[Op, Any], dict[Op, Any], dict[Op, Any]]:
        async def get(req: Request, d: FieldData) -> Response:
            return reply(await rekey_status(), enveloped)

        async def init(req: Request, d: FieldData) -> Response:
            if d.get("pgp_keys"):
                raise InvalidRequest("PGP-encrypted key shares are not supported; omit pgp_keys")
            await core.seal.rekey_init(SealConfig(d.get("secret_shares"), d.get("secret_threshold")),
                                       d.get("require_verification"))
            return reply(await rekey_status(), enveloped)

        async def cancel(req: Request, d: FieldData) -> None:
            core.seal.rekey_cancel()

        async def update(req: Request, d: FieldData) -> Response:
            result = await core.seal.rekey_update(d.get("key"), d.get("nonce"))
            return reply(result if result is not None else await rekey_status(), enveloped)

        async def verify_get(req: Request, d: FieldData) -> Response:
            return reply(verify_status(), enveloped)

        async def verify_update(req: Request, d: FieldData) -> Response:
            nonce = d.get("nonce")
            if await core.seal.rekey_verify(d.get("key"), nonce):
                return reply({"nonce": nonce, "complete": True}, enveloped)
            return reply(verify_status(), enveloped)

        async def verify_cancel(req: Request, d: FieldData) -> Response:
            core.seal.rekey_verify_cancel()
            return reply(verify_status(), enveloped)

        return ({Op.READ: get, Op.UPDATE: init, Op.DELETE: cancel}, {Op.UPDATE: update},
                {Op.READ: verify_get, Op.UPDATE: verify_update, Op.DELETE: verify_cancel})

    # --- generate-root (legacy sys/generate-root/*) and OpenBao 2.6+ sys/generate-root-token/* ---
    async def gen_status(otp: str = "") -> dict[str, Any]:
        st = core.seal.generate_root
        out: dict[str, Any] = {"started": st is not None, "complete": False,
                               "progress": st.collector.progress if st else 0,
                               "required": st.collector.threshold if st else await current_threshold(),
                               "encoded_token": "", "encoded_root_token": "", "otp": otp,
                               "otp_length": TOKEN_LEN, "pgp_fingerprint": ""}
        if st is not None:
            out["nonce"] = st.collector.nonce
        return out

    def gen_ops(enveloped: bool) -> tuple[dict[Op, Any], dict[Op, Any]]:
        async def get(req: Request, d: FieldData) -> Response:
            return reply(await gen_status(), enveloped)

        async def init(req: Request, d: FieldData) -> Response:
            if d.get("pgp_key"):
                raise InvalidRequest("PGP-encrypted root tokens are not supported; use an OTP")
            st = await core.seal.generate_root_init(d.get("otp"), TOKEN_LEN)
            return reply(await gen_status("" if d.get("otp") else st.otp), enveloped)

        async def cancel(req: Request, d: FieldData) -> None:
            core.seal.generate_root_cancel()

        async def update(req: Request, d: FieldData) -> Response:
            st = core.seal.generate_root
            done = await core.seal.generate_root_update(d.get("key"), d.get("nonce"))
            if not done or st is None:
                return reply(await gen_status(), enveloped)
            token = await core.create_root_token()
            core.seal.generate_root = None
            encoded = encode_root_token(token, st.otp)
            return reply({"nonce": st.collector.nonce, "started": True, "progress": st.collector.threshold,
                          "required": st.collector.threshold, "complete": True, "encoded_token": encoded,
                          "encoded_root_token": encoded, "pgp_fingerprint": "", "otp_length": TOKEN_LEN,
                          "otp": ""}, enveloped)

        return {Op.READ: get, Op.UPDATE: init, Op.DELETE: cancel}, {Op.UPDATE: update}

    async def decode_token(req: Request, d: FieldData) -> Response:
        encoded, otp = d.get("encoded_token"), d.get("otp")
        if not encoded or not otp:
            raise InvalidRequest("provided 'encoded_token' or 'otp' is empty")
        return Response(data={"token": decode_root_token(encoded, otp)})

    S, N, B = FieldType.STRING, FieldType.INT, FieldType.BOOL
    rekey_init_fields = {"secret_shares": Field(N, default=5), "secret_threshold": Field(N, default=3),
                         "pgp_keys": Field(FieldType.COMMA_STRING_SLICE), "backup": Field(B),
                         "require_verification": Field(B)}
    share_fields = {"key": Field(S, "One unseal key share", sensitive=True),
                    "nonce": Field(S, "Nonce of the operation", required=True)}
    verify_fields = {"key": Field(S, sensitive=True), "nonce": Field(S)}
    gen_fields = {"otp": Field(S), "pgp_key": Field(S)}
    legacy_rekey, legacy_rekey_update, legacy_verify = rekey_ops(enveloped=False)
    rotate_root, rotate_root_update, rotate_root_verify = rekey_ops(enveloped=True)
    legacy_gen, legacy_gen_update = gen_ops(enveloped=False)
    gen_token, gen_token_update = gen_ops(enveloped=True)

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
        Path("rekey/init", legacy_rekey, fields=rekey_init_fields),
        Path("rekey/update", legacy_rekey_update, fields=share_fields),
        Path("rekey/verify", legacy_verify, fields=verify_fields),
        Path("rotate/root/init", rotate_root, fields=rekey_init_fields,
             help_synopsis="Authenticated rotation of the unseal key shares (OpenBao 2.4+)."),
        Path("rotate/root/update", rotate_root_update, fields=share_fields),
        Path("rotate/root/verify", rotate_root_verify, fields=verify_fields),
        Path("generate-root/attempt", legacy_gen, fields=gen_fields),
        Path("generate-root/update", legacy_gen_update, fields=share_fields),
        Path("generate-root-token/attempt", gen_token, fields=gen_fields,
             help_synopsis="Authenticated root token generation (OpenBao 2.6+)."),
        Path("generate-root-token/update", gen_token_update, fields=share_fields),
        Path("decode-token", {Op.UPDATE: decode_token},
             fields={"encoded_token": Field(S), "otp": Field(S, sensitive=True)}),
    ]
