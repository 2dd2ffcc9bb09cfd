"""Browser sessions kept across a clean restart: only hashes leave memory,
the time the node was down counts as idle, and a signed-out session stays out."""

from __future__ import annotations

from kith.api.access import AccessPolicy

WALL = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def _policy(clock: Clock, idle: float = 3600.0) -> AccessPolicy:
    return AccessPolicy(token="t" * 32, clock=clock, idle_timeout=idle)


def _signed_in(policy: AccessPolicy) -> str:
    session = policy.redeem(policy.new_login_code())
    assert session is not None
    return session


def test_a_kept_session_works_in_the_next_run_and_only_its_hash_was_kept() -> None:
    first = _policy(Clock())
    session = _signed_in(first)
    kept = first.export_sessions(WALL)
    assert all(session.encode() not in digest for digest, _ in kept)
    assert [len(digest) for digest, _ in kept] == [32]
    second = _policy(Clock())
    assert second.restore_sessions(kept, WALL + 60) == 1
    assert second.check_credentials(None, session).allowed


def test_downtime_counts_as_idle_so_a_long_stop_ends_the_session() -> None:
    first = _policy(Clock(), idle=3600)
    session = _signed_in(first)
    kept = first.export_sessions(WALL)
    second = _policy(Clock(), idle=3600)
    assert second.restore_sessions(kept, WALL + 3601) == 0
    assert second.check_credentials(None, session).status == 401


def test_a_signed_out_session_is_not_kept() -> None:
    policy = _policy(Clock())
    session = _signed_in(policy)
    assert policy.end_session(session)
    assert policy.export_sessions(WALL) == []
