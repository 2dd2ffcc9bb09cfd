"""Kith's shared protocol package: IDs, key material, wire schemas, sans-I/O cores.

The public names below are re-exported lazily (PEP 562): ``from kith_proto
import IdentityKeys`` imports only the submodule that defines it, so a short
CLI command does not pay for the protocol cores it never uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kith_proto.auth import auth_statement, sign_auth, verify_auth
    from kith_proto.client_core import (
        Authenticated,
        AuthenticationFailed,
        BatchTooLargeError,
        ClientConnection,
        ClientEvent,
        ClientState,
        ClientStateError,
        Disconnected,
        IntroductionReceived,
        PayloadTooLargeError,
        RelayReceived,
        RequestAcked,
        ServerError,
        ServerGoodbye,
        ServerProtocolViolation,
        SubscriptionConfirmed,
        TopicGone,
        TopicValue,
    )
    from kith_proto.ids import ID_LENGTH, InvalidIdError, format_id, parse_id
    from kith_proto.keys import IdentityKeys, verify_signature, x25519_public_from_ed25519
    from kith_proto.pair import (
        ENVELOPE_SIZE,
        MAX_STATUS_TEXT,
        EnvelopeError,
        InvalidPeerKeyError,
        MalformedEnvelopeError,
        PairChannel,
        PairError,
        PresenceRecord,
        PresenceStatus,
        ReplayedEnvelopeError,
        ReplayGuard,
        TamperedEnvelopeError,
        Topic,
        WrongKeyError,
        derive_pair_key,
        intro_topic,
    )
    from kith_proto.wire import (
        DEFAULT_SIGNAL_PORT,
        SUBPROTOCOL,
        CloseCode,
        ErrorCode,
        WireFormatError,
    )

__all__ = [
    "DEFAULT_SIGNAL_PORT",
    "ENVELOPE_SIZE",
    "ID_LENGTH",
    "MAX_STATUS_TEXT",
    "SUBPROTOCOL",
    "Authenticated",
    "AuthenticationFailed",
    "BatchTooLargeError",
    "ClientConnection",
    "ClientEvent",
    "ClientState",
    "ClientStateError",
    "CloseCode",
    "Disconnected",
    "EnvelopeError",
    "ErrorCode",
    "IdentityKeys",
    "IntroductionReceived",
    "InvalidIdError",
    "InvalidPeerKeyError",
    "MalformedEnvelopeError",
    "PairChannel",
    "PairError",
    "PayloadTooLargeError",
    "PresenceRecord",
    "PresenceStatus",
    "RelayReceived",
    "ReplayGuard",
    "ReplayedEnvelopeError",
    "RequestAcked",
    "ServerError",
    "ServerGoodbye",
    "ServerProtocolViolation",
    "SubscriptionConfirmed",
    "TamperedEnvelopeError",
    "Topic",
    "TopicGone",
    "TopicValue",
    "WireFormatError",
    "WrongKeyError",
    "auth_statement",
    "derive_pair_key",
    "format_id",
    "intro_topic",
    "parse_id",
    "sign_auth",
    "verify_auth",
    "verify_signature",
    "x25519_public_from_ed25519",
]

_SOURCES: dict[str, tuple[str, ...]] = {
    "kith_proto.auth": (
        "auth_statement",
        "sign_auth",
        "verify_auth",
    ),
    "kith_proto.client_core": (
        "Authenticated",
        "AuthenticationFailed",
        "ClientConnection",
        "ClientEvent",
        "ClientState",
        "ClientStateError",
        "BatchTooLargeError",
        "PayloadTooLargeError",
        "Disconnected",
        "IntroductionReceived",
        "RelayReceived",
        "RequestAcked",
        "ServerError",
        "ServerGoodbye",
        "ServerProtocolViolation",
        "SubscriptionConfirmed",
        "TopicGone",
        "TopicValue",
    ),
    "kith_proto.ids": (
        "ID_LENGTH",
        "InvalidIdError",
        "format_id",
        "parse_id",
    ),
    "kith_proto.keys": (
        "IdentityKeys",
        "verify_signature",
        "x25519_public_from_ed25519",
    ),
    "kith_proto.pair": (
        "ENVELOPE_SIZE",
        "EnvelopeError",
        "InvalidPeerKeyError",
        "MAX_STATUS_TEXT",
        "MalformedEnvelopeError",
        "PairChannel",
        "PairError",
        "PresenceRecord",
        "PresenceStatus",
        "ReplayGuard",
        "ReplayedEnvelopeError",
        "TamperedEnvelopeError",
        "Topic",
        "WrongKeyError",
        "derive_pair_key",
        "intro_topic",
    ),
    "kith_proto.wire": (
        "CloseCode",
        "DEFAULT_SIGNAL_PORT",
        "ErrorCode",
        "SUBPROTOCOL",
        "WireFormatError",
    ),
}
_WHERE = {name: module for module, names in _SOURCES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'kith_proto' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
