// Voice messages (docs/files.md): recorded in the composer with MediaRecorder (Opus),
// sent as a file whose upload carries its length (voice_ms), and played inline with a
// play/pause button, a progress bar and a waveform computed here from the decoded audio
// (the bytes are the node's local copy; nothing is fetched from anywhere else).
//
// The record button: press and hold to record, release to send; or click once to start
// and again to send. Escape or the Cancel button discards the recording.

import { h } from "./dom.js";

/** Containers the browser may record, best first (Opus in Ogg, else in WebM). */
export const VOICE_TYPES = ["audio/ogg;codecs=opus", "audio/webm;codecs=opus"];
/** A press longer than this is hold-to-record (release sends); shorter is a click. */
const HOLD_MS = 350;
/** A recording shorter than this is a slip of the finger: nothing is sent. */
const MIN_MS = 300;
/** The node refuses longer voice messages (kith.files.frames.MAX_VOICE_MS). */
export const MAX_VOICE_MS = 3_600_000;
const TICK_MS = 200;
const BARS = 40;

/** "m:ss" for a length in milliseconds (rounded; a position so far is cut: `floor`). */
export function clockText(ms, floor = false) {
  const seconds = Math.max(0, (floor ? Math.floor : Math.round)(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/** The recording type this browser supports, or null (no MediaRecorder or no Opus). */
export function recordingType() {
  if (typeof window.MediaRecorder !== "function") return null;
  return VOICE_TYPES.find((type) => window.MediaRecorder.isTypeSupported(type)) || null;
}

/** The type to play a voice file as, from its name (the node serves every file as bytes). */
export function playbackType(name) {
  return /\.ogg$/i.test(name) ? "audio/ogg" : "audio/webm";
}

/**
 * The record button and its bar (elapsed time, Cancel). `onRecorded(file, ms)` gets the
 * finished recording; `onError(text)` a problem the user should see.
 */
export class VoiceRecorder {
  constructor({ button, bar, time, cancel, onRecorded, onError }) {
    this.button = button;
    this.bar = bar;
    this.time = time;
    this.onRecorded = onRecorded;
    this.onError = onError;
    this.state = "idle"; // idle | starting | recording | stopping
    this.pressedAt = 0;
    this.pressStarted = false;
    this.stopWanted = null; // "send" | "discard" while starting
    this.type = recordingType();
    button.hidden = !this.type;
    button.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      event.preventDefault();
      button.setPointerCapture(event.pointerId); // the release counts even off the button
      this.pressedAt = performance.now();
      this.pressStarted = this.state === "idle";
      if (this.pressStarted) this.start();
    });
    button.addEventListener("pointerup", (event) => {
      if (event.button !== 0) return;
      const held = performance.now() - this.pressedAt >= HOLD_MS;
      if (!this.pressStarted || held) this.stop("send"); // a release after a hold, or the second click
    });
    button.addEventListener("click", (event) => {
      if (event.detail !== 0) return; // pointer clicks are handled above; this is the keyboard
      if (this.state === "idle") this.start();
      else this.stop("send");
    });
    cancel.addEventListener("click", () => this.stop("discard"));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.state !== "idle") {
        event.preventDefault();
        this.stop("discard");
      }
    });
  }

  get active() {
    return this.state !== "idle";
  }

  async start() {
    this.state = "starting";
    this.stopWanted = null;
    this.show(true);
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (error) {
      this.reset();
      this.onError(`The microphone is not available or was denied (${error.name}): nothing was recorded.`);
      return;
    }
    this.stream = stream;
    this.chunks = [];
    this.recorder = new MediaRecorder(stream, { mimeType: this.type });
    this.recorder.addEventListener("dataavailable", (event) => {
      if (event.data.size) this.chunks.push(event.data);
    });
    this.recorder.addEventListener("stop", () => this.finished());
    this.recorder.start(250);
    this.startedAt = performance.now();
    this.state = "recording";
    this.ticker = window.setInterval(() => this.tick(), TICK_MS);
    if (this.stopWanted) this.stop(this.stopWanted);
  }

  tick() {
    const ms = this.elapsed();
    this.time.textContent = clockText(ms, true);
    this.time.dataset.ms = String(Math.round(ms));
    if (ms >= MAX_VOICE_MS - TICK_MS) this.stop("send");
  }

  elapsed() {
    return this.startedAt ? performance.now() - this.startedAt : 0;
  }

  /** End the recording: "send" hands it on (if long enough), "discard" drops it. */
  stop(how) {
    if (this.state === "starting") {
      this.stopWanted = how;
      return;
    }
    if (this.state !== "recording") return;
    this.state = "stopping";
    this.outcome = how;
    this.duration = Math.min(Math.round(this.elapsed()), MAX_VOICE_MS);
    this.recorder.stop();
  }

  finished() {
    const { chunks, duration, outcome } = this;
    const type = this.type.split(";")[0];
    this.reset();
    if (outcome !== "send") return;
    if (duration < MIN_MS) {
      this.onError("Too short to send: hold the microphone button while you speak, or click it once to start.");
      return;
    }
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
    const extension = type === "audio/ogg" ? "ogg" : "webm";
    this.onRecorded(new File(chunks, `voice-${stamp}.${extension}`, { type }), duration);
  }

  reset() {
    window.clearInterval(this.ticker);
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.recorder = null;
    this.chunks = [];
    this.startedAt = 0;
    this.state = "idle";
    this.show(false);
  }

  show(recording) {
    this.bar.hidden = !recording;
    this.button.setAttribute("aria-pressed", String(recording));
    this.time.textContent = clockText(0);
    this.time.dataset.ms = "0";
  }
}

/**
 * The inline player of a voice message: play/pause, progress, the duration, and a
 * waveform drawn once the audio is loaded. `load()` resolves with a blob: URL of the
 * recording (the node's local copy) and its bytes.
 */
export function voicePlayer(file, load) {
  const audio = h("audio", { preload: "none", class: "voice-audio" });
  const play = h("button", { type: "button", class: "button secondary small voice-play", "aria-label": "Play voice message" }, icon(PLAY));
  const progress = h("progress", { class: "voice-progress", max: "1", value: "0", "aria-label": "Played" });
  const wave = h("span", { class: "voice-wave", "aria-hidden": "true" });
  const time = h("span", { class: "voice-time small" }, clockText(file.duration_ms));
  let loading = null;
  const ready = () => {
    loading ||= load().then(({ url, bytes }) => {
      audio.src = url;
      drawWave(wave, bytes).catch(() => wave.remove()); // a waveform is a nicety
    });
    return loading;
  };
  const total = () => (Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : file.duration_ms / 1000);
  play.addEventListener("click", async () => {
    if (!audio.paused) {
      audio.pause();
      return;
    }
    try {
      await ready();
      await audio.play();
    } catch {
      loading = null; // try again on the next press
      time.textContent = "cannot play";
    }
  });
  audio.addEventListener("play", () => {
    play.replaceChildren(icon(PAUSE));
    play.setAttribute("aria-label", "Pause voice message");
  });
  audio.addEventListener("pause", () => {
    play.replaceChildren(icon(PLAY));
    play.setAttribute("aria-label", "Play voice message");
  });
  audio.addEventListener("timeupdate", () => {
    const share = Math.min(audio.currentTime / total(), 1);
    progress.value = share;
    [...wave.children].forEach((bar, i) => bar.classList.toggle("played", i < share * wave.children.length));
    time.textContent = `${clockText(audio.currentTime * 1000, true)} / ${clockText(file.duration_ms)}`;
  });
  audio.addEventListener("ended", () => {
    progress.value = 1;
    time.textContent = clockText(file.duration_ms);
  });
  return h("div", { class: "voice-player", dataset: { duration: String(file.duration_ms) } }, play, wave, progress, time, audio);
}

const SVG = "http://www.w3.org/2000/svg";
const PLAY = "M8 5v14l11-7z";
const PAUSE = "M7 5h4v14H7zM13 5h4v14h-4z";

/** A small filled icon (the page ships no icon font; emoji glyphs may be missing). */
function icon(path) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "14");
  svg.setAttribute("height", "14");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("fill", "currentColor");
  const shape = document.createElementNS(SVG, "path");
  shape.setAttribute("d", path);
  svg.append(shape);
  return svg;
}

/** Bars of the recording's loudness, from the audio decoded in this page. */
async function drawWave(wave, bytes) {
  const context = new OfflineAudioContext(1, 1, 48_000);
  const decoded = await context.decodeAudioData(bytes);
  const samples = decoded.getChannelData(0);
  const step = Math.max(1, Math.floor(samples.length / BARS));
  const peaks = [];
  for (let start = 0; start + step <= samples.length && peaks.length < BARS; start += step) {
    let peak = 0;
    for (let i = start; i < start + step; i += 1) peak = Math.max(peak, Math.abs(samples[i]));
    peaks.push(peak);
  }
  const loudest = Math.max(...peaks, 1e-6);
  wave.replaceChildren(...peaks.map((peak) => {
    const bar = h("span");
    bar.style.height = `${Math.max(8, (peak / loudest) * 100)}%`; // CSSOM: the CSP allows no style attributes
    return bar;
  }));
  wave.dataset.bars = String(peaks.length);
}
