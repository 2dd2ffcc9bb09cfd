"""Call benchmark: set-up through two real nodes versus two bare peer connections.

Run: ``.venv/bin/python bench/bench_calls.py [CALLS]`` (5 calls by default).
A real ``kith-signal``, two real ``kith run`` nodes on loopback and a signed-in
page for each in Debian's headless Chromium with a fake camera and microphone:

* ``bare``: the anchor, in the same run and browser: two RTCPeerConnections in
  one page, offer, answer and candidates handed over in-page; from creating
  the offer until inbound audio bytes flow on both. Measured before and after
  the calls (the machine is shared: the mean of the two is the anchor).
* ``kith: accept → media``: an audio call, from Bob's click on **Accept**
  until both pages' ``getStats()`` show inbound audio bytes (the offer, answer
  and candidates go page → node → pair channel → node → page); ``vs_bare`` is
  its p50 over the anchor's p50.
* ``server relays per call``: the signaling server's ``kith_signal_relays``
  counter across the calls, divided by the calls (the channel is open, so the
  set-up is sealed in it: the target is 0).
* ``node CPU``: each node's CPU share during 5 s of a connected video call,
  beside the same node idle for 5 s just before (media is the browser's: the
  node should stay near idle).

The machine's load average before and after is written with the figures.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.request import urlopen

from playwright.sync_api import sync_playwright

from benchlib import report, summary_ms
from kith_testkit.browser import launch_chromium, new_context, sign_in
from kith_testkit.chat_world import ChatWorld
from kith_testkit.polling import wait_for

WINDOW = 5.0
"""Seconds of CPU sampling, idle and in a call."""

BARE = """async () => {
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const [sa, sb] = await Promise.all([
    navigator.mediaDevices.getUserMedia({ audio: true }),
    navigator.mediaDevices.getUserMedia({ audio: true }),
  ]);
  const started = performance.now();
  sa.getTracks().forEach((t) => a.addTrack(t, sa));
  sb.getTracks().forEach((t) => b.addTrack(t, sb));
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  const inbound = async (pc) => {
    let bytes = 0;
    (await pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "audio") bytes = r.bytesReceived;
    });
    return bytes;
  };
  const tick = () => new Promise((r) => setTimeout(r, 5));
  while (!((await inbound(a)) > 0 && (await inbound(b)) > 0)) await tick();
  const elapsed = performance.now() - started;
  [a, b].forEach((pc) => pc.close());
  [sa, sb].forEach((s) => s.getTracks().forEach((t) => t.stop()));
  return elapsed / 1000;
}"""

INBOUND = """async () => {
  const pc = window.kithCall;
  if (!pc) return 0;
  let bytes = 0;
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "audio") bytes = r.bytesReceived;
  });
  return bytes;
}"""

ROUND_TRIP = """async () => {
  const pc = window.kithCall;
  if (!pc) return null;
  let pair = null, rtcp = null;
  (await pc.getStats()).forEach((r) => {
    if (r.type === "candidate-pair" && r.nominated && r.currentRoundTripTime !== undefined)
      pair = r.currentRoundTripTime;
    if (r.type === "remote-inbound-rtp" && r.kind === "audio" && r.roundTripTime !== undefined)
      rtcp = r.roundTripTime;
  });
  return {pair, rtcp};
}"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def relays(world: ChatWorld) -> float:
    """The server's relay requests so far (every result)."""
    text = urlopen(world.server.http + "/metrics", timeout=5).read().decode()
    return sum(
        float(v) for v in re.findall(r"^kith_signal_relays_total\{[^}]*\} (\S+)$", text, re.M)
    )


def cpu_share(pids: dict[str, int], window: float, wait: Any) -> dict[str, float]:
    """Each process's CPU share (percent of one core) over ``window`` seconds."""
    before = {n: cpu_seconds(p) for n, p in pids.items()}
    started = time.monotonic()
    wait(window)
    elapsed = time.monotonic() - started
    return {n: 100 * (cpu_seconds(p) - before[n]) / elapsed for n, p in pids.items()}


def bare(page: Any, runs: int) -> list[float]:
    return [float(page.evaluate(BARE)) for _ in range(runs)]


def one_call(alice: Any, bob: Any, video: bool) -> float:
    """Ring, accept, and return seconds from Accept to audio flowing on both pages."""
    alice.get_by_role("button", name="Video call" if video else "Call", exact=True).click()
    accept = bob.get_by_role("alertdialog").get_by_role("button", name="Accept")
    accept.wait_for(timeout=20_000)
    started = time.monotonic()
    accept.click()
    wait_for(
        lambda: (alice.evaluate(INBOUND) > 0 and bob.evaluate(INBOUND) > 0) or None,
        "audio flowing both ways",
        30,
    )
    return time.monotonic() - started


def hang_up(alice: Any, bob: Any) -> None:
    alice.get_by_role("region", name="Call").get_by_role("button", name="Hang up").click()
    for page in (alice, bob):
        ended(page)


def ended(page: Any) -> None:
    """Wait until the page shows the call ended."""

    def probe() -> bool | None:
        return str(page.locator("#call-state").text_content()).startswith("Call ended") or None

    wait_for(probe, "the call ended", 20)


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = launch_chromium(playwright, media=True)
        world = ChatWorld(Path(tmp), "ab")
        try:
            a, b = world.start("a", "b")
            world.online("a", "b")
            alice, bob = sign_in(new_context(browser), a), sign_in(new_context(browser), b)
            for page, other in ((alice, "b"), (bob, "a")):
                page.locator(f"#contacts li[data-id='{world.ids[other]}'] button").click()
            bare_before = bare(alice, calls)
            one_call(alice, bob, False)  # warm-up: opens the pair channel
            hang_up(alice, bob)
            relays_before = relays(world)
            samples = []
            for _ in range(calls):
                samples.append(one_call(alice, bob, False))
                hang_up(alice, bob)
            per_call = (relays(world) - relays_before) / calls
            pids = {"alice's node": a.proc.pid, "bob's node": b.proc.pid}
            idle = cpu_share(pids, WINDOW, lambda s: alice.wait_for_timeout(s * 1000))
            one_call(alice, bob, True)
            busy = cpu_share(pids, WINDOW, lambda s: alice.wait_for_timeout(s * 1000))
            round_trip = alice.evaluate(ROUND_TRIP) or {}
            hang_up(alice, bob)
            bare_after = bare(alice, calls)
        finally:
            world.close()
            browser.close()
    anchor = summary_ms(bare_before + bare_after)
    kith = summary_ms(samples)
    rows: list[dict[str, Any]] = [
        {"what": "bare: offer → media", **anchor},
        {"what": "kith: accept → media", **kith, "vs_bare": kith["p50_ms"] / anchor["p50_ms"]},
        {"what": "server relays per call", "value": per_call},
        {"what": "server relays before (channel set-up)", "value": relays_before},
        {
            "what": "audio round trip on loopback, browser stats (ms)",
            "ice_pair": _ms(round_trip.get("pair")),
            "rtcp": _ms(round_trip.get("rtcp")),
        },
    ]
    # /proc counts CPU in clock ticks (10 ms): over the window that is the resolution.
    rows += [
        {"what": f"{n} CPU % idle / in a video call", "idle": idle[n], "call": busy[n]}
        for n in pids
    ]
    report("bench_calls", rows, {"load_before": load_before, "load_after": os.getloadavg()})


def _ms(seconds: float | None) -> float | None:
    """Milliseconds, or None where the browser's stats do not report it."""
    return None if seconds is None else 1000 * seconds


if __name__ == "__main__":
    main()
