"""A :class:`ChatWorld` whose ``kith-signal`` keeps the sealed offline mailbox, and a
look at the items it stores (for tests that tamper with them or wait for acks)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kith_testkit.chat_world import SERVER_FLAGS, ChatWorld
from kith_testkit.polling import WAIT, wait_for
from kith_testkit.signal.process import SignalProcess


def mailbox_file(root: Path) -> Path:
    """The server's mailbox database under the world's ``root``."""
    return root / "server" / "mailbox.sqlite3"


def _server_flags(root: Path) -> tuple[str, ...]:
    return ("--data-dir", str(root / "server"))


@contextmanager
def mailbox_world(root: Path, names: str = "ab") -> Iterator[ChatWorld]:
    """Users who are mutual contacts and a server with its data (the mailbox) in
    ``root / "server"``; every process stopped on the way out."""
    world = ChatWorld(root, names, server_flags=_server_flags(root))
    try:
        yield world
    finally:
        world.close()


def serve_again(world: ChatWorld, root: Path, port: int) -> None:
    """Start the world's server again (after ``world.server.stop()``) on ``port``,
    with the mailbox it kept."""
    world.server = SignalProcess(*SERVER_FLAGS, *_server_flags(root), "--port", str(port))


def item_ids(root: Path) -> set[int]:
    """The IDs of the items the mailbox holds now."""
    with sqlite3.connect(mailbox_file(root)) as db:
        return {int(row[0]) for row in db.execute("SELECT id FROM items")}


def wait_items(root: Path, count: int, timeout: float = WAIT) -> set[int]:
    """Wait until the mailbox holds at least ``count`` items: their IDs."""
    return wait_for(
        lambda: ids if len(ids := item_ids(root)) >= count else None,
        f"{count} items stored",
        timeout,
    )
