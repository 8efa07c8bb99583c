"""SealedSecret metrics: upstream's names (so existing dashboards work) plus which key each object is sealed
with (user pain: nothing shows how many SealedSecrets still depend on an old key, bitnami/sealed-secrets#108)."""

from __future__ import annotations

from collections import Counter as _Tally

from prometheus_client import Counter, Gauge

from strongroom.operator.runtime.metrics import REGISTRY

UNSEAL_REQUESTS = Counter("sealed_secrets_controller_unseal_requests_total", "Unseal attempts",
                          registry=REGISTRY)
UNSEAL_ERRORS = Counter("sealed_secrets_controller_unseal_errors_total", "Unseal failures",
                        ["reason", "namespace"], registry=REGISTRY)
CONDITION_INFO = Gauge("sealed_secrets_controller_condition_info", "SealedSecret condition (1 True, 0 False)",
                       ["namespace", "name", "condition", "instance"], registry=REGISTRY)
SEALED_BY_KEY = Gauge("strongroom_sealedsecrets_by_key", "SealedSecrets last opened with each sealing key",
                      ["fingerprint", "key_secret"], registry=REGISTRY)
KEYS = Gauge("strongroom_sealing_keys", "Active sealing keys", registry=REGISTRY)


class KeyUsage:
    """Which key opened which SealedSecret; keeps SEALED_BY_KEY current in O(1) per change."""

    def __init__(self) -> None:
        self.by_object: dict[str, tuple[str, str]] = {}
        self.tally: _Tally[tuple[str, str]] = _Tally()

    def set(self, obj_key: str, fingerprint: str | None, secret_name: str = "") -> None:
        old = self.by_object.pop(obj_key, None)
        if old is not None:
            self.tally[old] -= 1
            SEALED_BY_KEY.labels(*old).set(self.tally[old])
        if fingerprint is not None:
            new = (fingerprint, secret_name)
            self.by_object[obj_key] = new
            self.tally[new] += 1
            SEALED_BY_KEY.labels(*new).set(self.tally[new])

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (fp, _), n in self.tally.items():
            out[fp] = out.get(fp, 0) + n
        return out
