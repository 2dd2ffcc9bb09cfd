"""The owner-only local page that hands a sign-in link to the browser.

A browser started with a URL on its command line shows that URL to every
local user (``/proc/PID/cmdline`` is world-readable), who could redeem the
one-time code first. So ``kith run``, ``kith open`` and ``kith demo`` write
the link into a small HTML file only the owner can read (0600, in the data
directory's ``signin`` folder, 0700) and start the browser on that file; the
page forwards to the link at once, as Jupyter does. The link carries the code
in its fragment, which the browser never sends to a server.

Pages are short-lived: every page older than a sign-in code's lifetime is
removed whenever a new page is written, and ``kith run`` removes the folder
when the node stops.
"""

from __future__ import annotations

import contextlib
import html
import secrets
from pathlib import Path
from typing import Final

from kith.api.access import LOGIN_CODE_TTL
from kith.private_files import write_private

__all__ = [
    "PAGE_LIFETIME",
    "SIGNIN_FOLDER",
    "remove_signin_pages",
    "render_page",
    "sweep_signin_pages",
    "write_signin_page",
]

SIGNIN_FOLDER: Final = "signin"
PAGE_LIFETIME: Final = LOGIN_CODE_TTL
_PAGE: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="0;url={url}">
<meta name="referrer" content="no-referrer">
<title>Kith: opening</title></head>
<body><p>Opening Kith… If nothing happens, <a href="{url}">follow this link</a>.</p></body></html>
"""


def render_page(url: str) -> bytes:
    """The page that forwards the browser to ``url`` (pure)."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("a sign-in page only forwards to the local node")
    return _PAGE.format(url=html.escape(url, quote=True)).encode("utf-8")


def _folder(data_dir: Path) -> Path:
    folder = data_dir / SIGNIN_FOLDER
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def write_signin_page(data_dir: Path, url: str, now: float) -> Path:
    """Write a fresh owner-only page forwarding to ``url``; return its path.

    Pages older than :data:`PAGE_LIFETIME` (their codes have expired) go first.
    """
    data = render_page(url)
    sweep_signin_pages(data_dir, now)
    page = _folder(data_dir) / f"signin-{secrets.token_hex(8)}.html"
    write_private(page, data)
    return page


def sweep_signin_pages(data_dir: Path, now: float) -> None:
    """Remove the pages written more than :data:`PAGE_LIFETIME` seconds before ``now``."""
    folder = data_dir / SIGNIN_FOLDER
    if not folder.is_dir():
        return
    for page in folder.glob("*.html"):
        with contextlib.suppress(FileNotFoundError):
            if now - page.stat().st_mtime > PAGE_LIFETIME:
                page.unlink()


def remove_signin_pages(data_dir: Path) -> None:
    """Remove every page and the folder (the node stopped: their codes are dead)."""
    folder = data_dir / SIGNIN_FOLDER
    if not folder.is_dir():
        return
    for page in folder.iterdir():
        with contextlib.suppress(FileNotFoundError):
            page.unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()
