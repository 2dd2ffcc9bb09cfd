"""Handshake roles and the tie-break when both sides start at once (pure)."""

from __future__ import annotations

import enum

__all__ = ["Role", "wins_tie_break"]


class Role(enum.Enum):
    """Which side of the handshake (and of the ratchet's first step) we took."""

    INITIATOR = "initiator"
    RESPONDER = "responder"


def wins_tie_break(own_identity: bytes, peer_identity: bytes) -> bool:
    """True when we stay initiator after both sides sent ``Init`` at once.

    The side whose Ed25519 identity public key is lower (compared as unsigned
    big-endian bytes) stays initiator; the other drops its own ``Init`` and
    answers the peer's. Both sides compute the same answer from public values.
    """
    return own_identity < peer_identity
