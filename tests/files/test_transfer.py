"""The transfer state machine on both sides, wired back to back in memory."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kith.files import (
    CHUNK_SIZE,
    Accept,
    Ack,
    Action,
    Cancel,
    Chunk,
    Discard,
    Done,
    FileFrame,
    Incoming,
    Offer,
    Outgoing,
    SendChunks,
    SendFrame,
    StoreChunk,
    TransferState,
    Verify,
    chunk_count,
)

ID = "0123456789abcdef" * 2
SHA = "ab" * 32


def _offer(size: int) -> Offer:
    return Offer(ID, "f.bin", size, SHA, CHUNK_SIZE, 0)


def _data(size: int, index: int) -> bytes:
    return bytes([index % 251]) * min(CHUNK_SIZE, size - index * CHUNK_SIZE)


class Pair:
    """Both sides and a lossless ordered channel each way; ``stored`` is the receiver's disk."""

    def __init__(self, size: int, window: int = 4, have: int = 0) -> None:
        self.size = size
        self.out = Outgoing(_offer(size), window=window)
        self.inc = Incoming(_offer(size), have=have)
        self.stored: list[int] = list(range(have))
        self.verifications = 0
        self.discarded = False
        self.chunks_sent = 0
        self.to_receiver: deque[FileFrame] = deque()
        self.to_sender: deque[FileFrame] = deque()

    def start(self) -> None:
        actions = self.out.channel_open()
        assert actions == [SendFrame(self.out.offer)]
        self.run_receiver(self.inc.offered())
        self.pump()

    def pump(self) -> None:
        while self.to_receiver or self.to_sender:
            while self.to_receiver:
                self.run_receiver(self.inc.receive(self.to_receiver.popleft()))
            while self.to_sender:
                self.run_sender(self.out.receive(self.to_sender.popleft()))

    def run_receiver(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case StoreChunk(index=index):
                    self.stored.append(index)
                case SendFrame(frame=frame):
                    self.to_sender.append(frame)
                case Verify():
                    self.verifications += 1
                    self.run_receiver(self.inc.verified(matches=True))
                case Discard():
                    self.discarded = True

    def run_sender(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case SendChunks(start=start, stop=stop):
                    for index in range(start, stop):
                        self.chunks_sent += 1
                        self.to_receiver.append(Chunk(ID, index, _data(self.size, index)))
                case SendFrame(frame=frame):
                    self.to_receiver.append(frame)


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 10 * CHUNK_SIZE - 7])
def test_a_file_arrives_whole_and_verified(size: int) -> None:
    pair = Pair(size)
    pair.start()
    assert pair.inc.state is TransferState.RECEIVED
    assert pair.out.state is TransferState.RECEIVED
    assert pair.stored == list(range(chunk_count(size)))
    assert pair.verifications == 1
    assert pair.inc.bytes_done == size
    assert pair.out.bytes_done == size


def test_the_sender_never_runs_ahead_of_its_window() -> None:
    out = Outgoing(_offer(100 * CHUNK_SIZE), window=8)
    out.channel_open()
    assert out.receive(Accept(ID, 0)) == [SendChunks(0, 8)]
    assert out.state is TransferState.SENDING
    assert out.receive(Ack(ID, 1)) == [SendChunks(8, 9)]
    assert out.receive(Ack(ID, 1)) == []  # a repeated ack opens nothing
    assert out.receive(Ack(ID, 5)) == [SendChunks(9, 13)]


def test_an_ack_for_chunks_never_sent_fails_the_transfer() -> None:
    out = Outgoing(_offer(100 * CHUNK_SIZE), window=8)
    out.channel_open()
    out.receive(Accept(ID, 0))
    assert out.receive(Ack(ID, 101)) == [SendFrame(Cancel(ID, "failed"))]
    assert out.state is TransferState.FAILED


def test_an_accept_beyond_the_file_fails_the_transfer() -> None:
    out = Outgoing(_offer(3 * CHUNK_SIZE))
    out.channel_open()
    assert out.receive(Accept(ID, 4)) == [SendFrame(Cancel(ID, "failed"))]
    assert out.reason == "failed"


def test_a_done_on_a_new_offer_ends_the_senders_transfer() -> None:
    out = Outgoing(_offer(100 * CHUNK_SIZE), state=TransferState.PAUSED, have=40)
    out.channel_open()
    assert out.receive(Done(ID)) == []
    assert out.state is TransferState.RECEIVED
    assert out.bytes_done == 100 * CHUNK_SIZE


def test_a_pause_resumes_from_what_the_receiver_holds() -> None:
    size = 20 * CHUNK_SIZE
    out = Outgoing(_offer(size), window=4)
    inc = Incoming(_offer(size))
    out.channel_open()
    assert inc.offered() == [SendFrame(Accept(ID, 0))]
    assert out.receive(Accept(ID, 0)) == [SendChunks(0, 4)]
    for index in range(3):
        inc.receive(Chunk(ID, index, _data(size, index)))
    out.channel_closed()
    inc.channel_closed()
    assert out.state is TransferState.PAUSED
    assert inc.state is TransferState.PAUSED
    # the receiver restarted: what it holds on disk is what it says
    restarted = Incoming(_offer(size), state=TransferState.PAUSED, have=inc.have)
    assert out.channel_open() == [SendFrame(out.offer)]
    assert restarted.offered() == [SendFrame(Accept(ID, 3))]
    assert out.receive(Accept(ID, 3)) == [SendChunks(3, 7)]


def test_resuming_after_a_restart_sends_only_what_is_missing() -> None:
    size = 40 * CHUNK_SIZE
    pair = Pair(size, window=4, have=25)
    pair.start()
    assert pair.inc.state is TransferState.RECEIVED
    assert pair.chunks_sent == 15
    assert pair.stored == list(range(40))


def test_a_missing_chunk_makes_the_receiver_ask_again_once() -> None:
    size = 10 * CHUNK_SIZE
    inc = Incoming(_offer(size))
    inc.offered()
    inc.receive(Chunk(ID, 0, _data(size, 0)))
    # chunk 1 was refused by the session (tampered): 2 and 3 arrive
    assert inc.receive(Chunk(ID, 2, _data(size, 2))) == [SendFrame(Accept(ID, 1))]
    assert inc.receive(Chunk(ID, 3, _data(size, 3))) == []
    assert inc.have == 1
    actions = inc.receive(Chunk(ID, 1, _data(size, 1)))
    assert actions == [StoreChunk(1, _data(size, 1)), SendFrame(Ack(ID, 2))]


def test_a_duplicate_chunk_is_ignored() -> None:
    size = 3 * CHUNK_SIZE
    inc = Incoming(_offer(size))
    inc.offered()
    inc.receive(Chunk(ID, 0, _data(size, 0)))
    assert inc.receive(Chunk(ID, 0, _data(size, 0))) == []
    assert inc.have == 1


@pytest.mark.parametrize(("index", "length"), [(0, CHUNK_SIZE - 1), (2, CHUNK_SIZE)])
def test_a_chunk_of_the_wrong_length_fails_the_transfer(index: int, length: int) -> None:
    size = 2 * CHUNK_SIZE + 10
    inc = Incoming(_offer(size), have=index)
    inc.offered()
    actions = inc.receive(Chunk(ID, index, b"x" * length))
    assert actions == [SendFrame(Cancel(ID, "failed")), Discard()]
    assert inc.state is TransferState.FAILED


def test_a_hash_mismatch_discards_the_file_and_tells_the_sender() -> None:
    size = CHUNK_SIZE
    inc = Incoming(_offer(size))
    inc.offered()
    assert inc.receive(Chunk(ID, 0, _data(size, 0)))[-1] == Verify()
    assert inc.verified(matches=False) == [SendFrame(Cancel(ID, "hash_mismatch")), Discard()]
    assert inc.state is TransferState.FAILED
    assert inc.reason == "hash_mismatch"
    out = Outgoing(_offer(size))
    out.channel_open()
    out.receive(Accept(ID, 0))
    out.receive(Cancel(ID, "hash_mismatch"))
    assert out.state is TransferState.FAILED


def test_the_sender_cancels_mid_transfer() -> None:
    size = 10 * CHUNK_SIZE
    out = Outgoing(_offer(size))
    inc = Incoming(_offer(size))
    out.channel_open()
    out.receive(Accept(ID, 0))
    assert out.cancel() == [SendFrame(Cancel(ID, "cancelled"))]
    assert out.state is TransferState.CANCELLED
    assert inc.receive(Cancel(ID, "cancelled")) == [Discard()]
    assert inc.state is TransferState.CANCELLED
    assert inc.receive(Chunk(ID, 0, _data(size, 0))) == []  # in flight before the cancel
    assert out.cancel() == []
    assert out.channel_open() == []


def test_the_receiver_cancels_mid_transfer_and_a_new_offer_is_refused() -> None:
    size = 10 * CHUNK_SIZE
    out = Outgoing(_offer(size))
    inc = Incoming(_offer(size))
    out.channel_open()
    inc.offered()
    assert inc.cancel() == [SendFrame(Cancel(ID, "cancelled")), Discard()]
    out.receive(Cancel(ID, "cancelled"))
    assert out.state is TransferState.CANCELLED
    assert out.receive(Chunk(ID, 3, b"x")) == []
    assert out.receive(Ack(ID, 3)) == [SendFrame(Cancel(ID, "cancelled"))]  # says how it ended
    assert inc.offered() == [SendFrame(Cancel(ID, "cancelled"))]


def test_a_received_file_offered_again_is_confirmed_again() -> None:
    inc = Incoming(_offer(1), state=TransferState.RECEIVED, have=1)
    assert inc.offered() == [SendFrame(Done(ID))]


def test_a_complete_but_unverified_file_is_verified_on_the_next_offer() -> None:
    inc = Incoming(_offer(CHUNK_SIZE), state=TransferState.PAUSED, have=1)
    assert inc.offered() == [Verify()]
    assert inc.verified(matches=True) == [SendFrame(Done(ID))]


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(0, 30 * CHUNK_SIZE),
    window=st.integers(1, 8),
    cuts=st.lists(st.integers(0, 40), max_size=4),
)
def test_any_sequence_of_channel_drops_ends_with_the_whole_file(
    size: int, window: int, cuts: list[int]
) -> None:
    """However often the channel drops (after ``cut`` frames each time, the rest
    lost), the receiver ends with every chunk exactly once, in order, and the
    sender never sends a chunk the receiver already acknowledged as stored."""
    pair = Pair(size, window=window)
    for cut in cuts:
        pair.out.channel_open()
        pair.run_receiver(pair.inc.offered())
        for _ in range(cut):
            if pair.to_receiver:
                pair.run_receiver(pair.inc.receive(pair.to_receiver.popleft()))
            if pair.to_sender:
                pair.run_sender(pair.out.receive(pair.to_sender.popleft()))
        pair.to_receiver.clear()
        pair.to_sender.clear()
        pair.out.channel_closed()
        pair.inc.channel_closed()
    if not pair.out.state.final:
        pair.start()
    assert pair.inc.state is TransferState.RECEIVED
    assert pair.out.state is TransferState.RECEIVED
    assert pair.stored == list(range(chunk_count(size)))
    assert pair.chunks_sent <= chunk_count(size) + len(cuts) * window


def test_a_receiver_back_from_away_learns_the_sender_cancelled() -> None:
    size = 10 * CHUNK_SIZE
    inc = Incoming(_offer(size), state=TransferState.PAUSED, have=4)
    out = Outgoing(_offer(size), state=TransferState.CANCELLED, reason="cancelled")
    probe = inc.probe()
    assert probe == [SendFrame(Ack(ID, 4))]
    answer = out.receive(probe[0].frame)  # type: ignore[union-attr]
    assert answer == [SendFrame(Cancel(ID, "cancelled"))]
    assert inc.receive(Cancel(ID, "cancelled")) == [Discard()]
    assert inc.state is TransferState.CANCELLED


def test_a_failed_transfer_answers_with_its_reason() -> None:
    out = Outgoing(_offer(CHUNK_SIZE), state=TransferState.FAILED, reason="too_large")
    assert out.receive(Accept(ID, 0)) == [SendFrame(Cancel(ID, "too_large"))]
    assert out.receive(Done(ID)) == []


def test_a_probe_is_harmless_to_a_live_sender() -> None:
    size = 40 * CHUNK_SIZE
    out = Outgoing(_offer(size), window=4)
    out.channel_open()
    assert out.receive(Ack(ID, 3)) == []  # not sending yet: the offer's accept decides
    assert out.receive(Accept(ID, 3)) == [SendChunks(3, 7)]
    assert out.receive(Ack(ID, 3)) == []  # the probe arriving late opens nothing new
    assert out.state is TransferState.SENDING


def test_a_finished_receiver_sends_no_probe() -> None:
    assert Incoming(_offer(1), state=TransferState.RECEIVED, have=1).probe() == []
    assert Incoming(_offer(1), state=TransferState.CANCELLED).probe() == []


def test_a_held_sender_stops_and_resumes_from_the_receivers_count() -> None:
    size = 40 * CHUNK_SIZE
    out = Outgoing(_offer(size), window=4)
    out.channel_open()
    out.receive(Accept(ID, 0))
    assert out.pause() == []
    assert (out.state, out.reason, out.held) == (TransferState.PAUSED, "held", True)
    assert out.receive(Ack(ID, 2)) == []  # in flight before the pause: nothing more goes
    assert out.channel_open() == []  # a new channel does not offer a held file
    assert out.receive(Accept(ID, 3)) == []  # nor does the receiver's accept start it
    assert out.resume() == [SendFrame(out.offer)]
    assert (out.state, out.reason) == (TransferState.QUEUED, None)
    assert out.receive(Accept(ID, 3)) == [SendChunks(3, 7)]
    assert out.resume() == []  # not held


def test_a_held_receiver_refuses_chunks_then_asks_for_the_rest() -> None:
    size = 10 * CHUNK_SIZE
    inc = Incoming(_offer(size))
    inc.offered()
    inc.receive(Chunk(ID, 0, _data(size, 0)))
    assert inc.pause() == []
    assert inc.receive(Chunk(ID, 1, _data(size, 1))) == []  # not stored, not acknowledged
    assert inc.offered() == []  # a new offer waits for the user
    assert inc.resume() == [SendFrame(Accept(ID, 1))]
    assert inc.receive(Chunk(ID, 1, _data(size, 1)))[0] == StoreChunk(1, _data(size, 1))


def test_a_finished_transfer_cannot_be_held() -> None:
    out = Outgoing(_offer(1), state=TransferState.RECEIVED, have=1)
    assert out.pause() == []
    assert out.state is TransferState.RECEIVED
    inc = Incoming(_offer(1), state=TransferState.CANCELLED)
    assert inc.pause() == []
    assert inc.resume() == []
