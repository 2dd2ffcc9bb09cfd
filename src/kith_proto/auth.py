"""The signed authentication statement of ``kith.v1``.

The client proves it holds an identity key by signing a domain-separated
statement that binds the server's fresh challenge, the URL of the server it
meant to reach, and its own public key::

    statement = b"kith.v1 signal auth\\x00"
              || u16be(len(server_url)) || server_url (UTF-8)
              || u8(len(challenge)) || challenge
              || public_key (32 bytes)

The domain prefix keeps these signatures from ever being valid for another
use of the identity key; the challenge keeps them from being replayed on
another connection; the URL keeps them from being relayed to another server.
"""

from __future__ import annotations

import struct
from typing import Final

from kith_proto.keys import IdentityKeys, verify_signature

__all__ = [
    "AUTH_DOMAIN",
    "CHALLENGE_SIZE",
    "KEY_TYPE",
    "auth_statement",
    "sign_auth",
    "verify_auth",
]

AUTH_DOMAIN: Final = b"kith.v1 signal auth\x00"
CHALLENGE_SIZE: Final = 32
KEY_TYPE: Final = "ed25519"
PUBLIC_KEY_SIZE: Final = 32


def auth_statement(challenge: bytes, server_url: str, public_key: bytes) -> bytes:
    """Return the exact bytes a client signs to authenticate."""
    url = server_url.encode("utf-8")
    if len(url) > 0xFFFF or len(challenge) > 0xFF or len(public_key) != PUBLIC_KEY_SIZE:
        raise ValueError("auth statement field out of range")
    return b"".join(
        (
            AUTH_DOMAIN,
            struct.pack(">H", len(url)),
            url,
            struct.pack(">B", len(challenge)),
            challenge,
            public_key,
        )
    )


def sign_auth(keys: IdentityKeys, challenge: bytes, server_url: str) -> bytes:
    """Sign the auth statement for ``challenge`` and ``server_url``."""
    return keys.sign(auth_statement(challenge, server_url, keys.public_key))


def verify_auth(public_key: bytes, signature: bytes, challenge: bytes, server_url: str) -> bool:
    """Return True when ``signature`` is the key's signature of the statement."""
    statement = auth_statement(challenge, server_url, public_key)
    return verify_signature(public_key, signature, statement)
