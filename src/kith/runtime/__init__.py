"""What runs inside the node around the pure cores.

- :mod:`kith.runtime.presence.driver`: drives the presence manager with the
  signaling client, the store and live events;
- :mod:`kith.runtime.signal_pump`: signaling events into the link;
- :mod:`kith.runtime.service`: the operations the local API exposes;
- :mod:`kith.runtime.live`: live events and their hub;
- :mod:`kith.runtime.store_writer`: ordered background store writes;
- :mod:`kith.runtime.runtime_file`: ``node.json``, how the CLI finds the node;
- :mod:`kith.runtime.foreground`: ``kith run`` (signals, logging).

:mod:`kith.node` wires them together. Nothing is imported here so that the
CLI can read the runtime file without loading asyncio machinery.
"""
