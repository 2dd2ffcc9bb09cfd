// The browser session: a secret this tab keeps in sessionStorage (per origin, so
// per node) and sends as the X-Kith-Session header; never a cookie.

const KEY = "kith.session";
export const SESSION_HEADER = "X-Kith-Session";
export const EVENTS_PROTOCOL = "kith.events";
export const SESSION_PROTOCOL_PREFIX = "kith.session.";

/** The session secret of this tab, or null when it is not signed in. */
export function loadSession() {
  try {
    return window.sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveSession(secret) {
  window.sessionStorage.setItem(KEY, secret);
}

export function clearSession() {
  try {
    window.sessionStorage.removeItem(KEY);
  } catch {
    // storage disabled: nothing was kept
  }
}
