"""Staged key rotation for an EncryptionConfiguration, one file edit per step.

    idle --start--> added --next--> promoted --next (verified)--> reencrypted --next--> done

added: the new key (or provider) is listed second: every API server learns to *read* it before any writes it.
promoted: it is first: writes use it. Re-encrypt everything, then prove it (etcd audit or reencrypt checkpoint).
reencrypted: back up etcd; the next step drops the old key. State lives in a sidecar `<config>.rotation.json`
(no key material in it), so the config stays a plain EncryptionConfiguration the API server reads.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from strongroom.atrest.config import LOCAL_KINDS, ConfigError, load, new_secret, parse, write_atomic

STEPS = ("idle", "added", "promoted", "reencrypted", "done")
NEXT_ACTION = {
    "idle": "run `strongroom atrest rotate start` to add a new key",
    "added": "copy the file to every control-plane node, restart (or wait for auto-reload of) every API server, "
    "then run `strongroom atrest rotate next` to make the new key primary",
    "promoted": "copy the file to every node and restart every API server, run `strongroom atrest reencrypt`, "
    "then `strongroom atrest rotate next --etcd-endpoint ...` (verifies nothing uses the old key)",
    "reencrypted": "back up etcd now (`etcdctl snapshot save`), then `strongroom atrest rotate next` drops the old key",
    "done": "copy the file to every node and restart every API server; rotation complete",
}


class RotationError(Exception):
    """The requested step is not allowed now; the message says why and what to do."""


@dataclass
class State:
    step: str = "idle"
    rule: int = 0
    mode: str = "key"  # key: new key inside the same provider; provider: a new provider item
    kind: str = ""
    old: str = ""  # old key name, or old provider kind
    new: str = ""  # new key name, or new provider kind
    history: list[dict[str, str]] = field(default_factory=list)

    @property
    def next_action(self) -> str:
        return NEXT_ACTION[self.step]


def state_path(config: str | Path) -> Path:
    p = Path(config)
    return p.with_name(p.name + ".rotation.json")


def load_state(config: str | Path) -> State:
    sp = state_path(config)
    if not sp.exists():
        return State()
    try:
        return State(**orjson.loads(sp.read_bytes()))
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise RotationError(f"rotation state {sp} is unreadable ({exc.__class__.__name__}); fix or remove it") from None


def _save(config: str | Path, doc: dict[str, Any] | None, state: State, step: str) -> State:
    parse(doc) if doc is not None else None  # never write a config the API server would reject
    state.step = step
    state.history.append({"step": step, "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
    if doc is not None:
        import yaml

        write_atomic(config, yaml.safe_dump(doc, sort_keys=False))
    write_atomic(state_path(config), orjson.dumps(asdict(state), option=orjson.OPT_INDENT_2).decode())
    return state


def _providers(doc: dict[str, Any], rule: int) -> list[dict[str, Any]]:
    try:
        provs: list[dict[str, Any]] = doc["resources"][rule]["providers"]
    except (KeyError, IndexError, TypeError):
        raise RotationError(f"the config has no resources[{rule}]") from None
    return provs


def _next_name(names: list[str]) -> str:
    nums = [int(m.group(1)) for n in names if (m := re.fullmatch(r"key(\d+)", n))]
    return f"key{max(nums, default=0) + 1}"


def start(
    config: str | Path,
    *,
    rule: int = 0,
    to: str | None = None,
    kms_name: str = "strongroom",
    kms_endpoint: str = "unix:///var/run/kmsplugin/socket.sock",
) -> State:
    """Add a new key (same provider) or a new provider (`to`) in second position."""
    state = load_state(config)
    if state.step not in ("idle", "done"):
        raise RotationError(f"a rotation is in progress (step {state.step!r}): {state.next_action}")
    doc = copy.deepcopy(load(config).doc)
    provs = _providers(doc, rule)
    first_kind, first = next(iter(provs[0].items()))
    target = to or first_kind
    if target == first_kind and first_kind in LOCAL_KINDS:
        keys = first["keys"]
        name = _next_name([k["name"] for k in keys])
        keys.insert(1, {"name": name, "secret": new_secret(first_kind)})
        new = State(rule=rule, mode="key", kind=first_kind, old=keys[0]["name"], new=name)
    elif target != first_kind and target in (*LOCAL_KINDS, "kms"):
        if any(target in p for p in provs[1:]):
            raise RotationError(f"{target} is already listed; remove it or rotate within it")
        body: dict[str, Any] = (
            {"apiVersion": "v2", "name": kms_name, "endpoint": kms_endpoint, "timeout": "3s"}
            if target == "kms"
            else {"keys": [{"name": "key1", "secret": new_secret(target)}]}
        )
        provs.insert(1, {target: body})
        new = State(rule=rule, mode="provider", kind=target, old=first_kind, new=target)
    else:
        raise RotationError(
            f"cannot rotate {first_kind!r} to {target!r}: KMS v2 KEKs rotate in the plugin "
            "(`kms-plugin keyring rotate`, transit rotate), with no config change"
        )
    return _save(config, doc, new, "added")


def _verify_local(doc: dict[str, Any], state: State) -> None:
    kind, body = next(iter(_providers(doc, state.rule)[0].items()))
    names = [k["name"] for k in body.get("keys", [])] if isinstance(body, dict) else []
    if state.mode == "key" and (kind != state.kind or state.new not in names or state.old not in names):
        raise RotationError(
            "the config no longer matches the rotation state (edited by hand?); "
            "fix it or remove the .rotation.json file"
        )


def advance(config: str | Path, *, remaining_old: int | None = None, force: bool = False) -> State:
    """Take the next step. From `promoted`, `remaining_old` (values still under the old key) must be 0."""
    state = load_state(config)
    doc = copy.deepcopy(load(config).doc)
    provs = _providers(doc, state.rule)
    if state.step == "added":
        _verify_local(doc, state)
        if state.mode == "key":
            keys = provs[0][state.kind]["keys"]
            keys.insert(0, keys.pop(next(i for i, k in enumerate(keys) if k["name"] == state.new)))
        else:
            idx = next((i for i, p in enumerate(provs) if state.new in p), None)
            if idx is None:
                raise RotationError(f"{state.new} is no longer in the config")
            provs.insert(0, provs.pop(idx))
        return _save(config, doc, state, "promoted")
    if state.step == "promoted":
        if remaining_old is None and not force:
            raise RotationError("prove re-encryption first: pass --etcd-endpoint (audit) or --force")
        if remaining_old and not force:
            raise RotationError(
                f"{remaining_old} stored values still use the old key: run `strongroom atrest reencrypt` again"
            )
        return _save(config, None, state, "reencrypted")
    if state.step == "reencrypted":
        if state.mode == "key":
            keys = provs[0][state.kind]["keys"]
            provs[0][state.kind]["keys"] = [k for k in keys if k["name"] != state.old]
        else:
            drop = next((i for i, p in enumerate(provs) if state.old in p and i > 0), None)
            if drop is not None:
                provs.pop(drop)
        return _save(config, doc, state, "done")
    raise RotationError(f"nothing to advance at step {state.step!r}: {state.next_action}")


def abort(config: str | Path) -> State:
    """Undo an `added` step (the new key was never used for writes); later steps cannot be undone safely."""
    state = load_state(config)
    if state.step != "added":
        raise RotationError(f"abort is only safe before promotion (now {state.step!r})")
    doc = copy.deepcopy(load(config).doc)
    provs = _providers(doc, state.rule)
    if state.mode == "key":
        keys = provs[0][state.kind]["keys"]
        provs[0][state.kind]["keys"] = [k for k in keys if k["name"] != state.new]
    else:
        provs[:] = [p for i, p in enumerate(provs) if not (i > 0 and state.new in p)]
    return _save(config, doc, state, "idle")


__all__ = ["STEPS", "ConfigError", "RotationError", "State", "abort", "advance", "load_state", "start"]
