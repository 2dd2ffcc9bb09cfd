"""Authentication against a real server: success and every failure."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from kith_proto import IdentityKeys, wire
from kith_proto.auth import sign_auth
from kith_proto.client_core import (
    Authenticated,
    AuthenticationFailed,
    ServerGoodbye,
)
from kith_proto.wire import CloseCode
from kith_signal.transport import TRANSPORTS
from kith_testkit.signal.clients import Client
from kith_testkit.signal.process import WAIT, SignalProcess, running, starter


@pytest.fixture(scope="module", params=TRANSPORTS)
def server(request: pytest.FixtureRequest) -> Iterator[SignalProcess]:
    """The same real server over each WebSocket transport (``--transport``)."""
    yield from running("--rate", "1000", "--transport", request.param)


@pytest.fixture
def start_server() -> Iterator[Callable[..., SignalProcess]]:
    yield from starter()


async def raw_auth(client: Client, **overrides: str) -> None:
    """Answer the pending challenge by hand, with some fields overridden."""
    challenge = wire.decode_server_message(await asyncio.wait_for(client.ws.recv(), WAIT))
    assert isinstance(challenge, wire.Challenge)
    await client.send_raw(auth_frame(client.keys, challenge.nonce, **overrides))


def auth_frame(keys: IdentityKeys, nonce: str, url: str = "", **overrides: str) -> str:
    signature = sign_auth(keys, wire.decode_payload(nonce), overrides.pop("signed_url", url))
    fields = {
        "key_type": "ed25519",
        "key": wire.encode_payload(keys.public_key),
        "challenge": nonce,
        "server": url,
        "signature": wire.encode_payload(signature),
        **overrides,
    }
    return wire.encode(wire.Auth(**fields))


async def expect_auth_error(ws_client: Client) -> tuple[str, int | None]:
    frame = wire.decode_server_message(await asyncio.wait_for(ws_client.ws.recv(), WAIT))
    assert isinstance(frame, wire.Error), frame
    await asyncio.wait_for(ws_client.ws.wait_closed(), WAIT)
    return frame.code, ws_client.ws.close_code


async def open_raw(url: str) -> Client:
    """A client whose frames are read by the test, not by the client core."""
    from websockets.asyncio.client import connect

    ws = await connect(url, subprotocols=[wire.SUBPROTOCOL], compression=None)  # type: ignore[list-item]
    from kith_proto.client_core import ClientConnection

    keys = IdentityKeys.generate()
    return Client(ws, ClientConnection(keys, url), keys)


async def test_valid_signature_is_welcomed(server: SignalProcess) -> None:
    client = await Client.open(server.url)
    welcome = await client.expect(Authenticated)
    assert welcome.limits.max_frame_bytes == 65536
    assert client.ws.subprotocol == wire.SUBPROTOCOL
    await client.close()


async def test_signature_for_another_server_is_refused(server: SignalProcess) -> None:
    client = await Client.open(server.url, signed_url="ws://evil.example:443")
    failure = await client.expect(AuthenticationFailed)
    assert failure.code == "wrong_server"
    assert (await client.closed()).code == CloseCode.AUTH_FAILED


async def test_forged_url_field_is_a_bad_signature(server: SignalProcess) -> None:
    client = await open_raw(server.url)
    await raw_auth(client, url=server.url, signed_url="ws://evil.example:443")
    assert await expect_auth_error(client) == ("bad_signature", CloseCode.AUTH_FAILED)


async def test_signature_by_another_key_is_a_bad_signature(server: SignalProcess) -> None:
    client = await open_raw(server.url)
    other = wire.encode_payload(IdentityKeys.generate().public_key)
    await raw_auth(client, url=server.url, key=other)
    assert await expect_auth_error(client) == ("bad_signature", CloseCode.AUTH_FAILED)


@pytest.mark.parametrize(
    "overrides",
    [{"key_type": "rsa"}, {"key": wire.encode_payload(b"k" * 33)}],
)
async def test_unknown_key_format_is_refused(
    server: SignalProcess, overrides: dict[str, str]
) -> None:
    client = await open_raw(server.url)
    await raw_auth(client, url=server.url, **overrides)
    assert await expect_auth_error(client) == ("unknown_key_format", CloseCode.AUTH_FAILED)


async def test_signature_replayed_on_another_connection_is_refused(server: SignalProcess) -> None:
    first, second = await open_raw(server.url), await open_raw(server.url)
    first_challenge = wire.decode_server_message(await asyncio.wait_for(first.ws.recv(), WAIT))
    assert isinstance(first_challenge, wire.Challenge)
    captured = auth_frame(first.keys, first_challenge.nonce, server.url)
    await first.send_raw(captured)
    assert isinstance(
        wire.decode_server_message(await asyncio.wait_for(first.ws.recv(), WAIT)), wire.Welcome
    )
    await asyncio.wait_for(second.ws.recv(), WAIT)  # second's own challenge, ignored
    await second.send_raw(captured)
    assert await expect_auth_error(second) == ("replayed_challenge", CloseCode.AUTH_FAILED)
    await first.ws.close()


async def test_expired_challenge_is_refused(start_server: Callable[..., SignalProcess]) -> None:
    server = start_server("--challenge-ttl", "0.2", "--auth-timeout", "10")
    client = await open_raw(server.url)
    challenge = wire.decode_server_message(await asyncio.wait_for(client.ws.recv(), WAIT))
    assert isinstance(challenge, wire.Challenge)
    assert challenge.expires_in == pytest.approx(0.2)
    await asyncio.sleep(0.4)  # let the challenge age past its expiry: time is the subject here
    await client.send_raw(auth_frame(client.keys, challenge.nonce, server.url))
    assert await expect_auth_error(client) == ("challenge_expired", CloseCode.AUTH_FAILED)


async def test_no_auth_in_time_closes_with_auth_timeout(
    start_server: Callable[..., SignalProcess],
) -> None:
    server = start_server("--auth-timeout", "0.3")
    client = await open_raw(server.url)
    await asyncio.wait_for(client.ws.recv(), WAIT)  # challenge
    assert await expect_auth_error(client) == ("auth_timeout", CloseCode.AUTH_TIMEOUT)


async def test_auth_failures_are_counted_by_code(server: SignalProcess) -> None:
    client = await Client.open(server.url, signed_url="ws://elsewhere:1")
    await client.closed()
    from urllib.request import urlopen

    body = await asyncio.to_thread(lambda: urlopen(server.http + "/metrics", timeout=WAIT).read())
    assert b'kith_signal_auth_failures_total{code="wrong_server"}' in body


@pytest.mark.parametrize("offered", [(), ("kith.v0",), ("chat", "kith.v1"), ("kith.v3",)])
async def test_other_protocol_versions_are_closed_clearly(
    server: SignalProcess, offered: tuple[str, ...]
) -> None:
    client = await Client.open(server.url, subprotocols=offered)
    closed = await client.closed()
    assert closed.code == CloseCode.UNSUPPORTED_PROTOCOL
    assert "kith.v2" in closed.reason
    assert not closed.reconnect


async def test_second_login_replaces_the_first(server: SignalProcess) -> None:
    keys = IdentityKeys.generate()
    first = await Client.ready(server.url, keys)
    second = await Client.ready(server.url, keys)
    bye = await first.expect(ServerGoodbye)
    assert (bye.code, bye.reconnect) == ("replaced", False)
    closed = await first.closed()
    assert (closed.code, closed.reconnect) == (CloseCode.REPLACED, False)
    assert second.ws.close_code is None
    await second.close()
