// The chat panel: history (incremental, oldest pages loaded on scroll up, the calls
// between the messages), sending,
// delivery state, typing indicator, edit, delete, reactions. Degrades to a notice when
// the node has no message endpoints.

import { callLog, logEntry } from "./calls.js";
import { Composer } from "./composer.js";
import { $ } from "./dom.js";
import { acceptFiles } from "./fileviews.js";
import { STATUS_LABEL, displayName, presenceLine } from "./format.js";
import { MessageList, snippet } from "./messages.js";
import { VoiceRecorder } from "./voice.js";

const PAGE = 50;
const TYPING_SEND_MS = 3000;
const TYPING_SHOW_MS = 6000;
const READ_BATCH_MS = 300;

export class ChatPanel {
  /**
   * @param {object} api the API client
   * @param {{me: {id: string, name: string}, contactOf: (id: string) => object | undefined,
   *          onDetails: (id: string) => void, fileViews: object}} options
   *   `fileViews` shows the open conversation's files (a `FileViews`, fileviews.js).
   */
  constructor(api, { me, contactOf, onDetails, fileViews }) {
    this.api = api;
    this.fileViews = fileViews;
    this.me = me;
    this.contactOf = contactOf;
    this.root = $("#chat");
    this.notice = $("#chat-notice");
    this.noticeText = $("#chat-notice-text");
    this.acceptButton = $("#chat-notice-accept");
    this.notices = new Map(); // contact -> the node's last chat_notice for them
    this.unread = new Set(); // incoming message ids shown but not yet reported read
    this.reported = new Set();
    this.readTimer = null;
    this.typingLine = $("#typing");
    this.input = $("#composer-text");
    this.sendButton = $("#composer-send");
    this.contactId = null;
    this.replyTo = null; // the id of the message being replied to
    this.available = true;
    this.loading = false;
    this.complete = false;
    this.lastTypingSent = 0;
    this.typingTimer = null;
    const nameOf = (id) => (id === this.me.id ? this.me.name || "You" : displayName(this.contactOf(id) || { id }));
    const jump = $("#jump-newest");
    this.list = new MessageList($("#messages"), {
      me: me.id,
      nameOf,
      onUnseen: (count) => {
        jump.hidden = !count;
        $("#jump-count").textContent = count ? String(count) : "";
      },
      actions: {
        edit: (mid, text) => this.guard(() => this.api.edit(mid, text).then((m) => m && this.list.upsert(m))),
        remove: (mid) => window.confirm("Delete this message for both of you?") &&
          this.guard(() => this.api.remove(mid).then(() => this.list.upsert({ id: mid, deleted: true, text: "" }))),
        react: (mid, emoji) => this.guard(() => this.api.react(mid, emoji).then((m) => m && this.list.upsert(m))),
        unreact: (mid, emoji) => this.guard(() => this.api.unreact(mid, emoji).then((m) => m && this.list.upsert(m))),
        reply: (mid) => this.startReply(mid),
        cancelFile: (fid) => this.guard(() => this.api.cancelFile(fid).then((f) => this.list.setFile(f))),
        pauseFile: (fid) => this.guard(() => this.api.pauseFile(fid).then((f) => this.list.setFile(f))),
        resumeFile: (fid) => this.guard(() => this.api.resumeFile(fid).then((f) => this.list.setFile(f))),
        download: (file) => this.guard(() => this.fileViews.download(file)),
        preview: (file, img) => this.fileViews.preview(file, img),
        voice: (file) => this.fileViews.voice(file),
      },
    });
    jump.addEventListener("click", () => {
      this.list.scrollToBottom();
      this.list.setUnseen(0);
    });
    this.composer = new Composer(this.input, {
      onEditLast: () => {
        const last = this.list.lastMine();
        if (last) this.list.startEdit(last);
        return Boolean(last);
      },
    });
    acceptFiles({
      pane: this.root,
      attach: $("#composer-attach"),
      picker: $("#composer-file"),
      isOpen: () => Boolean(this.contactId),
      send: (file) => this.sendFile(file),
    });
    this.recorder = new VoiceRecorder({
      button: $("#composer-voice"),
      bar: $("#voice-bar"),
      time: $("#voice-time"),
      cancel: $("#voice-cancel"),
      onRecorded: (file, ms) => this.sendFile(file, ms),
      onError: (text) => this.notify(text),
    });
    $("#reply-cancel").addEventListener("click", () => {
      this.setReply(null);
      this.input.focus();
    });
    $("#chat-details").addEventListener("click", () => onDetails(this.contactId));
    this.acceptButton.addEventListener("click", () => this.acceptKey());
    document.addEventListener("visibilitychange", () => this.scheduleRead());
    $("#composer").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.replyTo) this.setReply(null);
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    this.input.addEventListener("input", () => {
      this.composer.changed(this.contactId);
      this.typed();
    });
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadOlder();
    }, { root: $("#messages"), rootMargin: "400px 0px 0px 0px" }).observe($("#messages-top"));
  }

  /** Reply to a loaded message: its quote shows above the composer until sent or cancelled. */
  startReply(mid) {
    if (!this.list.messages.has(mid)) return;
    this.setReply(mid);
    this.input.focus();
  }

  setReply(mid) {
    this.replyTo = mid;
    const original = mid ? this.list.messages.get(mid) : null;
    $("#reply-bar").hidden = !original;
    $("#reply-bar-text").textContent = original ? `Replying to ${this.list.nameOf(original.from)}: ${snippet(original)}` : "";
  }

  /** Show `text` above the messages (empty hides it); `accept` offers the key button. */
  notify(text, { accept = false } = {}) {
    this.noticeText.textContent = text || "";
    this.notice.hidden = !text;
    this.acceptButton.hidden = !accept;
  }

  async acceptKey() {
    const id = this.contactId;
    if (await this.guard(() => this.api.acceptKey(id))) this.notices.delete(id);
  }

  /** Run an API call; show its error in the notice; resolve true on success. */
  async guard(call) {
    try {
      await call();
      this.notify("");
      return true;
    } catch (error) {
      this.showError(error);
      return false;
    }
  }

  showError(error) {
    if (error.missingEndpoint) this.unavailable();
    else this.notify(error.message);
  }

  unavailable() {
    this.available = false;
    this.notify("Messaging is not available on this node yet: presence and contacts work, chat comes with the messaging update.");
    this.input.disabled = true;
    this.sendButton.disabled = true;
  }

  async open(id) {
    if (this.contactId) this.composer.keepDraft(this.contactId);
    this.contactId = id;
    this.setReply(null);
    this.unread.clear();
    this.complete = false;
    this.list.clear();
    this.showTyping(false);
    this.showNotice(id);
    this.paintHeader();
    this.root.hidden = false;
    this.composer.showDraft(id);
    if (!this.available) return this.unavailable();
    this.input.disabled = false;
    this.sendButton.disabled = false;
    const files = this.loadFiles(id); // beside the first page, not before it
    const calls = this.loadCalls(id);
    await this.loadOlder();
    await files;
    await calls;
    this.list.scrollToBottom();
  }

  /** The conversation's transfers (the messages that carry them show them as they come). */
  async loadFiles(id) {
    this.fileViews.clear();
    this.list.files.clear();
    this.list.voicePlayers.clear();
    try {
      const { files } = await this.api.files(id);
      if (id === this.contactId) files.forEach((file) => this.list.setFile(file));
    } catch (error) {
      if (!error.missingEndpoint) this.showError(error);
    }
  }

  /** The conversation's call log: rows between the messages of their time. */
  async loadCalls(id) {
    const entries = await callLog(id).catch(() => []);
    if (id === this.contactId) this.list.setCalls(entries, this.complete);
  }

  /** Send one file (with `voiceMs`: a voice message that long): the node keeps it
   * encrypted and sends it when the contact is reachable. */
  async sendFile(file, voiceMs = null) {
    const id = this.contactId;
    if (!id) return;
    await this.guard(async () => {
      const sent = await this.api.upload(id, file, voiceMs === null ? {} : { voice_ms: String(voiceMs) });
      if (id !== this.contactId) return;
      this.list.setFile(sent.file);
      this.list.upsert(sent.message);
    });
  }

  /** Re-read the open conversation: after the event socket re-opened, events may have been missed. */
  async reload() {
    if (!this.contactId || !this.available) return;
    this.complete = false;
    this.list.clear();
    const files = this.loadFiles(this.contactId);
    const calls = this.loadCalls(this.contactId);
    await this.loadOlder();
    await files;
    await calls;
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

  showNotice(id) {
    const notice = this.notices.get(id);
    this.notify(notice ? notice.message : "", { accept: notice?.code === "key_changed" });
  }

  /** Incoming messages now on screen: report them read (batched, only while visible). */
  noteIncoming(messages) {
    for (const m of messages) {
      if (m.from !== this.me.id && !m.deleted && !this.reported.has(m.id)) this.unread.add(m.id);
    }
    this.scheduleRead();
  }

  scheduleRead() {
    if (document.hidden || !this.unread.size || this.readTimer) return;
    this.readTimer = window.setTimeout(() => this.flushRead(), READ_BATCH_MS);
  }

  async flushRead() {
    this.readTimer = null;
    const id = this.contactId;
    const ids = [...this.unread];
    this.unread.clear();
    if (!id || !ids.length || document.hidden || !this.available) return;
    ids.forEach((mid) => this.reported.add(mid));
    await this.api.markRead(id, ids).catch(() => null);
  }

  async loadOlder() {
    if (!this.contactId || this.loading || this.complete || !this.available) return;
    this.loading = true;
    const id = this.contactId;
    try {
      const page = await this.api.messages(id, PAGE, this.list.oldestId);
      if (id !== this.contactId) return;
      const first = this.list.oldestId === null;
      const complete = page.messages.length < PAGE;
      this.list.prepend(page.messages, complete);
      if (first) this.noteIncoming(page.messages);
      this.complete = complete;
    } catch (error) {
      this.showError(error);
    } finally {
      this.loading = false;
    }
  }

  async send() {
    const text = this.input.value.trim();
    if (!text || !this.contactId) return;
    const replyTo = this.replyTo;
    this.composer.set(this.contactId, "");
    this.setReply(null);
    this.lastTypingSent = 0; // the next keystroke starts a new typing notice
    const sent = await this.guard(async () => {
      const message = await this.api.send(this.contactId, text, replyTo);
      if (message && message.id) this.list.upsert(message);
    });
    if (!sent && this.available) {
      this.composer.set(this.contactId, text);
      this.setReply(replyTo);
    }
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
        this.noteIncoming([event.message]);
      }
      return !here && event.message.from !== this.me.id;
    } else if (event.type === "chat_notice") {
      this.notices.set(event.contact, event);
      if (here) this.showNotice(event.contact);
    } else if (event.type === "message_state") {
      if (here) this.list.setState(event.id, event.state);
    } else if (event.type === "call") {
      const call = event.call;
      if (call.state === "ended" && call.contact === this.contactId && !this.root.hidden) this.list.addCall(logEntry(call), this.complete);
    } else if (event.type === "file") {
      if (event.file.contact === this.contactId && !this.root.hidden) this.list.setFile(event.file);
    } else if (event.type === "presence") {
      if (event.status !== "offline" && this.notices.get(event.id)?.code === "queued") {
        this.notices.delete(event.id);
      }
      if (event.id === this.contactId) {
        this.paintHeader();
        this.showNotice(event.id);
      }
    }
    return false;
  }
}
