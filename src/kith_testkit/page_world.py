"""A real ``kith-signal``, users' real ``kith run`` nodes and a signed-in browser
page for some of them: the world of a UI test.

Contacts are added through the real CLI (``kith contacts add``) before the
nodes start; each page gets a fresh browser context, which an optional
``setup`` prepares (permissions, init scripts, routes) before signing in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from playwright.sync_api import expect, sync_playwright

from kith_testkit.browser import launch_chromium, new_context, sign_in
from kith_testkit.nodes import NodeProcess, kith, make_identity, ok
from kith_testkit.page_controls import WAIT_MS, open_chat
from kith_testkit.signal.process import HEARTBEAT_FLAGS, SignalProcess

ContextSetup = Callable[[str, Any], None]
"""Prepares the browser context of the named user's page before it signs in."""


def everyone(names: Sequence[str]) -> list[tuple[str, str]]:
    """Every user adds every other one."""
    return [(who, other) for who in names for other in names if other != who]


def mutual(*pairs: tuple[str, str]) -> list[tuple[str, str]]:
    """Each pair adds each other."""
    return [added for a, b in pairs for added in ((a, b), (b, a))]


class PageWorld:
    """A server; ``names``' identities, of which ``running`` have a node and
    ``pages`` a signed-in page; ``adds`` lists who added whom (``--name`` the
    other's short name), by default everyone everyone. ``shown`` maps a user to
    the name they give themselves (default: their short name); ``settings``
    are set with ``kith settings set`` before the nodes start."""

    def __init__(
        self,
        root: Path,
        browser: Any,
        names: Sequence[str] = ("alice", "bob"),
        *,
        adds: Iterable[tuple[str, str]] | None = None,
        running: Sequence[str] | None = None,
        pages: Sequence[str] | None = None,
        setup: ContextSetup | None = None,
        shown: Mapping[str, str] | None = None,
        settings: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.root = root
        self.browser = browser
        self._setup = setup
        self.server = SignalProcess(*HEARTBEAT_FLAGS)
        self.dirs = {n: root / n for n in names}
        shown = shown or {}
        self.ids = {
            n: make_identity(p, shown.get(n, n), self.server.url) for n, p in self.dirs.items()
        }
        for who, other in everyone(names) if adds is None else adds:
            ok(kith(self.dirs[who], "contacts", "add", self.ids[other], "--name", other))
        for who, values in (settings or {}).items():
            for key, value in values.items():
                ok(kith(self.dirs[who], "settings", "set", key, value))
        self.nodes: dict[str, NodeProcess] = {}
        for name in names if running is None else running:
            self.start(name)
        self.pages: dict[str, Any] = {}
        for name in self.nodes if pages is None else pages:
            self.sign_in(name)

    def start(self, name: str) -> NodeProcess:
        """Start (or start again) ``name``'s node."""
        self.nodes[name] = NodeProcess(self.dirs[name], *HEARTBEAT_FLAGS)
        return self.nodes[name]

    def sign_in(self, name: str) -> Any:
        """A new page signed in to ``name``'s node, in a fresh browser context."""
        context = new_context(self.browser)
        if self._setup is not None:
            self._setup(name, context)
        self.pages[name] = sign_in(context, self.nodes[name])
        return self.pages[name]

    def open_chat(self, who: str, other: str) -> Any:
        """On ``who``'s page, open the chat with ``other``."""
        return open_chat(self.pages[who], self.ids[other], other)

    def wait_online(self, who: str, other: str, timeout_ms: float = WAIT_MS) -> None:
        """Wait until ``who``'s page shows ``other`` online."""
        row = self.pages[who].locator(f"#contacts li[data-id='{self.ids[other]}'] .sub")
        expect(row).to_have_attribute("data-presence", "online", timeout=timeout_ms)

    def close(self) -> None:
        for node in self.nodes.values():
            node.kill()
        self.server.stop()


def notifying_page(script: str, *names: str) -> ContextSetup:
    """A context set-up: notifications allowed and ``script`` run in every page
    (or only in the pages of ``names``)."""

    def setup(name: str, context: Any) -> None:
        if names and name not in names:
            return
        context.grant_permissions(["notifications"])
        context.add_init_script(script)

    return setup


World = TypeVar("World", bound=PageWorld)


@contextmanager
def open_world(make: Callable[[Any], World]) -> Iterator[World]:
    """Headless Chromium and the world ``make`` builds on it; both closed on the way out."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            world = make(browser)
            try:
                yield world
            finally:
                world.close()
        finally:
            browser.close()
