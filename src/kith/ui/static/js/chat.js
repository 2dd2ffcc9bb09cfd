// The chat panel: history (incremental, oldest pages loaded on scroll up), sending,
// delivery state, typing indicator, edit, delete, reactions. Degrades to a notice when
// the node has no message endpoints.

import { $, say } from "./dom.js";
import { STATUS_LABEL, displayName, presenceLine } from "./format.js";
import { MessageList } from "./messages.js";

const PAGE = 50;
const TYPING_SEND_MS = 3000;
const TYPING_SHOW_MS = 6000;

export class ChatPanel {
  constructor(api, { me, contactOf, onDetails }) {
    this.api = api;
    this.me = me;
    this.contactOf = contactOf;
    this.root = $("#chat");
    this.notice = $("#chat-notice");
    this.typingLine = $("#typing");
    this.input = $("#composer-text");
    this.sendButton = $("#composer-send");
    this.contactId = null;
    this.available = true;
    this.loading = false;
    this.complete = false;
    this.lastTypingSent = 0;
    this.typingTimer = null;
    const nameOf = (id) => (id === this.me.id ? this.me.name || "You" : displayName(this.contactOf(id) || { id }));
    this.list = new MessageList($("#messages"), {
      me: me.id,
      nameOf,
      actions: {
        edit: (mid, text) => this.guard(() => this.api.edit(mid, text).then((m) => m && this.list.upsert(m))),
        remove: (mid) => window.confirm("Delete this message for both of you?") &&
          this.guard(() => this.api.remove(mid).then(() => this.list.upsert({ id: mid, deleted: true, text: "" }))),
        react: (mid, emoji) => this.guard(() => this.api.react(mid, emoji).then((m) => m && this.list.upsert(m))),
        unreact: (mid, emoji) => this.guard(() => this.api.unreact(mid, emoji).then((m) => m && this.list.upsert(m))),
      },
    });
    $("#chat-details").addEventListener("click", () => onDetails(this.contactId));
    $("#composer").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    this.input.addEventListener("input", () => this.typed());
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadOlder();
    }, { root: $("#messages"), rootMargin: "400px 0px 0px 0px" }).observe($("#messages-top"));
  }

  /** Run an API call; show its error in the notice; resolve true on success. */
  async guard(call) {
    try {
      await call();
      say(this.notice, "");
      return true;
    } catch (error) {
      this.showError(error);
      return false;
    }
  }

  showError(error) {
    if (error.missingEndpoint) this.unavailable();
    else say(this.notice, error.message);
  }

  unavailable() {
    this.available = false;
    say(this.notice, "Messaging is not available on this node yet: presence and contacts work, chat comes with the messaging update.", "notice");
    this.input.disabled = true;
    this.sendButton.disabled = true;
  }

  async open(id) {
    this.contactId = id;
    this.complete = false;
    this.list.clear();
    this.showTyping(false);
    say(this.notice, "");
    this.paintHeader();
    this.root.hidden = false;
    this.input.value = "";
    if (!this.available) return this.unavailable();
    this.input.disabled = false;
    this.sendButton.disabled = false;
    await this.loadOlder();
    this.list.scrollToBottom();
  }

  paintHeader() {
    const contact = this.contactOf(this.contactId);
    if (!contact) return;
    const name = displayName(contact);
    $("#chat-title").textContent = name;
    $("#chat-dot").className = `dot ${contact.status}`;
    $("#chat-presence").textContent = presenceLine(contact);
    $("#chat-presence").dataset.presence = contact.status;
    $("#chat-verified").hidden = !contact.verified;
    $("#composer-label").textContent = `Message ${name}`;
    this.input.placeholder = `Message ${name}`;
    $("#chat-dot").setAttribute("title", STATUS_LABEL[contact.status] || contact.status);
  }

  async loadOlder() {
    if (!this.contactId || this.loading || this.complete || !this.available) return;
    this.loading = true;
    const id = this.contactId;
    try {
      const page = await this.api.messages(id, PAGE, this.list.oldestId);
      if (id !== this.contactId) return;
      this.list.prepend(page.messages);
      this.complete = page.messages.length < PAGE;
    } catch (error) {
      this.showError(error);
    } finally {
      this.loading = false;
    }
  }

  async send() {
    const text = this.input.value.trim();
    if (!text || !this.contactId) return;
    this.input.value = "";
    this.lastTypingSent = 0; // the next keystroke starts a new typing notice
    const sent = await this.guard(async () => {
      const message = await this.api.send(this.contactId, text);
      if (message && message.id) this.list.upsert(message);
    });
    if (!sent && this.available) this.input.value = text;
  }

  typed() {
    const now = Date.now();
    if (!this.available || !this.input.value || now - this.lastTypingSent < TYPING_SEND_MS) return;
    this.lastTypingSent = now;
    this.api.typing(this.contactId).catch((error) => error.missingEndpoint || null);
  }

  showTyping(on) {
    window.clearTimeout(this.typingTimer);
    const contact = this.contactOf(this.contactId);
    this.typingLine.textContent = on && contact ? `${displayName(contact)} is typing…` : "";
    if (on) this.typingTimer = window.setTimeout(() => this.showTyping(false), TYPING_SHOW_MS);
  }

  /** A live event; returns true when it was a message for another contact (unread). */
  onEvent(event) {
    const here = event.contact === this.contactId && !this.root.hidden;
    if (event.type === "typing") {
      if (here) this.showTyping(event.typing);
    } else if (event.type === "message") {
      if (here) {
        if (event.message.from !== this.me.id) this.showTyping(false);
        this.list.upsert(event.message);
      }
      return !here && event.message.from !== this.me.id;
    } else if (event.type === "message_state") {
      if (here) this.list.setState(event.id, event.state);
    } else if (event.type === "presence" && event.id === this.contactId) {
      this.paintHeader();
    }
    return false;
  }
}
