"""The CLI's backend when a node is running: its local API over HTTP.

:class:`NodeBackend` implements :class:`kith.backend.Backend` with blocking
``http.client`` calls (the CLI is synchronous and starts fast).
:func:`find_node` reads the runtime file and returns a backend only if the
node it names answers; a stale file (crash, reboot) gives None.
"""

from __future__ import annotations

import contextlib
import http.client
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlencode

from kith.backend import ContactDetails, ImportResult, OwnStatus
from kith.errors import KithError
from kith.models import Contact, IdentityInfo, SettingState
from kith.runtime.runtime_file import RuntimeInfo, read_runtime
from kith_proto.ids import parse_id

if TYPE_CHECKING:
    from kith.contact_list import ContactEntry
    from kith.conversation_store import ChatMessage

__all__ = ["NodeBackend", "find_node"]

PING_TIMEOUT: Final = 2.0
CALL_TIMEOUT: Final = 30.0
IMPORT_TIMEOUT: Final = 600.0  # checking a list at the size limit takes a while


def find_node(data_dir: Path) -> NodeBackend | None:
    """A backend for the node running on ``data_dir``, or None if none answers."""
    info = read_runtime(data_dir)
    if info is None:
        return None
    backend = NodeBackend(info)
    if backend.answers():
        return backend
    backend.close()
    return None


def _contact(value: dict[str, Any]) -> Contact:
    return Contact(
        kith_id=value["id"],
        public_key=parse_id(value["id"]),
        name=value["name"],
        verified=value["verified"],
        added_at=value["added_at"],
        status=value["status"],
        status_text=value["status_text"],
        last_seen=value["last_seen"],
        own_name=value.get("own_name", ""),
    )


def _setting(value: dict[str, Any]) -> SettingState:
    return SettingState(
        value["key"], value["value"], value["default"], value["help"], value["allowed"]
    )


def _identity(value: dict[str, Any]) -> IdentityInfo:
    return IdentityInfo(value["id"], parse_id(value["id"]), value["name"], value["created_at"])


def _status(value: dict[str, Any]) -> OwnStatus:
    return OwnStatus(value["status"], value["text"], value["effective"], value["connection"])


class NodeBackend:
    """Implements :class:`kith.backend.Backend` through a running node's API."""

    def __init__(self, info: RuntimeInfo, timeout: float = CALL_TIMEOUT) -> None:
        self._info = info
        self._conn = http.client.HTTPConnection(info.host, info.port, timeout=timeout)

    def __repr__(self) -> str:
        return f"NodeBackend(port={self._info.port})"

    def answers(self) -> bool:
        """Whether the node named by the runtime file is there and is that node."""
        self._conn.timeout = PING_TIMEOUT
        try:
            reply = self._call("GET", "/api/node")
        except KithError:
            return False
        finally:
            self._conn.timeout = CALL_TIMEOUT
        return isinstance(reply, dict) and reply.get("pid") == self._info.pid

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One call to an endpoint the :class:`Backend` protocol does not name
        (groups, which only a running node serves): the decoded JSON, or ``KithError``."""
        return self._call(method, path, body)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self._info.token}", "Accept": "application/json"}
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            self._conn.request(method, path, body=data, headers=headers)
            response = self._conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self._conn.close()
            raise KithError(
                "the running node did not answer; is `kith run` still running?",
                code="node_unreachable",
            ) from None
        return _decode(response.status, raw)

    @contextlib.contextmanager
    def _patience(self, seconds: float) -> Iterator[None]:
        """Wait up to ``seconds`` for the answers inside the block."""
        previous = self._conn.timeout
        self._set_timeout(seconds)
        try:
            yield
        finally:
            self._set_timeout(previous)

    def _set_timeout(self, seconds: float | None) -> None:
        self._conn.timeout = seconds
        if self._conn.sock is not None:
            self._conn.sock.settimeout(seconds)

    # -- Backend ----------------------------------------------------------------

    def identity(self) -> IdentityInfo:
        return _identity(self._call("GET", "/api/identity"))

    def set_name(self, name: str) -> IdentityInfo:
        return _identity(self._call("PUT", "/api/identity/name", {"name": name}))

    def status(self) -> OwnStatus:
        return _status(self._call("GET", "/api/status"))

    def set_status(self, status: str, text: str | None = None) -> OwnStatus:
        return _status(self._call("PUT", "/api/status", {"status": status, "text": text}))

    def contacts(self) -> list[Contact]:
        return [_contact(c) for c in self._call("GET", "/api/contacts")]

    def contact(self, kith_id: str) -> ContactDetails:
        value = self._call("GET", f"/api/contacts/{_part(kith_id)}")
        return ContactDetails(_contact(value), value["safety_number"])

    def add_contact(self, kith_id: str, name: str | None = None) -> Contact:
        return _contact(self._call("POST", "/api/contacts", {"id": kith_id, "name": name}))

    def import_contacts(self, entries: Sequence[ContactEntry]) -> ImportResult:
        from kith.contact_list import entries_to_json

        body = {"contacts": entries_to_json(entries)}
        with self._patience(IMPORT_TIMEOUT):
            reply = self._call("POST", "/api/contacts/import", body)
        return ImportResult(tuple(_contact(c) for c in reply["contacts"]), reply["skipped"])

    def remove_contact(self, kith_id: str) -> None:
        self._call("DELETE", f"/api/contacts/{_part(kith_id)}")

    def rename_contact(self, kith_id: str, name: str | None) -> Contact:
        return _contact(self._call("PATCH", f"/api/contacts/{_part(kith_id)}", {"name": name}))

    def verify_contact(self, kith_id: str, verified: bool = True) -> Contact:
        body = {"verified": verified}
        return _contact(self._call("PATCH", f"/api/contacts/{_part(kith_id)}", body))

    def requests(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/api/requests"))

    def accept_request(self, kith_id: str) -> Contact:
        return _contact(self._call("POST", f"/api/requests/{_part(kith_id)}/accept"))

    def decline_request(self, kith_id: str) -> None:
        self._call("POST", f"/api/requests/{_part(kith_id)}/decline")

    def block(self, kith_id: str) -> None:
        self._call("POST", "/api/blocked", {"id": kith_id})

    def unblock(self, kith_id: str) -> None:
        self._call("DELETE", f"/api/blocked/{_part(kith_id)}")

    def settings(self) -> list[SettingState]:
        return [_setting(s) for s in self._call("GET", "/api/settings")]

    def get_setting(self, key: str) -> SettingState:
        return _setting(self._call("GET", f"/api/settings/{_part(key)}"))

    def set_setting(self, key: str, text: str) -> SettingState:
        return _setting(self._call("PUT", f"/api/settings/{_part(key)}", {"value": text}))

    def reset_setting(self, key: str) -> SettingState:
        return _setting(self._call("DELETE", f"/api/settings/{_part(key)}"))

    def send_message(self, contact: str, text: str, reply_to: str | None = None) -> ChatMessage:
        path = f"/api/contacts/{_part(contact)}/messages"
        body = {"text": text, **({"reply_to": reply_to} if reply_to is not None else {})}
        return _chat_message(self._call("POST", path, body), contact)

    def messages(self, contact: str, limit: int, before: str | None = None) -> list[ChatMessage]:
        query = {"limit": str(limit), **({"before": before} if before else {})}
        path = f"/api/contacts/{_part(contact)}/messages?{urlencode(query)}"
        reply = self._call("GET", path)
        return [_chat_message(m, contact) for m in reply["messages"]]

    def edit_message(self, message_id: str, text: str) -> ChatMessage:
        path = f"/api/messages/{_part(message_id)}"
        return _chat_message(self._call("PATCH", path, {"text": text}))

    def delete_message(self, message_id: str) -> None:
        self._call("DELETE", f"/api/messages/{_part(message_id)}")

    def react(self, message_id: str, emoji: str, add: bool = True) -> ChatMessage:
        path = f"/api/messages/{_part(message_id)}/reactions"
        if add:
            return _chat_message(self._call("POST", path, {"emoji": emoji}))
        return _chat_message(self._call("DELETE", f"{path}/{_part(emoji)}"))

    def search(self, text: str, limit: int = 50) -> list[ChatMessage]:
        reply = self._call("GET", "/api/search?" + urlencode({"q": text, "limit": str(limit)}))
        return [_chat_message(r["message"], r["contact"]) for r in reply["results"]]

    # -- files (only through a running node) -----------------------------------

    def send_file(self, contact: str, path: Path, caption: str = "") -> dict[str, Any]:
        """Queue a file: ``{"message", "file"}`` (the file is copied into the vault first)."""
        body = {"path": str(path), "caption": caption}
        with self._patience(IMPORT_TIMEOUT):
            reply: dict[str, Any] = self._call(
                "POST", f"/api/contacts/{_part(contact)}/files", body
            )
        return reply

    def files(self, contact: str) -> list[dict[str, Any]]:
        """Every transfer with a contact, oldest first."""
        files: list[dict[str, Any]] = self._call("GET", f"/api/contacts/{_part(contact)}/files")[
            "files"
        ]
        return files

    def file(self, file_id: str) -> dict[str, Any]:
        """One transfer."""
        reply: dict[str, Any] = self._call("GET", f"/api/files/{_part(file_id)}")
        return reply

    def cancel_file(self, file_id: str) -> dict[str, Any]:
        """Cancel a transfer."""
        reply: dict[str, Any] = self._call("POST", f"/api/files/{_part(file_id)}/cancel")
        return reply

    def pause_file(self, file_id: str, pause: bool = True) -> dict[str, Any]:
        """Hold a transfer (``pause``) or go on with it."""
        action = "pause" if pause else "resume"
        reply: dict[str, Any] = self._call("POST", f"/api/files/{_part(file_id)}/{action}")
        return reply

    def save_file(self, file_id: str, dest: Path) -> dict[str, Any]:
        """Write a received file to the new file ``dest``."""
        with self._patience(IMPORT_TIMEOUT):
            reply: dict[str, Any] = self._call(
                "POST", f"/api/files/{_part(file_id)}/save", {"dest": str(dest)}
            )
        return reply

    def close(self) -> None:
        self._conn.close()


def _part(text: str) -> str:
    return quote(text.strip(), safe="")


def _decode(status: int, raw: bytes) -> Any:
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        value = None
    if status < 400:
        return value
    error = value.get("error") if isinstance(value, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        raise KithError(error["message"], code=str(error.get("code", "error")))
    raise KithError(f"the node answered with HTTP {status}", code="node_error")


def _chat_message(data: dict[str, Any], contact: str = "") -> ChatMessage:
    """Build a :class:`ChatMessage` (imported here: most commands never need it)."""
    from kith.conversation_store import ChatMessage

    return ChatMessage.from_json(data, contact)
