// The chat header's mute button: a muted contact's messages never show a desktop
// notification (they still count as unread). Saved in the `muted_contacts` setting.

import { $ } from "./dom.js";

export class MuteButton {
  constructor(api, notifier) {
    this.api = api;
    this.notifier = notifier;
    this.button = $("#chat-mute");
    this.contactId = null;
    this.button.addEventListener("click", () => this.toggle());
  }

  show(contactId) {
    this.contactId = contactId;
    const muted = this.notifier.muted.has(contactId);
    this.button.setAttribute("aria-pressed", muted ? "true" : "false");
    this.button.textContent = muted ? "Muted" : "Mute";
    this.button.title = muted ? "Notifications muted: press to unmute" : "No desktop notifications for this contact";
  }

  async toggle() {
    const id = this.contactId;
    const muted = new Set(this.notifier.muted);
    if (muted.has(id)) muted.delete(id);
    else muted.add(id);
    try {
      const saved = await this.api.setSetting("muted_contacts", [...muted].join(","));
      this.notifier.muted = new Set(saved.value);
    } catch (error) {
      this.button.title = `Could not save: ${error.message}`;
    }
    if (this.contactId === id) this.show(id);
  }
}
