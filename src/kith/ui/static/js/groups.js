// Groups: the sidebar's "Groups" section (unread counts), the create-group dialog,
// the group chat (the shared MessageList, sender names, system lines for membership
// changes) and its members panel (roles; presence only for members who are contacts).

import { $, h, say } from "./dom.js";
import { acceptFiles } from "./fileviews.js";
import { STATUS_LABEL, displayName, shortId } from "./format.js";
import { MessageList } from "./messages.js";

const READ_ON_OPEN = 50; // the latest messages of others marked read when a group opens
const PAGE = 50; // messages loaded at a time (older pages as the user scrolls up)

/** Our message's receipts as its state line ("read by 2 of 4"). Never one of the 1:1
 * states: the list keeps those from moving back, and a group's counts only grow. */
function receiptLine(receipts) {
  if (receipts && receipts.read) return `✓✓ read by ${receipts.read} of ${receipts.of}`;
  if (receipts && receipts.delivered) return `✓✓ delivered to ${receipts.delivered} of ${receipts.of}`;
  return "✓ sent";
}

/** A group message as the shared message list renders it. */
function asMessage(message, me) {
  return {
    id: message.id,
    from: message.sender,
    text: message.body,
    sent_at: message.sent_at / 1000, // a group message's time is in milliseconds
    received_at: message.received_at, // seconds, this node's clock (system lines go by it)
    edited: message.edited,
    deleted: message.deleted,
    reactions: message.reactions || {},
    state: message.sender === me ? receiptLine(message.receipts) : undefined,
  };
}

/** The system line of one membership change (`nameOf` names a member). */
export function changeLine(change, nameOf) {
  const who = nameOf(change.author);
  const subjects = change.subjects.map((id) => (nameOf(id) === "You" ? "you" : nameOf(id))).join(", ");
  switch (change.op) {
    case "create":
      return `${who} created the group “${change.name}”` + (subjects ? ` with ${subjects}` : "");
    case "add":
      return `${who} added ${subjects}`;
    case "remove":
      return `${who} removed ${subjects}`;
    case "leave":
      return `${who} left the group`;
    case "rename":
      return `${who} renamed the group to “${change.name}”`;
    case "promote":
      return `${who} made ${subjects} an admin`;
    default:
      return `${who} changed the group`;
  }
}

/** The create-group dialog: a name and members picked from the contacts. */
class NewGroupDialog {
  constructor(api, { contacts, onCreated }) {
    this.api = api;
    this.contacts = contacts;
    this.onCreated = onCreated;
    this.dialog = $("#group-create");
    this.form = $("#group-create-form");
    this.name = $("#group-create-name");
    this.picks = $("#group-create-members");
    this.error = $("#group-create-error");
    this.submit = $("#group-create-submit");
    for (const button of this.dialog.querySelectorAll("[data-close]")) {
      button.addEventListener("click", () => this.dialog.close());
    }
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.create();
    });
  }

  open() {
    this.form.reset();
    say(this.error, "");
    const contacts = [...this.contacts()].sort((a, b) => displayName(a).localeCompare(displayName(b)));
    this.picks.replaceChildren(
      ...contacts.map((c) =>
        h("label", { class: "pick" }, h("input", { type: "checkbox", name: "member", value: c.id }), ` ${displayName(c)}`),
      ),
    );
    if (!contacts.length) this.picks.append(h("p", { class: "muted small" }, "Add contacts first: members are picked from them."));
    this.dialog.showModal();
    this.name.focus();
  }

  async create() {
    const name = this.name.value.trim();
    if (!name) {
      say(this.error, "Give the group a name.");
      return;
    }
    const members = [...this.picks.querySelectorAll("input:checked")].map((box) => box.value);
    this.submit.disabled = true;
    try {
      const group = await this.api.createGroup(name, members);
      this.dialog.close();
      await this.onCreated(group);
    } catch (error) {
      say(this.error, error.message);
    } finally {
      this.submit.disabled = false;
    }
  }
}

export class GroupsPanel {
  /**
   * @param {object} api the API client
   * @param {{me: {id: string}, notifier: object, fileViews: object, contacts: () => object[],
   *          contactOf: (id: string) => object | undefined, onShow: () => void, onUnread: () => void}} options
   *   `fileViews` shows the open group's files (a `FileViews`, fileviews.js, of its own).
   *   `onShow` shows the group pane (and unselects the contact); `onUnread` repaints the title's
   *   count (see `unreadTotal`). `contacts`, `contactOf` and `onUnread` read the sidebar, which is
   *   built after this panel (it counts this panel's unread messages in the title).
   */
  constructor(api, { me, notifier, fileViews, contacts, contactOf, onShow, onUnread }) {
    this.notifier = notifier;
    this.fileViews = fileViews;
    this.onUnread = onUnread;
    this.api = api;
    this.me = me.id;
    this.contactOf = contactOf;
    this.onShow = onShow;
    this.section = $("#groups");
    this.list = $("#groups-list");
    this.groups = new Map();
    this.unread = new Map();
    this.openId = null;
    this.details = null;
    this.shownVersion = 0;
    this.loading = false;
    this.complete = true; // every older message of the open group is loaded
    this.counted = new Set(); // incoming message IDs already counted as unread (edits and reactions come again)
    this.fileOwners = new Map(); // transfer id -> the open group's message that carries the file
    this.filesDue = null; // a reload of the open group's files, when one is on its way
    this.filesGroup = null; // the group whose files the message list holds
    const act = (fn) => fn().then(() => true, (error) => {
      say($("#group-error"), error.message);
      return false;
    });
    const shown = (message) => (message ? this.messages.upsert(asMessage(message, this.me)) : null);
    this.messages = new MessageList($("#group-messages"), {
      me: this.me,
      nameOf: (id) => this.nameOf(id),
      actions: {
        react: (mid, emoji) => act(async () => shown(await this.api.reactGroup(this.openId, mid, emoji))),
        unreact: (mid, emoji) => act(async () => shown(await this.api.unreactGroup(this.openId, mid, emoji))),
        edit: (mid, text) => act(async () => shown(await this.api.editGroupMessage(this.openId, mid, text))),
        remove: (mid) => act(async () => {
          await this.api.deleteGroupMessage(this.openId, mid);
          this.messages.upsert({ id: mid, deleted: true });
        }),
        // a file's card (docs/groups.md, "Files"): ours acts on every member's transfer
        cancelFile: (fid) => act(() => this.eachTransfer(fid, (id) => this.api.cancelFile(id))),
        pauseFile: (fid) => act(() => this.eachTransfer(fid, (id) => this.api.pauseFile(id))),
        resumeFile: (fid) => act(() => this.eachTransfer(fid, (id) => this.api.resumeFile(id))),
        download: (file) => act(() => this.fileViews.download(file)),
        preview: (file, img) => this.fileViews.preview(file, img),
      },
    });
    acceptFiles({
      pane: $("#group"),
      attach: $("#group-composer-attach"),
      picker: $("#group-composer-file"),
      isOpen: () => Boolean(this.openId),
      send: (file) => this.sendFile(file),
    });
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadOlder();
    }, { root: $("#group-messages"), rootMargin: "400px 0px 0px 0px" }).observe(this.messages.top);
    this.dialog = new NewGroupDialog(api, {
      contacts,
      onCreated: async (group) => {
        await this.refresh();
        await this.select(group.id);
      },
    });
    $("#group-new").addEventListener("click", () => this.dialog.open());
    document.addEventListener("visibilitychange", () => {
      if (document.hidden || !this.unread.has(this.openId)) return;
      this.unread.delete(this.openId); // read now that the tab shows the open group
      this.paintList();
      this.onUnread();
    });
    $("#group-members-toggle").addEventListener("click", () => this.toggleMembers());
    $("#group-composer").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    $("#group-composer-text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        this.send();
      }
    });
    $("#group-add").addEventListener("click", () => this.act(() => this.api.addMember(this.openId, $("#group-add-pick").value)));
    $("#group-rename").addEventListener("click", () => {
      const name = $("#group-rename-name").value.trim();
      if (name) this.act(() => this.api.renameGroup(this.openId, name));
    });
    $("#group-leave").addEventListener("click", () => {
      if (window.confirm("Leave this group? You will not receive its messages any more.")) {
        this.act(() => this.api.leaveGroup(this.openId));
      }
    });
  }

  /** A member's name: you, the contact's name, or a short ID (not a contact). */
  nameOf(id) {
    if (id === this.me) return "You";
    const contact = this.contactOf(id);
    return contact ? displayName(contact) : shortId(id);
  }

  /** Load the list (a node without groups: the section stays hidden). */
  async refresh() {
    let groups;
    try {
      ({ groups } = await this.api.groups());
    } catch (error) {
      if (error.missingEndpoint) return;
      throw error;
    }
    this.section.hidden = false;
    this.groups = new Map(groups.map((g) => [g.id, g]));
    this.paintList();
  }

  paintList() {
    const sorted = [...this.groups.values()].sort((a, b) => a.name.localeCompare(b.name));
    this.list.replaceChildren(
      ...sorted.map((group) => {
        const unread = this.unread.get(group.id) || 0;
        const sub = group.active ? `${group.members.length} members` : "you left or were removed";
        return h(
          "li",
          { dataset: { id: group.id } },
          h(
            "button",
            {
              type: "button",
              class: "contact",
              "aria-current": group.id === this.openId ? "true" : "false",
              "aria-label": `${group.name}, ${sub}${unread ? `, ${unread} unread` : ""}`,
              onclick: () => this.select(group.id),
            },
            h("span", { class: "avatar group-avatar", "aria-hidden": "true" }, "#"),
            h("span", { class: "who" }, h("span", { class: "name" }, group.name), h("span", { class: "sub" }, sub)),
            unread ? h("span", { class: "unread" }, String(unread)) : null,
          ),
        );
      }),
    );
    $("#groups-empty").hidden = this.groups.size > 0;
  }

  /** Unread group messages in all groups (for the title's count). */
  get unreadTotal() {
    return [...this.unread.values()].reduce((a, b) => a + b, 0);
  }

  /** No group open (a contact or the settings were opened instead). */
  deselect() {
    this.openId = null;
    this.paintList();
  }

  /** Show the group pane with `gid`'s chat, ready to type. */
  async select(gid) {
    this.onShow();
    await this.open(gid);
    $("#group-composer-text").focus();
  }

  /** Open a group's chat: its membership changes as system lines, then its messages. */
  async open(gid) {
    this.openId = gid;
    this.unread.delete(gid);
    this.paintList();
    this.onUnread();
    this.messages.clear();
    this.messages.root.querySelectorAll(".system").forEach((line) => line.remove());
    this.shownVersion = 0;
    $("#group-members").hidden = true;
    $("#group-members-toggle").setAttribute("aria-expanded", "false");
    say($("#group-error"), "");
    this.complete = true;
    const [details, { messages }] = await Promise.all([this.api.group(gid), this.api.groupMessages(gid, PAGE)]);
    if (this.openId !== gid) return;
    this.complete = messages.length < PAGE;
    for (const message of messages) this.messages.upsert(asMessage(message, this.me));
    await this.loadFiles(gid);
    if (this.openId !== gid) return;
    this.showDetails(details); // after the messages: its system lines go among them by time
    this.messages.scrollToBottom();
    this.markRead(messages.slice(-READ_ON_OPEN));
  }

  /** Load the page of messages before the oldest shown, and move the system lines of
   * their time from above them to among them. */
  async loadOlder() {
    const gid = this.openId;
    const before = this.messages.oldestId;
    if (!gid || this.loading || this.complete || !before) return;
    this.loading = true;
    try {
      const { messages } = await this.api.groupMessages(gid, PAGE, before);
      if (this.openId !== gid) return;
      this.complete = messages.length < PAGE;
      this.messages.prepend(messages.map((m) => asMessage(m, this.me)), this.complete);
      this.setFiles(Object.fromEntries(messages.filter((m) => m.file).map((m) => [m.id, m.file])));
      this.placeSystemLines();
    } catch (error) {
      say($("#group-error"), error.message);
    } finally {
      this.loading = false;
    }
  }

  /** Place every system line again, in version order (older messages came in). */
  placeSystemLines() {
    const lines = [...this.messages.root.querySelectorAll(".system")];
    lines.forEach((line) => line.remove());
    for (const line of lines) {
      this.placeSystemLine(line, line.dataset.at ? Number(line.dataset.at) : null);
      this.messages.decorateAround(line); // the message after it: its day and grouping
    }
  }

  /** Apply the group's details: header, members panel, system lines for new changes. */
  showDetails(details) {
    this.details = details;
    this.groups.set(details.id, { ...this.groups.get(details.id), ...details });
    $("#group-title").textContent = details.name;
    $("#group-count").textContent = `${details.members.length} members`;
    for (const change of details.changes || []) {
      if (change.version <= this.shownVersion) continue;
      const at = change.applied_at ?? null;
      const line = h("p", { class: "system", role: "note", dataset: { version: change.version, at: at === null ? "" : String(at) } }, changeLine(change, (id) => this.nameOf(id)));
      this.placeSystemLine(line, at);
      this.shownVersion = change.version;
    }
    const active = details.active !== false && details.members.some((m) => m.id === this.me);
    $("#group-composer-text").disabled = !active;
    $("#group-composer-send").disabled = !active;
    $("#group-composer-attach").disabled = !active;
    $("#group-inactive").hidden = active;
    this.paintMembers();
    this.paintList();
  }

  /** A system line after the last row no later than `at` (when this node applied the
   * change, seconds); changes without that time (from before it was kept) go first. */
  placeSystemLine(line, at) {
    const list = this.messages;
    const timeOf = (row) => {
      if (row.classList.contains("system")) return row.dataset.at ? Number(row.dataset.at) : -Infinity;
      const message = list.messages.get(row.dataset.id);
      return message ? message.received_at ?? message.sent_at : list.rowTime(row);
    };
    const key = at ?? -Infinity;
    let after = list.root.lastElementChild;
    while (after && after !== list.top && !(timeOf(after) <= key)) after = after.previousElementSibling;
    (after || list.top).after(line);
  }

  get amAdmin() {
    return this.details?.members.some((m) => m.id === this.me && m.role === "admin") || false;
  }

  toggleMembers() {
    const panel = $("#group-members");
    panel.hidden = !panel.hidden;
    $("#group-members-toggle").setAttribute("aria-expanded", String(!panel.hidden));
  }

  paintMembers() {
    const details = this.details;
    if (!details) return;
    const admin = this.amAdmin;
    $("#group-members-list").replaceChildren(
      ...details.members.map((member) => {
        const name = member.you ? "You" : member.name || shortId(member.id);
        const contact = !member.you && member.status !== undefined;
        const label = contact ? STATUS_LABEL[member.status] || member.status : "";
        return h(
          "li",
          { class: "member", dataset: { id: member.id } },
          contact ? h("span", { class: `dot ${member.status}`, "aria-hidden": "true" }) : h("span", { class: "dot none", "aria-hidden": "true" }),
          h("span", { class: "member-name" }, name),
          h("span", { class: "member-role muted small" }, member.role),
          contact
            ? h("span", { class: "member-presence small", "data-presence": member.status }, label)
            : h("span", { class: "member-presence muted small" }, member.you ? "" : "not your contact"),
          admin && !member.you && member.role !== "admin"
            ? h("button", { type: "button", class: "button secondary small", "aria-label": `Make ${name} an admin`, onclick: () => this.act(() => this.api.promoteMember(details.id, member.id)) }, "Make admin")
            : null,
          admin && !member.you
            ? h("button", { type: "button", class: "button danger small", "aria-label": `Remove ${name}`, onclick: () => this.act(() => this.api.removeMember(details.id, member.id)) }, "Remove")
            : null,
        );
      }),
    );
    const inGroup = new Set(details.members.map((m) => m.id));
    const candidates = [...this.dialog.contacts()].filter((c) => !inGroup.has(c.id));
    $("#group-add-pick").replaceChildren(...candidates.map((c) => h("option", { value: c.id }, displayName(c))));
    $("#group-admin").hidden = !admin || details.active === false;
    $("#group-add-row").hidden = !candidates.length;
    const rename = $("#group-rename-name");
    if (rename.dataset.shown !== details.name) {
      rename.value = details.name; // only when the name changed: a repaint keeps what is being typed
      rename.dataset.shown = details.name;
    }
  }

  /** Run a membership action on the open group, then show its result. */
  async act(action) {
    const gid = this.openId;
    say($("#group-error"), "");
    try {
      await action();
      await this.reload(gid);
      await this.refresh();
    } catch (error) {
      say($("#group-error"), error.message);
    }
  }

  async reload(gid) {
    if (gid !== this.openId) return;
    const details = await this.api.group(gid);
    if (gid === this.openId) this.showDetails(details);
  }

  async send() {
    const box = $("#group-composer-text");
    const text = box.value.trim();
    if (!text || !this.openId) return;
    say($("#group-error"), "");
    try {
      const sent = await this.api.sendGroup(this.openId, text);
      box.value = "";
      this.messages.upsert(asMessage(sent.message, this.me));
    } catch (error) {
      say($("#group-error"), error.message);
    }
  }

  /** The files of the open group's messages: each card shows its message's file. */
  async loadFiles(gid) {
    if (gid !== this.filesGroup) {
      this.fileViews.clear();
      this.messages.files.clear();
      this.fileOwners.clear();
      this.filesGroup = gid;
    }
    try {
      const { files } = await this.api.groupFiles(gid);
      if (gid === this.openId) this.setFiles(files);
    } catch (error) {
      if (!error.missingEndpoint) say($("#group-error"), error.message);
    }
  }

  /** Show these files (by message ID) on their messages' cards. */
  setFiles(files) {
    for (const [mid, file] of Object.entries(files)) {
      this.messages.files.set(mid, file);
      this.fileOwners.set(file.id, mid);
      for (const transfer of file.transfers || []) this.fileOwners.set(transfer.id, mid);
      if (this.messages.messages.has(mid)) this.messages.upsert({ id: mid });
    }
  }

  /** A transfer changed (a live `file` event): a member's file to us moves on its card;
   * ours, or one not shown yet, makes the open group's files load again (once at a time). */
  onFile(file) {
    const gid = this.openId;
    if (!gid || !this.details?.members.some((m) => m.id === file.contact)) return;
    const mid = this.fileOwners.get(file.id);
    const shown = mid && this.messages.files.get(mid);
    if (shown && !shown.transfers && shown.id === file.id) {
      this.setFiles({ [mid]: { ...shown, ...file } });
      return;
    }
    if (this.filesDue) return;
    this.filesDue = new Promise((done) => setTimeout(done, 250)) // a burst of events, one reload
      .then(() => this.loadFiles(gid))
      .finally(() => {
        this.filesDue = null;
      });
  }

  /** Run `act` on a file card's transfer, or on every member's transfer of our file. */
  async eachTransfer(fid, act) {
    const mid = this.fileOwners.get(fid);
    const file = mid && this.messages.files.get(mid);
    const ids = file?.transfers ? file.transfers.map((t) => t.id) : [fid];
    await Promise.all(ids.map((id) => act(id).catch(() => null)));
    if (this.openId) await this.loadFiles(this.openId);
  }

  /** Send one file to every other member: the node keeps it encrypted and sends it to each
   * member when they are reachable. */
  async sendFile(file) {
    const gid = this.openId;
    if (!gid) return;
    say($("#group-error"), "");
    try {
      const sent = await this.api.uploadGroup(gid, file);
      if (gid !== this.openId) return;
      this.messages.upsert(asMessage(sent.message, this.me));
      this.setFiles({ [sent.message.id]: sent.file });
    } catch (error) {
      say($("#group-error"), error.message);
    }
  }

  /** Tell the senders these messages (of others) were read (receipts where they are on). */
  markRead(messages) {
    const ids = messages.filter((m) => m.sender !== this.me && !m.deleted).map((m) => m.id);
    if (ids.length && this.openId) this.api.markGroupRead(this.openId, ids).catch(() => {});
  }

  /** A contact's presence changed: repaint the members panel if they are in it. */
  presence(event) {
    const member = this.details?.members.find((m) => m.id === event.id);
    if (!member || member.status === undefined) return;
    member.status = event.status;
    this.paintMembers();
  }

  /** A live `group` or `group_message` event. */
  onEvent(event) {
    if (event.type === "group") {
      const group = event.group;
      this.groups.set(group.id, group);
      this.section.hidden = false;
      this.paintList();
      if (group.id === this.openId) this.reload(group.id).catch(() => {});
      return;
    }
    const message = event.message;
    const open = message.group === this.openId;
    if (open) this.messages.upsert(asMessage(message, this.me));
    const reacted = Object.values(message.reactions || {}).some((who) => who.length);
    if (message.sender === this.me || this.counted.has(message.id) || message.edited || message.deleted || reacted) return;
    this.counted.add(message.id);
    if (open && !document.hidden) this.markRead([message]);
    const name = this.groups.get(message.group)?.name || "Group";
    this.notifier.groupMessage(name, this.nameOf(message.sender), message, () => this.select(message.group).catch(() => {}));
    if (open && !document.hidden) return;
    this.unread.set(message.group, (this.unread.get(message.group) || 0) + 1);
    if (!this.groups.has(message.group)) this.refresh().catch(() => {});
    this.paintList();
    this.onUnread();
  }
}
