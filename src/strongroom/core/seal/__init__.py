"""Root-key protection. The unseal key (Shamir-split) encrypts the root key; the root key encrypts the keyring.

    physical core/seal-config  plain JSON {type, secret_shares, secret_threshold}
    physical core/root-key     aead(unseal key, path as AAD) of the root key
    physical core/keyring      aead(root key) of the keyring (see barrier)

Rekey replaces the unseal key (re-wraps the root key); `sys/rotate` adds a keyring term. Neither rewrites data.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from strongroom.core.barrier import Barrier
from strongroom.core.physical import Op, Physical
from strongroom.core.seal.shares import ShareCollector, decode_share, split_key
from strongroom.crypto import DecryptionError, aead, random_bytes
from strongroom.sdk.errors import InvalidRequest

SEAL_CONFIG = "core/seal-config"
ROOT_KEY = "core/root-key"


@dataclass
class SealConfig:
    secret_shares: int
    secret_threshold: int
    type: str = "shamir"

    def validate(self) -> None:
        if self.secret_shares < 1:
            raise InvalidRequest("shares must be at least one")
        if self.secret_threshold < 1:
            raise InvalidRequest("threshold must be at least one")
        if self.secret_shares > 1 and self.secret_threshold == 1:
            raise InvalidRequest("threshold must be greater than one for multiple shares")
        if self.secret_shares > 255:
            raise InvalidRequest("shares must be less than 256")
        if self.secret_threshold > self.secret_shares:
            raise InvalidRequest("threshold cannot be larger than shares")


@dataclass
class RekeyState:
    config: SealConfig
    collector: ShareCollector
    require_verification: bool = False
    pending_key: bytes | None = None  # new unseal key awaiting verification
    verify: ShareCollector | None = None
    verification_nonce: str = ""
    new_shares_hex: list[str] = field(default_factory=list)


@dataclass
class GenerateRootState:
    collector: ShareCollector
    otp: str
    pgp_fingerprint: str = ""


class SealManager:
    def __init__(self, physical: Physical, barrier: Barrier) -> None:
        self.physical = physical
        self.barrier = barrier
        self.unseal_progress: ShareCollector | None = None
        self.rekey: RekeyState | None = None
        self.generate_root: GenerateRootState | None = None

    async def config(self) -> SealConfig | None:
        raw = await self.physical.get(SEAL_CONFIG)
        if raw is None:
            return None
        d = orjson.loads(raw)
        return SealConfig(d["secret_shares"], d["secret_threshold"], d.get("type", "shamir"))

    async def initialized(self) -> bool:
        return await self.physical.get(SEAL_CONFIG) is not None

    async def initialize(self, cfg: SealConfig) -> tuple[list[bytes], bytes]:
        """Returns (unseal key shares, root key). The barrier is left unsealed."""
        cfg.validate()
        if await self.initialized():
            raise InvalidRequest("Vault is already initialized")
        unseal_key = aead.generate_key()
        root_key = aead.generate_key()
        await self.barrier.initialize(root_key)
        await self.physical.transaction([
            Op(ROOT_KEY, aead.seal(unseal_key, 0, root_key, ROOT_KEY.encode())),
            Op(SEAL_CONFIG, orjson.dumps(cfg.__dict__)),
        ])
        await self.barrier.unseal(root_key)
        return split_key(unseal_key, cfg.secret_shares, cfg.secret_threshold), root_key

    async def _root_key(self, unseal_key: bytes) -> bytes:
        blob = await self.physical.get(ROOT_KEY)
        if blob is None:
            raise InvalidRequest("Vault is not initialized")
        try:
            return aead.open_(unseal_key, blob, ROOT_KEY.encode())
        except DecryptionError:
            raise InvalidRequest("Error unsealing: failed to decrypt keys from storage: cipher: message "
                                 "authentication failed") from None

    async def unseal_with_key(self, unseal_key: bytes) -> None:
        await self.barrier.unseal(await self._root_key(unseal_key))

    async def submit_unseal(self, key: str) -> bool:
        """Adds one share. Returns True when the barrier is now unsealed."""
        cfg = await self.config()
        if cfg is None:
            raise InvalidRequest("Vault is not initialized")
        if not self.barrier.sealed:
            return True
        if self.unseal_progress is None:
            self.unseal_progress = ShareCollector(cfg.secret_threshold)
        combined = self.unseal_progress.add(decode_share(key))
        if combined is None:
            return False
        self.unseal_progress = None
        await self.unseal_with_key(combined)
        return True

    def reset_unseal(self) -> None:
        self.unseal_progress = None

    async def status(self) -> dict[str, Any]:
        cfg = await self.config()
        return {
            "type": "shamir",
            "initialized": cfg is not None,
            "sealed": self.barrier.sealed,
            "t": cfg.secret_threshold if cfg else 0,
            "n": cfg.secret_shares if cfg else 0,
            "progress": self.unseal_progress.progress if self.unseal_progress else 0,
            "nonce": self.unseal_progress.nonce if self.unseal_progress else "",
            "recovery_seal": False,
            "migration": False,
            "storage_type": "",
        }

    # --- rekey --------------------------------------------------------------------------------------------------

    async def rekey_init(self, cfg: SealConfig, require_verification: bool) -> RekeyState:
        cfg.validate()
        current = await self.config()
        if current is None:
            raise InvalidRequest("Vault is not initialized")
        if self.rekey is not None:
            raise InvalidRequest("rekey already in progress")
        self.rekey = RekeyState(cfg, ShareCollector(current.secret_threshold), require_verification)
        return self.rekey

    async def rekey_update(self, key: str, nonce: str) -> dict[str, Any] | None:
        st = self.rekey
        if st is None:
            raise InvalidRequest("no rekey in progress")
        if nonce != st.collector.nonce:
            raise InvalidRequest(f"incorrect nonce supplied; nonce for this rekey operation is {st.collector.nonce}")
        if st.pending_key is not None:
            raise InvalidRequest("rekey is awaiting verification")
        combined = st.collector.add(decode_share(key))
        if combined is None:
            return None
        root_key = await self._root_key(combined)
        new_key = aead.generate_key()
        shares = split_key(new_key, st.config.secret_shares, st.config.secret_threshold)
        st.new_shares_hex = [s.hex() for s in shares]
        result = {"nonce": st.collector.nonce, "complete": True,
                  "keys": st.new_shares_hex, "keys_base64": [base64.b64encode(s).decode() for s in shares],
                  "backup": False, "pgp_fingerprints": None,
                  "verification_required": st.require_verification, "verification_nonce": ""}
        if st.require_verification:
            st.pending_key = new_key
            st.verify = ShareCollector(st.config.secret_threshold)
            st.verification_nonce = str(uuid.uuid4())
            result["verification_nonce"] = st.verification_nonce
            return result
        await self._commit_rekey(root_key, new_key, st.config)
        return result

    async def _commit_rekey(self, root_key: bytes, new_key: bytes, cfg: SealConfig) -> None:
        await self.physical.transaction([
            Op(ROOT_KEY, aead.seal(new_key, 0, root_key, ROOT_KEY.encode())),
            Op(SEAL_CONFIG, orjson.dumps(cfg.__dict__)),
        ])
        self.rekey = None

    async def rekey_verify(self, key: str, nonce: str) -> bool:
        st = self.rekey
        if st is None or st.pending_key is None or st.verify is None:
            raise InvalidRequest("no rekey verification in progress")
        if nonce != st.verification_nonce:
            raise InvalidRequest("incorrect verification nonce provided")
        combined = st.verify.add(decode_share(key))
        if combined is None:
            return False
        from strongroom.crypto import constant_time_eq

        if not constant_time_eq(combined, st.pending_key):
            st.verify = ShareCollector(st.config.secret_threshold)
            raise InvalidRequest("failed to verify the new unseal keys")
        await self._commit_rekey(self.barrier.keyring.root_key, st.pending_key, st.config)
        return True

    def rekey_cancel(self) -> None:
        self.rekey = None

    def rekey_verify_cancel(self) -> None:
        if self.rekey is not None and self.rekey.pending_key is not None:
            self.rekey.verify = ShareCollector(self.rekey.config.secret_threshold)
            self.rekey.verification_nonce = str(uuid.uuid4())

    # --- generate-root ------------------------------------------------------------------------------------------

    async def generate_root_init(self, otp: str, otp_len: int) -> GenerateRootState:
        cfg = await self.config()
        if cfg is None:
            raise InvalidRequest("Vault is not initialized")
        if self.generate_root is not None:
            raise InvalidRequest("root generation already in progress")
        if not otp:
            from strongroom.core.tokens.store import random_id

            otp = random_id(otp_len)
        elif len(otp) != otp_len:
            raise InvalidRequest("OTP string is wrong length")
        self.generate_root = GenerateRootState(ShareCollector(cfg.secret_threshold), otp)
        return self.generate_root

    async def generate_root_update(self, key: str, nonce: str) -> bool:
        st = self.generate_root
        if st is None:
            raise InvalidRequest("no root generation in progress")
        if nonce != st.collector.nonce:
            raise InvalidRequest("incorrect nonce supplied; nonce for this root generation operation is "
                                 f"{st.collector.nonce}")
        combined = st.collector.add(decode_share(key))
        if combined is None:
            return False
        await self._root_key(combined)  # proves the shares
        return True

    def generate_root_cancel(self) -> None:
        self.generate_root = None


def encode_root_token(token: str, otp: str) -> str:
    """As Vault: base64 (no padding) of token XOR otp; `bao operator generate-root -decode` reverses it."""
    x = bytes(a ^ b for a, b in zip(token.encode(), otp.encode(), strict=True))
    return base64.b64encode(x).decode().rstrip("=")


def decode_root_token(encoded: str, otp: str) -> str:
    """Reverses `encode_root_token` (sys/decode-token): base64 with or without padding, XOR the OTP."""
    try:
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except ValueError:
        raise InvalidRequest("error decoding base64'd token") from None
    if len(raw) != len(otp):
        raise InvalidRequest("length of the encoded token and the OTP differ")
    return bytes(a ^ b for a, b in zip(raw, otp.encode(), strict=True)).decode("utf-8", errors="replace")


def fresh_key() -> bytes:
    return random_bytes(32)
