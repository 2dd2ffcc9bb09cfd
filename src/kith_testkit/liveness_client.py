"""A client in its own process, for liveness tests (SIGSTOP / SIGKILL).

Usage: python -m kith_testkit.liveness_client URL TOKEN
Authenticates, publishes with the publish token TOKEN (base64url) on the
topic it opens (``wire.token_topic``), prints ``ready`` once the
server acknowledges, then only answers pings (websockets does that) until it
is stopped or killed.
"""

from __future__ import annotations

import asyncio
import sys
import time

from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from kith_proto import IdentityKeys, wire
from kith_proto.client_core import Authenticated, ClientConnection, RequestAcked


async def main(url: str, token: str) -> None:
    core = ClientConnection(IdentityKeys.generate(), url)
    protocols = [Subprotocol(wire.SUBPROTOCOL)]
    async with connect(url, subprotocols=protocols, compression=None, ping_interval=None) as ws:
        async for data in ws:
            for event in core.receive(data, time.monotonic()):
                if isinstance(event, Authenticated):
                    core.publish(wire.decode_topic(token), b"alive")
                elif isinstance(event, RequestAcked):
                    print("ready", flush=True)
            for frame in core.data_to_send():
                await ws.send(frame)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
