"""Private groups over the peers' channels (docs/groups.md).

- :mod:`kith.runtime.groups.hub`: the groups' state, keys and history, and
  their frames to and from members over the pair sessions;
- :mod:`kith.runtime.groups.service`: the group operations the local API
  exposes (connecting to members frames wait for).
"""

from kith.runtime.groups.hub import GroupHub
from kith.runtime.groups.service import GroupService

__all__ = ["GroupHub", "GroupService"]
