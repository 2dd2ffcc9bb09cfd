"""What the server core asks its adapter to do: send, close, log in, or
route a request through the broker. Each request phrases the broker's
outcome as its own reply frame."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from kith_proto import wire
from kith_proto.wire import CloseCode, ErrorCode

__all__ = [
    "Action",
    "Close",
    "IntroRequest",
    "Login",
    "MailboxAckRequest",
    "MailboxDepositRequest",
    "MailboxFetchRequest",
    "MailboxRequest",
    "PublishBatchRequest",
    "PublishRequest",
    "RelayRequest",
    "Request",
    "RetractRequest",
    "Send",
    "SubscribeRequest",
    "UnsubscribeRequest",
]


@dataclass(frozen=True)
class Send:
    """Send this frame to the client."""

    message: wire.ServerMessage


@dataclass(frozen=True)
class Close:
    """Close the WebSocket with this code and reason (after pending sends)."""

    code: CloseCode
    reason: str


@dataclass(frozen=True)
class Login:
    """The client authenticated as ``identity_tag``: apply the one-login rule."""

    identity_tag: bytes = field(repr=False)


@dataclass(frozen=True)
class _Request:
    ref: int | None

    def ack(self) -> Send:
        """The request succeeded."""
        return Send(wire.Ack(ref=self.ref))

    def refuse(self, code: ErrorCode, message: str) -> Send:
        """The request failed with ``code``."""
        return Send(wire.Error(code=code, message=message, ref=self.ref))


@dataclass(frozen=True)
class SubscribeRequest(_Request):
    """Subscribe this connection to ``topics``.

    ``max_reply_bytes``: most retained bytes (topics and payloads as sent) the
    reply may carry, what the connection's rate tokens pay for; ``None``: no
    bound. The broker refuses the whole request beyond it.
    """

    topics: tuple[str, ...]
    max_reply_bytes: int | None = None

    def reply(self, retained: Sequence[wire.Retained]) -> Send:
        """The subscription is in place; these are the retained values."""
        return Send(
            wire.Subscribed(topics=list(self.topics), retained=list(retained), ref=self.ref)
        )


@dataclass(frozen=True)
class UnsubscribeRequest(_Request):
    """Remove this connection's subscriptions to ``topics``."""

    topics: tuple[str, ...]


@dataclass(frozen=True)
class PublishRequest(_Request):
    """Retain ``payload`` on ``topic`` and fan it out."""

    topic: str
    payload: str = field(repr=False)

    def done(self) -> Send | None:
        """Success: an ``ack`` when the client asked (gave a ``ref``), else nothing."""
        return None if self.ref is None else self.ack()


@dataclass(frozen=True)
class PublishBatchRequest(_Request):
    """Retain and fan out every ``(topic, payload)`` of ``items``, in order."""

    items: tuple[tuple[str, str], ...] = field(repr=False)

    def done(self) -> Send | None:
        """Success: an ``ack`` when the client asked (gave a ``ref``), else nothing."""
        return None if self.ref is None else self.ack()


@dataclass(frozen=True)
class RetractRequest(_Request):
    """Drop this connection's retained values on ``topics``; announce ``gone``."""

    topics: tuple[str, ...]


@dataclass(frozen=True)
class RelayRequest(_Request):
    """Deliver ``payload`` to the subscribers of ``topic``."""

    topic: str
    payload: str = field(repr=False)

    def reply(self, delivered: int) -> Send:
        """Acknowledge, or report ``peer_offline`` when nobody got it."""
        if delivered:
            return self.ack()
        return self.refuse(ErrorCode.PEER_OFFLINE, "nobody is subscribed to this topic")


@dataclass(frozen=True)
class IntroRequest(_Request):
    """Deliver a contact request to the subscribers of ``topic``."""

    topic: str
    payload: str = field(repr=False)

    def reply(self, delivered: int) -> Send:
        """Always the same acknowledgement, so that presence does not leak."""
        del delivered
        return self.ack()


@dataclass(frozen=True)
class MailboxDepositRequest(_Request):
    """Store the sealed ``payload`` in the mailbox ``topic`` (durably, then ack)."""

    topic: str
    payload: str = field(repr=False)


@dataclass(frozen=True)
class MailboxFetchRequest(_Request):
    """Read the oldest items of the mailbox ``topic`` (the owner proved its token).

    ``max_reply_bytes``: most payload bytes (as sent) the reply may carry.
    """

    topic: str
    max_reply_bytes: int

    def reply(self, items: Sequence[wire.MailboxItem], more: bool) -> Send:
        """The items, oldest first; ``more`` when others wait."""
        return Send(wire.MailboxItems(topic=self.topic, items=list(items), more=more, ref=self.ref))


@dataclass(frozen=True)
class MailboxAckRequest(_Request):
    """Delete the items ``ids`` of the mailbox ``topic`` (the owner stored them)."""

    topic: str
    ids: tuple[int, ...]


MailboxRequest: TypeAlias = MailboxDepositRequest | MailboxFetchRequest | MailboxAckRequest

Request: TypeAlias = (
    SubscribeRequest
    | UnsubscribeRequest
    | PublishRequest
    | PublishBatchRequest
    | RetractRequest
    | RelayRequest
    | IntroRequest
    | MailboxRequest
)
Action: TypeAlias = Send | Close | Login | Request
