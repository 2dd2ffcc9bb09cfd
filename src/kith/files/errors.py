"""Errors of file transfer: a local action refused versus a peer's bad frame."""

from __future__ import annotations

from kith.errors import KithError

__all__ = [
    "FileTransferError",
    "InvalidFile",
    "MalformedFileFrame",
    "UnknownTransfer",
]


class FileTransferError(KithError):
    """Base of every error of :mod:`kith.files`."""

    code = "file_transfer_error"


class InvalidFile(FileTransferError):
    """A path that is missing, unreadable, a directory, or a file out of bounds."""

    code = "invalid_file"


class UnknownTransfer(FileTransferError):
    """No transfer with that ID."""

    code = "unknown_transfer"


class MalformedFileFrame(FileTransferError):
    """A file frame from the peer that does not decode or breaks a bound."""

    code = "malformed_file_frame"
