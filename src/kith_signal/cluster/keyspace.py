"""What the cluster keeps in Redis, and on which shard: pure, no I/O.

Every name starts with ``k`` and a letter; topics and identity tags appear
only as the raw bytes the server already sees (blinded topics, keyed hashes of
public keys), values only as sealed payloads:

=================  ===============  =============================================
name               type             holds
=================  ===============  =============================================
``kr:<topic>``     string           holder connection + retained payload
``kc:<topic>``     pub/sub channel  deliveries on a topic (kind, origin, payload)
``kl:<tag>``       string           process + connection holding an identity tag
``kn:<process>``   pub/sub channel  notices to one process (``Replaced``)
``kp:<process>``   string, TTL'd    that the process is alive
``kprocs``         set              process ids that registered on the shard
``kh:<process>``   hash             topic -> connection: values it holds here
``khl:<process>``  hash             tag -> connection: logins it holds here
``kreap:<proc>``   string, TTL'd    the lock of the survivor reaping a process
=================  ===============  =============================================

A topic (and its channel) lives on the shard its digest picks; a login key on
the shard its tag picks; process keys live on every shard, each shard
describing only what it holds. Blinded topics and tags are uniform, so their
first eight bytes pick a shard evenly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = [
    "PROCESSES",
    "Kind",
    "Message",
    "channel",
    "conn_prefix",
    "decode_login",
    "decode_message",
    "decode_value",
    "encode_message",
    "held_key",
    "login_key",
    "login_value",
    "logins_key",
    "notice_channel",
    "process_key",
    "reap_key",
    "retained_key",
    "shard_of",
    "topic_of_channel",
]

PROCESSES = b"kprocs"
_RETAINED = b"kr:"
_CHANNEL = b"kc:"


class Kind(bytes, Enum):
    """The first byte of a message on a topic channel."""

    EVENT = b"E"
    GONE = b"G"
    RELAYED = b"R"
    INTRO = b"I"


@dataclass(frozen=True, slots=True)
class Message:
    """One delivery published on a topic channel.

    ``origin`` is the process that published it (it has already delivered to
    its own connections, and skips its own message); for a ``gone`` reaped
    from a dead process, that dead process.
    """

    kind: Kind
    origin: str
    payload: bytes


def shard_of(digest: bytes, shards: int) -> int:
    """The shard holding a topic or tag (both uniform bytes)."""
    return int.from_bytes(digest[:8], "big") % shards if shards > 1 else 0


def retained_key(topic: bytes) -> bytes:
    return _RETAINED + topic


def channel(topic: bytes) -> bytes:
    return _CHANNEL + topic


def topic_of_channel(name: bytes) -> bytes | None:
    """The topic of a topic channel; ``None`` for any other channel."""
    return name[len(_CHANNEL) :] if name.startswith(_CHANNEL) else None


def login_key(tag: bytes) -> bytes:
    return b"kl:" + tag


def notice_channel(process: str) -> bytes:
    return b"kn:" + process.encode()


def process_key(process: str) -> bytes:
    return b"kp:" + process.encode()


def held_key(process: str) -> bytes:
    return b"kh:" + process.encode()


def logins_key(process: str) -> bytes:
    return b"khl:" + process.encode()


def reap_key(process: str) -> bytes:
    return b"kreap:" + process.encode()


def conn_prefix(conn_id: str) -> bytes:
    """A connection id as a length-prefixed prefix (ids are short ASCII)."""
    raw = conn_id.encode()
    if not 0 < len(raw) < 256:
        raise ValueError("connection ids are 1 to 255 ASCII bytes")
    return bytes((len(raw),)) + raw


def _split(data: bytes) -> tuple[str, bytes]:
    if not data or len(data) < 1 + data[0]:
        raise ValueError("truncated connection prefix")
    end = 1 + data[0]
    return data[1:end].decode(), data[end:]


def decode_value(value: bytes) -> tuple[str, bytes]:
    """A retained value: its holder's connection id and the payload."""
    return _split(value)


def encode_message(kind: Kind, origin: str, payload: bytes = b"") -> bytes:
    return kind.value + conn_prefix(origin) + payload


def decode_message(data: bytes) -> Message:
    """Parse a topic channel message; ``ValueError`` if malformed."""
    if not data:
        raise ValueError("empty message")
    kind = Kind(data[:1])
    origin, payload = _split(data[1:])
    return Message(kind, origin, payload)


def login_value(process: str, conn_id: str) -> bytes:
    """Who holds a login: process prefix, then connection prefix."""
    return conn_prefix(process) + conn_prefix(conn_id)


def decode_login(value: bytes) -> tuple[str, str]:
    process, rest = _split(value)
    conn_id, tail = _split(rest)
    if tail:
        raise ValueError("trailing bytes in a login value")
    return process, conn_id
