"""One default port: ``kith-signal`` listens where the node's default URL points.

The server's CLI and options, the ``signaling_url`` default and every mention
of the signaling server's address in README.md and docs/*.md must name
:data:`kith_proto.DEFAULT_SIGNAL_PORT`. The node's own local API (and its
UI), which take a free port per run, are ``http://`` URLs with other paths
and are not checked.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import pytest

from kith.settings import definition
from kith_proto import DEFAULT_SIGNAL_PORT
from kith_signal.cli import parse_args
from kith_signal.server import ServerOptions

ROOT: Final = Path(__file__).resolve().parents[2]
DOCUMENTS: Final = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Mentions of the signaling server's port in prose and examples.
MENTIONS: Final = (
    re.compile(r"\bwss?://[^\s/`'\"]+:(\d+)"),  # a WebSocket URL with a port
    re.compile(r"\bhttps?://[^\s/`'\"]+:(\d+)/(?:healthz|metrics)\b"),  # its HTTP endpoints
    re.compile(r"--port[ =](\d+)"),  # a kith-signal command line
    # a listening log line, or prose ("port 8765"); not coturn's "listening-port=3478"
    re.compile(r"(?<![-\w])port[ =](\d+)"),
)
# Ports that deliberately differ from the default, and why.
OTHER_PORTS: Final = {
    0: "--port 0 asks for a free port",
    443: "a public server with TLS on the standard HTTPS port",
    8766: "the second process of a cluster on the same machine (docs/deploy.md)",
}


def _mentions() -> list[tuple[str, int, str]]:
    found = []
    for document in DOCUMENTS:
        for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), 1):
            for pattern in MENTIONS:
                for match in pattern.finditer(line):
                    where = f"{document.relative_to(ROOT)}:{number}"
                    found.append((where, int(match.group(1)), line.strip()))
    return found


def test_the_server_cli_listens_on_the_default_port() -> None:
    assert parse_args([]).port == DEFAULT_SIGNAL_PORT


def test_the_server_options_default_to_the_default_port() -> None:
    assert ServerOptions().port == DEFAULT_SIGNAL_PORT


def test_the_nodes_default_signaling_url_names_the_default_port() -> None:
    url = urlsplit(str(definition("signaling_url").default))
    assert (url.scheme, url.hostname, url.port) == ("ws", "127.0.0.1", DEFAULT_SIGNAL_PORT)


def test_the_documents_mention_the_signaling_server() -> None:
    ports = {port for _, port, _ in _mentions()}
    assert DEFAULT_SIGNAL_PORT in ports


@pytest.mark.parametrize(("where", "port", "line"), _mentions(), ids=[m[0] for m in _mentions()])
def test_every_documented_signaling_port_is_the_default(where: str, port: int, line: str) -> None:
    assert port == DEFAULT_SIGNAL_PORT or port in OTHER_PORTS, (
        f"{where} names port {port}, not the default {DEFAULT_SIGNAL_PORT}: {line}"
    )
