"""Calls, pure: the call frames carried in the pair channel and the call state machine.

No I/O here: :mod:`kith.runtime.calls` runs calls over the peers' channels
and tells the page; media flows browser to browser (``docs/calls.md``).
"""

from kith.calls.errors import (
    CallError,
    IllegalTransition,
    MalformedCallFrame,
    NotReachable,
    UnknownCall,
)
from kith.calls.frames import (
    Answer,
    CallFrame,
    Decline,
    Hangup,
    Ice,
    Missed,
    Ring,
    Sdp,
    decode_call_frame,
    encode_call_frame,
    is_call_frame,
)
from kith.calls.machine import Call, CallInput, CallOutcome, CallState, EndReason

__all__ = [
    "Answer",
    "Call",
    "CallError",
    "CallFrame",
    "CallInput",
    "CallOutcome",
    "CallState",
    "Decline",
    "EndReason",
    "Hangup",
    "Ice",
    "IllegalTransition",
    "MalformedCallFrame",
    "Missed",
    "NotReachable",
    "Ring",
    "Sdp",
    "UnknownCall",
    "decode_call_frame",
    "encode_call_frame",
    "is_call_frame",
]
