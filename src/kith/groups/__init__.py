"""Private groups (pure, no I/O): docs/groups.md.

- :mod:`kith.groups.membership`: the group's state (ID, name, members and their
  roles, version) and the admin-signed changes that move it, with the rule that
  settles two admins' concurrent changes.
- :mod:`kith.groups.sender_keys`: Sender Keys: each member's symmetric sender
  chain, the messages it seals and signs, and the bounded window of skipped keys.
- :mod:`kith.groups.keyring`: one member's chains in one group, under the
  group's rules (members only; a new own chain after every removal).
- :mod:`kith.groups.frames`: the group frames carried in pair sessions.
- :mod:`kith.groups.errors`: what a bad change or message is rejected with.
"""
