"""Serialisation of a whole session for the encrypted database (pure).

The bytes are a msgpack map (msgspec) with a ``version`` field, so later
versions can add upgrade steps. They contain secret keys: store them only in
the encrypted database. See ``docs/sessions.md`` for the field list.
"""

from __future__ import annotations

from typing import Final

import msgspec

from kith.sessions.errors import CorruptSessionState, UnsupportedStateVersion
from kith.sessions.kdf import KEY_SIZE, KeyPair
from kith.sessions.ratchet import MAX_SKIPPED_KEYS, RatchetState
from kith.sessions.roles import Role

__all__ = ["STATE_VERSION", "SessionRecord", "decode_record", "encode_record"]

STATE_VERSION: Final = 1


def _check_key(name: str, value: bytes | None) -> None:
    if value is not None and len(value) != KEY_SIZE:
        raise ValueError(f"{name} must be {KEY_SIZE} bytes")


def _check_count(name: str, value: int) -> None:
    if value < 0:
        raise ValueError(f"{name} must not be negative")


class RatchetRecord(msgspec.Struct, frozen=True):
    """The stored form of a :class:`~kith.sessions.ratchet.RatchetState`."""

    sending_private: bytes
    remote: bytes | None
    root_key: bytes
    send_chain: bytes
    recv_chain: bytes | None
    send_count: int
    recv_count: int
    previous_count: int
    skipped: list[tuple[bytes, int, bytes]]
    retired: list[bytes]

    def __post_init__(self) -> None:
        for name in ("sending_private", "remote", "root_key", "send_chain", "recv_chain"):
            _check_key(name, getattr(self, name))
        for name in ("send_count", "recv_count", "previous_count"):
            _check_count(name, getattr(self, name))
        if len(self.skipped) > MAX_SKIPPED_KEYS:
            raise ValueError("too many skipped keys")
        for remote, number, key in self.skipped:
            _check_key("skipped remote", remote)
            _check_count("skipped number", number)
            _check_key("skipped key", key)

    def __repr__(self) -> str:
        return "RatchetRecord(<secret>)"

    @classmethod
    def from_state(cls, state: RatchetState) -> RatchetRecord:
        """Capture a ratchet state."""
        return cls(
            sending_private=state.sending.private,
            remote=state.remote,
            root_key=state.root_key,
            send_chain=state.send_chain,
            recv_chain=state.recv_chain,
            send_count=state.send_count,
            recv_count=state.recv_count,
            previous_count=state.previous_count,
            skipped=[(remote, n, key) for (remote, n), key in state.skipped.items()],
            retired=list(state.retired),
        )

    def to_state(self) -> RatchetState:
        """Rebuild the live ratchet state."""
        return RatchetState(
            sending=KeyPair.from_private(self.sending_private),
            remote=self.remote,
            root_key=self.root_key,
            send_chain=self.send_chain,
            recv_chain=self.recv_chain,
            send_count=self.send_count,
            recv_count=self.recv_count,
            previous_count=self.previous_count,
            skipped={(remote, n): key for remote, n, key in self.skipped},
            retired=list(self.retired),
        )


class SessionRecord(msgspec.Struct, frozen=True):
    """Everything needed to resume a session after a restart."""

    version: int
    role: Role
    local_identity: bytes
    peer_identity: bytes
    transcript: bytes
    ratchet: RatchetRecord

    def __post_init__(self) -> None:
        for name in ("local_identity", "peer_identity", "transcript"):
            _check_key(name, getattr(self, name))

    def __repr__(self) -> str:
        return f"SessionRecord(version={self.version}, role={self.role.value})"


class _VersionProbe(msgspec.Struct):
    version: int


_ENCODER: Final = msgspec.msgpack.Encoder()
_PROBE: Final = msgspec.msgpack.Decoder(_VersionProbe)
_DECODER: Final = msgspec.msgpack.Decoder(SessionRecord)


def encode_record(record: SessionRecord) -> bytes:
    """Serialise a session record."""
    return _ENCODER.encode(record)


def decode_record(data: bytes) -> SessionRecord:
    """Parse stored session bytes.

    Raises:
        UnsupportedStateVersion: written by a version this code cannot read.
        CorruptSessionState: not a valid session record.
    """
    try:
        version = _PROBE.decode(data).version
    except (msgspec.DecodeError, ValueError, TypeError) as exc:
        raise CorruptSessionState("stored session state is damaged") from exc
    if version != STATE_VERSION:
        raise UnsupportedStateVersion(f"session state version {version} is not supported")
    try:
        return _DECODER.decode(data)
    except (msgspec.DecodeError, ValueError, TypeError) as exc:
        raise CorruptSessionState("stored session state is damaged") from exc
