// The user's own status selector and status text, at the bottom of the sidebar.

import { $, say } from "./dom.js";
import { STATUS_LABEL } from "./format.js";

export class OwnStatus {
  constructor(api) {
    this.api = api;
    this.select = $("#own-status");
    this.text = $("#status-text");
    this.error = $("#status-error");
    this.dot = $("#me-dot");
    this.effective = $("#me-effective");
    this.select.addEventListener("change", () => this.save());
    this.text.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        this.save();
      }
    });
    this.text.addEventListener("blur", () => {
      if (this.text.value !== this.current?.text) this.save();
    });
    $("#status-form").addEventListener("submit", (event) => event.preventDefault());
  }

  async save() {
    try {
      this.show(await this.api.setStatus(this.select.value, this.text.value));
      say(this.error, "");
    } catch (error) {
      say(this.error, error.message);
    }
  }

  /** The node's link to the signaling server came up (true) or went down. */
  setConnected(connected) {
    this.connected = connected;
    if (this.current) this.show(this.current);
  }

  /** Show a status from `GET /api/status` or a `status` event. */
  show(status) {
    this.current = status;
    this.select.value = status.status;
    if (document.activeElement !== this.text) this.text.value = status.text || "";
    this.dot.className = `dot ${status.effective === "offline" ? "invisible" : status.effective}`;
    let line = STATUS_LABEL[status.effective] || status.effective;
    if (status.status === "invisible") line = "Invisible: contacts see you offline";
    else if (status.auto_away) line = "Away (idle)";
    if (status.text) line += ` — ${status.text}`;
    if (this.connected === false) {
      line = "Not connected: contacts see you offline";
      this.dot.className = "dot offline";
    }
    this.effective.textContent = line;
  }
}
