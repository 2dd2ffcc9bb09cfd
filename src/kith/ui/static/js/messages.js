// The message list: keyed rows, incremental loading of older pages, cheap off-screen rows
// (content-visibility), the per-message actions (reply, edit, delete, react), and the
// quote above a reply (click it to jump to the original), and the calls of the
// conversation as rows between the messages, in time order.

import { describeCall } from "./calls.js";
import { h } from "./dom.js";
import { emojiPicker } from "./emoji.js";
import { clockTime, dayLabel, fullTime, shortWhen } from "./format.js";
import { renderText } from "./richtext.js";
import { voicePlayer } from "./voice.js";

export const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "😢"];
const STATE_LABEL = {
  queued: "◷ queued: goes out when they are online",
  sent: "✓ sent",
  delivered: "✓✓ delivered",
  read: "✓✓ read",
  failed: "⚠ not delivered",
};

// A reply can arrive after a later event (the POST answer after the delivery
// receipt): a state never moves back down this order.
const STATE_RANK = { queued: 0, failed: 0, sent: 1, delivered: 2, read: 3 };
const FILE_STATE = {
  queued: "waiting for them to be online",
  sending: "sending",
  paused: "paused: resumes when you reconnect",
  received: "received",
  failed: "failed",
  cancelled: "cancelled",
};
const FILE_REASON = {
  too_large: "too large for their free disk space",
  hash_mismatch: "arrived damaged and was discarded",
  refused: "refused",
};

// Images shown inline, made from the local copy only (never a request anywhere else).
const PREVIEW_TYPES = /\.(png|jpe?g|gif|webp)$/i;
const PREVIEW_MAX_BYTES = 8 * 1024 * 1024;

/** A byte count for people: "512 bytes", "4.0 MiB". */
export function sizeText(bytes) {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit ? `${value.toFixed(1)} ${units[unit]}` : `${bytes} bytes`;
}

// Consecutive messages of one author within this many seconds form a group.
const GROUP_SECONDS = 5 * 60;
const QUOTE_CHARS = 140;

/** A one-line snippet of a message's text for a quote. */
export function snippet(message) {
  if (message.deleted) return "This message was deleted.";
  const line = message.text.replace(/\s+/g, " ").trim();
  return line.length > QUOTE_CHARS ? `${line.slice(0, QUOTE_CHARS - 1)}…` : line;
}

function mergeState(known, next) {
  if (!known || !next) return next || known;
  return (STATE_RANK[next] ?? 0) >= (STATE_RANK[known] ?? 0) ? next : known;
}

export class MessageList {
  /**
   * @param {HTMLElement} root the scrolling container
   * @param {{me: string, nameOf: (id: string) => string, actions: object | null}} options (null: no per-message actions)
   */
  constructor(root, { me, nameOf, actions, onUnseen = () => {} }) {
    this.root = root;
    this.onUnseen = onUnseen;
    this.unseen = 0;
    this.top = root.firstElementChild;
    this.me = me;
    this.nameOf = nameOf;
    this.actions = actions;
    this.rows = new Map();
    this.messages = new Map();
    this.files = new Map(); // the transfers of this conversation, by id (= their message's id)
    this.voicePlayers = new Map(); // file id -> its player, kept across re-renders of the row
    this.calls = new Map(); // the call log entries of this conversation, by call id
    this.callRows = new Map();
    root.addEventListener("keydown", (event) => this.arrowKeys(event));
    root.addEventListener("scroll", () => {
      if (this.unseen && this.nearBottom()) this.setUnseen(0);
    }, { passive: true });
  }

  setUnseen(count) {
    this.unseen = count;
    this.onUnseen(count);
  }

  /** The last loaded message of mine that can still be edited, or null. */
  lastMine() {
    // in the order shown (an update to an older message must not make it "last")
    const rows = [...this.root.querySelectorAll(".msg")].reverse();
    for (const row of rows) {
      const message = this.messages.get(row.dataset.id);
      if (message && message.from === this.me && !message.deleted) return message;
    }
    return null;
  }

  /** Date separator and grouping of `row` against the message row before it. */
  decorate(row) {
    if (!row || !row.classList.contains("msg")) return;
    const message = this.messages.get(row.dataset.id);
    let previous = row.previousElementSibling;
    let call = false; // a call row between them breaks the group
    while (previous && !previous.classList.contains("msg")) {
      call ||= previous.classList.contains("call-row");
      previous = previous.previousElementSibling;
    }
    const before = previous ? this.messages.get(previous.dataset.id) : null;
    const day = dayLabel(message.sent_at);
    const newDay = !before || dayLabel(before.sent_at) !== day;
    if (newDay) row.dataset.day = day;
    else delete row.dataset.day;
    const grouped = !newDay && !call && before.from === message.from && message.sent_at - before.sent_at < GROUP_SECONDS;
    row.classList.toggle("grouped", grouped);
  }

  /** Decorate `row` and the message row after it (whose "before" changed). */
  decorateAround(row) {
    this.decorate(row);
    let next = row.nextElementSibling;
    while (next && !next.classList.contains("msg")) next = next.nextElementSibling;
    this.decorate(next);
  }

  /** ↑/↓ move between messages (Home/End: first/last loaded); Tab then reaches its actions. */
  arrowKeys(event) {
    const keys = ["ArrowUp", "ArrowDown", "Home", "End"];
    if (!keys.includes(event.key) || event.target.closest("textarea, .picker")) return;
    const rows = [...this.rows.values()].filter((row) => row.isConnected);
    rows.sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
    if (!rows.length) return;
    const current = event.target.closest(".msg");
    let index = current ? rows.indexOf(current) : rows.length;
    if (event.key === "ArrowUp") index = Math.max(0, index - 1);
    else if (event.key === "ArrowDown") index = Math.min(rows.length - 1, index + 1);
    else index = event.key === "Home" ? 0 : rows.length - 1;
    event.preventDefault();
    rows[index].focus();
    rows[index].scrollIntoView({ block: "nearest" });
  }

  clear() {
    for (const row of this.rows.values()) row.remove();
    for (const row of this.callRows.values()) row.remove();
    this.root.querySelectorAll(".new-marker").forEach((marker) => marker.remove());
    this.setUnseen(0);
    this.rows.clear();
    this.messages.clear();
    this.calls.clear();
    this.callRows.clear();
  }

  get oldestId() {
    let first = this.top.nextElementSibling;
    while (first && !first.classList.contains("msg")) first = first.nextElementSibling;
    return first ? first.dataset.id : null;
  }

  /** The conversation's call log (oldest first): shown as far back as messages are loaded
   * (all of it once `complete`, when the whole history is). */
  setCalls(entries, complete) {
    for (const entry of entries) this.calls.set(entry.id, entry);
    this.placeCalls(complete);
  }

  /** A call of this conversation ended just now: its row goes in at its time (later, with
   * its page, if that is before the loaded messages, as a late missed-call notice can be). */
  addCall(entry, complete) {
    const stick = this.nearBottom();
    this.calls.set(entry.id, entry);
    this.callRows.get(entry.id)?.remove();
    this.callRows.delete(entry.id);
    this.placeCalls(complete);
    if (stick) this.scrollToBottom();
  }

  /** Rows for the known calls not shown yet that fall within the loaded messages. */
  placeCalls(complete) {
    const oldest = this.messages.get(this.oldestId);
    for (const entry of this.calls.values()) {
      if (this.callRows.has(entry.id) || (!complete && (!oldest || entry.started_at < oldest.sent_at))) continue;
      this.placeCall(entry);
    }
  }

  /** One call's row, after the last row no later than it. */
  placeCall(entry) {
    const row = this.callRow(entry);
    this.callRows.set(entry.id, row);
    let after = this.root.lastElementChild;
    while (after && after !== this.top && !(this.rowTime(after) <= entry.started_at)) after = after.previousElementSibling;
    (after || this.top).after(row);
    this.decorateAround(row); // the message after it starts a new group
  }

  /** When a message or call row happened (seconds), or undefined for other rows. */
  rowTime(row) {
    if (row.classList.contains("call-row")) return Number(row.dataset.at);
    return this.messages.get(row.dataset.id)?.sent_at;
  }

  callRow(entry) {
    const missed = entry.outcome === "missed" || (entry.outcome === "unanswered" && entry.direction === "in");
    return h(
      "div",
      { class: "call-row", role: "note", dataset: { call: entry.id, at: String(entry.started_at), outcome: entry.outcome, missed: String(missed) } },
      h("span", { class: "call-row-icon", "aria-hidden": "true" }, entry.video ? "🎥" : "📞"),
      h("span", { class: "call-row-text" }, describeCall(entry)),
      h("time", { datetime: new Date(entry.started_at * 1000).toISOString(), title: fullTime(entry.started_at) }, shortWhen(entry.started_at)),
    );
  }

  nearBottom() {
    return this.root.scrollHeight - this.root.scrollTop - this.root.clientHeight < 80;
  }

  scrollToBottom() {
    this.root.scrollTop = this.root.scrollHeight;
  }

  /** Add a page of older messages above the current ones (and the calls of their time),
   * keeping the view still. */
  prepend(messages, complete = false) {
    const before = this.root.scrollHeight;
    const fragment = document.createDocumentFragment();
    for (const message of messages) {
      if (this.messages.has(message.id)) continue;
      this.messages.set(message.id, message);
      fragment.append(this.makeRow(message));
    }
    const boundary = this.top.nextElementSibling;
    this.top.after(fragment);
    for (let row = this.top.nextElementSibling; row && row !== boundary; row = row.nextElementSibling) this.decorate(row);
    this.decorate(boundary);
    this.requote(messages.map((m) => m.id));
    this.placeCalls(complete);
    this.root.scrollTop += this.root.scrollHeight - before;
  }

  /** Re-render the replies quoting any of `ids` (the originals were loaded or changed). */
  requote(ids) {
    const changed = new Set(ids);
    for (const reply of this.messages.values()) {
      const row = this.rows.get(reply.id);
      if (!reply.reply_to || !changed.has(reply.reply_to) || !row) continue;
      row.querySelector(".quote")?.replaceWith(this.quote(reply));
    }
  }

  /** Scroll to a loaded message and highlight it briefly; false if it is not loaded. */
  jumpTo(id) {
    const row = this.rows.get(id);
    if (!row || !row.isConnected) return false;
    row.scrollIntoView({ block: "center" });
    row.classList.remove("highlight");
    void row.offsetWidth; // restart the animation on a second click
    row.classList.add("highlight");
    row.addEventListener("animationend", () => row.classList.remove("highlight"), { once: true });
    row.focus({ preventScroll: true });
    return true;
  }

  /** The quote of the original above a reply (not clickable when it is not available). */
  quote(message) {
    const original = this.messages.get(message.reply_to);
    if (!original) {
      return h("div", { class: "quote missing", dataset: { replyTo: message.reply_to } }, "↪ Original not available");
    }
    return h(
      "button",
      {
        type: "button",
        class: "quote",
        dataset: { replyTo: message.reply_to },
        title: "Jump to the original",
        "aria-label": `Quoted from ${this.nameOf(original.from)}: ${snippet(original)} (jump to the original)`,
        onclick: () => this.jumpTo(original.id),
      },
      h("span", { class: "quote-author" }, `↪ ${this.nameOf(original.from)}`),
      " ",
      h("span", { class: "quote-text" }, snippet(original)),
    );
  }

  /** Insert or update one message (from a send, an event or an edit). */
  upsert(message) {
    const known = this.messages.get(message.id);
    const merged = known ? { ...known, ...message } : message;
    if (known) merged.state = mergeState(known.state, message.state);
    this.messages.set(message.id, merged);
    const old = this.rows.get(message.id);
    const row = this.makeRow(merged);
    if (old) {
      this.replaceRow(old, row);
      this.decorateAround(row);
      this.requote([message.id]);
      return;
    }
    const stick = this.nearBottom();
    if (!stick && merged.from !== this.me) this.markUnseen();
    this.root.append(row);
    this.decorate(row);
    this.requote([message.id]);
    if (stick || merged.from === this.me) this.scrollToBottom();
  }

  /** An incoming message arrived while scrolled up: a marker before the first, and a count. */
  markUnseen() {
    if (!this.unseen) {
      this.root.querySelectorAll(".new-marker").forEach((marker) => marker.remove());
      this.root.append(h("div", { class: "new-marker", role: "separator" }, "New messages"));
    }
    this.setUnseen(this.unseen + 1);
  }

  /** Swap in a re-rendered row, carrying over an open edit box or reaction picker. */
  replaceRow(old, row) {
    const active = document.activeElement;
    const hadFocus = old.contains(active);
    const selection = active && "selectionStart" in active ? [active.selectionStart, active.selectionEnd] : null;
    const editing = old.querySelector(".edit-box:not([data-saving])");
    const picker = old.querySelector(".picker");
    old.replaceWith(row);
    if (editing) row.querySelector(".text")?.replaceWith(editing);
    if (picker) row.append(picker);
    if (!hadFocus) return;
    if (row.contains(active)) {
      active.focus();
      if (selection) active.setSelectionRange(...selection);
    } else {
      row.focus();
    }
  }

  setState(id, state) {
    if (this.messages.has(id)) this.upsert({ id, state });
  }

  /** A transfer of this conversation changed: its message (if loaded) shows it. */
  setFile(file) {
    this.files.set(file.id, file);
    if (this.messages.has(file.id)) this.upsert({ id: file.id });
  }

  /** A voice message without a caption of its own (its text is the file's name). */
  isVoice(message) {
    const file = this.files.get(message.id);
    return !message.deleted && file?.kind === "voice" && message.text === file.name;
  }

  fileCard(message) {
    const file = this.files.get(message.id);
    if (!file || message.deleted) return null;
    const open = ["queued", "sending", "paused"].includes(file.state);
    const readable = file.direction === "out" || file.state === "received";
    const held = file.state === "paused" && file.reason === "held";
    const ended = file.state === "failed" || file.state === "cancelled";
    const reason = held ? "paused by you" : ended ? FILE_REASON[file.reason] : null;
    const voice = file.kind === "voice";
    const preview = !voice && readable && PREVIEW_TYPES.test(file.name) && file.size <= PREVIEW_MAX_BYTES;
    let thumb = null;
    if (voice && readable) {
      thumb = this.voicePlayers.get(file.id);
      if (!thumb) {
        thumb = voicePlayer(file, () => this.actions.voice(file));
        this.voicePlayers.set(file.id, thumb);
      }
    } else if (preview) {
      // what does not decode as an image (whatever its name says) shows no picture
      thumb = h("img", { class: "file-thumb", alt: file.name, onerror: (event) => event.target.remove() });
      this.actions.preview(file, thumb);
    }
    return h(
      "div",
      { class: voice ? "file-card voice-card" : "file-card", dataset: { state: file.state, file: file.id } },
      thumb,
      voice ? null : h("span", { class: "file-name" }, file.name),
      voice ? null : h("span", { class: "file-size muted small" }, sizeText(file.size)),
      open ? h("progress", { max: String(Math.max(file.size, 1)), value: String(file.bytes_done) }) : null,
      h("span", { class: "file-state" }, reason || FILE_STATE[file.state] || file.state),
      readable ? h("button", { type: "button", class: "button secondary small file-download", onclick: () => this.actions.download(file) }, "Download") : null,
      open && !held ? h("button", { type: "button", class: "button secondary small file-pause", onclick: () => this.actions.pauseFile(file.id) }, "Pause") : null,
      held ? h("button", { type: "button", class: "button secondary small file-resume", onclick: () => this.actions.resumeFile(file.id) }, "Resume") : null,
      open ? h("button", { type: "button", class: "button secondary small file-cancel", onclick: () => this.actions.cancelFile(file.id) }, "Cancel") : null,
    );
  }

  makeRow(message) {
    const mine = message.from === this.me;
    const classes = ["msg", mine ? "mine" : "theirs", message.deleted ? "deleted" : ""].join(" ");
    const row = h(
      "article",
      { class: classes, tabindex: "-1", dataset: { id: message.id }, "aria-label": `${this.nameOf(message.from)}, ${clockTime(message.sent_at)}` },
      h(
        "div",
        { class: "meta" },
        h("span", { class: "author" }, this.nameOf(message.from)),
        h("time", { datetime: new Date(message.sent_at * 1000).toISOString(), title: fullTime(message.sent_at) },
          shortWhen(message.sent_at)),
        message.edited && !message.deleted ? h("span", { class: "edited" }, "(edited)") : null,
        message.via === "mailbox"
          ? h("span", { class: "via", title: "came through the server's sealed mailbox while you were apart" }, "via mailbox")
          : null,
        mine && !message.deleted ? h("span", { class: `state ${message.state}` }, STATE_LABEL[message.state] || message.state) : null,
      ),
      message.reply_to ? this.quote(message) : null,
      this.isVoice(message) ? h("div", { class: "text muted small" }, "Voice message")
        : h("div", { class: "text" }, message.deleted ? "This message was deleted." : renderText(message.text)),
      this.fileCard(message),
      this.reactions(message),
      message.deleted || !this.actions ? null : this.actionBar(message, mine), // no actions: a group chat
    );
    this.rows.set(message.id, row);
    return row;
  }

  reactions(message) {
    const entries = Object.entries(message.reactions || {}).filter(([, who]) => who.length);
    if (!entries.length || message.deleted) return null;
    return h(
      "div",
      { class: "reactions" },
      entries.map(([emoji, who]) => {
        const mineToo = who.includes(this.me);
        const names = who.map((id) => this.nameOf(id)).join(", ");
        return h(
          "button",
          {
            type: "button",
            class: "reaction",
            "aria-pressed": mineToo ? "true" : "false",
            "aria-label": `${emoji} ${who.length}: ${names}`,
            title: names,
            onclick: () => (mineToo ? this.actions.unreact(message.id, emoji) : this.actions.react(message.id, emoji)),
          },
          `${emoji} ${who.length}`,
        );
      }),
    );
  }

  actionBar(message, mine) {
    return h(
      "div",
      { class: "actions" },
      h("button", { type: "button", "aria-label": "Add reaction", onclick: () => this.openPicker(message) }, "☺ React"),
      this.actions.reply ? h("button", { type: "button", onclick: () => this.actions.reply(message.id) }, "Reply") : null,
      mine ? h("button", { type: "button", onclick: () => this.startEdit(message) }, "Edit") : null,
      mine ? h("button", { type: "button", onclick: () => this.actions.remove(message.id) }, "Delete") : null,
    );
  }

  openPicker(message) {
    const row = this.rows.get(message.id);
    row.querySelector(".picker")?.remove();
    const close = () => {
      picker.remove();
      this.rows.get(message.id)?.querySelector(".actions button")?.focus();
    };
    const pick = (emoji) => {
      picker.remove();
      this.actions.react(message.id, emoji);
    };
    const more = () => {
      const full = emojiPicker({ label: "All reactions", onPick: pick, onClose: close });
      picker.replaceChildren(full);
      full.querySelector("input").focus();
    };
    const picker = h(
      "div",
      { class: "picker", role: "group", "aria-label": "Pick a reaction", onkeydown: (e) => e.key === "Escape" && close() },
      QUICK_REACTIONS.map((emoji) =>
        h("button", { type: "button", "aria-label": `React with ${emoji}`, onclick: () => pick(emoji) }, emoji),
      ),
      h("button", { type: "button", class: "more", "aria-label": "More reactions", onclick: more }, "＋"),
    );
    row.append(picker);
    picker.firstChild.focus();
  }

  startEdit(message) {
    const row = this.rows.get(message.id);
    const text = row.querySelector(".text");
    const input = h("textarea", { rows: 2, maxlength: 4000, "aria-label": "Edit message" });
    input.value = message.text;
    const box = h("div", { class: "edit-box" }, input, h("p", { class: "muted small" }, "Enter saves, Escape cancels."));
    const cancel = () => {
      box.replaceWith(text);
      this.rows.get(message.id)?.focus();
    };
    input.addEventListener("keydown", async (event) => {
      if (event.key === "Escape") cancel();
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        const value = input.value.trim();
        if (!value || value === message.text) return cancel();
        box.dataset.saving = "true"; // the saved message's row replaces this box
        if (await this.actions.edit(message.id, value)) box.replaceWith(text);
        else delete box.dataset.saving;
      }
    });
    text.replaceWith(box);
    input.focus();
  }
}
