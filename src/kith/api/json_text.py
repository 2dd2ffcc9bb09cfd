"""JSON text for the local API's answers and live events, encoded in one pass.

The API writes a JSON document for every message sent and two live events
per message (``message``, then ``message_state`` delivered), so the encoder
is on the hot path: :func:`json_bytes` uses msgspec's encoder (about
a tenth of ``json.dumps``' time for an event). Text msgspec cannot write as
UTF-8 (a lone surrogate, which ``json.loads`` lets a request body carry)
falls back to ``json.dumps``, whose ASCII escapes keep it, so no value
makes an answer or the events socket fail.
"""

from __future__ import annotations

import json
from typing import Any, Final

import msgspec

__all__ = ["json_bytes", "json_text"]

_ENCODE: Final = msgspec.json.Encoder().encode


def json_bytes(value: Any) -> bytes:
    """``value`` (JSON types only) as compact JSON, UTF-8."""
    try:
        return _ENCODE(value)
    except UnicodeEncodeError:
        return json.dumps(value).encode("ascii")


def json_text(value: Any) -> str:
    """:func:`json_bytes` as a ``str`` (for ``web.json_response(dumps=...)``)."""
    return json_bytes(value).decode("utf-8")
