"""What the server holds and logs after a presence exchange: no plaintext,
no keys, no IDs; and nothing about pairs once the connections are gone."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import urllib.request
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from kith_proto import IdentityKeys
from kith_proto.client_core import SubscriptionConfirmed, TopicGone, TopicValue
from kith_testkit.signal.clients import Client, new_token
from kith_testkit.signal.process import WAIT, SignalProcess, running

STATUS = b'{"status":"busy","text":"at the dentist until noon"}'
SECRETS = (b"dentist", b"busy", b"until noon")
# What a leak of STATUS would show, in forms random base64 cannot spell (quotes,
# spaces): a bare "busy" turned up by chance in about one run in 4,000.
LEAKS = ('"busy"', "at the dentist until noon", "dentist", "until noon")


@pytest.fixture(scope="module")
def server() -> Iterator[SignalProcess]:
    yield from running("--rate", "1000", "--debug-snapshot")


def seal(key: bytes, plaintext: bytes) -> bytes:
    """Stand-in for the pair envelope: AEAD under the pair key."""
    nonce = os.urandom(12)
    return nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, None)


def open_sealed(key: bytes, sealed: bytes) -> bytes:
    return ChaCha20Poly1305(key).decrypt(sealed[:12], sealed[12:], None)


def identity_forms(keys: IdentityKeys) -> list[str]:
    raw = keys.public_key
    return [
        keys.kith_id,
        raw.hex(),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        base64.b32encode(raw).decode().lower().rstrip("="),
    ]


async def snapshot(server: SignalProcess) -> str:
    def get() -> str:
        with urllib.request.urlopen(server.http + "/debug/snapshot", timeout=WAIT) as response:
            return str(response.read().decode())

    return await asyncio.to_thread(get)


def assert_clean(text: str, keys: list[IdentityKeys]) -> None:
    lowered = text.lower()
    unescaped = lowered.replace('\\"', '"')
    for leak in LEAKS:
        assert leak not in unescaped
    for secret in SECRETS:
        assert base64.urlsafe_b64encode(secret).decode().rstrip("=")[:8] not in text
    for identity in keys:
        for form in identity_forms(identity):
            assert form.lower() not in lowered, "an identity key leaked"


async def test_state_and_logs_hold_no_plaintext_keys_or_ids(server: SignalProcess) -> None:
    alice_keys, bob_keys = IdentityKeys.generate(), IdentityKeys.generate()
    pair_key = os.urandom(32)
    (a_token, a_to_b), (b_token, b_to_a) = new_token(), new_token()
    alice = await Client.ready(server.url, alice_keys)
    bob = await Client.ready(server.url, bob_keys)
    await alice.call(alice.core.subscribe, [b_to_a])
    await bob.call(bob.core.subscribe, [a_to_b])
    await alice.expect(SubscriptionConfirmed)
    await bob.expect(SubscriptionConfirmed)
    await alice.call(alice.core.publish, a_token, seal(pair_key, STATUS))
    await bob.call(bob.core.publish, b_token, seal(pair_key, STATUS))
    assert open_sealed(pair_key, (await bob.expect(TopicValue)).payload) == STATUS
    await alice.expect(TopicValue)

    live = await snapshot(server)
    assert json.loads(live)["retained"], "the exchange is live"
    assert_clean(live, [alice_keys, bob_keys])
    assert_clean(server.log_text(), [alice_keys, bob_keys])
    for topic in (a_to_b, b_to_a):
        encoded = base64.urlsafe_b64encode(topic).decode().rstrip("=")
        assert encoded not in server.log_text(), "logs must not name topics"
    for token in (a_token, b_token):
        encoded = base64.urlsafe_b64encode(token).decode().rstrip("=")
        assert encoded not in server.log_text(), "logs must not hold publish tokens"
        assert encoded not in live, "the state keeps no publish tokens"

    await alice.close()
    await bob.expect(TopicGone)
    await bob.close()
    server.wait_for_count("event=disconnected", 2)
    after = json.loads(await snapshot(server))
    assert after == {
        "connections": [],
        "logins": {},
        "published": {},
        "retained": {},
        "subscribers": {},
    }
