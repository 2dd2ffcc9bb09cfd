"""``kith open``: a fresh one-time sign-in link to the running node's web UI.

Also the helpers ``kith run`` uses to show its link: :func:`new_login_url`
asks the node for a login code (with the per-run token of the runtime file),
:func:`announce` prints the link on a line of its own and opens the browser.
The browser is started on an owner-only local page that forwards to the link
(:mod:`kith.signin_page`), never on the link itself: a command line is
readable by every local user, and so is a process's environment to root.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Final

from kith.cli.context import CliContext
from kith.runtime.runtime_file import RuntimeInfo

__all__ = ["announce", "new_login_url", "open_browser", "register"]

TIMEOUT: Final = 5.0


def register(commands: Any) -> None:
    """Add the ``open`` command."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "open", help="print (and open) a one-time sign-in link to the running node's web UI"
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="only print the link; do not open a browser"
    )
    parser.set_defaults(handler=run)


def new_login_url(info: RuntimeInfo) -> str:
    """A fresh one-time login URL from the node described by ``info``.

    Raises:
        KithError: The node does not answer or refuses.
    """
    from kith.errors import KithError

    conn = http.client.HTTPConnection(info.host, info.port, timeout=TIMEOUT)
    headers = {"Authorization": f"Bearer {info.token}", "Accept": "application/json"}
    try:
        conn.request("POST", "/api/login-codes", headers=headers)
        response = conn.getresponse()
        body = json.loads(response.read() or b"null")
    except (OSError, ValueError, http.client.HTTPException):
        raise KithError("the running node did not answer", code="node_unreachable") from None
    finally:
        conn.close()
    if response.status != 201 or not isinstance(body, dict) or "url" not in body:
        raise KithError("the running node refused to make a sign-in link", code="node_error")
    return str(body["url"])


def _has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_browser(url: str, data_dir: Path) -> bool:
    """Open the sign-in link ``url`` in the default graphical browser; False when there is none.

    The browser gets the path of an owner-only page in ``data_dir`` that
    forwards to ``url``, so the link is in no command line. Without a
    display, text-mode browsers are not tried: they would take over the
    terminal the node runs in.
    """
    import webbrowser

    from kith.signin_page import write_signin_page

    if not _has_display():
        return False
    page = write_signin_page(data_dir, url, time.time())
    try:
        return webbrowser.open(page.as_uri(), new=2)
    except webbrowser.Error:
        return False


def announce(url: str, data_dir: Path, *, browser: bool) -> None:
    """Print the sign-in link on a line of its own; open it unless told not to."""
    print("Open Kith in your browser with this one-time link (`kith open` makes another):")
    print(f"\n    {url}\n", flush=True)
    if browser and not open_browser(url, data_dir):
        print("(no graphical browser found: copy the link above into one)", flush=True)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    """Print a fresh sign-in link for the node running on the data directory."""
    from kith.api.client import find_node
    from kith.errors import KithError
    from kith.runtime.runtime_file import read_runtime

    node = find_node(ctx.data_dir.path)
    info = read_runtime(ctx.data_dir.path)
    if node is None or info is None:
        raise KithError(
            f"no node is running for {ctx.data_dir.path}: start it with `kith run`",
            code="not_running",
        )
    node.close()
    announce(new_login_url(info), ctx.data_dir.path, browser=not args.no_browser)
    return 0
