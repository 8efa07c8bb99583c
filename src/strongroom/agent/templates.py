"""Templates the agent writes for you: the whole secret as JSON (`--secret`, the injector's
`agent-inject-secret-*`), or one key (`--env-secret NAME=PATH#KEY`). KV v2 responses are unwrapped (`.Data.data`)."""

from __future__ import annotations

import json


def _lit(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid Go string literal


def whole_secret(path: str) -> str:
    return ('{{ with secret ' + _lit(path) + ' }}{{ with index .Data "data" }}{{ toJson . }}'
            '{{ else }}{{ toJson .Data }}{{ end }}{{ end }}')


def one_key(path: str, key: str) -> str:
    msg = _lit(f"key {key} not found at {path}")
    k = _lit(key)
    return ('{{ with secret ' + _lit(path) + ' }}{{ if hasKey .Data "data" }}{{ required ' + msg +
            ' (index .Data.data ' + k + ') }}{{ else }}{{ required ' + msg + ' (index .Data ' + k +
            ') }}{{ end }}{{ end }}')


def parse_env_secret(spec: str) -> tuple[str, str]:
    """`NAME=PATH#KEY` -> (NAME, template)."""
    name, sep, rest = spec.partition("=")
    path, hsep, key = rest.partition("#")
    if not (sep and hsep and name and path and key):
        raise ValueError("expected NAME=PATH#KEY")
    return name, one_key(path, key)
