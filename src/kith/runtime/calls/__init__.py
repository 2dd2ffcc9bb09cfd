"""Calls over the peers' channels (``docs/calls.md``).

- :mod:`kith.runtime.calls.switchboard`: the live calls, their call frames on
  the peers' secure channels, live events and the call log;
- :mod:`kith.runtime.calls.service`: what the local API calls (start, answer,
  refuse, hang up, relay the page's signals, ICE servers, the log);
- :mod:`kith.runtime.calls.events`: the live events of calls.

Nothing is imported here: :mod:`kith.runtime.live` imports the events, and
the service imports the chat driver, which imports the live events.
"""
