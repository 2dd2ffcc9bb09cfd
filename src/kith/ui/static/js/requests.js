// Contact requests waiting for an answer: who asked (their chosen name, the
// start of their ID), the safety number to compare, and accept / decline /
// block. Text from the sender only ever goes through textContent.

import { $, h } from "./dom.js";
import { groupedSafety, shortId } from "./format.js";

export class RequestList {
  /**
   * @param api the local API client
   * @param onAnswered called after an answer (accepting adds a contact)
   */
  constructor(api, { onAnswered }) {
    this.api = api;
    this.onAnswered = onAnswered;
    this.section = $("#requests");
    this.list = $("#requests-list");
    this.note = $("#requests-note");
  }

  /** Re-read the waiting requests from the node and show them; returns them. */
  async refresh() {
    const requests = await this.api.requests();
    this.render(requests);
    return requests;
  }

  render(requests) {
    this.list.replaceChildren(...requests.map((r) => this.item(r)));
    this.section.hidden = requests.length === 0;
    $("#requests-count").textContent = String(requests.length);
  }

  item(request) {
    const who = request.name || shortId(request.id);
    const answer = (action, label) =>
      h("button", { type: "button", class: action === "accept" ? "primary" : "", "aria-label": `${label} ${who}`, onclick: () => this.answer(action, request.id) }, label);
    return h(
      "li",
      { class: "request", dataset: { id: request.id } },
      h("div", { class: "request-who" }, h("strong", { class: "request-name" }, who), " ", h("span", { class: "muted small" }, shortId(request.id))),
      h("div", { class: "muted small request-safety", title: "Compare this safety number with them before accepting" }, "Safety number ", groupedSafety(request.safety_number)),
      h("div", { class: "request-actions" }, answer("accept", "Accept"), answer("decline", "Decline"), answer("block", "Block")),
    );
  }

  async answer(action, id) {
    this.note.hidden = true;
    try {
      if (action === "accept") await this.api.acceptRequest(id);
      else if (action === "decline") await this.api.declineRequest(id);
      else await this.api.block(id);
    } catch (error) {
      this.note.textContent = error.message;
      this.note.hidden = false;
    }
    await this.refresh();
    await this.onAnswered();
  }
}
