"""Declarative paths: pattern, typed fields, operations, existence check, help -> routing, validation, OpenAPI."""

from strongroom.sdk.framework.backend import Backend, BackendConfig
from strongroom.sdk.framework.fields import Field, FieldData, FieldType, format_duration, parse_duration
from strongroom.sdk.framework.path import (
    GENERIC_NAME,
    Handler,
    OperationSpec,
    Path,
    SecretType,
    generic_name,
    match_all,
    optional_trailing_slash,
)

__all__ = [
    "GENERIC_NAME",
    "Backend",
    "BackendConfig",
    "Field",
    "FieldData",
    "FieldType",
    "Handler",
    "OperationSpec",
    "Path",
    "SecretType",
    "format_duration",
    "generic_name",
    "match_all",
    "optional_trailing_slash",
    "parse_duration",
]
