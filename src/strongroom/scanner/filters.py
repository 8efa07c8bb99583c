"""False-positive filters and validators shared by the rules.

Written by hand: the filters encode our own precision choices (placeholders, template syntax, hashes,
documented example keys), and the validators are a few lines each (CRC32 of GitHub/npm tokens, JWT
header, base64 `user:password`, PEM body).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable
from urllib.parse import unquote

__all__ = ["VALIDATORS", "is_documented_example", "is_placeholder", "shannon_entropy"]

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Keys published in vendor documentation; finding them is noise, never a leak.
_DOCUMENTED = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "sk_test_BQokikJOvBiI2HlWgH4olfQ2",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0Ijox"
        "NTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    }
)

_PLACEHOLDER_WORDS = (
    "changeme",
    "change_me",
    "change-me",
    "changeit",
    "example",
    "placeholder",
    "redacted",
    "dummy",
    "sample",
    "your_",
    "your-",
    "yourpass",
    "insert",
    "replace",
    "todo",
    "fixme",
    "xxxx",
    "****",
    "....",
    "notreal",
    "not-a-real",
    "fake",
    "<",
    ">",
    "${",
    "{{",
    "}}",
    "%(",
    "#{",
    "$(",
    "process.env",
    "os.environ",
    "getenv",
)
_PLACEHOLDER_EXACT = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "token",
        "none",
        "null",
        "nil",
        "true",
        "false",
        "undefined",
        "string",
        "str",
        "required",
        "optional",
        "empty",
        "default",
        "test",
        "testing",
        "admin",
        "root",
        "user",
        "username",
        "guest",
        "qwerty",
        "letmein",
        "abc123",
        "123456",
        "12345678",
        "password1",
        "password123",
        "secret123",
        "foobar",
        "foo",
        "bar",
        "baz",
        "value",
        "mypassword",
        "mysecret",
        "hunter2",
        "apikey",
        "api_key",
        "bearer",
        "basic",
        "env",
        "vault",
        "redis",
        "postgres",
        "mysql",
    }
)
_HEX_HASH = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{56}|[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})$", re.I)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_DOTTED_REF = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+(?:\(\))?$")
_NAME_LIKE = re.compile(r"^[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*$")
_SRI = re.compile(r"^sha(?:1|256|384|512)-[A-Za-z0-9+/=]+$")
_SELF_NAMING = ("token", "secret", "password", "passwd", "apikey", "api_key", "credential")
_NUMERIC = re.compile(r"^[\d.\-_:/+]+$")
_REPEATED = re.compile(r"^(.)\1+$|^(?:.{1,3})\1{3,}$")
_NON_SECRET_KEY = re.compile(
    r"(?:name|file|path|dir|url|uri|endpoint|host|env|len|length|size|min|max|count|policy|field|type|"
    r"header|ref|prompt|label|placeholder|hint|message|msg|format|mode|class|template|regex|pattern|expir|"
    r"ttl|timeout|enabled|required|validation|reset|forgot|confirm|hash|salt|algo|id|kind|version|"
    r"source|provider|store|mount|selector|issuer|audience|scope|usage|limit|rotation|strength)s?$",
    re.I,
)


def shannon_entropy(value: str) -> float:
    """Bits per character; random base64 scores about 5-6, English words about 2-3."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def is_documented_example(secret: str) -> bool:
    return secret in _DOCUMENTED or "EXAMPLE" in secret


def is_placeholder(value: str) -> bool:
    """Template syntax, environment references, masked values and well-known dummy values."""
    low = value.lower()
    if low.strip("\"'` ") in _PLACEHOLDER_EXACT:
        return True
    if any(word in low for word in _PLACEHOLDER_WORDS):
        return True
    if value.startswith(("$", "%", "@", "&", "*")) or value.endswith("()"):
        return True
    return bool(_REPEATED.match(value))


def _char_classes(value: str) -> int:
    return sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(not c.isalnum() for c in value),
        )
    )


def _looks_structural(value: str) -> bool:
    """Hashes, UUIDs, SRI integrity strings, dotted references, paths and numbers are not secrets."""
    return bool(
        _HEX_HASH.match(value)
        or _UUID.match(value)
        or _SRI.match(value)
        or _DOTTED_REF.match(value)
        or value.startswith(("/", "./", "../", "~/", "http:", "https:", "file:", "arn:", "projects/"))
        or _NUMERIC.match(value) is not None
    )


def generic_value_ok(key: str, value: str, quoted: bool, code_file: bool) -> bool:
    """Shared checks for the generic assignment rules."""
    if _NON_SECRET_KEY.search(key.rstrip("\"'")):
        return False
    if code_file and not quoted:
        return False  # `password = get_password()` or `token = tok` in code: a reference, not a literal
    if is_placeholder(value) or _looks_structural(value) or "(" in value or "[" in value:
        return False  # calls, subscripts and type annotations are code, not literals
    low = value.lower()
    if any(word in low for word in _SELF_NAMING):
        return False  # `"V1TokenRequest": "V1TokenRequest"`, `secret: my-secret-name`: names, not secrets
    return not (_NAME_LIKE.match(value) and len(value) < 24 and not any(c.isdigit() for c in value))


def generic_password(key: str, value: str, quoted: bool, code_file: bool) -> bool:
    if len(value) < 6 or not generic_value_ok(key, value, quoted, code_file):
        return False
    if value.isalpha():  # `challengePassword`, `bytes`: identifiers and type names, unless a long random run
        return len(value) >= 16 and shannon_entropy(value) >= 3.8
    return _char_classes(value) >= 2


def generic_secret(key: str, value: str, quoted: bool, code_file: bool) -> bool:
    if len(value) < 10 or not generic_value_ok(key, value, quoted, code_file):
        return False
    if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
        return True  # random tokens mix letters and digits; prose and identifiers rarely do
    letters = [c for c in value if c.isalpha()]
    upper = sum(c.isupper() for c in letters) / max(1, len(letters))
    # letters-only random tokens are about half upper case; camelCase identifiers and prose are not
    return len(value) >= 16 and 0.25 <= upper <= 0.75 and shannon_entropy(value) >= 3.8


def _b62(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(6, "0")


def github_crc32(secret: str) -> bool:
    """GitHub (ghp_, gho_, ...) and npm (npm_) tokens end in base62(CRC32(random part)), 6 characters."""
    body, check = secret[4:-6], secret[-6:]
    return _b62(zlib.crc32(body.encode("ascii"))) == check


def _b64decode(value: str) -> bytes | None:
    padded = value + "=" * (-len(value) % 4)
    try:
        return base64.b64decode(padded, altchars=b"-_" if ("-" in value or "_" in value) else None, validate=True)
    except (binascii.Error, ValueError):
        return None


def jwt(secret: str) -> bool:
    header = _b64decode(secret.split(".", 1)[0])
    if header is None:
        return False
    return header.lstrip().startswith(b"{") and b'"alg"' in header and b'"none"' not in header.lower()


def basic_auth_b64(secret: str) -> bool:
    raw = _b64decode(secret)
    if raw is None:
        return False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    user, sep, password = text.partition(":")
    if not sep or not user or len(password) < 4 or not text.isprintable():
        return False
    return not is_placeholder(password)


def pem_body(secret: str) -> bool:
    body = secret.replace("\\n", "\n")
    lines = [ln.strip().strip("\"',") for ln in body.splitlines()]
    data = "".join(ln for ln in lines if ln and ":" not in ln and not ln.startswith("-----"))
    if len(data) < 40:  # placeholders such as "...your key here..." fail the base64 test below
        return False
    return re.fullmatch(r"[A-Za-z0-9+/=\s]+", data) is not None and shannon_entropy(data) > 4.0


def not_placeholder(secret: str) -> bool:
    """For URL passwords: percent-decoded, and a literal "password"/"secret" in it marks a documentation example."""
    plain = unquote(secret)
    low = plain.lower()
    return not is_placeholder(plain) and "password" not in low and "secret" not in low and low != "pass"


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "github_crc32": github_crc32,
    "jwt": jwt,
    "basic_auth_b64": basic_auth_b64,
    "pem_body": pem_body,
    "not_placeholder": not_placeholder,
}
GENERIC_VALIDATORS: dict[str, Callable[[str, str, bool, bool], bool]] = {
    "generic_password": generic_password,
    "generic_secret": generic_secret,
}
