"""The node's local API (HTTP + one WebSocket on 127.0.0.1) and its CLI client.

- :mod:`kith.api.server`: ``ApiServer`` (aiohttp), guarded by
  :mod:`kith.api.access` (token, browser sessions, Host/Origin checks);
- :mod:`kith.api.session_routes`: sign-in codes, sessions, sign-out;
- :mod:`kith.api.routes`: the JSON endpoints; :mod:`kith.api.events_ws`:
  ``/api/events``; :mod:`kith.api.errors`: JSON errors;
- :mod:`kith.api.client`: ``NodeBackend`` and ``find_node`` for the CLI.

Nothing is imported here, so the CLI's client does not load aiohttp.
See ``docs/node.md`` for the endpoints.
"""
