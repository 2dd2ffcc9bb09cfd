// The local API client: same-origin fetch with this tab's session header; JSON errors become ApiError.

import { SESSION_HEADER, clearSession, loadSession } from "./session.js";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /** The endpoint does not exist on this node (e.g. messaging not wired yet). */
  get missingEndpoint() {
    return this.status === 404 && this.code === "not_found";
  }
}

const listeners = new Set();

/** Call `fn(error)` whenever a request shows the session is gone (401). */
export function onSignedOut(fn) {
  listeners.add(fn);
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const error = body && body.error ? body.error : {};
  return new ApiError(
    response.status,
    error.code || "http_" + response.status,
    error.message || `the node answered with HTTP ${response.status}`,
  );
}

/** Request `path`; resolve with parsed JSON (or null for 204), reject with ApiError. */
export async function request(method, path, body) {
  const init = { method, credentials: "omit", headers: { Accept: "application/json" } };
  const session = loadSession();
  if (session) init.headers[SESSION_HEADER] = session;
  if (body instanceof Blob) {
    init.headers["Content-Type"] = "application/octet-stream";
    init.body = body; // a file: the browser streams it
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "node_unreachable", "your Kith node does not answer; is `kith run` still running?");
  }
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401) {
      clearSession();
      listeners.forEach((fn) => fn(error));
    }
    throw error;
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.blob();
}

const part = (text) => encodeURIComponent(text);

export const api = {
  status: () => request("GET", "/api/status"),
  setStatus: (status, text) => request("PUT", "/api/status", { status, text }),
  identity: () => request("GET", "/api/identity"),
  setName: (name) => request("PUT", "/api/identity/name", { name }),
  contacts: () => request("GET", "/api/contacts"),
  contact: (id) => request("GET", `/api/contacts/${part(id)}`),
  addContact: (id, name) => request("POST", "/api/contacts", { id, name: name || null }),
  removeContact: (id) => request("DELETE", `/api/contacts/${part(id)}`),
  renameContact: (id, name) => request("PATCH", `/api/contacts/${part(id)}`, { name: name || null }),
  verifyContact: (id, verified) => request("PATCH", `/api/contacts/${part(id)}`, { verified }),
  requests: () => request("GET", "/api/requests"),
  acceptRequest: (id) => request("POST", `/api/requests/${part(id)}/accept`),
  declineRequest: (id) => request("POST", `/api/requests/${part(id)}/decline`),
  block: (id) => request("POST", "/api/blocked", { id }),
  settings: () => request("GET", "/api/settings"),
  setSetting: (key, value) => request("PUT", `/api/settings/${part(key)}`, { value: String(value) }),
  account: () => request("GET", "/api/account"),
  backup: (password, proof) => request("POST", "/api/account/backup", { password, ...proof }),
  qr: () => request("GET", "/api/identity/qr.svg"),
  signOut: () => request("DELETE", "/api/session"),
  changePassphrase: (old, next) => request("POST", "/api/account/passphrase", { old, new: next }),
  activity: () => request("POST", "/api/activity"),
  // The message API (see docs/ui.md); a node without messaging answers 404 not_found.
  messages: (id, limit, before) => {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before) query.set("before", before);
    return request("GET", `/api/contacts/${part(id)}/messages?${query}`);
  },
  send: (id, text, replyTo) =>
    request("POST", `/api/contacts/${part(id)}/messages`, replyTo ? { text, reply_to: replyTo } : { text }),
  edit: (mid, text) => request("PATCH", `/api/messages/${part(mid)}`, { text }),
  remove: (mid) => request("DELETE", `/api/messages/${part(mid)}`),
  react: (mid, emoji) => request("POST", `/api/messages/${part(mid)}/reactions`, { emoji }),
  unreact: (mid, emoji) => request("DELETE", `/api/messages/${part(mid)}/reactions/${part(emoji)}`),
  typing: (id) => request("POST", `/api/contacts/${part(id)}/typing`),
  markRead: (id, ids) => request("POST", `/api/contacts/${part(id)}/read`, { ids }),
  acceptKey: (id) => request("POST", `/api/contacts/${part(id)}/key-accept`),
  search: (q, limit) => request("GET", `/api/search?${new URLSearchParams({ q, limit: String(limit) })}`),
  // Files (see docs/files.md): the upload is the request body; `download` is the bytes as a
  // blob (for players and previews), `downloadLink` a one-time URL the browser saves to disk.
  files: (id) => request("GET", `/api/contacts/${part(id)}/files`),
  upload: (id, file, extra = {}) =>
    request("POST", `/api/contacts/${part(id)}/files/upload?${new URLSearchParams({ name: file.name, ...extra })}`, file),
  cancelFile: (fid) => request("POST", `/api/files/${part(fid)}/cancel`),
  pauseFile: (fid) => request("POST", `/api/files/${part(fid)}/pause`),
  resumeFile: (fid) => request("POST", `/api/files/${part(fid)}/resume`),
  download: (fid) => request("GET", `/api/files/${part(fid)}/content`),
  downloadLink: (fid) => request("POST", `/api/files/${part(fid)}/download`),
  // Groups (see docs/groups.md); `gid` is the group's ID.
  groups: () => request("GET", "/api/groups"),
  group: (gid) => request("GET", `/api/groups/${part(gid)}`),
  createGroup: (name, members) => request("POST", "/api/groups", { name, members }),
  groupMessages: (gid, limit, before) => {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before) query.set("before", before);
    return request("GET", `/api/groups/${part(gid)}/messages?${query}`);
  },
  sendGroup: (gid, text) => request("POST", `/api/groups/${part(gid)}/messages`, { text }),
  // A group's files: each message's `file` by message ID; an upload is sent to every member.
  groupFiles: (gid) => request("GET", `/api/groups/${part(gid)}/files`),
  uploadGroup: (gid, file) =>
    request("POST", `/api/groups/${part(gid)}/files/upload?${new URLSearchParams({ name: file.name })}`, file),
  addMember: (gid, member) => request("POST", `/api/groups/${part(gid)}/members`, { member }),
  removeMember: (gid, member) => request("DELETE", `/api/groups/${part(gid)}/members/${part(member)}`),
  promoteMember: (gid, member) => request("POST", `/api/groups/${part(gid)}/promote`, { member }),
  renameGroup: (gid, name) => request("POST", `/api/groups/${part(gid)}/rename`, { name }),
  editGroupMessage: (gid, mid, text) => request("PATCH", `/api/groups/${part(gid)}/messages/${part(mid)}`, { text }),
  deleteGroupMessage: (gid, mid) => request("DELETE", `/api/groups/${part(gid)}/messages/${part(mid)}`),
  reactGroup: (gid, mid, emoji) => request("POST", `/api/groups/${part(gid)}/messages/${part(mid)}/reactions`, { emoji }),
  unreactGroup: (gid, mid, emoji) =>
    request("DELETE", `/api/groups/${part(gid)}/messages/${part(mid)}/reactions/${part(emoji)}`),
  markGroupRead: (gid, ids) => request("POST", `/api/groups/${part(gid)}/read`, { ids }),
  leaveGroup: (gid) => request("POST", `/api/groups/${part(gid)}/leave`),
};
