"""Request bodies as the local API takes them: one JSON object.

Every endpoint with a body reads it through :func:`json_object`, so a body
that is not JSON, or JSON that is not an object, gets the same 400 with the
same words everywhere.
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from kith.api.errors import BadRequest

__all__ = ["json_object", "non_empty_string"]


async def json_object(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object body; ``{}`` when ``optional`` and there is none.

    Raises:
        BadRequest: the body is not JSON, or not a JSON object.
    """
    if optional and not request.can_read_body:
        return {}
    try:
        body: Any = msgspec.json.decode(await request.read())  # UTF-8, as JSON must be
    except msgspec.DecodeError:
        raise BadRequest("the request body must be JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def non_empty_string(body: dict[str, Any], key: str) -> str:
    """``body[key]`` when it is a non-empty string.

    Raises:
        BadRequest: it is missing, not a string, or empty.
    """
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{key!r} must be a non-empty string")
    return value
