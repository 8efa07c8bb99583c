"""Regenerate the sealing vectors (run once; the JSON files are committed and must not change lightly).

    .venv/bin/python tests/vectors/sealing/generate.py

Key pairs and certificates come from strongroom (upstream-shaped); every sealed blob comes from the
independent PyPI implementation `kubesealpy`, so the vectors check that we open what another tool sealed.
The private keys here are test-only and protect nothing.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from kubesealpy import Sealer, SealingScope

from strongroom import sealing

HERE = Path(__file__).parent
SCOPES = {"strict": SealingScope.STRICT, "namespace-wide": SealingScope.NAMESPACE_WIDE,
          "cluster-wide": SealingScope.CLUSTER_WIDE}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def build(bits: int) -> dict:
    key, cert = sealing.generate_key_pair(bits)
    sealer = Sealer.from_certificate_pem(cert)
    values = {"text": "héllo wörld".encode(), "binary": bytes(range(256)), "empty": b"",
              "multiline": b"line1\nline2\n"}
    cases = []
    for scope_name, scope in SCOPES.items():
        annotations = {"team": "payments", "kubectl.kubernetes.io/last-applied-configuration": "{}"}
        sealed = sealer.seal(name="db-credentials", namespace="prod", data=values, scope=scope,
                             secret_type="Opaque", labels={"app": "db"}, annotations=annotations)
        cases.append({"description": f"kubesealpy SealedSecret, {scope_name}", "scope": scope_name,
                      "sealed_secret": sealed.model_dump(by_alias=True, exclude_none=True),
                      "plaintext_b64": {k: _b64(v) for k, v in values.items()}})
    raw = []
    for scope_name, scope in SCOPES.items():
        value = f"raw value sealed {scope_name}".encode()
        raw.append({"description": f"kubesealpy raw value, {scope_name}", "scope": scope_name,
                    "namespace": "prod", "name": "db-credentials",
                    "sealed_b64": _b64(sealer.seal_value(value, "prod", "db-credentials", scope)),
                    "plaintext_b64": _b64(value)})
    return {"format": "Bitnami Sealed Secrets hybrid RSA-OAEP(SHA-256)+AES-256-GCM, see "
                      "docs/security/crypto-formats.md",
            "generator": "kubesealpy 1.0.1 (sealing); strongroom.sealing.generate_key_pair (keys)",
            "key_bits": bits, "private_key_pem": sealing.private_key_pem(key).decode(),
            "certificate_pem": cert.decode(), "sealed_secrets": cases, "raw_values": raw}


if __name__ == "__main__":
    for bits in (2048, 4096):
        path = HERE / f"kubesealpy-{bits}.json"
        path.write_text(json.dumps(build(bits), indent=2) + "\n")
        print(f"wrote {path}")
