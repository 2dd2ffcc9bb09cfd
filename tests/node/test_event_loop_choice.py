"""``kith run --loop``: nodes on uvloop and on asyncio's own loop talk to each
other (real ``kith-signal``, real nodes, real WebRTC); a loop that cannot be
used is a usage error before anything starts."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kith.api.client import NodeBackend
from kith_testkit.chat_world import ChatWorld
from kith_testkit.nodes import kith, python
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow

BURST = 60


def test_a_node_on_each_loop_exchange_a_burst_in_order(world: ChatWorld) -> None:
    (a,) = world.start("a", flags=("--loop", "asyncio"))
    (b,) = world.start("b")  # auto: uvloop, a dependency here
    wait_for(lambda: any("event loop: asyncio" in line for line in a.lines) or None, "a's loop")
    wait_for(lambda: any("event loop: uvloop" in line for line in b.lines) or None, "b's loop")
    world.online("a", "b")
    texts = [f"burst {i:02d}" for i in range(BURST)]
    senders = [NodeBackend(a.info) for _ in range(4)]  # requests in flight at once

    def send(api: NodeBackend, part: list[str]) -> None:
        for text in part:
            api.send_message(world.ids["b"], text)

    parts = [texts[i::4] for i in range(4)]
    pairs = zip(senders, parts, strict=True)
    threads = [threading.Thread(target=send, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for api in senders:
        api.close()
    sent = [m.text for m in world.history("a", "b")]
    got = world.wait_history("b", "a", lambda ms: len(ms) == BURST, "b to get the burst", 60)
    assert [m.text for m in got] == sent  # in the sender's order, each once
    world.wait_history(
        "a", "b", lambda ms: all(m.state == "delivered" for m in ms), "every receipt", 60
    )
    b.api.send_message(world.ids["a"], "all here")
    world.wait_history("a", "b", lambda ms: ms[-1].text == "all here", "the answer")


def test_an_unknown_loop_is_a_usage_error(tmp_path: Path) -> None:
    result = kith(tmp_path / "nobody", "run", "--no-browser", "--loop", "trio")
    assert result.returncode == 2
    assert "invalid choice: 'trio'" in result.stderr
    assert not (tmp_path / "nobody").exists()  # refused before anything was made


def test_uvloop_insisted_on_where_it_cannot_be_imported_is_a_usage_error(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['uvloop'] = None\n"  # as on a system without it
        "from kith.cli.main import main\n"
        f"sys.exit(main(['--data-dir', {str(tmp_path / 'n')!r}, 'run', '--loop', 'uvloop']))"
    )
    result = python("-c", code)
    assert result.returncode == 2, result.stderr
    assert "uvloop is not installed" in result.stderr
    assert not (tmp_path / "n").exists()
