"""Groups in the web UI: three real nodes through a real kith-signal, two pages.

alice creates a group with bob and carol (carol is alice's contact, not bob's)
and writes; bob's hidden tab shows a notification and the count in its title,
his page the group with an unread count and the message under alice's name,
the members panel shows alice online and carol without presence (not bob's
contact); alice removes carol, renames the group and makes bob an admin, and
both pages show the system lines, in their place among the messages after
reopening the group.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from kith_testkit.browser import ARTIFACTS
from kith_testkit.page_controls import VISIBILITY_AND_SPY, new_note, notes, open_group, set_hidden
from kith_testkit.page_world import PageWorld, mutual, notifying_page, open_world

pytestmark = pytest.mark.slow
WAIT_MS = 30_000  # group frames go out once the pairwise sessions are open


class Trio(PageWorld):
    """A server; alice, bob and carol's nodes; pages for alice and bob."""

    def __init__(self, root: Path, browser: Any) -> None:
        super().__init__(
            root,
            browser,
            ("alice", "bob", "carol"),
            adds=mutual(("alice", "bob"), ("alice", "carol")),
            pages=("alice", "bob"),
            # bob's tab gets hidden and shows notifications
            setup=notifying_page(VISIBILITY_AND_SPY, "bob"),
            settings={"bob": {"notifications": "true"}},
        )


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trio]:
    root = tmp_path_factory.mktemp("groups-ui")
    with open_world(lambda browser: Trio(root, browser)) as world:
        for other in ("bob", "carol"):
            world.wait_online("alice", other, WAIT_MS)
        yield world


def test_a_group_created_on_one_page_chats_and_shows_members_and_removal_on_another(
    trio: Trio,
) -> None:
    alice, bob = trio.pages["alice"], trio.pages["bob"]
    alice.get_by_role("button", name="New group").click()
    dialog = alice.get_by_role("dialog", name="New group")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Create group").click()  # no name yet: refused
    expect(dialog.get_by_role("alert")).to_have_text("Give the group a name.")
    dialog.get_by_label("Group name").fill("Hikers")
    dialog.get_by_label("bob").check()
    dialog.get_by_label("carol").check()
    dialog.get_by_role("button", name="Create group").click()
    expect(alice.locator("#group-title")).to_have_text("Hikers", timeout=WAIT_MS)
    expect(alice.locator("#group-messages .system").first).to_have_text(
        "You created the group “Hikers” with bob, carol"
    )
    set_hidden(bob, True)
    before = len(notes(bob))
    alice.fill("#group-composer-text", "hello hikers")
    alice.keyboard.press("Enter")
    expect(alice.locator("#group-messages .msg").last).to_contain_text("hello hikers")
    assert new_note(bob, before) == {"title": "Hikers", "body": "alice: hello hikers"}
    expect(bob).to_have_title("(1) Kith")
    set_hidden(bob, False)

    row = bob.locator("#groups-list li", has_text="Hikers")
    expect(row.locator(".unread")).to_have_text("1", timeout=WAIT_MS)
    row.get_by_role("button").click()
    message = bob.locator("#group-messages .msg", has_text="hello hikers")
    expect(message.locator(".author")).to_have_text("alice", timeout=WAIT_MS)
    expect(message.locator("time")).to_have_attribute("datetime", re.compile(r"^20\d\d-"))
    expect(bob.locator("#group-messages .system").first).to_contain_text(
        "alice created the group “Hikers” with you"
    )
    expect(row.locator(".unread")).to_have_count(0)
    expect(bob).to_have_title("Kith")
    bob.get_by_role("button", name="Members", exact=True).click()
    members = bob.get_by_role("complementary", name="Members")
    alice_row = members.locator(f"li[data-id='{trio.ids['alice']}']")
    expect(alice_row.locator(".member-role")).to_have_text("admin")
    expect(alice_row.locator(".member-presence")).to_have_attribute("data-presence", "online")
    carol_row = members.locator(f"li[data-id='{trio.ids['carol']}']")
    expect(carol_row.locator(".member-presence")).to_have_text("not your contact")
    expect(carol_row.locator("[data-presence]")).to_have_count(0)
    expect(members.get_by_role("button", name="Remove alice")).to_have_count(0)  # not an admin
    expect(members.get_by_role("button", name="Make carol an admin")).to_have_count(0)

    message.hover()
    message.get_by_role("button", name="Add reaction").click()
    bob.get_by_role("button", name="React with 👍").click()
    mine = alice.locator("#group-messages .msg", has_text="hello hikers")
    expect(mine.locator(".reaction")).to_have_text("👍 1", timeout=WAIT_MS)
    expect(mine.locator(".state")).to_have_text(re.compile(r" of 2$"), timeout=WAIT_MS)
    expect(message.get_by_role("button", name="Reply")).to_have_count(0)

    alice.get_by_role("button", name="Members", exact=True).click()
    alice.get_by_role("button", name="Remove carol").click()
    expect(alice.locator("#group-messages .system").last).to_have_text(
        "You removed carol", timeout=WAIT_MS
    )
    expect(alice.locator("#group-count")).to_have_text("2 members")
    removed = bob.locator("#group-messages .system").last
    expect(removed).to_contain_text("alice removed", timeout=WAIT_MS)
    expect(carol_row).to_have_count(0)

    panel = alice.get_by_role("complementary", name="Members")
    panel.get_by_label("Group name").fill("Hikers 2026")
    panel.get_by_role("button", name="Rename", exact=True).click()
    expect(bob.locator("#group-messages .system").last).to_have_text(
        "alice renamed the group to “Hikers 2026”", timeout=WAIT_MS
    )
    expect(bob.locator("#group-title")).to_have_text("Hikers 2026")
    expect(bob.locator("#groups-list li")).to_contain_text("Hikers 2026")

    expect(members.get_by_role("button", name="Rename", exact=True)).to_be_hidden()
    panel.get_by_role("button", name="Make bob an admin").click()
    expect(bob.locator("#group-messages .system").last).to_have_text(
        "alice made you an admin", timeout=WAIT_MS
    )
    expect(members.get_by_role("button", name="Rename", exact=True)).to_be_visible()

    # reopened, the rename line sits after the message sent before it, not above it
    bob.eval_on_selector("#group-messages .msg", "row => { row.dataset.stale = 'yes'; }")
    open_group(bob, "Hikers 2026", WAIT_MS)
    expect(bob.locator("#group-messages .msg")).to_have_count(1, timeout=WAIT_MS)
    expect(bob.locator("#group-messages .msg[data-stale]")).to_have_count(0)  # rebuilt
    after_message = bob.locator("#group-messages .msg:has-text('hello hikers') ~ .system")
    expect(after_message.filter(has_text="renamed the group")).to_have_count(1, timeout=WAIT_MS)
    ARTIFACTS.mkdir(exist_ok=True)
    alice.screenshot(path=str(ARTIFACTS / "ui-group-alice.png"))
    bob.screenshot(path=str(ARTIFACTS / "ui-group-bob.png"))
