"""The signaling client against a server that sends frames it cannot decode:
``run()`` keeps going, reports a protocol violation and reconnects."""

from __future__ import annotations

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

from kith.signaling import Disconnected, ServerProblem, SignalingClient
from kith_proto import IdentityKeys, wire
from kith_testkit.signaling_client import FAST_BACKOFF, Running

CHALLENGE = b'{"type":"challenge","nonce":"\xff","expires_in":30}'


@pytest.mark.parametrize(
    "frame",
    [CHALLENGE, CHALLENGE.decode("utf-8", "replace")],
    ids=["binary-invalid-utf8", "text-not-base64"],
)
async def test_undecodable_frame_is_a_violation_and_the_client_reconnects(
    frame: str | bytes,
) -> None:
    connections = 0

    async def handler(ws: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        await ws.send(frame)
        await ws.wait_closed()

    async with serve(
        handler, "127.0.0.1", 0, subprotocols=[Subprotocol(wire.SUBPROTOCOL)]
    ) as server:
        port = server.sockets[0].getsockname()[1]
        url = f"ws://127.0.0.1:{port}"
        client = SignalingClient(IdentityKeys.generate(), url, policy=FAST_BACKOFF)
        running = Running(client)
        try:
            problem = await running.expect(ServerProblem)
            assert problem.code == "protocol_violation"
            lost = await running.expect(Disconnected)
            assert (lost.reason, lost.retry_in is not None) == ("protocol_violation", True)
            await running.expect(ServerProblem)
            assert connections >= 2
            assert not running.task.done()
        finally:
            await running.close()
