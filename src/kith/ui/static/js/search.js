// Search across history: a box under the sidebar's header, results below it.
// Choosing a result opens that conversation. Text always goes through textContent.

import { $, h, say } from "./dom.js";
import { shortWhen } from "./format.js";

const DEBOUNCE_MS = 200;
const LIMIT = 50;

export class SearchBox {
  /**
   * @param {{search: (q: string, limit: number) => Promise<{results: Array<{contact: string, message: object}>}>}} api
   * @param {{nameOf: (id: string) => string, onOpen: (id: string) => void}} hooks
   */
  constructor(api, { nameOf, onOpen }) {
    this.api = api;
    this.nameOf = nameOf;
    this.onOpen = onOpen;
    this.seq = 0;
    this.timer = 0;
    this.input = h("input", {
      id: "search",
      type: "search",
      placeholder: "Search messages",
      "aria-label": "Search messages",
      autocomplete: "off",
      maxlength: "200",
    });
    this.note = h("p", { id: "search-note", class: "muted search-note", role: "status", hidden: true });
    this.results = h("ul", { id: "search-results", class: "search-results", "aria-label": "Search results", hidden: true });
    $(".sidebar-head").after(h("div", { class: "search" }, this.input, this.note, this.results));
    this.input.addEventListener("input", () => this.later());
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.clear();
      if (event.key === "Enter") this.run();
    });
  }

  later() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), DEBOUNCE_MS);
  }

  clear() {
    this.input.value = "";
    this.seq += 1;
    this.results.replaceChildren();
    this.results.hidden = true;
    say(this.note, "");
  }

  async run() {
    clearTimeout(this.timer);
    const text = this.input.value.trim();
    if (!text) return this.clear();
    const seq = ++this.seq;
    try {
      const { results } = await this.api.search(text, LIMIT);
      if (seq === this.seq) this.show(results);
    } catch (error) {
      if (seq !== this.seq) return;
      this.results.hidden = true;
      say(this.note, error.message);
    }
  }

  show(results) {
    say(this.note, results.length ? "" : "No messages found", "ok");
    this.results.replaceChildren(...results.map((r) => this.row(r)));
    this.results.hidden = !results.length;
  }

  row({ contact, message }) {
    const open = () => {
      this.onOpen(contact);
      this.clear();
    };
    return h(
      "li",
      { dataset: { id: message.id, contact } },
      h(
        "button",
        { type: "button", class: "search-hit", onclick: open },
        h("span", { class: "search-who" }, this.nameOf(contact)),
        h("span", { class: "muted search-when" }, shortWhen(message.sent_at)),
        h("span", { class: "search-text" }, message.text),
      ),
    );
  }
}
