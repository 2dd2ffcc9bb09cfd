"""The sealed offline mailbox on the server side.

- :mod:`.service`: :class:`~kith_signal.mailbox.service.Mailbox` answers the
  ``mailbox_*`` requests of a session from a backend.
- :mod:`.backend`: the :class:`~kith_signal.mailbox.backend.MailboxBackend`
  protocol both stores implement, its limits and errors.
- :mod:`.sqlite_store`: the SQLite file of one process (``--data-dir``).
- :mod:`.redis_store`: Redis, shared by the processes of a cluster (``--redis``).
"""
