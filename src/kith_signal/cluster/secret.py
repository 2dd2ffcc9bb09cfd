"""The cluster secret: read once at start-up, refused if missing or weak.

The processes of a cluster must agree on the key of the identity tag (the
keyed hash behind the one-login rule), and nothing else may know it: with it,
anyone holding a public key could find its login in Redis. The secret file
holds at least 32 bytes (surrounding whitespace of a text secret is ignored) whose byte
frequencies carry at least 128 bits (length times the Shannon entropy per
byte, a rough bound that refuses repeated or short words): ``openssl rand -hex
32`` (about 250 bits by this measure), ``head -c 32 /dev/urandom`` or ``python
-c 'import secrets; print(secrets.token_urlsafe(32))'`` all pass.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import Counter
from pathlib import Path

__all__ = [
    "MIN_BITS",
    "MIN_SECRET_BYTES",
    "ClusterSecretError",
    "check_secret",
    "read_secret",
    "tag_key",
]

MIN_SECRET_BYTES = 32
MIN_BITS = 128
_TAG_KEY_LABEL = b"kith-signal identity tag key v1"


class ClusterSecretError(ValueError):
    """The secret file cannot be used; the message never quotes the secret."""


def check_secret(secret: bytes) -> bytes:
    """The secret, if strong enough; a text secret loses surrounding whitespace
    (a binary one is taken as it is: its edges may be whitespace bytes)."""
    stripped = secret.strip()
    if stripped.isascii() and stripped.decode().isprintable():
        secret = stripped
    if len(secret) < MIN_SECRET_BYTES:
        raise ClusterSecretError(
            f"holds {len(secret)} bytes; a cluster secret needs at least {MIN_SECRET_BYTES}"
            " (e.g. openssl rand -hex 32)"
        )
    if _bits(secret) < MIN_BITS:
        raise ClusterSecretError(
            f"repeats itself too much (under {MIN_BITS} bits by byte frequencies): too"
            " guessable (e.g. openssl rand -hex 32)"
        )
    return secret


def _bits(data: bytes) -> float:
    """Length times the Shannon entropy of the byte frequencies."""
    counts = Counter(data).values()
    return -sum(n * math.log2(n / len(data)) for n in counts)


def read_secret(path: str | Path) -> bytes:
    """Read and check the secret file (``ClusterSecretError`` names the reason)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ClusterSecretError(exc.strerror or type(exc).__name__) from None
    return check_secret(data)


def tag_key(secret: bytes) -> bytes:
    """The key of :func:`kith_proto.server_core.identity_tag` for the cluster."""
    return hmac.new(secret, _TAG_KEY_LABEL, hashlib.sha256).digest()
