// Calls: the buttons in a chat, the incoming banner, the call bar, and the WebRTC media.
//
// Media flows browser to browser. The node only carries the set-up: this page posts its
// offer/answer and ICE candidates to its own node (POST /api/calls/{id}/signal), which
// seals them in the pair's encrypted channel to the contact's node, whose page receives
// them as "call_signal" events. Call states come from the node as "call" events.
//
// Every call negotiates one audio and one video transceiver, so screen sharing or the
// camera only swap the video sender's track (no renegotiation); muting removes the
// microphone track from the sender, so no audio packets leave at all.

import { request } from "./api.js";
import { $, say } from "./dom.js";
import { SESSION_HEADER, loadSession } from "./session.js";

const part = (text) => encodeURIComponent(text);

const callApi = {
  start: (contact, video) => request("POST", `/api/contacts/${part(contact)}/calls`, { video }),
  log: (contact) => request("GET", `/api/contacts/${part(contact)}/calls`),
  live: () => request("GET", "/api/calls"),
  ice: () => request("GET", "/api/calls/ice"),
  accept: (id) => request("POST", `/api/calls/${part(id)}/accept`),
  decline: (id) => request("POST", `/api/calls/${part(id)}/decline`),
  hangUp: (id) => request("POST", `/api/calls/${part(id)}/hangup`),
  media: (id, flowing) => request("POST", `/api/calls/${part(id)}/media`, { flowing }),
  signal: (id, kind, data) => request("POST", `/api/calls/${part(id)}/signal`, { kind, data }),
};

const STATE_TEXT = {
  ringing_out: "Ringing…",
  ringing_in: "Incoming call…",
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
};

const REASON_TEXT = {
  hangup: "you hung up",
  remote_hangup: "they hung up",
  declined: "you declined",
  remote_declined: "declined",
  busy: "they are busy",
  missed: "missed",
  no_answer: "no answer",
  cancelled: "cancelled",
  failed: "the connection failed",
  not_reachable: "not reachable",
};

/** The call log of the chat with `contact` (oldest first), for the message list. */
export const callLog = async (contact) => (await callApi.log(contact)).calls;

/** The log entry of a call that just ended (a "call" event's view). */
export function logEntry(call) {
  const { id, contact, direction, video, outcome, reason, duration } = call;
  return { id, contact, direction, video, outcome, reason, duration, started_at: call.created };
}

/** "1:05" from seconds. */
function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

/** What a call log entry says: "Outgoing video call, 1:05", "Missed call", … */
export function describeCall(entry) {
  const kind = entry.video ? "video call" : "call";
  switch (entry.outcome) {
    case "answered":
      return `${entry.direction === "out" ? "Outgoing" : "Incoming"} ${kind}, ${duration(entry.duration)}`;
    case "missed":
      return `Missed ${kind}`;
    case "declined":
      return `Declined ${kind}`;
    case "unanswered":
      return `${entry.direction === "out" ? "Unanswered" : "Missed"} ${kind}`;
    default:
      return `Failed ${kind}`;
  }
}

/** A repeating two-tone sound (ring or ringback) through Web Audio; stop() ends it. */
function tone(frequencies, onMs, offMs) {
  let context = null;
  try {
    context = new AudioContext();
  } catch {
    return { stop() {} };
  }
  const gain = context.createGain();
  gain.gain.value = 0;
  gain.connect(context.destination);
  const oscillators = frequencies.map((f) => {
    const o = context.createOscillator();
    o.frequency.value = f;
    o.connect(gain);
    o.start();
    return o;
  });
  let on = false;
  const flip = () => {
    on = !on;
    gain.gain.value = on ? 0.08 : 0;
    timer = window.setTimeout(flip, on ? onMs : offMs);
  };
  let timer = window.setTimeout(flip, 0);
  return {
    stop() {
      window.clearTimeout(timer);
      oscillators.forEach((o) => o.stop());
      context.close().catch(() => {});
    },
  };
}

/** One call's RTCPeerConnection, local media and the candidates waiting for a description. */
class MediaSession {
  constructor(callId, config, { onState, onRemote, onNote }) {
    this.callId = callId;
    this.pc = new RTCPeerConnection(config);
    this.local = null;
    this.camera = null;
    this.screen = null;
    this.muted = false;
    this.cameraOn = true;
    this.pendingIce = [];
    this.onNote = onNote;
    this.pc.addEventListener("icecandidate", (event) => {
      if (event.candidate) callApi.signal(callId, "ice", JSON.stringify(event.candidate.toJSON())).catch(() => {});
    });
    this.pc.addEventListener("connectionstatechange", () => onState(this.pc.connectionState));
    this.pc.addEventListener("track", (event) => onRemote(event.streams[0] || new MediaStream([event.track])));
  }

  /** The microphone (and camera for a video call); denied or absent: a note and less media. */
  async getMedia(video) {
    try {
      this.local = await navigator.mediaDevices.getUserMedia({ audio: true, video });
    } catch (error) {
      if (video) {
        try {
          this.local = await navigator.mediaDevices.getUserMedia({ audio: true });
          this.onNote("The camera is not available or was denied: audio only.");
        } catch {
          this.local = null;
        }
      }
      if (!this.local) this.onNote(`The microphone is not available or was denied (${error.name}): you can hear but not be heard.`);
    }
    this.camera = this.local ? this.local.getVideoTracks()[0] || null : null;
    return this.local;
  }

  track(kind) {
    return this.local ? this.local.getTracks().find((t) => t.kind === kind) || null : null;
  }

  transceiver(kind) {
    return this.pc.getTransceivers().find((t) => (t.receiver.track && t.receiver.track.kind) === kind) || null;
  }

  /** The caller: one audio and one video transceiver, then the offer. */
  async offer() {
    const streams = this.local ? [this.local] : [];
    this.pc.addTransceiver(this.track("audio") || "audio", { direction: "sendrecv", streams });
    this.pc.addTransceiver(this.track("video") || "video", { direction: "sendrecv", streams });
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await callApi.signal(this.callId, "offer", this.pc.localDescription.sdp);
  }

  /** The callee: the offer's transceivers get our tracks, then the answer. */
  async answer(sdp) {
    await this.pc.setRemoteDescription({ type: "offer", sdp });
    for (const kind of ["audio", "video"]) {
      const t = this.transceiver(kind);
      if (!t) continue;
      t.direction = "sendrecv";
      if (this.local) t.sender.setStreams(this.local);
      await t.sender.replaceTrack(this.track(kind));
    }
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    await callApi.signal(this.callId, "answer", this.pc.localDescription.sdp);
    await this.flushIce();
  }

  async accepted(sdp) {
    await this.pc.setRemoteDescription({ type: "answer", sdp });
    await this.flushIce();
  }

  async candidate(json) {
    let init;
    try {
      init = JSON.parse(json);
    } catch {
      return;
    }
    if (!this.pc.remoteDescription) this.pendingIce.push(init);
    else await this.pc.addIceCandidate(init).catch(() => {});
  }

  async flushIce() {
    const waiting = this.pendingIce;
    this.pendingIce = [];
    for (const init of waiting) await this.pc.addIceCandidate(init).catch(() => {});
  }

  async setMuted(muted) {
    this.muted = muted;
    const t = this.transceiver("audio");
    if (t) await t.sender.replaceTrack(muted ? null : this.track("audio"));
  }

  async setCamera(on) {
    this.cameraOn = on;
    if (!this.screen) await this.videoSender(on ? this.camera : null);
  }

  async videoSender(track) {
    const t = this.transceiver("video");
    if (t) await t.sender.replaceTrack(track);
  }

  async share() {
    const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    this.screen = display.getVideoTracks()[0];
    this.screen.addEventListener("ended", () => this.stopSharing());
    await this.videoSender(this.screen);
  }

  async stopSharing() {
    if (!this.screen) return;
    this.screen.stop();
    this.screen = null;
    await this.videoSender(this.cameraOn ? this.camera : null);
  }

  close() {
    this.pc.close();
    if (this.local) this.local.getTracks().forEach((t) => t.stop());
    if (this.screen) this.screen.stop();
  }
}

/** The call UI of the page: one call at a time, as the node allows. */
export class CallPanel {
  /**
   * @param {{currentContact: () => string|null, nameOf: (id: string) => string,
   *   notify: (call: object) => Notification|null}} options `notify` shows a ringing call
   *   as a desktop notification when the page's notification rules allow (tab hidden, not busy)
   */
  constructor({ currentContact, nameOf, notify }) {
    this.currentContact = currentContact;
    this.nameOf = nameOf;
    this.notify = notify;
    this.alert = null; // the desktop notification of the call ringing in
    this.call = null;
    this.session = null;
    this.sound = null;
    this.timer = null;
    this.hideTimer = null;
    this.signals = []; // call_signal events that came before the session existed
    this.ended = new Set(); // IDs of calls that ended: a late answer to a request is stale
    this.mine = new Set(); // calls this tab started or answered: only it runs their media
    this.root = $("#call");
    this.stateEl = $("#call-state");
    this.timerEl = $("#call-timer");
    this.noteEl = $("#call-note");
    this.incoming = $("#incoming");
    this.errorEl = $("#call-error");
    $("#call-audio").addEventListener("click", () => this.start(false));
    $("#call-video").addEventListener("click", () => this.start(true));
    $("#incoming-accept").addEventListener("click", () => this.accept());
    $("#incoming-decline").addEventListener("click", () => this.act(callApi.decline));
    $("#call-hangup").addEventListener("click", () => this.act(callApi.hangUp));
    $("#call-mute").addEventListener("click", () => this.toggleMute());
    $("#call-camera").addEventListener("click", () => this.toggleCamera());
    $("#call-share").addEventListener("click", () => this.toggleShare());
    window.addEventListener("pagehide", () => this.leave());
  }

  /** The page is closing: end the call rather than leave the other side talking to nobody. */
  leave() {
    if (!this.call) return;
    const headers = { Accept: "application/json" };
    const session = loadSession();
    if (session) headers[SESSION_HEADER] = session;
    const action = this.call.state === "ringing_in" ? "decline" : "hangup";
    fetch(`/api/calls/${part(this.call.id)}/${action}`, { method: "POST", headers, keepalive: true, credentials: "omit" }).catch(() => {});
  }

  /** The chat with `contact` opened: the last call's error no longer applies. */
  opened() {
    say(this.errorEl, "");
  }

  async start(video) {
    const contact = this.currentContact();
    if (!contact || this.call) return;
    say(this.errorEl, "");
    try {
      const call = await callApi.start(contact, video);
      this.mine.add(call.id);
      this.show(call);
    } catch (error) {
      const who = this.nameOf(contact);
      say(this.errorEl, error.code === "not_reachable" ? `${who} is not reachable right now (${error.message}).` : `Could not call ${who}: ${error.message}`);
    }
  }

  async accept() {
    const call = this.call;
    if (!call) return;
    this.stopSound();
    this.incoming.hidden = true;
    this.mine.add(call.id);
    await this.newSession(call);
    await this.act(callApi.accept);
  }

  async act(fn) {
    if (!this.call) return;
    try {
      this.show(await fn(this.call.id));
    } catch (error) {
      say(this.noteEl, error.message);
    }
  }

  async newSession(call) {
    const config = await callApi.ice().catch(() => ({}));
    this.session = new MediaSession(call.id, config, {
      onState: (state) => this.mediaState(state),
      onRemote: (stream) => {
        $("#call-remote").srcObject = stream;
      },
      onNote: (text) => say(this.noteEl, text, "note"),
    });
    window.kithCall = this.session.pc; // for the browser's console (getStats)
    const local = await this.session.getMedia(call.video);
    $("#call-local").srcObject = local && call.video ? local : null;
    for (const event of this.signals.splice(0)) await this.signal(event);
  }

  mediaState(state) {
    if (!this.call) return;
    this.root.dataset.media = state;
    if (state === "connected") callApi.media(this.call.id, true).catch(() => {});
    else if (state === "disconnected" || state === "failed") callApi.media(this.call.id, false).catch(() => {});
  }

  /** A live event from the node. */
  async onEvent(event) {
    if (event.type === "call") await this.changed(event.call);
    else if (event.type === "call_signal") await this.signal(event);
  }

  async changed(call) {
    const known = this.call && call.id === this.call.id;
    if (!known && call.state === "ended" && (call.direction === "in" || call.reason === "not_reachable")) {
      this.ended.add(call.id); // answered busy, or a missed-call notice: the chat shows its entry
      if (call.direction === "out") say(this.errorEl, `${this.nameOf(call.contact)} is not reachable right now.`);
      return;
    }
    if (this.call && !known) return;
    const was = this.call ? this.call.state : null;
    this.show(call);
    if (call.state === "connecting" && was === "ringing_out" && this.mine.has(call.id)) {
      await this.newSession(call);
      await this.session.offer();
    }
  }

  async signal(event) {
    if (!this.call || event.id !== this.call.id) return;
    if (!this.session) {
      this.signals.push(event);
      return;
    }
    try {
      if (event.kind === "offer") await this.session.answer(event.data);
      else if (event.kind === "answer") await this.session.accepted(event.data);
      else if (event.kind === "ice") await this.session.candidate(event.data);
    } catch (error) {
      say(this.noteEl, `The call could not be set up: ${error.message}`);
    }
  }

  /** Paint the call (and start or stop sounds and the timer). */
  show(call) {
    if (this.ended.has(call.id)) return; // the "ended" event overtook this view
    const ended = call.state === "ended";
    if (ended) this.ended.add(call.id);
    this.call = ended ? null : call;
    const who = this.nameOf(call.contact);
    this.incoming.hidden = call.state !== "ringing_in";
    if (call.state === "ringing_in") {
      $("#incoming-text").textContent = `${who} is calling${call.video ? " (video)" : ""}`;
      if (!this.sound) this.sound = tone([440, 480], 1000, 2000);
      if (!this.alert) this.alert = this.notify(call);
    } else if (call.state === "ringing_out") {
      if (!this.sound) this.sound = tone([425], 1000, 4000);
    } else {
      this.stopSound();
    }
    window.clearTimeout(this.hideTimer);
    if (call.state.startsWith("ringing")) {
      this.timerEl.textContent = "";
      say(this.noteEl, ""); // the last call's note
    }
    this.root.hidden = call.state === "ringing_in";
    this.root.dataset.state = call.state;
    this.root.dataset.video = String(call.video);
    $("#call-camera").hidden = !call.video;
    $("#call-peer").textContent = who;
    this.stateEl.textContent = ended ? `Call ended: ${REASON_TEXT[call.reason] || call.reason}` : STATE_TEXT[call.state] || call.state;
    if (call.state === "connected" && !this.timer) this.startTimer();
    if (ended) this.end(call);
  }

  startTimer() {
    const since = Date.now();
    const paint = () => {
      this.timerEl.textContent = duration((Date.now() - since) / 1000);
    };
    paint();
    this.timer = window.setInterval(paint, 1000);
  }

  end(call) {
    this.stopSound();
    window.clearInterval(this.timer);
    this.timer = null;
    this.signals = [];
    if (this.session) this.session.close();
    this.session = null;
    $("#call-remote").srcObject = null;
    $("#call-local").srcObject = null;
    ["#call-mute", "#call-camera", "#call-share"].forEach((s) => $(s).setAttribute("aria-pressed", "false"));
    $("#call-mute").textContent = "Mute microphone";
    $("#call-camera").textContent = "Stop camera";
    $("#call-share").textContent = "Share screen";
    this.hideTimer = window.setTimeout(() => {
      if (!this.call) this.root.hidden = true;
    }, 4000); // the reason stays readable for a moment
  }

  stopSound() {
    if (this.sound) this.sound.stop();
    this.sound = null;
    if (this.alert) this.alert.close();
    this.alert = null;
  }

  async toggleMute() {
    if (!this.session) return;
    const muted = !this.session.muted;
    await this.session.setMuted(muted);
    $("#call-mute").textContent = muted ? "Unmute microphone" : "Mute microphone";
    $("#call-mute").setAttribute("aria-pressed", String(muted));
  }

  async toggleCamera() {
    if (!this.session) return;
    const on = !this.session.cameraOn;
    await this.session.setCamera(on);
    $("#call-camera").textContent = on ? "Stop camera" : "Start camera";
    $("#call-camera").setAttribute("aria-pressed", String(!on));
  }

  async toggleShare() {
    if (!this.session) return;
    try {
      if (this.session.screen) await this.session.stopSharing();
      else await this.session.share();
    } catch (error) {
      say(this.noteEl, `Screen sharing did not start (${error.name}).`);
    }
    const sharing = Boolean(this.session && this.session.screen);
    $("#call-share").textContent = sharing ? "Stop sharing" : "Share screen";
    $("#call-share").setAttribute("aria-pressed", String(sharing));
  }

  /** After a reconnect of the events socket: pick up a call the node still holds. */
  async resync() {
    if (this.call) return;
    const live = (await callApi.live()).calls;
    const ringing = live.find((c) => c.state === "ringing_in");
    if (ringing) this.show(ringing);
  }
}
