"""The message API contract of docs/ui.md, as an in-memory fake for the browser.

The chat panel's rendering tests (a 3000-message history, states, notices)
route the message endpoints of a real node's page to this fake (Playwright
request routing) and inject events into the page's real ``/api/events``
socket, so they control exactly what the page gets. The real endpoints are
exercised between two nodes in ``test_chat_e2e.py``.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["FakeMessages"]

_LIST = re.compile(r"^/api/contacts/([^/]+)/messages$")
_NO_CONTENT = re.compile(r"^/api/contacts/([^/]+)/(typing|read|key-accept)$")
_ONE = re.compile(r"^/api/messages/([^/]+)$")
_REACTIONS = re.compile(r"^/api/messages/([^/]+)/reactions(?:/([^/]+))?$")


@dataclass
class FakeMessages:
    """Messages between ``me`` and contacts, served per the contract."""

    me: str
    conversations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def add(self, contact: str, sender: str, text: str, sent_at: float) -> dict[str, Any]:
        message = {
            "id": f"m{next(self._ids):06d}",
            "from": sender,
            "text": text,
            "sent_at": sent_at,
            "state": "delivered" if sender == self.me else "read",
            "edited": False,
            "deleted": False,
            "reactions": {},
            "via": "direct",
        }
        self.conversations.setdefault(contact, []).append(message)
        return message

    def find(self, mid: str) -> dict[str, Any]:
        return next(m for ms in self.conversations.values() for m in ms if m["id"] == mid)

    def handle(self, route: Any) -> None:
        """A Playwright route handler for every message endpoint."""
        request = route.request
        url = urlsplit(request.url)
        body = json.loads(request.post_data) if request.post_data else None
        self.calls.append((request.method, url.path, body))
        status, reply = self._answer(request.method, url.path, parse_qs(url.query), body)
        if reply is None:
            route.fulfill(status=status)
        else:
            route.fulfill(status=status, json=reply)

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        if (match := _LIST.match(path)) and method == "GET":
            return 200, {"messages": self._page(unquote(match.group(1)), query)}
        if (match := _LIST.match(path)) and method == "POST":
            message = self.add(unquote(match.group(1)), self.me, body["text"], time.time())
            message["state"] = "queued"
            return 201, message
        if _NO_CONTENT.match(path):
            return 204, None
        if match := _REACTIONS.match(path):
            return 200, self._react(method, match.group(1), body, match.group(2))
        if (match := _ONE.match(path)) and method == "PATCH":
            message = self.find(match.group(1))
            message.update(text=body["text"], edited=True)
            return 200, message
        if (match := _ONE.match(path)) and method == "DELETE":
            self.find(match.group(1)).update(deleted=True, text="")
            return 204, None
        return 404, {"error": {"code": "not_found", "message": "Not Found"}}

    def _page(self, contact: str, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        messages = self.conversations.get(contact, [])
        limit = int(query.get("limit", ["50"])[0])
        before = query.get("before", [None])[0]
        end = next((i for i, m in enumerate(messages) if m["id"] == before), len(messages))
        return messages[max(0, end - limit) : end]

    def _react(self, method: str, mid: str, body: Any, emoji: str | None) -> dict[str, Any]:
        message = self.find(mid)
        reactions: dict[str, list[str]] = message["reactions"]
        if method == "POST":
            who = reactions.setdefault(body["emoji"], [])
            if self.me not in who:
                who.append(self.me)
        elif emoji is not None:
            key = unquote(emoji)
            reactions[key] = [i for i in reactions.get(key, []) if i != self.me]
            if not reactions[key]:
                del reactions[key]
        return message
