"""Files between contacts through a running node's local API, for tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kith_testkit.node_api import call
from kith_testkit.nodes import NodeProcess
from kith_testkit.polling import wait_for

FileInfo = dict[str, Any]


def send_file(node: NodeProcess, contact: str, path: Path, caption: str = "") -> dict[str, Any]:
    """Send the file at ``path`` to ``contact``: the response (``file``, ``message``)."""
    body = {"path": str(path), "caption": caption}
    status, sent = call(node, "POST", f"/api/contacts/{contact}/files", body)
    assert status == 201, sent
    result: dict[str, Any] = sent
    return result


def file_info(node: NodeProcess, file_id: str) -> FileInfo | None:
    """The transfer as the node shows it, or None while it has none by that ID."""
    status, body = call(node, "GET", f"/api/files/{file_id}")
    return body if status == 200 else None


def wait_file(
    node: NodeProcess,
    file_id: str,
    check: Callable[[FileInfo], bool],
    what: str,
    timeout: float = 60,
) -> FileInfo:
    """Wait until the node has the transfer and ``check`` accepts it."""

    def probe() -> FileInfo | None:
        found = file_info(node, file_id)
        return found if found is not None and check(found) else None

    return wait_for(probe, what, timeout)
