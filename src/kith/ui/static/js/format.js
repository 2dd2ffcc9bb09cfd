// Formatting of IDs, names, statuses and times for people.

export const STATUS_LABEL = {
  online: "Online",
  away: "Away",
  busy: "Busy",
  invisible: "Invisible",
  offline: "Offline",
};

/** A contact's shown name: nickname, else the name they chose, else a short form of the ID. */
export function displayName(contact) {
  return contact.name || contact.own_name || shortId(contact.id);
}

export function shortId(id) {
  return `${id.slice(0, 6)}…${id.slice(-4)}`;
}

/** The ID in groups of four for reading aloud. */
export function groupedId(id) {
  return id.match(/.{1,4}/g).join(" ");
}

/** The 60-digit safety number in 12 groups of five. */
export function groupedSafety(digits) {
  return digits.match(/.{1,5}/g).join(" ");
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });

export const clockTime = (seconds) => timeFormat.format(new Date(seconds * 1000));
export const fullTime = (seconds) => fullFormat.format(new Date(seconds * 1000));
export const dayLabel = (seconds) => dateFormat.format(new Date(seconds * 1000));

/** "14:02" today, "Nov 24, 2026 14:02" before. */
export function shortWhen(seconds, now = Date.now() / 1000) {
  const today = new Date(now * 1000).toDateString() === new Date(seconds * 1000).toDateString();
  return today ? clockTime(seconds) : `${dayLabel(seconds)} ${clockTime(seconds)}`;
}

/** "last seen 5 min ago", "last seen yesterday 14:02", ... */
export function lastSeen(seconds, now = Date.now() / 1000) {
  if (!seconds) return "never seen online";
  const ago = Math.max(0, now - seconds);
  if (ago < 60) return "last seen just now";
  if (ago < 3600) return `last seen ${Math.floor(ago / 60)} min ago`;
  const when = new Date(seconds * 1000);
  const today = new Date(now * 1000);
  if (when.toDateString() === today.toDateString()) return `last seen today ${clockTime(seconds)}`;
  return `last seen ${dayLabel(seconds)} ${clockTime(seconds)}`;
}

/** The line under a contact's name: status text, else status / last seen. */
export function presenceLine(contact) {
  if (contact.status === "offline") return lastSeen(contact.last_seen);
  const label = STATUS_LABEL[contact.status] || contact.status;
  return contact.status_text ? `${label} — ${contact.status_text}` : label;
}
