"""``kith run``: run the node in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from kith.cli.context import CliContext
from kith_proto.event_loop import LOOP_CHOICES

if TYPE_CHECKING:
    from kith.runtime.runtime_file import RuntimeInfo

__all__ = ["register"]

SESSION_IDLE_MINUTES: Final = 720.0  # kith.api.access.SESSION_IDLE_TIMEOUT / 60
MAX_SESSION_IDLE_MINUTES: Final = 7 * 24 * 60


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= 300:
        raise argparse.ArgumentTypeError("must be > 0 and <= 300 seconds")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 1_000_000:
        raise argparse.ArgumentTypeError("must be > 0 and <= 1000000")
    return value


def _mebibytes(text: str) -> int:
    if not text.isdigit() or int(text) > 1_000_000_000:
        raise argparse.ArgumentTypeError("must be a whole number of MiB")
    return int(text)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("must be from 1 to 1000000")
    return value


def _inbound(args: argparse.Namespace) -> dict[str, Any]:
    """The inbound limit flags given (the node's defaults otherwise)."""
    given = {"inbound_rate": args.inbound_rate, "inbound_burst": args.inbound_burst}
    return {key: value for key, value in given.items() if value is not None}


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of minutes: {text!r}") from None
    if not 0 < value <= MAX_SESSION_IDLE_MINUTES:
        raise argparse.ArgumentTypeError(
            f"must be > 0 and <= {MAX_SESSION_IDLE_MINUTES} minutes (a week)"
        )
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
    parser.add_argument(
        "--reconnect-max",
        type=_seconds,
        default=30.0,
        metavar="S",
        help="longest wait between attempts to reach the signaling server while it is "
        "unreachable (default 30; each wait is random, up to a bound that doubles from 0.5)",
    )
    parser.add_argument(
        "--session-idle-minutes",
        type=_minutes,
        default=SESSION_IDLE_MINUTES,
        metavar="M",
        help=f"minutes without a request after which a browser session ends "
        f"(default {SESSION_IDLE_MINUTES:g}, 12 hours)",
    )
    parser.add_argument(
        "--inbound-rate",
        type=_positive,
        metavar="N",
        help="chat messages per second one contact may send, sustained (default 200; "
        "what comes faster is taken later, nothing is lost)",
    )
    parser.add_argument(
        "--inbound-burst",
        type=_count,
        metavar="N",
        help="chat messages one contact may send at once (default 1000)",
    )
    parser.add_argument(
        "--mailbox-poll",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="how often to fetch the mailboxes of contacts who look offline (an invisible "
        "contact's messages arrive within this; default 60)",
    )
    parser.add_argument(
        "--file-reserve",
        type=_mebibytes,
        default=64,
        metavar="MIB",
        help="free disk space a received file must leave; a larger file is refused before "
        "it is sent (default 64)",
    )
    parser.add_argument(
        "--loop",
        choices=LOOP_CHOICES,
        default="auto",
        help="event loop: uvloop when it can be imported (auto, less CPU per message), "
        "or the one asked for",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log presence details")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    """Run the node until a stop signal; exit 0 after a clean stop (2: the
    event loop asked for cannot be used here)."""
    import asyncio
    import sys

    from kith.node import NodeOptions
    from kith.runtime.foreground import run_foreground
    from kith.signin_page import remove_signin_pages
    from kith_proto.event_loop import LoopUnavailableError, choose_loop

    try:
        loop = choose_loop(args.loop)
    except LoopUnavailableError as exc:
        print(f"kith run: error: {exc}", file=sys.stderr)
        return 2

    options = NodeOptions(
        heartbeat_interval=args.heartbeat_interval,
        heartbeat_timeout=args.heartbeat_timeout,
        reconnect_max=args.reconnect_max,
        session_idle_timeout=args.session_idle_minutes * 60,
        mailbox_poll=args.mailbox_poll,
        file_reserve=args.file_reserve * 1024 * 1024,
        **_inbound(args),
    )
    show_ui = partial(_show_ui, data_dir=ctx.data_dir.path, browser=not args.no_browser)
    try:
        with asyncio.Runner(loop_factory=loop.factory) as runner:
            return runner.run(
                run_foreground(ctx.data_dir, ctx.passphrases(), options, args.verbose, show_ui)
            )
    finally:
        remove_signin_pages(ctx.data_dir.path)


async def _show_ui(info: RuntimeInfo, *, data_dir: Path, browser: bool) -> None:
    """Print the UI's one-time sign-in link on a line of its own; open the browser.

    The browser's sign-in page is removed once its code has expired.
    """
    import asyncio
    import time

    from kith.cli.open import announce, new_login_url
    from kith.signin_page import PAGE_LIFETIME, sweep_signin_pages

    url = await asyncio.to_thread(new_login_url, info)
    await asyncio.to_thread(announce, url, data_dir, browser=browser)
    expired = partial(sweep_signin_pages, data_dir)
    asyncio.get_running_loop().call_later(PAGE_LIFETIME + 1, lambda: expired(time.time()))
