"""What every command needs: the data directory and the backend.

This is the one place that chooses the backend: the running node's local API
(:class:`kith.api.client.NodeBackend`) when the runtime file names a node
that answers, so changes take effect live; otherwise the database
(:class:`kith.direct.DirectBackend`). A stale runtime file falls back to the
database.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from kith.datadir import DataDir

if TYPE_CHECKING:
    from kith.backend import Backend
    from kith.passphrases import PassphraseSource

__all__ = ["CliContext"]

T = TypeVar("T")


@dataclass(frozen=True)
class CliContext:
    """The parsed global options."""

    data_dir: DataDir

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CliContext:
        """Resolve ``--data-dir`` / ``KITH_HOME`` / the platform default."""
        return cls(DataDir.resolve(args.data_dir))

    def passphrases(self) -> PassphraseSource:
        """``KITH_PASSPHRASE`` or a terminal prompt."""
        from kith.passphrases import EnvOrPrompt

        return EnvOrPrompt()

    def backend(self) -> Backend:
        """The running node's API if one answers, else the database."""
        from kith.api.client import find_node

        node = find_node(self.data_dir.path)
        if node is not None:
            return node
        from kith.account import open_store
        from kith.direct import DirectBackend

        return DirectBackend(open_store(self.data_dir, self.passphrases()))

    def with_backend(self, action: Callable[[Backend], T]) -> T:
        """Run ``action`` on the chosen backend and close it afterwards."""
        backend = self.backend()
        try:
            return action(backend)
        finally:
            backend.close()
