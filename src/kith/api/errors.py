"""Errors as the local API reports them: ``{"error": {"code", "message"}}``.

A :class:`KithError` keeps its code; the HTTP status says whose fault it is.
Nothing here ever puts a secret into a message.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from kith.errors import DatabaseDamagedError, KithError
from kith.presence import InvalidStatusTextError

__all__ = ["BadRequest", "error_response", "status_for"]

_STATUS_BY_CODE: Final = {
    # contacts, settings, requests
    "unknown_contact": 404,
    "unknown_setting": 404,
    "unknown_request": 404,
    "not_blocked": 404,
    "not_found": 404,
    "duplicate_contact": 409,
    "database_busy": 503,
    # messages
    "unknown_message": 404,
    "not_own_message": 403,
    # files
    "unknown_transfer": 404,
    "destination_exists": 409,
    "not_stored": 410,
    "token_required": 403,
    "bad_ticket": 403,
    # calls
    "unknown_call": 404,
    "not_reachable": 409,
    "in_call": 409,
    "illegal_transition": 409,
    # groups
    "unknown_group": 404,
    "ambiguous_group": 409,
    "not_a_contact": 409,
    "group_full": 409,
    "forged_group_change": 403,
    "replayed_group_change": 409,
    "stale_group_change": 409,
    "unknown_group_parent": 409,
    "not_a_group_member": 403,
    "group_message_key_unavailable": 409,
    "refused_group_action": 403,
}
"""HTTP status by error code; any other :class:`KithError` is the caller's 400."""


class BadRequest(KithError):
    """The request body or parameters are not what the endpoint takes."""

    code = "bad_request"


def status_for(error: Exception) -> tuple[int, str, str]:
    """(HTTP status, code, message) for an error raised by an operation."""
    if isinstance(error, DatabaseDamagedError):
        return 500, error.code, error.message
    if isinstance(error, KithError):
        return _STATUS_BY_CODE.get(error.code, 400), error.code, error.message
    if isinstance(error, InvalidStatusTextError):
        return 400, error.code, str(error)
    return 500, "internal", "the node could not complete the request"


def error_response(status: int, code: str, message: str) -> web.Response:
    """A JSON error response."""
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    return web.json_response(body, status=status)
