"""Pure functions: provider data -> the desired Secret, ESO-compatible hashes, and whether a Secret is in sync.

Nothing here does I/O, so every rule (templates, decoding, rewrites, policies) is unit-testable.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from strongroom.templating import Template, TemplateError

LABEL_MANAGED = "reconcile.external-secrets.io/managed"
LABEL_CREATED_BY = "reconcile.external-secrets.io/created-by"
ANNOTATION_DATA_HASH = "reconcile.external-secrets.io/data-hash"
ANNOTATION_FORCE_SYNC = "external-secrets.io/force-sync"
API_VERSION = "external-secrets.io/v1"


class SyncError(Exception):
    """A configuration/data problem with a safe (value-free) message: the reconcile is not retried until the
    ExternalSecret or its inputs change."""


def go_bytes_map(data: dict[str, bytes]) -> str:
    """Go's fmt.Sprintf("%+v", map[string][]byte): `map[a:[104 105] b:[]]`, keys sorted."""
    return "map[" + " ".join(f"{k}:[{' '.join(str(b) for b in data[k])}]" for k in sorted(data)) + "]"


def data_hash(data: dict[str, bytes]) -> str:
    """ESO's `reconcile.external-secrets.io/data-hash`: hex SHA3-224 of the %+v rendering of Secret.Data."""
    return hashlib.sha3_224(go_bytes_map(data).encode()).hexdigest()


def _go_string_map(m: dict[str, str]) -> str:
    return "map[" + " ".join(f"{k}:{m[k]}" for k in sorted(m)) + "]"


def synced_resource_version(es: dict[str, Any]) -> str:
    """`<generation>-<sha3-224 of labels and annotations>` (ESO pkg/controllers/util GetResourceVersion)."""
    meta = es.get("metadata", {})
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    digest = hashlib.sha3_224((_go_string_map(labels) + _go_string_map(annotations)).encode()).hexdigest()
    return f"{meta.get('generation', 0)}-{digest}"


def created_by(namespace: str, name: str) -> str:
    return hashlib.sha3_224(f"{namespace}/{name}".encode()).hexdigest()


# -- value transformations ---------------------------------------------------------------------------------
def decode(value: bytes, strategy: str, what: str) -> bytes:
    strategy = strategy or "None"
    if strategy == "None":
        return value
    try:
        if strategy == "Base64":
            return base64.b64decode(value, validate=True)
        if strategy == "Base64URL":
            return base64.urlsafe_b64decode(value + b"=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise SyncError(f"{what}: value is not valid {strategy} (decodingStrategy)") from None
    if strategy == "Auto":
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            pass
        try:
            return base64.urlsafe_b64decode(value + b"=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            return value
    raise SyncError(f"{what}: unknown decodingStrategy {strategy!r}")


_UNICODE = re.compile(r"_U([0-9a-fA-F]{4})_")


def convert_key(key: str, strategy: str) -> str:
    """conversionStrategy: Default keeps the key; Unicode turns `_U0040_` into `@`."""
    if (strategy or "Default") == "Unicode":
        return _UNICODE.sub(lambda m: chr(int(m.group(1), 16)), key)
    return key


def _go_replacement(target: str) -> str:
    return re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", target)


def rewrite(data: dict[str, bytes], rules: list[dict[str, Any]], where: str) -> dict[str, bytes]:
    """dataFrom[].rewrite: regexp {source, target} and transform {template} on keys, applied in order."""
    for i, rule in enumerate(rules):
        if "regexp" in rule:
            rx = rule["regexp"]
            try:
                pat = re.compile(str(rx.get("source", "")))
            except re.error:
                raise SyncError(f"{where}.rewrite[{i}].regexp.source is not a valid regular expression") from None
            repl = _go_replacement(str(rx.get("target", "")))
            data = {pat.sub(repl, k): v for k, v in data.items()}
        elif "transform" in rule:
            tpl = _template(str(rule["transform"].get("template", "")), f"{where}.rewrite[{i}].transform")
            data = {_execute(tpl, {"value": k}): v for k, v in data.items()}
        elif "merge" in rule:
            raise SyncError(f"{where}.rewrite[{i}].merge is not supported yet")
        else:
            raise SyncError(f"{where}.rewrite[{i}] needs regexp or transform")
    for k in data:
        if not re.fullmatch(r"[-._a-zA-Z0-9]+", k):
            raise SyncError(f"{where}: key {k!r} is not a valid Secret key")
    return data


# -- templates -------------------------------------------------------------------------------------------
def _template(src: str, name: str) -> Template:
    try:
        return Template(src, name=name, missing_key="error")
    except TemplateError as exc:
        raise SyncError(f"could not parse template: {exc}") from None


def _execute(tpl: Template, ctx: Any) -> str:
    try:
        return tpl.execute(ctx)
    except TemplateError as exc:
        raise SyncError(f"could not render template: {exc}") from None


@dataclass
class Rendered:
    data: dict[str, bytes]
    type: str = "Opaque"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


def _strings(data: dict[str, bytes]) -> dict[str, str]:
    return {k: v.decode("utf-8", "surrogateescape") for k, v in data.items()}


def _encode(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def _put(out: Rendered, dest: str, key: str, value: str) -> None:
    if dest == "data":
        out.data[key] = _encode(value)
    else:
        getattr(out, dest)[key] = value


def _yaml_map(text: str, where: str) -> dict[Any, Any]:
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise SyncError(f"{where} did not render to a YAML map") from None
    if not isinstance(doc, dict):
        raise SyncError(f"{where} did not render to a YAML map")
    return doc


def _template_from(i: int, tf: dict[str, Any], ctx: dict[str, str],
                   sources: dict[tuple[str, str], dict[str, str]], out: Rendered) -> bool:
    """One templateFrom entry into `out`; True when it wrote data (so mergePolicy applies)."""
    where = f"spec.target.template.templateFrom[{i}]"
    dest = str(tf.get("target") or "Data").lower()
    if dest not in ("data", "labels", "annotations"):
        raise SyncError(f"{where}.target must be Data, Labels or Annotations")
    if tf.get("literal") is not None:
        rendered = _execute(_template(str(tf["literal"]), f"{where}.literal"), ctx)
        for k, v in _yaml_map(rendered, f"{where}.literal").items():
            _put(out, dest, str(k), str(v))
        return dest == "data"
    kind = "configMap" if tf.get("configMap") else "secret" if tf.get("secret") else ""
    if not kind:
        raise SyncError(f"{where} needs configMap, secret or literal")
    src = tf[kind]
    values = sources.get((kind, str(src.get("name", ""))))
    if values is None:
        raise SyncError(f'{where}: {kind} "{src.get("name", "")}" not found')
    for item in src.get("items") or []:
        key = str(item.get("key", ""))
        if key not in values:
            raise SyncError(f'{where}: {kind} "{src.get("name")}" has no key "{key}"')
        body = _execute(_template(values[key], f"{kind}/{src.get('name')}/{key}"), ctx)
        if item.get("templateAs") == "KeysAndValues":
            for k, v in _yaml_map(body, f"{where}: {key}").items():
                _put(out, dest, str(k), str(v))
        else:
            _put(out, dest, key, body)
    return dest == "data"


def render(es: dict[str, Any], provider: dict[str, bytes], sources: dict[tuple[str, str], dict[str, str]]
           ) -> Rendered:
    """Apply `spec.target.template` (engine v2) to the provider data. `sources` holds the templateFrom
    ConfigMaps/Secrets: (kind, name) -> string data."""
    target = (es.get("spec") or {}).get("target") or {}
    tpl = target.get("template")
    if not tpl:
        return Rendered(dict(provider))
    if str(tpl.get("engineVersion") or "v2") != "v2":
        raise SyncError("template.engineVersion must be v2")
    ctx = _strings(provider)
    meta = tpl.get("metadata") or {}
    out = Rendered({}, str(tpl.get("type") or "Opaque"), dict(meta.get("labels") or {}),
                   dict(meta.get("annotations") or {}))
    templated = False
    for i, tf in enumerate(tpl.get("templateFrom") or []):
        templated = _template_from(i, tf, ctx, sources, out) or templated
    for key, src_text in (tpl.get("data") or {}).items():
        templated = True
        out.data[key] = _encode(_execute(_template(str(src_text), f"spec.target.template.data.{key}"), ctx))
    if not templated:
        out.data = dict(provider)
    elif str(tpl.get("mergePolicy") or "Replace") == "Merge":
        out.data = {**provider, **out.data}
    return out


# -- the Secret ------------------------------------------------------------------------------------------
def owner_reference(es: dict[str, Any]) -> dict[str, Any]:
    meta = es["metadata"]
    return {"apiVersion": API_VERSION, "kind": "ExternalSecret", "name": meta["name"], "uid": meta.get("uid", ""),
            "controller": True, "blockOwnerDeletion": True}


def target_name(es: dict[str, Any]) -> str:
    return str(((es.get("spec") or {}).get("target") or {}).get("name") or es["metadata"]["name"])


def policy(es: dict[str, Any], field_name: str, default: str) -> str:
    return str(((es.get("spec") or {}).get("target") or {}).get(field_name) or default)


def desired_secret(es: dict[str, Any], rendered: Rendered, existing: dict[str, Any] | None) -> dict[str, Any]:
    """The Secret body to apply (our fields only). For Merge policies the hash covers the merged data."""
    meta = es["metadata"]
    ns, creation = meta.get("namespace", ""), policy(es, "creationPolicy", "Owner")
    full = dict(rendered.data)
    if creation in ("Merge", "CreateOrMerge") and existing is not None:
        full = {**{k: base64.b64decode(v) for k, v in (existing.get("data") or {}).items()}, **rendered.data}
    labels = {**rendered.labels, LABEL_MANAGED: "true"}
    if creation == "Owner":
        labels[LABEL_CREATED_BY] = created_by(ns, meta["name"])
    body: dict[str, Any] = {
        "metadata": {"name": target_name(es), "namespace": ns, "labels": labels,
                     "annotations": {**rendered.annotations, ANNOTATION_DATA_HASH: data_hash(full)}},
        "type": rendered.type,
        "data": {k: base64.b64encode(v).decode() for k, v in sorted(rendered.data.items())},
    }
    if creation == "Owner":
        body["metadata"]["ownerReferences"] = [owner_reference(es)]
    if ((es.get("spec") or {}).get("target") or {}).get("immutable"):
        body["immutable"] = True
    if existing is not None and creation in ("Merge", "CreateOrMerge"):
        body["type"] = existing.get("type") or rendered.type
    return body


def secret_data(secret: dict[str, Any]) -> dict[str, bytes]:
    return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}


def is_valid(secret: dict[str, Any] | None) -> bool:
    """ESO's isSecretValid: managed label present and the data-hash annotation matches the data."""
    if secret is None:
        return False
    meta = secret.get("metadata", {})
    if (meta.get("labels") or {}).get(LABEL_MANAGED) != "true":
        return False
    return (meta.get("annotations") or {}).get(ANNOTATION_DATA_HASH) == data_hash(secret_data(secret))


def in_sync(existing: dict[str, Any] | None, body: dict[str, Any]) -> bool:
    """True when applying `body` would change nothing we own."""
    if existing is None or not is_valid(existing):
        return False
    em, bm = existing.get("metadata", {}), body["metadata"]
    for fld in ("labels", "annotations"):
        have = em.get(fld) or {}
        if any(have.get(k) != v for k, v in (bm.get(fld) or {}).items()):
            return False
    if bm.get("ownerReferences") and not any(
            r.get("uid") == bm["ownerReferences"][0]["uid"] and r.get("controller")
            for r in em.get("ownerReferences") or []):
        return False
    have_data = existing.get("data") or {}
    if any(have_data.get(k) != v for k, v in body["data"].items()):
        return False
    if (existing.get("type") or "Opaque") != body.get("type", "Opaque"):
        return False
    return not (body.get("immutable") and not existing.get("immutable"))


def conflict(es: dict[str, Any], existing: dict[str, Any] | None) -> str:
    """Why we must not write `existing` (empty when we may): owned by someone else, or not ours to adopt."""
    if existing is None:
        return ""
    uid = es["metadata"].get("uid", "")
    owners = [r for r in existing.get("metadata", {}).get("ownerReferences") or [] if r.get("controller")]
    if owners and all(r.get("uid") != uid for r in owners):
        return "target is owned by another ExternalSecret" if any(
            r.get("kind") == "ExternalSecret" for r in owners) else "target is owned by another controller"
    creation = policy(es, "creationPolicy", "Owner")
    if creation in ("Owner", "Orphan") and not owners:
        labels = existing.get("metadata", {}).get("labels") or {}
        if labels.get(LABEL_MANAGED) != "true":
            return ("target Secret exists and is not managed by an ExternalSecret; refusing to adopt it "
                    "(use creationPolicy Merge to add keys to it)")
    return ""


def json_safe(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
