"""The URL clients dial and sign for, and why a wildcard bind address needs one.

A client signs the exact URL it dialled; the server accepts only its public
URL. Bound to a wildcard address (``0.0.0.0``, ``::``), the server cannot know
which of the machine's names or addresses clients use, so it is told.
"""

from __future__ import annotations

import ipaddress

__all__ = ["is_wildcard", "wildcard_message"]


def is_wildcard(host: str) -> bool:
    """Whether binding ``host`` listens on every address (``0.0.0.0``, ``::``, empty)."""
    if host.strip() in ("", "*"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def wildcard_message(host: str, port: int) -> str:
    """Why ``--host HOST`` without ``--public-url`` is refused, and what to run instead."""
    shown = port if port else "PORT"
    return (
        f"--host {host} listens on every address, so the URL clients dial cannot be "
        f"guessed (they sign it, and a node dialling ws://0.0.0.0 reaches nothing); "
        f"add --public-url with the URL your users dial, e.g. "
        f"--public-url ws://signal.example.org:{shown} (wss:// behind TLS); see docs/deploy.md"
    )
