// The message box: grows with its text, keeps a draft per chat, inserts emoji from
// the picker, and ↑ in an empty box edits your last message.

import { $ } from "./dom.js";
import { loadDraft, saveDraft } from "./drafts.js";
import { emojiPicker } from "./emoji.js";

export class Composer {
  /**
   * @param {HTMLTextAreaElement} input
   * @param {{onEditLast: () => boolean}} options onEditLast returns false when there is nothing to edit
   */
  constructor(input, { onEditLast }) {
    this.input = input;
    this.contactId = null;
    this.emojiButton = $("#composer-emoji");
    this.picker = null;
    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowUp" && !input.value && !event.shiftKey && !event.isComposing && onEditLast()) {
        event.preventDefault();
      }
    });
    this.emojiButton.addEventListener("click", () => (this.picker ? this.closePicker() : this.openPicker()));
  }

  /** Show `contactId`'s draft (empty if none). */
  showDraft(contactId) {
    this.contactId = contactId;
    this.closePicker();
    this.input.value = loadDraft(contactId);
    this.grow();
  }

  /** Save what the box holds as `contactId`'s draft. */
  keepDraft(contactId) {
    saveDraft(contactId, this.input.value);
  }

  /** Replace the text (after sending, or to restore a failed send). */
  set(contactId, text) {
    this.input.value = text;
    saveDraft(contactId, text);
    this.grow();
  }

  /** The user typed: keep the draft and fit the height. */
  changed(contactId) {
    saveDraft(contactId, this.input.value);
    this.grow();
  }

  grow() {
    this.input.style.height = "auto";
    this.input.style.height = `${this.input.scrollHeight + 2}px`;
  }

  openPicker() {
    this.picker = emojiPicker({
      label: "Emoji",
      onPick: (emoji) => this.insert(emoji),
      onClose: () => {
        this.closePicker();
        this.emojiButton.focus();
      },
    });
    this.picker.classList.add("composer-picker");
    this.input.form.before(this.picker);
    this.emojiButton.setAttribute("aria-expanded", "true");
    this.picker.querySelector("input").focus();
  }

  closePicker() {
    this.picker?.remove();
    this.picker = null;
    this.emojiButton.setAttribute("aria-expanded", "false");
  }

  insert(emoji) {
    const { selectionStart: start, selectionEnd: end, value } = this.input;
    this.input.value = value.slice(0, start) + emoji + value.slice(end);
    this.input.setSelectionRange(start + emoji.length, start + emoji.length);
    this.input.focus();
    this.input.dispatchEvent(new Event("input"));
  }
}
