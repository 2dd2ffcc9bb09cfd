"""Controls over a signed-in page for UI tests: its visibility, the
notifications it shows, and its settings panel.

Headless Chromium has no window to hide, so :data:`VISIBILITY_AND_SPY` (an
init script) puts ``document.hidden`` under the test's control and records
every notification the page creates through the real Notification API.
"""

from __future__ import annotations

from typing import Any, Final

from playwright.sync_api import expect

from kith_testkit.polling import wait_for

__all__ = [
    "VISIBILITY_AND_SPY",
    "WAIT_MS",
    "back_to_list",
    "drop_file",
    "new_note",
    "notes",
    "open_chat",
    "open_group",
    "set_hidden",
    "set_setting",
]

WAIT_MS: Final = 15_000

VISIBILITY_AND_SPY: Final = """
window.__hidden = false;
Object.defineProperty(Document.prototype, "hidden", {
  configurable: true, get: () => window.__hidden });
Object.defineProperty(Document.prototype, "visibilityState", {
  configurable: true, get: () => (window.__hidden ? "hidden" : "visible") });
window.__setHidden = (value) => {
  window.__hidden = value;
  document.dispatchEvent(new Event("visibilitychange"));
};
window.__notes = [];
if (window.Notification) {
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notes.push({ title, body: options ? options.body : "" });
    }
  };
}
"""


def notes(page: Any) -> list[dict[str, str]]:
    """Every notification the page has shown, oldest first."""
    return list(page.evaluate("window.__notes"))


def new_note(page: Any, before: int) -> dict[str, str]:
    """Wait (bounded) until the page has shown more than ``before`` notifications."""
    found = wait_for(lambda: notes(page)[before:] or None, "a notification", WAIT_MS / 1000)
    return found[-1]


def set_hidden(page: Any, hidden: bool) -> None:
    """Hide or show the tab (as switching away from it would)."""
    page.evaluate("(value) => window.__setHidden(value)", hidden)


def set_setting(page: Any, key: str, on: bool) -> None:
    """Tick or untick a setting's box in the settings panel and wait until it is saved."""
    page.locator("#settings-open").click()
    box = page.locator(f"#setting-{key}")
    expect(box).to_be_visible(timeout=WAIT_MS)
    if box.is_checked() != on:
        box.click()
    saved = page.locator("#settings [role='status']", has_text="Saved").first
    expect(saved).to_be_visible(timeout=WAIT_MS)


def back_to_list(page: Any) -> None:
    """In the narrow layout (one pane at a time), go back from whatever pane is
    showing to the contact list; in the wide layout the list is always shown."""
    back = page.locator("#chat-back:visible, #settings-back:visible")
    if back.count():
        back.first.click()


def open_chat(page: Any, contact_id: str, title: str) -> Any:
    """Open the chat with ``contact_id`` (whose header reads ``title``)."""
    back_to_list(page)
    page.locator(f"#contacts li[data-id='{contact_id}'] button").click()
    expect(page.locator("#chat-title")).to_have_text(title, timeout=WAIT_MS)
    return page


def open_group(page: Any, name: str, timeout_ms: float = WAIT_MS) -> Any:
    """Open the group chat ``name`` from the page's list of groups."""
    page.locator("#groups-list li", has_text=name).get_by_role("button").click()
    expect(page.locator("#group-title")).to_have_text(name, timeout=timeout_ms)
    return page


DROP: Final = """({ bytes, name, kind, target }) => {
    const file = new File([new Uint8Array(bytes)], name, { type: kind });
    const data = new DataTransfer();
    data.items.add(file);
    const where = document.querySelector(target);
    where.dispatchEvent(new DragEvent("dragover", { bubbles: true, dataTransfer: data }));
    where.dispatchEvent(new DragEvent("drop", { bubbles: true, dataTransfer: data }));
}"""


def drop_file(page: Any, target: str, name: str, data: bytes, kind: str = "") -> None:
    """Drag a file ``name`` holding ``data`` (MIME type ``kind``) onto ``target``."""
    args = {"bytes": list(data), "name": name, "kind": kind, "target": target}
    page.evaluate(DROP, args)
