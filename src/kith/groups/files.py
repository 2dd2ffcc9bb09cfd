"""A file in a group (pure): what the sealed post says of it, and each member's transfer.

A group file message is a :class:`~kith.groups.frames.Post` whose optional
``file`` is a :class:`GroupFile` (name, size, SHA-256): it is sealed with the
sender's chain like any post, so every member stores it in the same order, with
the same receipts, edits and deletes. The bytes do not ride in the group: the
sender offers them to each member over their pair session with the 1:1 transfer
machinery (:mod:`kith.files`), one transfer per member, each resumed on its own.
Each member's transfer has its own ID, :func:`transfer_id` of the message, the
sender and the member, so both ends derive it without another frame and a member
links the offer to the post it belongs to.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

import msgspec

from kith.files.frames import MAX_FILE_SIZE, MAX_NAME_LENGTH

__all__ = ["GroupFile", "check_group_file", "transfer_id"]

_SHA256: Final = re.compile(r"[0-9a-f]{64}")
_LABEL: Final = b"kith group file transfer\x00"


class GroupFile(msgspec.Struct, frozen=True, array_like=True):
    """What a group post says of the file it carries (the offer must match it)."""

    name: str
    size: int
    sha256: str


def check_group_file(file: GroupFile) -> str | None:
    """Why a post's file is out of bounds (None: it is not); the bounds of an offer."""
    if not 1 <= len(file.name) <= MAX_NAME_LENGTH:
        return f"a file name is 1 to {MAX_NAME_LENGTH} characters"
    if not 0 <= file.size <= MAX_FILE_SIZE:
        return "a file is at most 1 TiB"
    if not _SHA256.fullmatch(file.sha256):
        return "a file's SHA-256 is 64 lowercase hex digits"
    return None


def transfer_id(message_id: str, sender_id: str, member_id: str) -> str:
    """The ID of the transfer of group message ``message_id``'s file from its sender to
    one member (32 lowercase hex digits, like every transfer ID)."""
    digest = hashlib.sha256(
        _LABEL + b"\x00".join(p.encode() for p in (message_id, sender_id, member_id))
    )
    return digest.hexdigest()[:32]
