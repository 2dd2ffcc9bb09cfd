"""Private groups over the peers' channels (docs/groups.md).

- :mod:`kith.runtime.groups.hub`: the groups' state, keys and history, and
  their frames to and from members over the pair sessions;
- :mod:`kith.runtime.groups.service`: the group operations the local API
  exposes (connecting to members frames wait for);
- :mod:`kith.runtime.groups.events`: the live events of groups.

Nothing is imported here: :mod:`kith.runtime.live` imports the events, and
the hub imports the live event hub.
"""
