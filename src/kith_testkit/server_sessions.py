"""Signed-in connections of the sans-I/O server core, for protocol tests.

Each test of the server core that is not about signing in starts from a
connection already past authentication; :func:`signed_in` builds one the way
a real node signs in (an Ed25519 signature over the challenge and the URL).
"""

from __future__ import annotations

from typing import Final

from kith_proto import IdentityKeys, wire
from kith_proto.auth import sign_auth
from kith_proto.server_core import Action, Send, ServerConfig, ServerConnection, ServerState

__all__ = ["NONCE", "URL", "refusal", "signed_in"]

URL: Final = "ws://127.0.0.1:9000"
NONCE: Final = b"n" * 32


def signed_in(config: ServerConfig, *, tag_key: bytes = NONCE) -> ServerConnection:
    """A connection of ``config`` (whose ``public_url`` is :data:`URL`), signed in
    by a fresh identity at time 0."""
    conn = ServerConnection(config, nonce=NONCE, tag_key=tag_key, now=0.0)
    keys = IdentityKeys.generate()
    auth = wire.Auth(
        key_type="ed25519",
        key=wire.encode_payload(keys.public_key),
        challenge=wire.encode_payload(NONCE),
        server=URL,
        signature=wire.encode_payload(sign_auth(keys, NONCE, URL)),
    )
    conn.receive(wire.encode(auth), 0.0)
    assert conn.state is ServerState.READY
    return conn


def refusal(actions: list[Action]) -> wire.Error:
    """The error the first action sends (a refused request answers with it)."""
    action = actions[0]
    assert isinstance(action, Send)
    assert isinstance(action.message, wire.Error)
    return action.message
