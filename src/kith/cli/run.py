"""``kith run``: run the node in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
from functools import partial
from typing import TYPE_CHECKING, Any

from kith.cli.context import CliContext

if TYPE_CHECKING:
    from kith.runtime.runtime_file import RuntimeInfo

__all__ = ["register"]


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= 300:
        raise argparse.ArgumentTypeError("must be > 0 and <= 300 seconds")
    return value


def register(commands: Any) -> None:
    """Add the ``run`` command."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "run", help="run the node: presence, the local API (Ctrl-C stops it)"
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="do not open the web UI in a browser"
    )
    parser.add_argument(
        "--heartbeat-interval",
        type=_seconds,
        default=10.0,
        metavar="S",
        help="seconds between pings to the signaling server (default 10)",
    )
    parser.add_argument(
        "--heartbeat-timeout",
        type=_seconds,
        default=10.0,
        metavar="S",
        help="seconds without a pong before reconnecting (default 10)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log presence details")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    """Run the node until a stop signal; exit 0 after a clean stop."""
    import asyncio

    from kith.node import NodeOptions
    from kith.runtime.foreground import run_foreground

    options = NodeOptions(
        heartbeat_interval=args.heartbeat_interval, heartbeat_timeout=args.heartbeat_timeout
    )
    return asyncio.run(
        run_foreground(
            ctx.data_dir,
            ctx.passphrases(),
            options,
            args.verbose,
            on_ready=partial(_show_ui, browser=not args.no_browser),
        )
    )


async def _show_ui(info: RuntimeInfo, *, browser: bool) -> None:
    """Print the UI's one-time sign-in link on a line of its own; open the browser."""
    import asyncio

    from kith.cli.open import announce, new_login_url

    url = await asyncio.to_thread(new_login_url, info)
    await asyncio.to_thread(announce, url, browser=browser)
