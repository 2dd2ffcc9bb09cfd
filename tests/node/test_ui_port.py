"""The web UI keeps one port across restarts (the ui_port setting), with a fallback."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from kith.account import open_store
from kith.datadir import DataDir
from kith.node import Node, NodeOptions
from kith.passphrases import FixedPassphrase
from kith_testkit.nodes import PASSPHRASE, make_identity

UNREACHABLE = "ws://127.0.0.1:9"
LOG = logging.getLogger("test.ui_port")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "alice"
    make_identity(path, "alice", UNREACHABLE)
    return path


async def _port_of_one_run(home: Path) -> int:
    node = await Node.start(DataDir(home), FixedPassphrase(PASSPHRASE), NodeOptions(), LOG)
    try:
        return node.runtime.port
    finally:
        await node.stop()


def _stored_port(home: Path) -> object:
    with open_store(DataDir(home), FixedPassphrase(PASSPHRASE)) as store:
        return store.settings.get("ui_port")


async def test_the_first_run_chooses_a_port_and_keeps_it(home: Path) -> None:
    first = await _port_of_one_run(home)
    assert _stored_port(home) == first
    assert await _port_of_one_run(home) == first


async def test_a_taken_port_falls_back_to_a_free_one_and_says_so(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chosen = await _port_of_one_run(home)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", chosen))
        squatter.listen()
        with caplog.at_level(logging.WARNING, logger=LOG.name):
            elsewhere = await _port_of_one_run(home)
    assert elsewhere != chosen
    assert any(f"the UI port {chosen} is taken" in r.getMessage() for r in caplog.records)
    assert _stored_port(home) == chosen  # the setting keeps the user's port
    assert await _port_of_one_run(home) == chosen


async def test_an_explicit_port_zero_still_picks_a_free_one_each_run(home: Path) -> None:
    options = NodeOptions(api_port=0)
    node = await Node.start(DataDir(home), FixedPassphrase(PASSPHRASE), options, LOG)
    await node.stop()
    assert _stored_port(home) == 0
