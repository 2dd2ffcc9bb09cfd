"""Group benchmarks (pure cores): sender CPU per group message, bytes per member,
and a full key rotation after a removal, at 4, 16 and 32 members.

Run: ``.venv/bin/python bench/bench_groups.py``. The anchor, measured in the same
run, is one bare ChaCha20-Poly1305 seal of the same text (what any message costs
at least); every figure is also given as a ratio to it. The pairwise session's
own seal of each fan-out frame is the 1:1 cost and is not counted here; nor is
the network (end-to-end time to all members needs real nodes: not measured yet).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from benchlib import report, summary_ms
from kith.groups.frames import Key, Post, Sealed, encode_group_frame, encode_post
from kith.groups.keyring import GroupKeyring
from kith.groups.membership import create_group, next_change
from kith.groups.sender_keys import encode_group_message, encode_sender_key
from kith_proto.keys import IdentityKeys

TEXT = "x" * 200
RUNS = 400
SIZES = (4, 16, 32)


def _time(fn: Callable[[], object], runs: int = RUNS) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def _anchor() -> dict[str, Any]:
    aead, nonce, data = ChaCha20Poly1305(os.urandom(32)), os.urandom(12), TEXT.encode()
    return {"case": "anchor: one bare ChaCha20-Poly1305 seal", **summary_ms(_time(
        lambda: aead.encrypt(nonce, data, b"")
    ))}  # fmt: skip


def _group(size: int) -> tuple[list[IdentityKeys], Any, dict[str, GroupKeyring]]:
    keys = [IdentityKeys(os.urandom(32)) for _ in range(size)]
    state, _ = create_group(keys[0], "bench", [k.kith_id for k in keys[1:]])
    rings = {k.kith_id: GroupKeyring.start(state.group_id, k.kith_id) for k in keys}
    for sender, ring in rings.items():
        for receiver in rings:
            if receiver != sender:
                rings[receiver] = rings[receiver].accept(state, ring.own.sender_key(), sender)
    return keys, state, rings


def _message(size: int, anchor_ms: float) -> dict[str, Any]:
    keys, state, rings = _group(size)
    sender, receiver = keys[0].kith_id, keys[1].kith_id
    holder = {"ring": rings[sender]}
    post = encode_post(Post("0" * 32, TEXT, 0))

    def send() -> bytes:
        holder["ring"], sealed = holder["ring"].seal(post)
        return encode_group_frame(Sealed(encode_group_message(sealed)))

    seal = summary_ms(_time(send))
    frames = [send() for _ in range(RUNS)]
    opener = {"ring": rings[receiver]}
    from kith.groups.frames import decode_group_frame
    from kith.groups.sender_keys import decode_group_message

    it = iter(frames)

    def receive() -> None:
        frame = decode_group_frame(next(it))
        assert isinstance(frame, Sealed)
        opener["ring"], _ = opener["ring"].open(state, decode_group_message(frame.message))

    opened = summary_ms(_time(receive, len(frames)))
    return {
        "case": f"group message, {size} members",
        "sender_seal_p50_ms": seal["p50_ms"],
        "sender_seal_p99_ms": seal["p99_ms"],
        "sender_vs_anchor": seal["p50_ms"] / anchor_ms,
        "receiver_open_p50_ms": opened["p50_ms"],
        "frames_sent": size - 1,
        "bytes_per_member": len(frames[0]),
        "bytes_text": len(TEXT),
    }


def _rotation(size: int, anchor_ms: float) -> dict[str, Any]:
    keys, state, rings = _group(size)
    applied, _ = next_change(state, keys[0], "remove", subject=keys[-1].kith_id)
    remaining = [k.kith_id for k in keys[:-1]]

    def rotate() -> int:
        sent = 0
        new = {}
        for member in remaining:
            new[member], _ = rings[member].after_change(applied)
        for sender in remaining:
            frame = encode_group_frame(Key(encode_sender_key(new[sender].own.sender_key())))
            for receiver in remaining:
                if receiver != sender:
                    new[receiver] = new[receiver].accept(
                        applied.state, new[sender].own.sender_key(), sender
                    )
                    sent += len(frame)
        return sent

    samples = _time(rotate, 5)
    total_bytes = rotate()
    ms = summary_ms(samples)
    return {
        "case": f"full rotation after a removal, {size} members (all members' CPU)",
        "p50_ms": ms["p50_ms"],
        "p99_ms": ms["p99_ms"],
        "vs_anchor": ms["p50_ms"] / anchor_ms,
        "key_frames": (size - 1) * (size - 2),
        "bytes_total": total_bytes,
    }


def main() -> None:
    anchor = _anchor()
    rows: list[dict[str, Any]] = [anchor]
    rows += [_message(n, anchor["p50_ms"]) for n in SIZES]
    rows += [_rotation(n, anchor["p50_ms"]) for n in SIZES]
    report("bench_groups", rows, {"load": os.getloadavg()[0]})


if __name__ == "__main__":
    main()
