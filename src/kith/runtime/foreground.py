"""Running the node in the foreground (``kith run``): logging, signals, one line to stdout."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable

from kith.datadir import DataDir
from kith.node import Node, NodeOptions
from kith.node_lock import NodeLock
from kith.passphrases import PassphraseSource
from kith.runtime.gc_settings import settle_startup_heap
from kith.runtime.runtime_file import RuntimeInfo

__all__ = ["run_foreground"]


def _logger(verbose: bool) -> logging.Logger:
    log = logging.getLogger("kith.node")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s kith: %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False
    return log


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows
            loop.add_signal_handler(sig, stop.set)


async def run_foreground(
    data_dir: DataDir,
    passphrases: PassphraseSource,
    options: NodeOptions,
    verbose: bool,
    on_ready: Callable[[RuntimeInfo], Awaitable[None]] | None = None,
) -> int:
    """Start the node, print the API URL, wait for SIGINT/SIGTERM, stop cleanly.

    The data directory stays locked (:class:`~kith.node_lock.NodeLock`) while
    the node runs, so a second node on it refuses to start.

    ``on_ready`` runs once the API listens (``kith run`` shows the UI link).
    """
    log = _logger(verbose)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    with contextlib.ExitStack() as held:
        if data_dir.is_initialised():  # else Node.start says how to create one
            held.enter_context(await asyncio.to_thread(NodeLock.acquire, data_dir.path))
        node = await Node.start(data_dir, passphrases, options, log)
        try:
            print(f"Kith node running; local API at {node.runtime.base_url}/api", flush=True)
            log.info("event loop: %s", _loop_name(asyncio.get_running_loop()))
            settle_startup_heap(log)
            if on_ready is not None:
                await on_ready(node.runtime)
            await stop.wait()
            log.info("stopping: telling contacts you are offline")
        finally:
            await node.stop()
    return 0


def _loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """``uvloop`` or ``asyncio``: the package the running loop comes from."""
    return type(loop).__module__.partition(".")[0]
