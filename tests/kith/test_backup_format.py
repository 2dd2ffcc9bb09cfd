"""The backup container and payload (pure): sealing, tampering, validation."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

import pytest

from kith.backup import container, payload
from kith.backup.payload import BackupPayload, ContactRecord
from kith.errors import BackupError
from kith.keyprotect.passphrase import new_params
from kith_proto.ids import format_id
from kith_proto.keys import IdentityKeys

CHEAP = new_params(memory_kib=1024, time_cost=1)
PEER = IdentityKeys(bytes(range(32))).kith_id


def _sealed(data: bytes = b"hello") -> bytes:
    return container.seal(data, "pw", CHEAP)


def test_seal_round_trip() -> None:
    assert container.open_sealed(_sealed(), "pw") == b"hello"


def test_wrong_password_is_a_clear_error() -> None:
    with pytest.raises(BackupError, match="wrong password") as info:
        container.open_sealed(_sealed(), "nope")
    assert info.value.code == "backup_auth"


@pytest.mark.parametrize("offset", [12, 30, 45, container.HEADER_SIZE + 1, -1])
def test_any_flipped_byte_after_the_magic_is_detected(offset: int) -> None:
    data = bytearray(_sealed())
    data[offset] ^= 0x01
    with pytest.raises(BackupError):
        container.open_sealed(bytes(data), "pw")


def test_a_backup_with_files_opens_its_payload_and_its_chunks() -> None:
    prefix, seal = container.seal_with_files(b"hello", "pw", CHEAP)
    record = seal.seal(0, "a" * 32, 1, b"chunk")
    data, opened, start = container.open_prefix(_read(prefix + record), "pw")

    assert (data, start) == (b"hello", len(prefix))
    assert opened is not None
    assert opened.open(0, "a" * 32, 1, record) == b"chunk"


@pytest.mark.parametrize(
    ("position", "file_id", "index", "flip"),
    [
        (1, "a" * 32, 1, False),
        (0, "b" * 32, 1, False),
        (0, "a" * 32, 0, False),
        (0, "a" * 32, 1, True),
    ],
    ids=["other-file-position", "other-file-id", "other-index", "flipped-byte"],
)
def test_a_chunk_moved_or_altered_does_not_open(
    position: int, file_id: str, index: int, flip: bool
) -> None:
    prefix, seal = container.seal_with_files(b"hello", "pw", CHEAP)
    record = bytearray(seal.seal(0, "a" * 32, 1, b"chunk"))
    if flip:
        record[2] ^= 0x01
    _, opened, _ = container.open_prefix(_read(prefix), "pw")

    assert opened is not None
    assert opened.open(position, file_id, index, bytes(record)) is None


def test_a_chunk_of_another_backup_does_not_open() -> None:
    _, seal = container.seal_with_files(b"hello", "pw", CHEAP)
    other, _ = container.seal_with_files(b"hello", "pw", CHEAP)
    _, opened, _ = container.open_prefix(_read(other), "pw")

    assert opened is not None
    assert opened.open(0, "a" * 32, 0, seal.seal(0, "a" * 32, 0, b"chunk")) is None


def _read(data: bytes) -> Callable[[int], bytes]:
    return io.BytesIO(data).read


def test_bad_magic_is_not_a_backup() -> None:
    data = b"NOTABACK" + _sealed()[8:]
    with pytest.raises(BackupError, match="signature") as info:
        container.open_sealed(data, "pw")
    assert info.value.code == "backup_damaged"


@pytest.mark.parametrize("size", [0, 10, container.HEADER_SIZE, container.HEADER_SIZE + 15])
def test_truncated_file_is_a_clear_error(size: int) -> None:
    with pytest.raises(BackupError, match="too short"):
        container.open_sealed(_sealed()[:size], "pw")


def test_newer_format_version_is_refused_clearly() -> None:
    data = bytearray(_sealed())
    data[8:10] = struct.pack(">H", 3)
    with pytest.raises(BackupError, match="version 3") as info:
        container.open_sealed(bytes(data), "pw")
    assert info.value.code == "backup_version"


def test_out_of_range_kdf_cost_is_refused_without_running_it() -> None:
    data = bytearray(_sealed())
    data[12:16] = struct.pack(">I", 0xFFFFFFFF)
    with pytest.raises(BackupError, match="out of range"):
        container.open_sealed(bytes(data), "pw")


def _payload(**changes: object) -> BackupPayload:
    fields: dict[str, object] = {
        "version": 1,
        "seed": bytes(32),
        "name": "alice",
        "created_at": 1.0,
        "contacts": [ContactRecord(PEER, "bob", True, 2.0)],
        "settings": {"user_status": "busy"},
    }
    fields.update(changes)
    return BackupPayload(**fields)  # type: ignore[arg-type]


def test_payload_round_trip() -> None:
    original = _payload()
    assert payload.decode(payload.encode(original)) == original


def test_payload_repr_hides_the_seed() -> None:
    assert "seed" not in repr(_payload())


@pytest.mark.parametrize(
    "changes",
    [
        {"seed": bytes(31)},
        {"version": 2},
        {"contacts": [ContactRecord("abc", None, False, 0.0)]},
        {"contacts": [ContactRecord(PEER, None, False, 0.0)] * 2},
        {"contacts": [ContactRecord(format_id(bytes(32)), None, False, 0.0)]},
        {"settings": {"colour": "red"}},
        {"settings": {"user_status": "sleepy"}},
    ],
)
def test_invalid_payloads_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(BackupError, match="invalid"):
        payload.decode(payload.encode(_payload(**changes)))


@pytest.mark.parametrize(
    "data",
    [b"[1, 2, 3]", b'{"version": "\xff"}', b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}"],
    ids=["wrong-shape", "bad-utf8", "deep-nesting"],
)
def test_unparseable_payload_is_refused(data: bytes) -> None:
    with pytest.raises(BackupError):
        payload.decode(data)
