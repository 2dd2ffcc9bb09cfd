"""Errors of calls: a local action refused versus a peer's bad frame."""

from __future__ import annotations

from kith.errors import KithError

__all__ = ["CallError", "IllegalTransition", "MalformedCallFrame", "NotReachable", "UnknownCall"]


class CallError(KithError):
    """Base of every error of :mod:`kith.calls`."""

    code = "call_error"


class IllegalTransition(CallError):
    """The call cannot take that step in its state (e.g. accept a call that is not ringing)."""

    code = "illegal_transition"


class MalformedCallFrame(CallError):
    """A call frame from the peer that does not decode or breaks a limit."""

    code = "malformed_call_frame"


class NotReachable(CallError):
    """No open channel with the contact within the set-up bound."""

    code = "not_reachable"


class UnknownCall(CallError):
    """No call with that ID."""

    code = "unknown_call"
