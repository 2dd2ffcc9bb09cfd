"""The local API's access rules as pure logic: token, sign-in codes, sessions, expiry."""

from __future__ import annotations

import pytest

from kith.api.access import (
    LOGIN_CODE_TTL,
    SESSION_IDLE_TIMEOUT,
    AccessPolicy,
    Credential,
    session_from_protocols,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def policy(clock: Clock) -> AccessPolicy:
    return AccessPolicy(token="the-token", clock=clock, port=4242)


def signed_in(policy: AccessPolicy) -> str:
    session = policy.redeem(policy.new_login_code())
    assert session is not None
    return session


def test_the_token_is_a_token_credential(policy: AccessPolicy) -> None:
    verdict = policy.check_credentials("Bearer the-token", None)
    assert verdict.allowed
    assert verdict.credential is Credential.TOKEN


def test_a_wrong_token_is_refused_even_with_a_session(policy: AccessPolicy) -> None:
    verdict = policy.check_credentials("Bearer nope", signed_in(policy))
    assert (verdict.status, verdict.code) == (401, "bad_token")


def test_a_redeemed_code_gives_a_session_credential(policy: AccessPolicy) -> None:
    verdict = policy.check_credentials(None, signed_in(policy))
    assert verdict.allowed
    assert verdict.credential is Credential.SESSION


def test_a_code_works_once(policy: AccessPolicy) -> None:
    code = policy.new_login_code()
    assert policy.redeem(code) is not None
    assert policy.redeem(code) is None


def test_a_code_expires(policy: AccessPolicy, clock: Clock) -> None:
    code = policy.new_login_code()
    clock.now += LOGIN_CODE_TTL + 1
    assert policy.redeem(code) is None


def test_an_unknown_session_is_refused(policy: AccessPolicy) -> None:
    signed_in(policy)
    verdict = policy.check_credentials(None, "made-up")
    assert (verdict.status, verdict.code) == (401, "unauthenticated")


def test_no_credential_is_refused(policy: AccessPolicy) -> None:
    verdict = policy.check_credentials(None, None)
    assert (verdict.status, verdict.code) == (401, "unauthenticated")


def test_an_idle_session_expires(policy: AccessPolicy, clock: Clock) -> None:
    session = signed_in(policy)
    clock.now += SESSION_IDLE_TIMEOUT + 1
    verdict = policy.check_credentials(None, session)
    assert (verdict.status, verdict.code) == (401, "session_expired")
    assert not policy.check_credentials(None, session).allowed


def test_using_a_session_keeps_it_alive(policy: AccessPolicy, clock: Clock) -> None:
    session = signed_in(policy)
    for _ in range(3):
        clock.now += SESSION_IDLE_TIMEOUT - 1
        assert policy.check_credentials(None, session).allowed


def test_the_idle_timeout_is_twelve_hours_by_default(policy: AccessPolicy) -> None:
    assert policy.idle_timeout == SESSION_IDLE_TIMEOUT == 12 * 3600


def test_a_signed_out_session_is_refused(policy: AccessPolicy) -> None:
    session, other = signed_in(policy), signed_in(policy)
    assert policy.end_session(session)
    assert not policy.check_credentials(None, session).allowed
    assert policy.check_credentials(None, other).allowed
    assert not policy.end_session(session)


def test_sessions_are_unrelated_to_the_token(policy: AccessPolicy) -> None:
    session = signed_in(policy)
    assert session != policy.token
    assert not policy.check_credentials(f"Bearer {session}", None).allowed


def test_the_session_travels_as_a_websocket_subprotocol() -> None:
    assert session_from_protocols("kith.events, kith.session.abc_-9") == "abc_-9"
    assert session_from_protocols("kith.events") is None
    assert session_from_protocols(None) is None


@pytest.mark.parametrize(
    ("host", "origin", "code"),
    [
        ("127.0.0.1:4242", None, ""),
        ("localhost:4242", "http://localhost:4242", ""),
        ("127.0.0.1:4243", None, "forbidden_host"),
        (None, None, "forbidden_host"),
        ("127.0.0.1:4242", "http://127.0.0.1:4243", "forbidden_origin"),
        ("127.0.0.1:4242", "null", "forbidden_origin"),
    ],
)
def test_host_and_origin_must_name_the_node(
    policy: AccessPolicy, host: str | None, origin: str | None, code: str
) -> None:
    assert policy.check_origin(host, origin).code == code
