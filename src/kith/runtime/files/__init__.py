"""File transfers at run time: :class:`FileTransfers` drives the pure machines of
:mod:`kith.files` over the chat peers' secure channels (``transfers``), one
:class:`SerialLane` per contact keeps each contact's steps in order (``lane``),
and :class:`FileService` is what the local API offers (``service``)."""

from kith.runtime.files.lane import SerialLane
from kith.runtime.files.service import FileService
from kith.runtime.files.transfers import FilePeer, FileTransfers, FileView

__all__ = ["FilePeer", "FileService", "FileTransfers", "FileView", "SerialLane"]
