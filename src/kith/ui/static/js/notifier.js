// Desktop notifications for incoming messages, calls and contact requests (the browser's
// Notification API).
// Shown only while the tab is hidden, never while the user is busy (then the unread
// badge turns quiet instead), never for a muted contact; with `notifications_private`
// a notification names the sender but shows no text (a request then names nobody:
// the name is the stranger's own choice).

const SEEN_LIMIT = 2000;

export class Notifier {
  /**
   * @param {{ownStatus: () => string, nameOf: (id: string) => string, onClick: (id: string) => void}} options
   */
  constructor({ ownStatus, nameOf, onClick }) {
    this.ownStatus = ownStatus;
    this.nameOf = nameOf;
    this.onClick = onClick;
    this.enabled = false;
    this.private = false;
    this.muted = new Set();
    this.seen = new Set();
  }

  /** Apply the settings list from `GET /api/settings`. */
  configure(settings) {
    const value = Object.fromEntries(settings.map((s) => [s.key, s.value]));
    this.enabled = value.notifications === true;
    this.private = value.notifications_private === true;
    this.muted = new Set(value.muted_contacts || []);
  }

  /** Ask the browser for permission (call from a user gesture, when the setting is turned on). */
  static async requestPermission() {
    if (!("Notification" in window)) return "unsupported";
    if (Notification.permission !== "default") return Notification.permission;
    return Notification.requestPermission();
  }

  /** True the first time a message id is seen as a new incoming message. */
  isNew(message, me) {
    if (message.from === me || message.edited || message.deleted || this.seen.has(message.id)) return false;
    if (Object.values(message.reactions || {}).some((who) => who.length)) return false;
    if (this.seen.size >= SEEN_LIMIT) this.seen.clear();
    this.seen.add(message.id);
    return true;
  }

  /** Whether a notification may be shown now (enabled, tab hidden, not busy, permitted). */
  allowed() {
    if (!this.enabled || !document.hidden || this.ownStatus() === "busy") return false;
    return "Notification" in window && Notification.permission === "granted";
  }

  /** A contact request that arrived: show a notification when allowed (once per sender). */
  request(request) {
    if (this.seen.has(`request:${request.id}`)) return null;
    if (this.seen.size >= SEEN_LIMIT) this.seen.clear();
    this.seen.add(`request:${request.id}`);
    if (!this.allowed()) return null;
    const body = this.private ? "Open Kith to answer it" : `${request.name || "Someone"} wants to add you`;
    const note = new Notification("Contact request", { body, tag: `kith-request-${request.id}`, silent: false });
    note.addEventListener("click", () => {
      window.focus();
      note.close();
    });
    return note;
  }

  /** A group message from another member (`message` as the API shows it): titled with
   * the group's name, the body names the sender; a click calls `onOpen`. Once per message. */
  groupMessage(groupName, senderName, message, onOpen) {
    if (this.seen.has(message.id)) return null;
    if (this.seen.size >= SEEN_LIMIT) this.seen.clear();
    this.seen.add(message.id);
    if (!this.allowed()) return null;
    const body = this.private ? `${senderName}: New message` : `${senderName}: ${message.body}`;
    const note = new Notification(groupName, { body, tag: `kith-group-${message.id}`, silent: false });
    note.addEventListener("click", () => {
      window.focus();
      onOpen();
      note.close();
    });
    return note;
  }

  /** A call ringing in (the call as the API shows it): a notification when allowed, to be
   * closed by the caller once the ringing stops. */
  call(call) {
    if (this.muted.has(call.contact) || !this.allowed()) return null;
    const body = call.video ? "Incoming video call" : "Incoming call";
    const note = new Notification(this.nameOf(call.contact), { body, tag: `kith-call-${call.id}`, requireInteraction: true, silent: false });
    note.addEventListener("click", () => {
      window.focus();
      this.onClick(call.contact);
      note.close();
    });
    return note;
  }

  /** A new incoming message from `contact`: show a notification when allowed. */
  message(contact, message) {
    if (this.muted.has(contact) || !this.allowed()) return null;
    const body = this.private ? "New message" : message.text.slice(0, 200);
    const note = new Notification(this.nameOf(contact), { body, tag: `kith-${contact}`, silent: false });
    note.addEventListener("click", () => {
      window.focus();
      this.onClick(contact);
      note.close();
    });
    return note;
  }
}
