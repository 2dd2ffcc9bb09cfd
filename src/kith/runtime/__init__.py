"""What runs inside the node around the pure cores.

- :mod:`kith.runtime.presence`: the presence driver (runs the pure presence
  manager with pair channels, signaling, the store and live events) and its
  chunked publication queue;
- :mod:`kith.runtime.chat`: the chat driver, one chat peer per contact and
  its state machine, connecting, committing, recovery, the chat service;
- :mod:`kith.runtime.files`: file transfers over the peers' channels (the
  pure machines of :mod:`kith.files`, the encrypted vault, one serial lane per
  contact) and the file service;
- :mod:`kith.runtime.calls`: calls set up over the peers' channels (the pure
  machines of :mod:`kith.calls`, the call log) and the call service; media
  flows browser to browser;
- :mod:`kith.runtime.groups`: private groups over the peers' channels (the
  pure cores of :mod:`kith.groups`: signed membership, Sender Keys) and the
  group service;
- :mod:`kith.runtime.dispatch`: the event bus and the dispatcher that carry
  presence news to chat and "messages queued" back;
- :mod:`kith.runtime.pairs`: each contact's pair channel, derived once;
- :mod:`kith.runtime.requests`: contact requests, sent sealed through
  ``intro`` and received on our intro topic;
- :mod:`kith.runtime.signal_pump`: signaling events into the drivers;
- :mod:`kith.runtime.subscriptions`: presence topics and relay inboxes on one
  signaling client;
- :mod:`kith.runtime.service`: the operations the local API exposes;
- :mod:`kith.runtime.live`: live events for the UI and their hub;
- :mod:`kith.runtime.store_writer`: ordered background store writes;
- :mod:`kith.runtime.runtime_file`: ``node.json``, how the CLI finds the node;
- :mod:`kith.runtime.foreground`: ``kith run`` (signals, logging);
- :mod:`kith.runtime.gc_settings`: the garbage collector once the node has
  started (startup heap frozen, rarer young collections).

:mod:`kith.node` wires them together. Nothing is imported here so that the
CLI can read the runtime file without loading asyncio machinery.
"""
