"""Errors raised by the signaling client's request methods.

``SignalingError`` and its subclasses are outcomes of the network or the
server; :class:`PayloadTooLarge` is the caller's mistake (a ``ValueError``).
"""

from __future__ import annotations

__all__ = [
    "IntroRefused",
    "MailboxRefused",
    "NotConnected",
    "PayloadTooLarge",
    "PeerOffline",
    "RelayRefused",
    "ReplyTimeout",
    "RequestRefused",
    "SignalingError",
    "refusal",
]


class SignalingError(Exception):
    """A signaling request did not succeed."""


class NotConnected(SignalingError):
    """There is no authenticated connection, or it dropped before the reply."""


class ReplyTimeout(SignalingError, TimeoutError):
    """The server did not answer in time."""


class RequestRefused(SignalingError):
    """The server answered with an error frame.

    Attributes:
        code: The server's error code.
        message: The server's human-readable message.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class RelayRefused(RequestRefused):
    """The server refused a relay (e.g. ``rate_limited``, ``payload_too_large``)."""


class PeerOffline(RelayRefused):
    """Nobody is subscribed to the relay topic: the contact is offline."""


class IntroRefused(RequestRefused):
    """The server refused an introduction (e.g. ``rate_limited``)."""


class MailboxRefused(RequestRefused):
    """The server refused a mailbox request (``mailbox_full``,
    ``mailbox_store_full``, ``bad_token``, ``mailbox_unavailable``, ...)."""


class PayloadTooLarge(ValueError):
    """The payload exceeds the limit the server announced."""


def refusal(kind: str, code: str, message: str) -> RequestRefused:
    """The typed error for the server's refusal of a ``relay``, an ``intro``
    or a mailbox request (``deposit``, ``fetch``, ``ack``)."""
    if kind == "intro":
        return IntroRefused(code, message)
    if kind in ("deposit", "fetch", "ack"):
        return MailboxRefused(code, message)
    if code == "peer_offline":
        return PeerOffline(code, message)
    return RelayRefused(code, message)
