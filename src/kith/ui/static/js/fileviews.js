// A conversation's files in the page, shared by the 1:1 and the group chat: their cards'
// image previews and voice recordings (fetched once from the node, kept as object URLs
// until another conversation opens), downloads, and the files picked or dropped to send.

import { playbackType } from "./voice.js";

export class FileViews {
  /** @param {object} api the API client (`download`, `downloadLink`) */
  constructor(api) {
    this.api = api;
    this.urls = new Map(); // file id -> object URL of its image or recording
  }

  /** Show an image file inline: fetched once from the node, kept as an object URL. */
  async preview(file, img) {
    let url = this.urls.get(file.id);
    if (!url) {
      const blob = await this.api.download(file.id).catch(() => null);
      if (!blob) return;
      url = this.urls.get(file.id) || URL.createObjectURL(blob);
      this.urls.set(file.id, url);
    }
    img.src = url;
  }

  /** A voice message's recording, fetched once from the node: a blob: URL and its bytes. */
  async voice(file) {
    const blob = await this.api.download(file.id);
    const bytes = await blob.arrayBuffer();
    const url = URL.createObjectURL(new Blob([bytes], { type: playbackType(file.name) }));
    this.urls.set(file.id, url);
    return { url, bytes };
  }

  /** Save a file: the node gives a one-time link (the session stays in the header, never in a
   * URL) and the browser follows it as a plain download, streaming to disk: nothing is held in the page. */
  async download(file) {
    const { url } = await this.api.downloadLink(file.id);
    const link = document.createElement("a");
    link.href = url;
    link.download = file.name;
    link.rel = "noopener";
    document.body.append(link);
    link.click();
    link.remove();
  }

  /** Another conversation opens: let go of every URL kept for this one. */
  clear() {
    this.urls.forEach((url) => URL.revokeObjectURL(url));
    this.urls.clear();
  }
}

/** Files to send, from `picker` (opened by `attach`) or dropped on `pane`; only while
 * `isOpen()` (a conversation is open). Each file goes to `send(file)`. */
export function acceptFiles({ pane, attach, picker, isOpen, send }) {
  attach.addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    const chosen = [...picker.files];
    picker.value = "";
    chosen.forEach((file) => send(file));
  });
  pane.addEventListener("dragover", (event) => {
    if (!isOpen() || !event.dataTransfer?.types.includes("Files")) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  pane.addEventListener("drop", (event) => {
    if (!isOpen() || !event.dataTransfer?.files.length) return;
    event.preventDefault();
    [...event.dataTransfer.files].forEach((file) => send(file));
  });
}
