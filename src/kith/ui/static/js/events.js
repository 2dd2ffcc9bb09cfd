// The node's live events (/api/events): one WebSocket, reconnected with backoff.
// A browser cannot put headers on a WebSocket, so the session goes as a subprotocol
// (never in the URL); the node answers with "kith.events" only.

import { EVENTS_PROTOCOL, SESSION_PROTOCOL_PREFIX, loadSession } from "./session.js";

const MAX_DELAY_MS = 5000;

/**
 * Connect and call `onEvent(event)` for every JSON event, `onLink(up)` when
 * the socket to the node opens (true) or closes (false).
 */
export function connectEvents({ onEvent, onLink }) {
  let delay = 250;
  let socket = null;
  let stopped = false;

  function open() {
    const session = loadSession();
    if (stopped || !session) return;
    const url = new URL("/api/events", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(url, [EVENTS_PROTOCOL, SESSION_PROTOCOL_PREFIX + session]);
    socket.addEventListener("open", () => {
      delay = 250;
      onLink(true);
    });
    socket.addEventListener("message", (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (event && typeof event.type === "string") onEvent(event);
    });
    socket.addEventListener("close", () => {
      if (stopped) return;
      onLink(false);
      window.setTimeout(open, delay);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    });
  }

  open();
  return {
    close: () => {
      stopped = true;
      if (socket) socket.close();
    },
  };
}
