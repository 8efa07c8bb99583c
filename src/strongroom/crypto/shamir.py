"""Shamir secret sharing over GF(2^8), share layout as Vault's: share = y-bytes || x (one byte, 1..255).

Hand-written: no maintained PyPI package implements Vault's share layout, and the arithmetic is ~40 lines.
Table-based multiply keeps it constant-time per byte (no secret-dependent branches in the field operations).
"""

from __future__ import annotations

import os

from strongroom.crypto.errors import CryptoError

_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    # multiply by generator 3 in GF(2^8) with the AES polynomial
    _x ^= (_x << 1) ^ (0x11B if _x & 0x80 else 0)
    _x &= 0xFF
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


def _mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def _div(a: int, b: int) -> int:
    if b == 0:
        raise ZeroDivisionError
    if a == 0:
        return 0
    return _EXP[(_LOG[a] - _LOG[b]) % 255]


def split(secret: bytes, parts: int, threshold: int) -> list[bytes]:
    if not secret:
        raise CryptoError("cannot split an empty secret")
    if not 2 <= threshold <= parts <= 255:
        raise CryptoError("need 2 <= threshold <= parts <= 255")
    xs = list(range(1, 256))
    # random distinct x coordinates
    rnd = os.urandom(255)
    xs.sort(key=lambda v: rnd[v - 1])
    xs = xs[:parts]
    shares = [bytearray(len(secret) + 1) for _ in range(parts)]
    for i, x in enumerate(xs):
        shares[i][-1] = x
    for pos, byte in enumerate(secret):
        coeffs = [byte, *os.urandom(threshold - 1)]
        for i, x in enumerate(xs):
            y = 0
            for c in reversed(coeffs):  # Horner
                y = _mul(y, x) ^ c
            shares[i][pos] = y
    return [bytes(s) for s in shares]


def combine(shares: list[bytes]) -> bytes:
    if len(shares) < 2:
        raise CryptoError("at least two shares are needed")
    length = len(shares[0])
    if length < 2 or any(len(s) != length for s in shares):
        raise CryptoError("shares must all have the same length")
    xs = [s[-1] for s in shares]
    if len(set(xs)) != len(xs):
        raise CryptoError("duplicate share")
    out = bytearray(length - 1)
    for pos in range(length - 1):
        acc = 0
        for i, xi in enumerate(xs):
            num, den = 1, 1
            for j, xj in enumerate(xs):
                if i != j:
                    num = _mul(num, xj)
                    den = _mul(den, xi ^ xj)
            acc ^= _mul(shares[i][pos], _div(num, den))
        out[pos] = acc
    return bytes(out)
