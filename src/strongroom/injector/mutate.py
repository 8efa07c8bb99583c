"""Pure pod mutation: annotations in, RFC 6902 JSON patch out. No I/O, so it is easy to test and to preview
(`strongroom injector patch`).

Annotations (prefix `strongroom.io/`), modelled on Vault's injector:
  agent-inject: "true"                      opt in (anything else: the pod is left alone)
  role: <name>                              Kubernetes auth role (required)
  agent-inject-secret-<file>: <path>        write the secret at <path> to <volume>/<file> (JSON of its data)
  agent-inject-template-<file>: <template>  ...rendered with this template instead
  agent-inject-perms-<file>: "0440"         file mode (default 0644 as Vault: the volume is pod-private)
  agent-pre-populate: "false"               no init container
  agent-pre-populate-only: "true"           no sidecar (secrets rendered once)
  auth-path: <mount>                        Kubernetes auth mount (default: kubernetes)
  auth-audience: <aud>                      audience of the agent's projected token (role's `audience`)
  secret-volume-path: <dir>                 where app containers see the files (default /strongroom/secrets)
  agent-inject-containers: a,b              only these containers get the volume (default: all)
  agent-image: <image>                      override the agent image
  agent-inject-status: injected             set by us; a pod carrying it is never mutated twice
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

PREFIX = "strongroom.io/"
VOLUME = "strongroom-secrets"
CACHE_VOLUME = "strongroom-agent-cache"
TOKEN_VOLUME = "strongroom-token"
TOKEN_DIR = "/var/run/secrets/strongroom"
_FILE_RE = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


class InjectError(ValueError):
    """The pod asked for injection but its annotations are wrong (a clear message, no secret values)."""


@dataclass
class InjectorConfig:
    agent_image: str = "strongroom/strongroom:0.1.0"
    store_address: str = "https://strongroom.strongroom.svc:8200"
    auth_mount: str = "kubernetes"
    ca_configmap: str = ""  # ConfigMap (key ca.crt) in the pod's namespace with the store's CA bundle
    default_volume_path: str = "/strongroom/secrets"
    cpu_request: str = "50m"
    mem_request: str = "64Mi"
    mem_limit: str = "128Mi"
    poll_interval: float = 60.0
    audience: str = ""  # audience of the projected token the agent logs in with ("" = the API server's)


def _esc(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def wants_injection(pod: dict[str, Any]) -> bool:
    ann = (pod.get("metadata") or {}).get("annotations") or {}
    return str(ann.get(PREFIX + "agent-inject", "")).lower() in ("true", "yes", "on", "y", "1") and \
        ann.get(PREFIX + "agent-inject-status") != "injected"


def _bool(ann: dict[str, str], key: str, default: bool) -> bool:
    v = ann.get(PREFIX + key)
    if v is None:
        return default
    if v.lower() in ("true", "yes", "on", "y", "1"):
        return True
    if v.lower() in ("false", "no", "off", "n", "0"):
        return False
    raise InjectError(f"annotation {PREFIX}{key} must be true or false")


def _templates(ann: dict[str, str], vol: str) -> list[dict[str, Any]]:
    from strongroom.agent.templates import whole_secret

    files: dict[str, dict[str, Any]] = {}
    for key, value in ann.items():
        for kind in ("agent-inject-secret-", "agent-inject-template-"):
            if key.startswith(PREFIX + kind):
                name = key[len(PREFIX + kind):]
                if not _FILE_RE.match(name) or name in (".", ".."):
                    raise InjectError(f"annotation {key}: file name must match {_FILE_RE.pattern}")
                files.setdefault(name, {})[kind] = value
    out = []
    for name in sorted(files):
        spec = files[name]
        if "agent-inject-template-" in spec:
            contents = spec["agent-inject-template-"]
        elif spec.get("agent-inject-secret-"):
            contents = whole_secret(spec["agent-inject-secret-"])
        else:
            raise InjectError(f"annotation {PREFIX}agent-inject-secret-{name} needs a secret path")
        perms = ann.get(f"{PREFIX}agent-inject-perms-{name}", "0644")
        if not re.fullmatch(r"0?[0-7]{3}", perms):
            raise InjectError(f"annotation {PREFIX}agent-inject-perms-{name} must be an octal mode like 0440")
        out.append({"destination": f"{vol}/{name}", "contents": contents, "perms": perms})
    if not out:
        raise InjectError(f"{PREFIX}agent-inject is true but no {PREFIX}agent-inject-secret-<file> annotation")
    return out


def _agent_container(name: str, cfg: InjectorConfig, image: str, agent_cfg: dict[str, Any], once: bool
                     ) -> dict[str, Any]:
    mounts = [{"name": VOLUME, "mountPath": "/strongroom/secrets"},
              {"name": CACHE_VOLUME, "mountPath": "/strongroom/cache"},
              {"name": TOKEN_VOLUME, "mountPath": TOKEN_DIR, "readOnly": True}]
    command = ["strongroom", "agent", "run", "--log-format", "json"] + (["--once"] if once else [])
    return {
        "name": name, "image": image, "command": command,
        "env": [{"name": "STRONGROOM_AGENT_CONFIG", "value": json.dumps({**agent_cfg, "once": once},
                                                                      sort_keys=True)}],
        "volumeMounts": mounts,
        "resources": {"requests": {"cpu": cfg.cpu_request, "memory": cfg.mem_request},
                      "limits": {"memory": cfg.mem_limit}},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
    }


def _volume_ops(spec: dict[str, Any], containers: list[dict[str, Any]], wanted: list[str], vol_path: str,
                sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []
    if not spec.get("volumes"):
        ops.append({"op": "add", "path": "/spec/volumes", "value": []})
    for v in (VOLUME, CACHE_VOLUME):
        ops.append({"op": "add", "path": "/spec/volumes/-", "value": {"name": v, "emptyDir": {"medium": "Memory"}}})
    # only the agent gets a token: a short-lived projected one (the app may run with automount disabled)
    ops.append({"op": "add", "path": "/spec/volumes/-",
                "value": {"name": TOKEN_VOLUME, "projected": {"sources": sources}}})
    for i, c in enumerate(containers):
        if wanted and c.get("name") not in wanted:
            continue
        if not c.get("volumeMounts"):
            ops.append({"op": "add", "path": f"/spec/containers/{i}/volumeMounts", "value": []})
        ops.append({"op": "add", "path": f"/spec/containers/{i}/volumeMounts/-",
                    "value": {"name": VOLUME, "mountPath": vol_path, "readOnly": True}})
    return ops


def patch_for(pod: dict[str, Any], cfg: InjectorConfig) -> list[dict[str, Any]]:
    """The JSON patch that injects the agent; [] when the pod does not ask. Raises InjectError on bad
    annotations."""
    if not wants_injection(pod):
        return []
    meta = pod.get("metadata") or {}
    ann: dict[str, str] = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
    spec = pod.get("spec") or {}
    role = ann.get(PREFIX + "role", "")
    if not role:
        raise InjectError(f"annotation {PREFIX}role is required")
    vol_path = ann.get(PREFIX + "secret-volume-path", cfg.default_volume_path).rstrip("/") or "/"
    init = _bool(ann, "agent-pre-populate", True)
    only_init = _bool(ann, "agent-pre-populate-only", False)
    if not init and only_init:
        raise InjectError("agent-pre-populate=false and agent-pre-populate-only=true leave nothing to run")
    containers = spec.get("containers") or []
    wanted = [c.strip() for c in ann.get(PREFIX + "agent-inject-containers", "").split(",") if c.strip()]
    names = [c.get("name") for c in containers]
    unknown = [w for w in wanted if w not in names]
    if unknown:
        raise InjectError(f"agent-inject-containers names unknown container(s): {', '.join(unknown)}")
    taken = {v.get("name") for v in spec.get("volumes") or []} & {VOLUME, CACHE_VOLUME, TOKEN_VOLUME}
    taken |= {c.get("name") for c in [*containers, *(spec.get("initContainers") or [])]} & {
        "strongroom-agent", "strongroom-agent-init"}
    if taken:
        raise InjectError(f"the pod already has {', '.join(sorted(str(t) for t in taken))}: remove it or the "
                          f"{PREFIX}agent-inject annotation")
    templates = _templates(ann, "/strongroom/secrets")
    agent_cfg: dict[str, Any] = {
        "address": cfg.store_address, "cache_dir": "/strongroom/cache", "poll_interval": cfg.poll_interval,
        "auth": {"method": "kubernetes", "role": role, "jwt_path": f"{TOKEN_DIR}/token",
                 "mount": ann.get(PREFIX + "auth-path", cfg.auth_mount).removeprefix("auth/")},
        "templates": templates}
    audience = ann.get(PREFIX + "auth-audience", cfg.audience)
    token_src: dict[str, Any] = {"path": "token", "expirationSeconds": 3600, **({"audience": audience}
                                                                                if audience else {})}
    sources: list[dict[str, Any]] = [{"serviceAccountToken": token_src}]
    if cfg.ca_configmap:
        agent_cfg["ca_cert"] = f"{TOKEN_DIR}/ca.crt"
        sources.append({"configMap": {"name": cfg.ca_configmap, "items": [{"key": "ca.crt", "path": "ca.crt"}]}})
    image = ann.get(PREFIX + "agent-image", cfg.agent_image)
    ops = _volume_ops(spec, containers, wanted, vol_path, sources)
    if init:
        if not spec.get("initContainers"):
            ops.append({"op": "add", "path": "/spec/initContainers", "value": []})
        # first, so other init containers can use the secrets
        ops.append({"op": "add", "path": "/spec/initContainers/0",
                    "value": _agent_container("strongroom-agent-init", cfg, image, agent_cfg, True)})
    if not only_init:
        ops.append({"op": "add", "path": "/spec/containers/-",
                    "value": _agent_container("strongroom-agent", cfg, image, agent_cfg, False)})
    if not meta.get("annotations"):
        ops.append({"op": "add", "path": "/metadata/annotations", "value": {}})
    ops.append({"op": "add", "path": f"/metadata/annotations/{_esc(PREFIX + 'agent-inject-status')}",
                "value": "injected"})
    return ops
