"""Command-line parsing of kith-signal (no server started)."""

from __future__ import annotations

import pytest

from kith_signal.cli import build, parse_args


def test_defaults_bind_loopback_with_justified_heartbeats() -> None:
    args = parse_args([])
    assert (args.host, args.port) == ("127.0.0.1", 8765)
    assert (args.heartbeat_interval, args.heartbeat_timeout) == (10.0, 10.0)


@pytest.mark.parametrize(
    "argv",
    [
        ["--heartbeat-timeout", "31"],
        ["--tls-cert", "cert.pem"],
        ["--rate", "0"],
        ["--max-connections", "-1"],
        ["--max-batch", "-1"],
        ["--gc", "sometimes"],
        ["--gc-interval", "0"],
        ["--loop", "trio"],
        ["--transport", "aiohttp"],
    ],
)
def test_invalid_flags_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2


def test_build_wires_limits_into_the_server() -> None:
    server = build(parse_args(["--port", "0", "--rate", "5"]))
    assert server is not None


def test_defaults_manage_the_collector_and_take_batches() -> None:
    args = parse_args([])
    assert (args.gc, args.gc_interval) == ("managed", 60.0)
    assert (args.max_topics, args.max_batch) == (4096, 256)


def test_transport_defaults_to_websockets_and_picows_can_be_chosen() -> None:
    assert parse_args([]).transport == "websockets"
    assert parse_args(["--transport", "picows"]).transport == "picows"


def test_loop_defaults_to_auto_and_asyncio_can_be_forced() -> None:
    assert parse_args([]).loop == "auto"
    forced = parse_args(["--loop", "asyncio"]).event_loop
    assert (forced.name, forced.factory) == ("asyncio", None)


def test_missing_tls_file_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    from kith_signal.cli import main

    assert main(["--port", "0", "--tls-cert", "missing.pem", "--tls-key", "missing.key"]) == 1
    assert "missing.pem" in capsys.readouterr().err
