"""The signed auth statement (pure)."""

from __future__ import annotations

import struct

from kith_proto import IdentityKeys
from kith_proto.auth import AUTH_DOMAIN, auth_statement, sign_auth, verify_auth

URL = "ws://127.0.0.1:9000"


def test_statement_layout_is_exactly_as_documented() -> None:
    challenge, key = bytes(32), bytes(range(32))
    statement = auth_statement(challenge, URL, key)
    url = URL.encode()
    expected = AUTH_DOMAIN + struct.pack(">H", len(url)) + url + b"\x20" + challenge + key
    assert statement == expected
    assert AUTH_DOMAIN == b"kith.v1 signal auth\x00"


def test_signature_verifies_only_for_same_challenge_and_url() -> None:
    keys = IdentityKeys.generate()
    challenge = b"c" * 32
    signature = sign_auth(keys, challenge, URL)
    assert verify_auth(keys.public_key, signature, challenge, URL)
    assert not verify_auth(keys.public_key, signature, b"d" * 32, URL)
    assert not verify_auth(keys.public_key, signature, challenge, "ws://evil:9000")
    other = IdentityKeys.generate()
    assert not verify_auth(other.public_key, signature, challenge, URL)
