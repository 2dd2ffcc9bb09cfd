"""Properties of the pure cores: no input makes them raise."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from kith_proto import IdentityKeys, wire
from kith_proto.client_core import ClientConnection
from kith_proto.server_core import Send, ServerConfig, ServerConnection

URL = "ws://127.0.0.1:1"
KEYS = IdentityKeys.generate()

json_objects = st.dictionaries(
    st.sampled_from(["type", "topic", "topics", "payload", "ref", "code", "nonce", "limits"]),
    st.one_of(
        st.sampled_from(["subscribe", "publish", "challenge", "welcome", "event", "bye", "auth"]),
        st.text(max_size=60),
        st.integers(),
        st.lists(st.text(max_size=50), max_size=3),
        st.none(),
    ),
    max_size=5,
).map(json.dumps)
# A str with a lone surrogate is what invalid UTF-8 looks like once decoded.
opened_strings = st.sampled_from(
    ['{"type":"challenge","nonce":"', '{"type":"subscribe","topics":["', '{"type":"', '{"']
)
json_with_surrogates = st.builds(
    "".join,
    st.tuples(opened_strings, st.characters(categories=["Cs"]), st.text(max_size=40)),
)
frames = st.one_of(
    st.text(max_size=300),
    json_with_surrogates,
    st.binary(max_size=300),
    json_objects,
)


@settings(max_examples=300)
@given(st.lists(frames, max_size=8), st.booleans())
def test_server_core_answers_anything_with_valid_frames(
    batch: list[str | bytes], auth: bool
) -> None:
    conn = ServerConnection(
        ServerConfig(public_url=URL, max_frame_bytes=256), nonce=b"n" * 32, tag_key=b"k" * 32, now=0
    )
    if auth:
        client = ClientConnection(KEYS, URL)
        (challenge,) = conn.start()
        assert isinstance(challenge, Send)
        client.receive(wire.encode(challenge.message), 0.0)
        conn.receive(client.data_to_send()[0], 0.0)
    for frame in batch:
        for action in conn.receive(frame, 1.0):
            if isinstance(action, Send):
                wire.decode_server_message(wire.encode(action.message))


@settings(max_examples=300)
@given(st.lists(frames, max_size=8))
def test_client_core_turns_anything_into_events(batch: list[str | bytes]) -> None:
    client = ClientConnection(KEYS, URL)
    for frame in batch:
        assert isinstance(client.receive(frame, 1.0), list)
