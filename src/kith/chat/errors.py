"""Errors of the chat logic: ours (a user action we refuse) versus the peer's."""

from __future__ import annotations

from kith.errors import KithError

__all__ = [
    "InvalidMessage",
    "LocalMessagingError",
    "MalformedChatFrame",
    "MessagingError",
    "NotOwnMessage",
    "PeerMessagingError",
    "UnknownMessage",
]


class MessagingError(KithError):
    """Base of every error of :mod:`kith.chat`."""

    code = "messaging_error"


class LocalMessagingError(MessagingError):
    """A local action the conversation refuses."""

    code = "messaging_local_error"


class InvalidMessage(LocalMessagingError):
    """An ID, text or emoji out of bounds."""

    code = "invalid_message"


class UnknownMessage(LocalMessagingError):
    """No message with that ID in this conversation."""

    code = "unknown_message"


class NotOwnMessage(LocalMessagingError):
    """Only one's own messages can be edited or deleted."""

    code = "not_own_message"


class PeerMessagingError(MessagingError):
    """The peer sent a chat frame we refuse."""

    code = "messaging_peer_error"


class MalformedChatFrame(PeerMessagingError):
    """A chat frame that does not decode or breaks a bound."""

    code = "malformed_chat_frame"
