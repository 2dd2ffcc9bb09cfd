"""Who stays offerer when both peers make an offer at once (pure)."""

from __future__ import annotations

import enum

__all__ = ["GlareAction", "keeps_offer", "on_crossed_offer"]


class GlareAction(enum.Enum):
    """What to do with the peer's offer while our own is outstanding."""

    IGNORE_THEIRS = "ignore_theirs"
    """Keep our offer; the peer will drop theirs and answer ours."""
    ANSWER_THEIRS = "answer_theirs"
    """Drop our offer and answer the peer's."""


def keeps_offer(own_public: bytes, peer_public: bytes) -> bool:
    """True when our offer wins over a crossed offer from the peer.

    The side whose Ed25519 identity public key is lower (unsigned bytewise)
    stays offerer, the same rule the session handshake uses. Both sides get
    opposite answers from the same public values.

    Raises:
        ValueError: the two keys are equal.
    """
    if own_public == peer_public:
        raise ValueError("a peer link needs two different identity keys")
    return own_public < peer_public


def on_crossed_offer(own_public: bytes, peer_public: bytes) -> GlareAction:
    """The action for a peer's offer that arrives while ours is outstanding."""
    if keeps_offer(own_public, peer_public):
        return GlareAction.IGNORE_THEIRS
    return GlareAction.ANSWER_THEIRS
