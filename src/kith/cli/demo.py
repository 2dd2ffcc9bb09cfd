"""``kith demo``: a local signaling server and two running nodes, alice and bob.

Everything lives in a temporary folder: both identities (passphrase-protected
with a passphrase generated for this run, held only in this process's memory
and its children's environment), the server and the two ``kith run`` nodes,
introduced to each other as contacts. The demo prints both IDs, the safety
number each sees and a sign-in link to each web UI (opening them unless
``--no-browser``), and on Ctrl-C (SIGINT) or SIGTERM stops the nodes, then the
server, and removes the folder.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from kith.cli.context import CliContext
from kith.output_lines import OutputLines

__all__ = ["register"]

START_TIMEOUT: Final = 30.0
STOP_TIMEOUT: Final = 10.0
NAMES: Final = ("alice", "bob")


def register(commands: Any) -> None:
    """Add the ``demo`` command."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "demo", help="run a local server and two users, alice and bob, until Ctrl-C"
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="print the UI links; do not open a browser"
    )
    parser.set_defaults(handler=run)


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a child that gets SIGTERM if the demo dies without stopping it."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    set_parent_death_signal = 1  # PR_SET_PDEATHSIG

    def arm() -> None:
        prctl(set_parent_death_signal, signal.SIGTERM)

    return arm


class _Child:
    """A child process whose merged output is collected line by line."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,  # we stop children ourselves, in order
            preexec_fn=_die_with_parent(),
        )
        assert self.proc.stdout is not None
        self.output = OutputLines(self.proc.stdout)
        self.lines = self.output.lines

    def wait_for(self, match: Callable[[str], str | None], what: str) -> str:
        """The first value ``match`` finds in the output; a clear error on timeout or exit."""
        from kith.errors import KithError

        found = self.output.wait(
            lambda lines: next((v for v in map(match, lines) if v), None), START_TIMEOUT
        )
        if found is None:
            tail = "\n".join(self.lines[-10:])
            raise KithError(f"{self.name} did not report {what}:\n{tail}", code="demo")
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)
        self.output.join(STOP_TIMEOUT)


def _searcher(pattern: str) -> Callable[[str], str | None]:
    regex = re.compile(pattern)

    def match(line: str) -> str | None:
        found = regex.search(line)
        return found.group(1) if found else None

    return match


def _child_env(passphrase: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    env["KITH_PASSPHRASE"] = passphrase
    return env


def _make_users(root: Path, passphrase: str, url: str) -> dict[str, Any]:
    """Create alice and bob, introduce them; return their backends (to be closed)."""
    from kith.account import create_account, open_store
    from kith.datadir import DataDir
    from kith.direct import DirectBackend
    from kith.keyprotect import Protection
    from kith.passphrases import FixedPassphrase
    from kith.store.store import Store

    def populate(store: Store) -> None:
        store.settings.set("signaling_url", url, time.time())

    secret = FixedPassphrase(passphrase)
    users = {}
    for name in NAMES:
        data_dir = DataDir(root / name)
        create_account(
            data_dir,
            name=name,
            protection=Protection.PASSPHRASE,
            passphrases=secret,
            populate=populate,
        )
        users[name] = DirectBackend(open_store(data_dir, secret))
    alice, bob = users["alice"], users["bob"]
    alice.add_contact(bob.identity().kith_id, "bob")
    bob.add_contact(alice.identity().kith_id, "alice")
    return users


def _introduce(users: dict[str, Any]) -> None:
    from kith.safety import format_digits

    alice, bob = users["alice"], users["bob"]
    a_id, b_id = alice.identity().kith_id, bob.identity().kith_id
    seen_by_alice = alice.contact(b_id).safety_number
    seen_by_bob = bob.contact(a_id).safety_number
    print(f"alice  {a_id}")
    print(f"bob    {b_id}")
    print("alice and bob are contacts of each other.")
    print(f"Safety number (alice's view): {format_digits(seen_by_alice)}")
    print(f"Safety number (bob's view):   {format_digits(seen_by_bob)}")
    print("They match." if seen_by_alice == seen_by_bob else "They DO NOT match!")


class _Demo:
    """The running demo: the temporary folder, the server and the nodes."""

    def __init__(self, root: Path, passphrase: str) -> None:
        self.root = root
        self.env = _child_env(passphrase)
        self.passphrase = passphrase
        self.children: list[_Child] = []

    def start_server(self) -> str:
        argv = [sys.executable, "-m", "kith_signal.cli", "--host", "127.0.0.1", "--port", "0"]
        server = _Child("kith-signal", argv, self.env)
        self.children.append(server)
        return server.wait_for(_searcher(r"event=listening.* public_url=(\S+)"), "listening")

    def start_node(self, name: str) -> str:
        argv = [sys.executable, "-m", "kith.cli.main", "--data-dir", str(self.root / name)]
        node = _Child(name, [*argv, "run", "--no-browser"], self.env)
        self.children.append(node)
        return node.wait_for(_searcher(r"^\s*(http://\S+/login#code=\S+)\s*$"), "its UI link")

    def stop(self) -> None:
        """Nodes first (they tell each other they go offline), then the server."""
        for child in reversed(self.children):
            child.stop()


class _StopSignals:
    """From construction on, SIGINT and SIGTERM only set an event (restored on exit)."""

    def __enter__(self) -> threading.Event:
        self.stop = threading.Event()
        self.previous = {
            sig: signal.signal(sig, lambda *_: self.stop.set())
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        return self.stop

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def _serve(demo: _Demo, browser: bool) -> None:
    from kith.cli.open import open_browser

    url = demo.start_server()
    users = _make_users(demo.root, demo.passphrase, url)
    try:
        _introduce(users)
    finally:
        for backend in users.values():
            backend.close()
    print(f"Signaling server: {url}")
    links = {name: demo.start_node(name) for name in NAMES}
    print("\nOpen each user's Kith in a browser window and chat (one-time sign-in links):\n")
    for name, link in links.items():
        print(f"  {name}:\n    {link}\n")
    fresh = f"kith --data-dir {demo.root / 'NAME'} open"
    print(f"Each link works once, within two minutes; for a fresh one: {fresh}")
    if browser:
        for name, link in links.items():
            if not open_browser(link, demo.root / name):
                print("(no graphical browser found: copy the links above into one)")
                break
    with _StopSignals() as stop:
        print("Both nodes are running. Press Ctrl-C to stop the demo and delete its data.")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    """Start the server and both nodes; stop and clean up on Ctrl-C or SIGTERM."""
    # Until the demo waits for Ctrl-C, SIGTERM interrupts like SIGINT, so the
    # children are stopped and the folder removed even during start-up.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return _run_in_temp(browser=not args.no_browser)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_in_temp(*, browser: bool) -> int:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kith-demo-") as tmp:
        print(f"Demo data (deleted on exit): {tmp}")
        demo = _Demo(Path(tmp), secrets.token_urlsafe(24))
        try:
            _serve(demo, browser=browser)
        finally:
            print("\nStopping alice, bob and the server…", flush=True)
            demo.stop()
    print("Demo stopped; its data is deleted.")
    return 0
