"""File transfer, pure: names, frames and the transfer state machine.

No I/O here: :mod:`kith.store.files` keeps the metadata and the encrypted
bytes, :mod:`kith.runtime.files` drives transfers over the peers' channels.
"""

from kith.files.errors import FileTransferError, InvalidFile, MalformedFileFrame, UnknownTransfer
from kith.files.frames import (
    CHUNK_SIZE,
    Accept,
    Ack,
    Cancel,
    Chunk,
    Done,
    FileFrame,
    Offer,
    chunk_count,
    decode_file_frame,
    encode_file_frame,
    is_file_frame,
)
from kith.files.names import sanitise_name
from kith.files.transfer import (
    Action,
    Discard,
    Incoming,
    Outgoing,
    SendChunks,
    SendFrame,
    StoreChunk,
    TransferState,
    Verify,
)

__all__ = [
    "CHUNK_SIZE",
    "Accept",
    "Ack",
    "Action",
    "Cancel",
    "Chunk",
    "Discard",
    "Done",
    "FileFrame",
    "FileTransferError",
    "Incoming",
    "InvalidFile",
    "MalformedFileFrame",
    "Offer",
    "Outgoing",
    "SendChunks",
    "SendFrame",
    "StoreChunk",
    "TransferState",
    "UnknownTransfer",
    "Verify",
    "chunk_count",
    "decode_file_frame",
    "encode_file_frame",
    "is_file_frame",
    "sanitise_name",
]
