// Dialogs: add a contact (inline errors, then the safety number) and contact details.

import { $, say } from "./dom.js";
import { displayName, groupedId, groupedSafety } from "./format.js";

function wireClose(dialog) {
  for (const button of dialog.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => dialog.close());
  }
}

/** The add-contact dialog; once added it hands over to the details dialog. */
export class AddContactDialog {
  constructor(api, details) {
    this.api = api;
    this.details = details;
    this.dialog = $("#add-contact");
    this.form = $("#add-contact-form");
    this.id = $("#add-id");
    this.name = $("#add-name");
    this.error = $("#add-error");
    this.submit = $("#add-submit");
    wireClose(this.dialog);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.add();
    });
    this.id.addEventListener("input", () => this.clearError());
    this.id.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        this.add();
      }
    });
  }

  open() {
    this.form.reset();
    this.clearError();
    this.dialog.showModal();
    this.id.focus();
  }

  clearError() {
    say(this.error, "");
    this.id.removeAttribute("aria-invalid");
  }

  async add() {
    if (!this.id.value.trim()) {
      this.fail("Paste your contact's Kith ID first.");
      return;
    }
    this.submit.disabled = true;
    try {
      const contact = await this.api.addContact(this.id.value, this.name.value.trim());
      this.dialog.close();
      await this.details.open(contact.id, { justAdded: true });
    } catch (error) {
      this.fail(error.message);
    } finally {
      this.submit.disabled = false;
    }
  }

  fail(message) {
    say(this.error, message.charAt(0).toUpperCase() + message.slice(1));
    this.id.setAttribute("aria-invalid", "true");
    this.id.focus();
  }
}

/** Contact details: ID, safety number, verify, rename, remove. */
export class ContactDetailsDialog {
  constructor(api, { onRemoved }) {
    this.api = api;
    this.onRemoved = onRemoved;
    this.dialog = $("#contact-details");
    this.error = $("#details-error");
    this.verifyButton = $("#details-verify");
    this.nameInput = $("#details-name");
    wireClose(this.dialog);
    this.verifyButton.addEventListener("click", () => this.toggleVerified());
    $("#details-rename").addEventListener("click", () => this.rename());
    $("#details-remove").addEventListener("click", () => this.remove());
  }

  async open(id, { justAdded = false } = {}) {
    say(this.error, "");
    const contact = await this.api.contact(id);
    this.contact = contact;
    $("#details-title").textContent = justAdded
      ? `Added ${displayName(contact)}`
      : displayName(contact);
    $("#details-id").textContent = groupedId(contact.id);
    $("#details-safety").textContent = groupedSafety(contact.safety_number);
    this.nameInput.value = contact.name || "";
    this.paintVerified();
    if (!this.dialog.open) this.dialog.showModal();
    this.verifyButton.focus();
  }

  paintVerified() {
    const verified = this.contact.verified;
    $("#details-verified").textContent = verified
      ? "✔ Verified: you compared the safety number."
      : "Not verified yet.";
    this.verifyButton.textContent = verified ? "Mark not verified" : "Mark verified";
  }

  async toggleVerified() {
    try {
      const updated = await this.api.verifyContact(this.contact.id, !this.contact.verified);
      this.contact = { ...this.contact, ...updated };
      this.paintVerified();
    } catch (error) {
      say(this.error, error.message);
    }
  }

  async rename() {
    try {
      const updated = await this.api.renameContact(this.contact.id, this.nameInput.value.trim());
      this.contact = { ...this.contact, ...updated };
      $("#details-title").textContent = displayName(this.contact);
    } catch (error) {
      say(this.error, error.message);
    }
  }

  async remove() {
    const name = displayName(this.contact);
    if (!window.confirm(`Remove ${name}? They will no longer see your presence.`)) return;
    try {
      await this.api.removeContact(this.contact.id);
      this.dialog.close();
      this.onRemoved(this.contact.id);
    } catch (error) {
      say(this.error, error.message);
    }
  }
}
