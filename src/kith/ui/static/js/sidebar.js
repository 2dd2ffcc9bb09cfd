// The contacts sidebar: live presence dots, status text or last seen, unread counts.

import { showUnread } from "./badge.js";
import { $, h } from "./dom.js";
import { STATUS_LABEL, displayName, presenceLine } from "./format.js";

export class Sidebar {
  /**
   * @param {(id: string) => void} onSelect
   * @param {{otherUnread?: () => number}} options unread messages outside the contacts (groups), for the title
   */
  constructor(onSelect, { otherUnread = () => 0 } = {}) {
    this.otherUnread = otherUnread;
    this.list = $("#contacts");
    this.empty = $("#contacts-empty");
    this.onSelect = onSelect;
    this.contacts = new Map();
    this.rows = new Map();
    this.unread = new Map();
    this.selected = null;
    this.quiet = false;
  }

  /** While busy the unread badge is quiet (grey). */
  setQuiet(quiet) {
    this.quiet = quiet;
    this.paintTitle();
  }

  /** Replace the whole list (after a load or a contacts change). */
  setAll(contacts) {
    this.contacts = new Map(contacts.map((c) => [c.id, c]));
    for (const [id, row] of this.rows) {
      if (!this.contacts.has(id)) {
        row.remove();
        this.rows.delete(id);
      }
    }
    const sorted = [...this.contacts.values()].sort((a, b) =>
      displayName(a).localeCompare(displayName(b)),
    );
    sorted.forEach((contact, index) => {
      const row = this.rows.get(contact.id) || this.makeRow(contact.id);
      if (this.list.children[index] !== row) this.list.insertBefore(row, this.list.children[index] || null);
      this.paint(contact.id);
    });
    this.empty.hidden = this.contacts.size > 0;
  }

  /** Apply a presence event to one contact. */
  presence(event) {
    const contact = this.contacts.get(event.id);
    if (!contact) return;
    Object.assign(contact, {
      status: event.status,
      status_text: event.status_text,
      last_seen: event.last_seen,
    });
    this.paint(event.id);
  }

  get(id) {
    return this.contacts.get(id);
  }

  select(id) {
    this.selected = id;
    this.unread.delete(id);
    for (const contactId of this.rows.keys()) this.paint(contactId);
    this.paintTitle();
  }

  bumpUnread(id) {
    if (id === this.selected && !document.hidden) return;
    this.unread.set(id, (this.unread.get(id) || 0) + 1);
    this.paint(id);
    this.paintTitle();
  }

  paintTitle() {
    const total = [...this.unread.values()].reduce((a, b) => a + b, 0) + this.otherUnread();
    showUnread(total, { quiet: this.quiet });
  }

  /** Refresh the relative "last seen" texts. */
  tick() {
    for (const id of this.rows.keys()) this.paint(id);
  }

  makeRow(id) {
    const button = h("button", { type: "button", class: "contact", onclick: () => this.onSelect(id) });
    const row = h("li", { dataset: { id } }, button);
    this.rows.set(id, row);
    return row;
  }

  paint(id) {
    const contact = this.contacts.get(id);
    const button = this.rows.get(id)?.firstChild;
    if (!contact || !button) return;
    const name = displayName(contact);
    const unread = this.unread.get(id) || 0;
    const label = STATUS_LABEL[contact.status] || contact.status;
    button.replaceChildren(
      h(
        "span",
        { class: "avatar", "aria-hidden": "true" },
        name.slice(0, 1).toUpperCase(),
        h("span", { class: `dot ${contact.status}`, title: label }),
      ),
      h(
        "span",
        { class: "who" },
        h("span", { class: "name" }, name),
        h("span", { class: "sub", "data-presence": contact.status }, presenceLine(contact)),
      ),
      ...(unread ? [h("span", { class: "unread" }, String(unread))] : []),
    );
    const unreadText = unread ? `, ${unread} unread` : "";
    button.setAttribute("aria-label", `${name}, ${label}, ${presenceLine(contact)}${unreadText}`);
    button.setAttribute("aria-current", id === this.selected ? "true" : "false");
  }
}
