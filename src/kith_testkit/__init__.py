"""Helpers for Kith's tests and benchmarks: real kith-signal and node processes
on loopback, TLS material, clients of the signaling server, a headless browser
and an in-memory fake of the message API.

One concept per module:

- :mod:`kith_testkit.polling`: bounded polling (``wait_for``), never fixed sleeps.
- :mod:`kith_testkit.tls`: a throw-away self-signed certificate for 127.0.0.1.
- :mod:`kith_testkit.signal.process`: ``kith-signal`` subprocesses on loopback.
- :mod:`kith_testkit.signal.clients`: WebSocket clients driving the sans-I/O client core.
- :mod:`kith_testkit.liveness_client`: a client in its own process (``python -m``).
- :mod:`kith_testkit.signaling_client`: a running :class:`kith.signaling.SignalingClient`.
- :mod:`kith_testkit.nodes`: data directories and real ``kith`` / ``kith run`` processes.
- :mod:`kith_testkit.node_api`: raw requests and the events socket of a node's local API.
- :mod:`kith_testkit.chat_world`: a server and users who are mutual contacts.
- :mod:`kith_testkit.browser`: headless Chromium signed in to a node's UI.
- :mod:`kith_testkit.server_sessions`: signed-in connections of the sans-I/O
  server core, for protocol tests.
- :mod:`kith_testkit.page_controls`: a page's visibility, the notifications it
  shows and its settings panel, under a UI test's control.
- :mod:`kith_testkit.page_world`: a server, nodes and signed-in pages for a UI test.
- :mod:`kith_testkit.chat_driver_harness`: a chat driver over a real store with
  fake peer links, for the chat runtime's tests.
- :mod:`kith_testkit.message_contract`: the message API contract as a fake for the browser.
- :mod:`kith_testkit.group_api`: groups through a running node's local API.
- :mod:`kith_testkit.group_hubs`: group hubs on real stores, frames handed between them.
- :mod:`kith_testkit.file_api`: a contact's file through a running node's local API.
- :mod:`kith_testkit.mailbox_world`: a world whose server keeps the sealed mailbox.
- :mod:`kith_testkit.images`: small valid pictures (PNG) made without an image library.
"""
