"""Agent configuration: a small YAML or HCL file, overridable by flags.

Field names follow Vault Agent where a concept is shared (`auto_auth.method`, `template.destination`,
`template.perms`) so existing configs translate line by line; the schema is flatter because the agent does one job.
Validation errors name the field and never quote a value (a config may hold a token).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

import yaml

DEFAULT_JWT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"
AUTH_METHODS = ("kubernetes", "approle", "token")


class ConfigError(ValueError):
    """The configuration is invalid. The message names the field, not its value."""


@dataclass
class AuthConfig:
    method: str = "kubernetes"
    mount: str = ""  # defaults to the method name
    role: str = ""
    jwt_path: str = DEFAULT_JWT_PATH
    role_id: str = ""
    role_id_file: str = ""
    secret_id_file: str = ""
    token: str = ""
    token_file: str = ""

    @property
    def mount_path(self) -> str:
        return (self.mount or self.method).strip("/")


@dataclass
class TemplateConfig:
    destination: str
    contents: str = ""
    source: str = ""  # a template file
    perms: int = 0o600
    error_on_missing_key: bool = True

    def text(self) -> str:
        if self.source:
            with open(self.source, encoding="utf-8") as f:
                return f.read()
        return self.contents


@dataclass
class ExecConfig:
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # NAME -> template
    restart_on_change: bool = True  # env can't change in place: restart the child
    signal_on_change: str = ""  # e.g. SIGHUP: for children that re-read rendered files
    kill_timeout: float = 10.0


@dataclass
class AgentConfig:
    address: str = field(default_factory=lambda: os.environ.get("STRONGROOM_ADDR") or os.environ.get(
        "VAULT_ADDR") or "http://127.0.0.1:8200")
    ca_cert: str = ""
    tls_skip_verify: bool = False
    namespace: str = ""
    auth: AuthConfig = field(default_factory=AuthConfig)
    templates: list[TemplateConfig] = field(default_factory=list)
    exec: ExecConfig = field(default_factory=ExecConfig)
    once: bool = False
    poll_interval: float = 60.0  # static secrets are re-read this often
    notifications: bool = True  # also long-poll the store's change notifications (sys/events/kv)
    retry_interval: float = 5.0  # while the store is unreachable
    startup_timeout: float = 60.0  # --once: give up (exit 1) after this long without the store or a cache
    cache_dir: str = ""  # persist last fetched secrets here (a tmpfs); empty = memory only
    revoke_on_exit: bool | None = None  # default: True for long-running, False for --once
    pid_file: str = ""

    def should_revoke(self) -> bool:
        return (not self.once) if self.revoke_on_exit is None else self.revoke_on_exit

    def validate(self) -> None:
        a = self.auth
        if a.method not in AUTH_METHODS:
            raise ConfigError(f"auth.method must be one of {', '.join(AUTH_METHODS)}")
        if a.method == "kubernetes" and not a.role:
            raise ConfigError("auth.role is required for kubernetes auth")
        if a.method == "approle" and not (a.role_id or a.role_id_file):
            raise ConfigError("auth.role_id or auth.role_id_file is required for approle auth")
        if a.method == "token" and not (a.token or a.token_file):
            raise ConfigError("auth.token or auth.token_file is required for token auth")
        if self.poll_interval <= 0 or self.retry_interval <= 0:
            raise ConfigError("poll_interval and retry_interval must be positive")
        if self.exec.signal_on_change and not _valid_signal(self.exec.signal_on_change):
            raise ConfigError("exec.signal_on_change is not a known signal name")
        dests = [t.destination for t in self.templates]
        if len(set(dests)) != len(dests):
            raise ConfigError("two templates share a destination")
        for i, t in enumerate(self.templates):
            if not t.destination:
                raise ConfigError(f"templates[{i}].destination is required")
            if bool(t.contents) == bool(t.source):
                raise ConfigError(f"templates[{i}]: give exactly one of contents or source")
            if not 0 <= t.perms <= 0o777:
                raise ConfigError(f"templates[{i}].perms must be an octal file mode")


def _valid_signal(name: str) -> bool:
    import signal

    name = name.upper()
    return (name if name.startswith("SIG") else f"SIG{name}") in signal.Signals.__members__


def _perms(v: Any, where: str) -> int:
    if isinstance(v, int):
        return v
    try:
        return int(str(v), 8)
    except ValueError:
        raise ConfigError(f"{where}.perms must be an octal file mode like \"0640\"") from None


def _pick(raw: dict[str, Any], cls: type, where: str) -> dict[str, Any]:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
    return dict(raw)


def _one(v: Any) -> dict[str, Any]:
    """HCL blocks decode as a dict or a list of dicts; YAML as a dict."""
    if isinstance(v, list):
        v = v[0] if v else {}
    if not isinstance(v, dict):
        raise ConfigError("expected a block/mapping")
    return v


def from_dict(raw: dict[str, Any]) -> AgentConfig:
    raw = dict(raw)
    auth_raw = raw.pop("auth", None) or raw.pop("auto_auth", None) or {}
    auth_raw = _one(auth_raw)
    if "method" in auth_raw and isinstance(auth_raw["method"], dict | list):  # Vault-style nested method block
        method = _one(auth_raw["method"])
        if "type" not in method and len(method) == 1:  # labelled block: method "kubernetes" { ... }
            (label, body), = method.items()
            method = {"type": label, **_one(body)}
        auth_raw = {"method": method.get("type", ""), "mount": method.get("mount_path", "").removeprefix("auth/"),
                    **_one(method.get("config") or {})}
    tpl_raw = raw.pop("templates", None) or raw.pop("template", None) or []
    if isinstance(tpl_raw, dict):
        tpl_raw = [tpl_raw]
    exec_raw = _one(raw.pop("exec", None) or {})
    cfg = AgentConfig(**_pick(raw, AgentConfig, "config"))
    cfg.auth = AuthConfig(**_pick(auth_raw, AuthConfig, "auth"))
    templates = []
    for i, t in enumerate(tpl_raw):
        if not isinstance(t, dict):
            raise ConfigError(f"templates[{i}] must be a mapping")
        t = _pick(t, TemplateConfig, f"templates[{i}]")
        if "perms" in t:
            t["perms"] = _perms(t["perms"], f"templates[{i}]")
        templates.append(TemplateConfig(**t))
    cfg.templates = templates
    ex = _pick(exec_raw, ExecConfig, "exec")
    if isinstance(ex.get("command"), str):
        ex["command"] = [ex["command"]]
    cfg.exec = ExecConfig(**ex)
    return cfg


def _load_hcl(text: str) -> Any:
    """python-hcl2, not pyhcl: pyhcl 0.4 silently drops attributes of repeated blocks (a second `template {}`
    loses its destination)."""
    import hcl2

    opts = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False,
                                     preserve_heredocs=False)
    raw = hcl2.loads(text, serialization_options=opts)
    for t in raw.get("template") or []:
        if isinstance(t, dict) and isinstance(t.get("perms"), int):
            t["perms"] = str(t["perms"])  # `perms = 0640` is read as the number 640: keep its digits
    return raw


def load(path: str) -> AgentConfig:
    """Reads a .yaml/.yml/.json or .hcl file. Raises ConfigError with the file name, never file contents."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    try:
        raw = _load_hcl(text) if path.endswith(".hcl") else yaml.safe_load(text)
    except Exception as exc:  # both parsers raise assorted types; keep only the type, not the text
        raise ConfigError(f"cannot parse config {path}: {type(exc).__name__}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config {path} must be a mapping")
    try:
        return from_dict(raw)
    except TypeError:
        raise ConfigError(f"config {path}: a field has the wrong type") from None
