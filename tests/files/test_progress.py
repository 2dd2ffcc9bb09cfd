"""The progress bar of ``kith send --file`` on a terminal (quiet elsewhere)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from kith.cli.files import progress_bar
from kith_testkit.chat_world import ChatWorld
from kith_testkit.nodes import kith, kith_env, ok


@pytest.mark.parametrize(
    ("done", "size", "line"),
    [
        (0, 8 << 20, "[------------------------------]   0%  0 bytes of 8.0 MiB  sending  "),
        (4 << 20, 8 << 20, "[###############---------------]  50%  4.0 MiB of 8.0 MiB  sending  "),
        (8 << 20, 8 << 20, "[##############################] 100%  8.0 MiB of 8.0 MiB  sending  "),
        (0, 0, "[##############################] 100%  0 bytes of 0 bytes  sending  "),
    ],
)
def test_the_bar_shows_the_fraction_done(done: int, size: int, line: str) -> None:
    assert progress_bar(done, size, "sending") == line
    assert len(line) <= 80


def test_more_than_the_size_never_overflows_the_bar() -> None:
    assert progress_bar(9, 8, "sending").startswith("[" + "#" * 30 + "] 100%")


@pytest.mark.slow
def test_send_on_a_terminal_follows_the_transfer_to_the_end(
    world: ChatWorld, tmp_path: Path
) -> None:
    a, _ = world.start("a", "b")
    world.online("a", "b")
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(4 << 20))
    primary, secondary = pty.openpty()
    command = [sys.executable, "-m", "kith.cli.main", "--data-dir", str(a.data_dir)]
    proc = subprocess.Popen(
        [*command, "send", "b", "--file", str(source)],
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=subprocess.PIPE,
        env=kith_env(),
    )
    os.close(secondary)
    output = b""
    while select.select([primary], [], [], 60)[0]:  # bounded: a hung CLI fails the test
        try:
            data = os.read(primary, 4096)
        except OSError:  # the terminal closed: the process is done
            break
        if not data:
            break
        output += data
    os.close(primary)
    assert proc.wait(60) == 0
    text = output.decode()
    assert "Sending big.bin" in text
    assert "100%  4.0 MiB of 4.0 MiB  received" in text
    # not on a terminal: one line and back at once
    piped = ok(kith(a.data_dir, "send", "b", "--file", str(source)))
    assert piped.count("\n") == 1
    assert "%" not in piped
