// The settings panel: own ID (copy, QR), name, server, auto-away, notifications, backup, passphrase.

import { $, h, say } from "./dom.js";
import { groupedId, groupedSafety } from "./format.js";
import { Notifier } from "./notifier.js";

let fieldCount = 0;

function field(label, input, help) {
  const id = `setting-${++fieldCount}`;
  input.id = id;
  const helpEl = help ? h("p", { class: "muted small", id: `${id}-help` }, help) : null;
  if (helpEl) input.setAttribute("aria-describedby", helpEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), input, helpEl);
}

function feedback() {
  return h("p", { class: "small", role: "status", hidden: true });
}

/** A one-input form that saves with a button (or Enter). */
function savingForm(title, label, input, help, save) {
  const out = feedback();
  const form = h(
    "form",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          await save(input.value);
          say(out, "Saved.", "ok");
        } catch (error) {
          say(out, error.message);
        }
      },
    },
    field(label, input, help),
    h("div", { class: "row" }, h("button", { class: "button", type: "submit" }, "Save"), out),
  );
  return h("section", { "aria-label": title }, h("h3", {}, title), form);
}

export class SettingsPanel {
  constructor(api, { onSaved = () => {} } = {}) {
    this.api = api;
    this.onSaved = onSaved;
    this.root = $("#settings");
  }

  async render() {
    const [identity, settings, account, qr] = await Promise.all([
      this.api.identity(),
      this.api.settings(),
      this.api.account().catch(() => ({ protection: "unknown" })),
      this.api.qr().catch(() => null),
    ]);
    if (this.qrUrl) URL.revokeObjectURL(this.qrUrl);
    this.qrUrl = qr ? URL.createObjectURL(qr) : "";
    const value = Object.fromEntries(settings.map((s) => [s.key, s.value]));
    const sections = [
      h("h2", { id: "settings-title", tabindex: "-1" }, "Settings"),
      this.identitySection(identity),
      savingForm("Display name", "Your name", h("input", { type: "text", maxlength: 64, value: identity.name || "" }),
        "Contacts see it when they add you.", (v) => this.api.setName(v)),
      savingForm("Signaling server", "Server URL", h("input", { type: "text", spellcheck: "false", value: value.signaling_url }),
        "ws:// or wss://; for a cluster, several separated by spaces (tried in random order). Used from the next start of the node.",
        (v) => this.api.setSetting("signaling_url", v)),
      savingForm("Auto-away", "Minutes of inactivity before you show as away",
        h("input", { type: "number", min: 0, step: 1, value: value.auto_away_minutes }),
        "0 turns auto-away off. Busy and invisible are never changed.",
        (v) => this.api.setSetting("auto_away_minutes", v)),
      this.notificationsSection(value),
      this.backupSection(account.protection),
      account.protection === "passphrase" ? this.passphraseSection() : null,
    ];
    this.root.replaceChildren(...sections.filter(Boolean));
  }

  identitySection(identity) {
    const out = feedback();
    const copy = async () => {
      try {
        await navigator.clipboard.writeText(identity.id);
        say(out, "Copied to the clipboard.", "ok");
      } catch {
        say(out, "Copying is not allowed here: select the ID and copy it.");
      }
    };
    return h(
      "section",
      { "aria-label": "Your Kith ID" },
      h("h3", {}, "Your Kith ID"),
      h(
        "div",
        { class: "id-row" },
        h(
          "div",
          {},
          h("p", { class: "mono id-text", id: "own-id" }, groupedId(identity.id)),
          h("div", { class: "row" }, h("button", { class: "button", type: "button", onclick: copy }, "Copy ID"), out),
          h("p", { class: "muted small" }, "Give this ID to people you want as contacts. Fingerprint: ",
            h("span", { class: "mono" }, groupedSafety(identity.fingerprint))),
        ),
        // The image comes through the API (it needs the session header), as a blob: URL.
        this.qrUrl ? h("img", { class: "qr", src: this.qrUrl, alt: "QR code of your Kith ID", width: 180, height: 180 }) : null,
      ),
    );
  }

  notificationsSection(value) {
    const out = feedback();
    const box = (key, label) => {
      const input = h("input", { type: "checkbox", id: `setting-${key}` });
      input.checked = Boolean(value[key]);
      input.addEventListener("change", async () => {
        try {
          // Ask the browser while the click still counts as a user gesture.
          const permission = key === "notifications" && input.checked ? Notifier.requestPermission() : null;
          await this.api.setSetting(key, input.checked ? "true" : "false");
          this.onSaved(key);
          const answer = await permission;
          if (answer === "denied") say(out, "Saved, but the browser blocks notifications for this page: allow them in its site settings.");
          else if (answer === "unsupported") say(out, "Saved, but this browser has no desktop notifications.");
          else say(out, "Saved.", "ok");
        } catch (error) {
          say(out, error.message);
        }
      });
      return h("div", { class: "check" }, input, h("label", { for: input.id }, label));
    };
    return h(
      "section",
      { "aria-label": "Notifications and privacy" },
      h("h3", {}, "Notifications and privacy"),
      box("notifications", "Desktop notifications while this tab is hidden (never while you are busy)"),
      box("notifications_private", "Private notifications: show who wrote, not what"),
      h("p", { class: "muted small" }, "Mute one contact with the Mute button in their chat."),
      box("read_receipts", "Send read receipts"),
      box("relay_only", "Hide my IP address from contacts: connect only through the server's TURN relay (from the next start)"),
      out,
    );
  }

  backupSection(protection) {
    const out = feedback();
    const pass = h("input", { type: "password", autocomplete: "new-password" });
    const again = h("input", { type: "password", autocomplete: "new-password" });
    // Exporting the identity needs the database passphrase, or (OS key store) an explicit confirmation.
    const hasPassphrase = protection === "passphrase";
    const proof = hasPassphrase
      ? h("input", { type: "password", autocomplete: "current-password" })
      : h("input", { type: "checkbox" });
    const proofField = hasPassphrase
      ? field("Your database passphrase", proof, "The one that unlocks this node: only you may export your identity.")
      : h("div", { class: "check" }, proof, h("label", { for: (proof.id = `setting-${++fieldCount}`) },
        "I want to export my identity (your key store protects it; this confirms it is you)"));
    const form = h(
      "form",
      {
        onsubmit: async (event) => {
          event.preventDefault();
          if (pass.value !== again.value) return say(out, "The two passwords differ.");
          say(out, "Encrypting…", "ok");
          try {
            const blob = await this.api.backup(
              pass.value, hasPassphrase ? { passphrase: proof.value } : { confirm: proof.checked });
            download(blob, `kith-backup-${new Date().toISOString().slice(0, 10)}.kithbackup`);
            form.reset();
            say(out, "Backup downloaded. Keep the file and its password apart.", "ok");
          } catch (error) {
            say(out, error.message);
          }
        },
      },
      field("Backup password", pass, "Separate from your passphrase. Without it the backup cannot be opened."),
      field("Backup password again", again),
      proofField,
      h("div", { class: "row" }, h("button", { class: "button", type: "submit" }, "Download backup"), out),
    );
    return h(
      "section",
      { "aria-label": "Backup" },
      h("h3", {}, "Backup"),
      h("p", { class: "muted small" }, "An encrypted file with your identity, contacts and settings (not the message history)."),
      form,
      h("p", { class: "muted small" }, "To restore on a new machine: ",
        h("code", {}, "kith backup import FILE"), " into an empty data directory, then ", h("code", {}, "kith run"), "."),
    );
  }

  passphraseSection() {
    const out = feedback();
    const old = h("input", { type: "password", autocomplete: "current-password" });
    const next = h("input", { type: "password", autocomplete: "new-password" });
    const again = h("input", { type: "password", autocomplete: "new-password" });
    const form = h(
      "form",
      {
        onsubmit: async (event) => {
          event.preventDefault();
          if (next.value !== again.value) return say(out, "The new passphrases differ.");
          try {
            await this.api.changePassphrase(old.value, next.value);
            form.reset();
            say(out, "Passphrase changed. Use the new one from now on.", "ok");
          } catch (error) {
            say(out, error.message);
          }
        },
      },
      field("Current passphrase", old),
      field("New passphrase", next),
      field("New passphrase again", again),
      h("div", { class: "row" }, h("button", { class: "button", type: "submit" }, "Change passphrase"), out),
    );
    return h("section", { "aria-label": "Passphrase" }, h("h3", {}, "Passphrase"), form);
  }
}

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
