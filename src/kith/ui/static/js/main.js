// Kith's web UI: loads the state, wires the panels, applies live events.

import { trackActivity } from "./activity.js";
import { api, onSignedOut } from "./api.js";
import { CallPanel } from "./calls.js";
import { ChatPanel } from "./chat.js";
import { AddContactDialog, ContactDetailsDialog } from "./dialogs.js";
import { $ } from "./dom.js";
import { connectEvents } from "./events.js";
import { FileViews } from "./fileviews.js";
import { displayName } from "./format.js";
import { GroupsPanel } from "./groups.js";
import { MuteButton } from "./mute.js";
import { Notifier } from "./notifier.js";
import { SearchBox } from "./search.js";
import { clearSession, loadSession } from "./session.js";
import { SettingsPanel } from "./settings.js";
import { Sidebar } from "./sidebar.js";
import { RequestList } from "./requests.js";
import { OwnStatus } from "./status.js";

const banner = $("#banner");
const bannerState = { node: true, server: true, signedOut: false, problem: "" };
let events = null;

function paintBanner() {
  let text = "";
  if (bannerState.signedOut && bannerState.restarted) text = "Your Kith node restarted without keeping this session (it did not stop cleanly, or the session had expired): run `kith open` in a terminal to sign in again.";
  else if (bannerState.signedOut) text = "Not signed in (signed out, or the session expired): run `kith open` in a terminal for a new sign-in link.";
  else if (!bannerState.node) text = "Lost contact with your Kith node: is `kith run` still running? Reconnecting…";
  else if (!bannerState.server && bannerState.problem) text = `The signaling server refused the sign-in: ${bannerState.problem}. Check signaling_url (kith settings) or the server's --public-url. Retrying…`;
  else if (!bannerState.server) text = "Disconnected from the signaling server: contacts show as offline until it is back. Reconnecting…";
  banner.textContent = text;
  banner.hidden = !text;
  banner.classList.toggle("node", !bannerState.node || bannerState.signedOut);
}

/** The sign-in needed state: no session in this tab, or the node refused it. */
function showSignedOut() {
  clearSession();
  bannerState.restarted = bannerState.unreachable; // the node went away, then refused the session
  bannerState.signedOut = true;
  document.body.dataset.signedOut = bannerState.restarted ? "restarted" : "true";
  if (events) events.close();
  paintBanner();
}

async function signOut() {
  try {
    await api.signOut();
  } catch {
    // the session is gone either way
  }
  showSignedOut();
}

function showPanel(name) {
  $("#welcome").hidden = name !== "welcome";
  $("#chat").hidden = name !== "chat";
  $("#group").hidden = name !== "group";
  $("#settings").hidden = name !== "settings";
  $("#settings-back").hidden = name !== "settings";
  // Below 700 px one pane shows at a time (app.css): the list, or the open panel.
  document.body.dataset.pane = name === "welcome" ? "list" : "main";
}

async function start() {
  if (!loadSession()) return showSignedOut();
  onSignedOut(showSignedOut);
  const [identity, status, contacts, settingList] = await Promise.all([
    api.identity(), api.status(), api.contacts(), api.settings().catch(() => []),
  ]);
  const me = { id: identity.id, name: identity.name };
  $("#me-name").textContent = identity.name || "You";

  const ownStatus = new OwnStatus(api);
  ownStatus.show(status);
  bannerState.server = status.connection === "connected";
  ownStatus.setConnected(bannerState.server);
  paintBanner();

  let sidebar = null;
  const notifier = new Notifier({
    ownStatus: () => ownStatus.current?.status,
    nameOf: (id) => displayName(sidebar.get(id) || { id }),
    onClick: (id) => sidebar.onSelect(id),
  });
  const applySettings = async () => notifier.configure(await api.settings());
  notifier.configure(settingList);
  const settings = new SettingsPanel(api, { onSaved: () => applySettings().catch(() => {}) });
  const mute = new MuteButton(api, notifier);
  const refreshContacts = async () => sidebar.setAll(await api.contacts());
  const details = new ContactDetailsDialog(api, {
    onRemoved: async () => {
      await refreshContacts();
      showPanel("welcome");
    },
  });
  $("#contact-details").addEventListener("close", () => refreshContacts());
  const chat = new ChatPanel(api, {
    me,
    contactOf: (id) => sidebar.get(id),
    onDetails: (id) => details.open(id),
    fileViews: new FileViews(api),
  });
  const calls = new CallPanel({
    currentContact: () => chat.contactId,
    nameOf: (id) => displayName(sidebar.get(id) || { id }),
    notify: (call) => notifier.call(call),
  });
  const groups = new GroupsPanel(api, {
    me,
    notifier,
    fileViews: new FileViews(api),
    contacts: () => sidebar.contacts.values(),
    contactOf: (id) => sidebar.get(id),
    onUnread: () => sidebar.paintTitle(),
    onShow: () => {
      sidebar.select(null);
      chat.contactId = null;
      showPanel("group");
    },
  });
  sidebar = new Sidebar(async (id) => {
    groups.deselect();
    sidebar.select(id);
    showPanel("chat");
    mute.show(id);
    calls.opened();
    const focused = document.activeElement;
    await chat.open(id);
    // Into the message box, unless the user moved on (e.g. typed a search) while it loaded.
    if (document.activeElement === focused) $("#composer-text").focus();
  }, { otherUnread: () => groups.unreadTotal });
  sidebar.setAll(contacts);
  groups.refresh().catch(() => {});
  const requests = new RequestList(api, { onAnswered: refreshContacts });
  requests
    .refresh()
    .then((waiting) => waiting.forEach((r) => notifier.seen.add(`request:${r.id}`))) // no alert for old ones
    .catch(() => {});
  new SearchBox(api, { nameOf: (id) => displayName(sidebar.get(id) || { id }), onOpen: (id) => sidebar.onSelect(id) });
  const adder = new AddContactDialog(api, details);

  $("#add-contact-open").addEventListener("click", () => adder.open());
  $("#settings-open").addEventListener("click", async () => {
    groups.deselect();
    sidebar.select(null);
    chat.contactId = null;
    showPanel("settings");
    await settings.render();
    $("#settings-title").focus();
  });

  $("#sign-out").addEventListener("click", signOut);
  const back = () => {
    groups.deselect();
    sidebar.select(null);
    chat.contactId = null;
    showPanel("welcome");
  };
  $("#chat-back").addEventListener("click", back);
  $("#settings-back").addEventListener("click", back);
  $("#group-back").addEventListener("click", back);
  showPanel("welcome");
  sidebar.setQuiet(status.status === "busy");
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && sidebar.selected) sidebar.select(sidebar.selected);
  });

  events = connectEvents({
    onLink: (up) => {
      bannerState.node = up;
      document.body.dataset.nodeLost = String(!up); // presence shown is stale until it is back
      paintBanner();
      if (up) {
        bannerState.unreachable = false;
        refreshContacts().catch(() => {});
        requests.refresh().catch(() => {});
        groups.refresh().catch(() => {});
        if (groups.openId) groups.open(groups.openId).catch(() => {});
        chat.reload().catch(() => {});
        calls.resync().catch(() => {});
      } else {
        // a 401 here means the session is gone; no answer at all, that the node is down
        api.status().catch((error) => {
          if (error.code === "node_unreachable") bannerState.unreachable = true;
        });
      }
    },
    onEvent: (event) => {
      switch (event.type) {
        case "status":
          ownStatus.show({ ...ownStatus.current, ...event });
          sidebar.setQuiet(ownStatus.current.status === "busy");
          break;
        case "connection":
          bannerState.server = event.state === "connected";
          if (bannerState.server) bannerState.problem = "";
          ownStatus.setConnected(bannerState.server);
          paintBanner();
          break;
        case "connection_problem":
          bannerState.problem = event.detail;
          paintBanner();
          break;
        case "presence":
          sidebar.presence(event);
          chat.onEvent(event);
          groups.presence(event);
          break;
        case "group":
        case "group_message":
          groups.onEvent(event);
          break;
        case "file":
          groups.onFile(event.file);
          chat.onEvent(event);
          break;
        case "call":
        case "call_signal":
          calls.onEvent(event).catch(() => {});
          if (event.type === "call") chat.onEvent(event); // an ended call's row in the chat
          break;
        case "contacts":
          refreshContacts().catch(() => {});
          requests
            .refresh()
            .then((waiting) => {
              if (event.change === "request") waiting.filter((r) => r.id === event.id).forEach((r) => notifier.request(r));
            })
            .catch(() => {});
          break;
        default: {
          const elsewhere = chat.onEvent(event);
          if (event.type !== "message" || !notifier.isNew(event.message, me.id)) break;
          if (elsewhere || document.hidden) sidebar.bumpUnread(event.contact);
          notifier.message(event.contact, event.message);
        }
      }
    },
  });
  trackActivity(api.activity);
  window.setInterval(() => sidebar.tick(), 30_000);
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  if (error.status === 401) return showSignedOut();
  banner.textContent = `Kith could not start: ${error.message}`;
  banner.hidden = false;
  banner.classList.add("node");
});
