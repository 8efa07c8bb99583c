"""kubeseal-compatible sealing: pure functions, no I/O. Shared by `strongroom seal` and the controller.

Format and behaviour: docs/sealing.md and docs/security/crypto-formats.md ("Sealed Secrets").

Sealing::

    key, cert_pem = generate_key_pair()                 # 4096-bit RSA + 10-year self-signed cert
    public_key = load_recipient(cert_pem)               # CERTIFICATE (expired refused) or PUBLIC KEY PEM
    sealed = seal_secret(secret_dict, public_key)       # -> SealedSecret dict (scope from annotations)
    raw = seal_value(public_key, Scope.STRICT, "ns", "name", b"value")   # base64, as `kubeseal --raw`

Unsealing (keys newest first; every key is tried, the format names none)::

    secret = unseal_sealed_secret(sealed, [key])        # -> Secret dict (template metadata/type/data)
    value = unseal_value([key], Scope.STRICT, "ns", "name", raw)
    rotated = reseal_sealed_secret(sealed, [new_key, key], new_public_key)   # what /v1/rotate returns

Errors are a `SealingError` tree (see `strongroom.sealing.errors`); messages never contain values.
"""

from strongroom.crypto.hybrid import RSAPrivateKey, RSAPublicKey, key_fingerprint, private_key_pem
from strongroom.sealing.diff import Change, ItemDiff, SealedDiff, diff_objects
from strongroom.sealing.errors import (
    CertificateError,
    InvalidObjectError,
    ManifestError,
    SealingError,
    TemplateError,
    UnsealError,
)
from strongroom.sealing.keys import (
    DEFAULT_KEY_BITS,
    DEFAULT_KEY_PREFIX,
    DEFAULT_KEY_TTL,
    certificate_not_before,
    generate_key_pair,
    key_pair_secret,
    load_private_keys,
    load_recipient,
)
from strongroom.sealing.manifest import dump_manifests, load_manifests
from strongroom.sealing.scope import (
    ANNOTATION_CLUSTER_WIDE,
    ANNOTATION_MANAGED,
    ANNOTATION_NAMESPACE_WIDE,
    ANNOTATION_PATCH,
    ANNOTATION_SKIP_OWNER_REFERENCES,
    LABEL_SEALING_KEY,
    Scope,
    label_for,
    scope_from_annotations,
    scope_of,
    with_scope_annotations,
)
from strongroom.sealing.seal import (
    API_VERSION,
    KIND,
    LAST_APPLIED_ANNOTATIONS,
    clean_metadata,
    merge_into,
    seal_secret,
    seal_value,
)
from strongroom.sealing.template import render_template, render_templates
from strongroom.sealing.unseal import reseal_sealed_secret, unseal_sealed_secret, unseal_value

__all__ = [
    "ANNOTATION_CLUSTER_WIDE",
    "ANNOTATION_MANAGED",
    "ANNOTATION_NAMESPACE_WIDE",
    "ANNOTATION_PATCH",
    "ANNOTATION_SKIP_OWNER_REFERENCES",
    "API_VERSION",
    "DEFAULT_KEY_BITS",
    "DEFAULT_KEY_PREFIX",
    "DEFAULT_KEY_TTL",
    "KIND",
    "LABEL_SEALING_KEY",
    "LAST_APPLIED_ANNOTATIONS",
    "CertificateError",
    "Change",
    "InvalidObjectError",
    "ItemDiff",
    "ManifestError",
    "RSAPrivateKey",
    "RSAPublicKey",
    "Scope",
    "SealedDiff",
    "SealingError",
    "TemplateError",
    "UnsealError",
    "certificate_not_before",
    "clean_metadata",
    "diff_objects",
    "dump_manifests",
    "generate_key_pair",
    "key_fingerprint",
    "key_pair_secret",
    "label_for",
    "load_manifests",
    "load_private_keys",
    "load_recipient",
    "merge_into",
    "private_key_pem",
    "render_template",
    "render_templates",
    "reseal_sealed_secret",
    "scope_from_annotations",
    "scope_of",
    "seal_secret",
    "seal_value",
    "unseal_sealed_secret",
    "unseal_value",
    "with_scope_annotations",
]
