"""Real ``kith-signal`` for tests and benchmarks.

- :mod:`.process`: one ``kith-signal`` subprocess on 127.0.0.1 with its log.
- :mod:`.clients`: real WebSocket clients driving the sans-I/O client core.
- :mod:`.cluster`: several processes joined through real redis-servers.
"""
