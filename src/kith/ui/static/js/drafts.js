// Unsent composer text per chat, kept in this tab's sessionStorage (like the session:
// it survives switching chats and reloading, and goes with the tab).

const PREFIX = "kith.draft.";

export function loadDraft(contactId) {
  try {
    return window.sessionStorage.getItem(PREFIX + contactId) || "";
  } catch {
    return "";
  }
}

export function saveDraft(contactId, text) {
  try {
    if (text) window.sessionStorage.setItem(PREFIX + contactId, text);
    else window.sessionStorage.removeItem(PREFIX + contactId);
  } catch {
    // storage full or disabled: the draft lives only in the composer
  }
}
