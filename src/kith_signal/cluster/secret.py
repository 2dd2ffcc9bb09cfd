"""The cluster secret: read once at start-up, refused if missing or weak.

The processes of a cluster must agree on the key of the identity tag (the
keyed hash behind the one-login rule), and nothing else may know it: with it,
anyone holding a public key could find its login in Redis. The secret file
holds at least 32 bytes (surrounding whitespace is ignored) with at least 16
distinct byte values, which ``openssl rand -hex 32``, ``head -c 32
/dev/urandom`` or ``python -c 'import secrets; print(secrets.token_urlsafe(32))'``
all give, and a repeated or short word does not.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

__all__ = [
    "MIN_DISTINCT",
    "MIN_SECRET_BYTES",
    "ClusterSecretError",
    "check_secret",
    "read_secret",
    "tag_key",
]

MIN_SECRET_BYTES = 32
MIN_DISTINCT = 16
_TAG_KEY_LABEL = b"kith-signal identity tag key v1"


class ClusterSecretError(ValueError):
    """The secret file cannot be used; the message never quotes the secret."""


def check_secret(secret: bytes) -> bytes:
    """The secret stripped of surrounding whitespace, if strong enough."""
    secret = secret.strip()
    if len(secret) < MIN_SECRET_BYTES:
        raise ClusterSecretError(
            f"holds {len(secret)} bytes; a cluster secret needs at least {MIN_SECRET_BYTES}"
            " (e.g. openssl rand -hex 32)"
        )
    if len(set(secret)) < MIN_DISTINCT:
        raise ClusterSecretError(
            f"uses fewer than {MIN_DISTINCT} distinct bytes: too guessable"
            " (e.g. openssl rand -hex 32)"
        )
    return secret


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
