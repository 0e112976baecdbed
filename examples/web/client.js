// @ts-check
/**
 * The browser client of `remotemedia serve` (docs/PROTOCOL.md, native protocol): captures the
 * microphone with getUserMedia and an AudioWorklet (capture.js), streams 20 ms frames of 16-bit PCM
 * at the AudioContext's rate over a WebSocket, shows the pipeline's speech and turn events as they
 * come, and plays the audio the pipeline returns. Plain JavaScript, no build step, no dependency.
 *
 * Query parameters: `server=ws://host:port/ws` (default: the server that served the page, `/ws`),
 * `processing=off` (no echo cancellation, noise suppression or gain control in the browser).
 *
 * @module
 */

const query = new URLSearchParams(location.search);

/** @param {string} id @returns {HTMLElement} */
function $(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element;
}

const ui = {
  start: /** @type {HTMLButtonElement} */ ($("start")),
  stop: /** @type {HTMLButtonElement} */ ($("stop")),
  processing: /** @type {HTMLInputElement} */ ($("processing")),
  status: $("status"),
  speech: $("speech"),
  turn: $("turn"),
  sent: $("sent"),
  replies: $("replies"),
  segments: /** @type {HTMLTableSectionElement} */ ($("segments")),
  turns: /** @type {HTMLTableSectionElement} */ ($("turns")),
  log: $("log"),
};
ui.processing.checked = query.get("processing") !== "off";

/** The WebSocket URL of the native protocol. */
function serverUrl() {
  const given = query.get("server");
  if (given) return given;
  const url = new URL("/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

/** Seconds with two decimals, from microseconds. */
function seconds(/** @type {number} */ us) {
  return (us / 1e6).toFixed(2);
}

/** A table row with these cells (text), appended to `body`. */
function row(/** @type {HTMLTableSectionElement} */ body, /** @type {string[]} */ cells) {
  const tr = body.insertRow();
  for (const text of cells) tr.insertCell().textContent = text;
  return tr;
}

/** @param {string} line */
function log(line) {
  const entry = document.createElement("div");
  entry.textContent = line;
  ui.log.prepend(entry);
  while (ui.log.childElementCount > 200) ui.log.lastElementChild?.remove();
}

/** @param {string} text @param {string} [state] */
function status(text, state = "") {
  ui.status.textContent = text;
  ui.status.dataset.state = state;
}

/**
 * @typedef {{
 *   ws: WebSocket,
 *   stream: MediaStream,
 *   worklet: AudioWorkletNode,
 *   source: MediaStreamAudioSourceNode,
 *   ready: boolean,
 *   pending: (ArrayBuffer | string)[],
 *   samplesSent: number,
 *   capturing: boolean,
 * }} Call
 */

/** @type {AudioContext | undefined} */
let context;
/** @type {Call | undefined} */
let call;
/** Where the next reply starts playing, in context time. */
let playhead = 0;
/** Replies scheduled and not finished (stopped on barge-in). */
const playing = new Set();
const replies = { received: 0, seconds: 0, played: 0 };

function showReplies() {
  ui.replies.textContent = `${replies.received} received (${
    replies.seconds.toFixed(2)
  } s), ${replies.played} played`;
  ui.replies.dataset.received = String(replies.received);
  ui.replies.dataset.played = String(replies.played);
}

async function start() {
  ui.start.disabled = true;
  ui.processing.disabled = true;
  // A new session: its audio time starts at 0 again.
  ui.segments.replaceChildren();
  ui.turns.replaceChildren();
  openSegment = openTurn = undefined;
  status("starting: microphone…", "starting");
  try {
    context ??= new AudioContext({ latencyHint: "interactive" });
    await context.resume(); // a click started this, so the page may play audio
    await context.audioWorklet.addModule(new URL("capture.js", import.meta.url));
    const processing = ui.processing.checked;
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: {
        channelCount: 1,
        echoCancellation: processing,
        noiseSuppression: processing,
        autoGainControl: processing,
      },
    });
    const ws = new WebSocket(serverUrl());
    ws.binaryType = "arraybuffer";
    const source = context.createMediaStreamSource(stream);
    const worklet = new AudioWorkletNode(context, "remotemedia-capture", {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      channelCountMode: "explicit",
      channelCount: 1,
    });
    /** @type {Call} */
    const current = {
      ws,
      stream,
      worklet,
      source,
      ready: false,
      pending: [],
      samplesSent: 0,
      capturing: true,
    };
    call = current;
    const sampleRate = context.sampleRate;
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: "start", sampleRate, channels: 1, format: "i16" }));
      status(`connected: starting a session (${sampleRate} Hz)…`, "starting");
    };
    ws.onmessage = (event) => {
      if (typeof event.data === "string") message(current, JSON.parse(event.data));
      else reply(event.data);
    };
    ws.onerror = () => log(`WebSocket error (${ws.url})`);
    ws.onclose = (event) => closed(current, event.code, event.reason);
    worklet.port.onmessage = (event) => {
      if (event.data.type === "stopped") {
        // After the last frame: the server flushes the pipeline, sends what is left, then `end`.
        const close = JSON.stringify({ type: "close" });
        if (current.ready) ws.send(close);
        else current.pending.push(close);
        return;
      }
      const samples = /** @type {ArrayBuffer} */ (event.data.samples);
      current.samplesSent += samples.byteLength / 2;
      ui.sent.textContent = `${
        (current.samplesSent / sampleRate).toFixed(1)
      } s at ${sampleRate} Hz`;
      ui.sent.dataset.seconds = String(current.samplesSent / sampleRate);
      // Frames captured before the server is ready wait, so that audio time 0 is the first frame.
      if (current.ready) ws.send(samples);
      else current.pending.push(samples);
    };
    // The worklet writes no output: connecting it to the destination only keeps it pulled.
    source.connect(worklet).connect(context.destination);
    ui.stop.disabled = false;
  } catch (error) {
    status(`cannot start: ${error instanceof Error ? error.message : error}`, "error");
    stopCapture();
    ui.start.disabled = false;
    ui.processing.disabled = false;
  }
}

/** Stops the microphone; the last partial frame and a `close` follow from the worklet. */
function stop() {
  ui.stop.disabled = true;
  if (!call?.capturing) return;
  call.worklet.port.postMessage("stop");
  stopCapture();
  status("closing: waiting for the last outputs…", "closing");
}

function stopCapture() {
  if (!call?.capturing) return;
  call.capturing = false;
  call.source.disconnect();
  for (const track of call.stream.getTracks()) track.stop();
}

/**
 * @param {Call} current
 * @param {number} code
 * @param {string} reason
 */
function closed(current, code, reason) {
  if (call !== current) return;
  stopCapture();
  current.worklet.disconnect();
  const clean = code === 1000 || code === 1001;
  if (!clean || ui.status.dataset.state !== "ended") {
    status(`connection closed: ${code}${reason ? ` ${reason}` : ""}`, clean ? "ended" : "error");
  }
  ui.start.disabled = false;
  ui.stop.disabled = true;
  ui.processing.disabled = false;
}

// ---- server messages -------------------------------------------------------------------------

/** @type {HTMLTableRowElement | undefined} */
let openSegment;
/** @type {HTMLTableRowElement | undefined} */
let openTurn;

/**
 * @param {Call} current
 * @param {any} msg
 */
function message(current, msg) {
  switch (msg.type) {
    case "ready":
      current.ready = true;
      for (const frame of current.pending.splice(0)) current.ws.send(frame);
      status(`streaming: session ${msg.session} on ${msg.server} (sinks ${msg.sinks})`, "live");
      log(`ready: ${JSON.stringify(msg)}`);
      return;
    case "output":
      if (msg.dataType === "json") event(msg.value);
      else log(`${msg.sink}: ${msg.text}`);
      return;
    case "interrupted":
      for (const source of playing) source.stop();
      playing.clear();
      log(`interrupted (${msg.reason}): playback stopped, ${msg.dropped} item(s) dropped`);
      return;
    case "error":
      status(`error: ${msg.code}: ${msg.message}`, "error");
      log(`error: ${JSON.stringify(msg)}`);
      return;
    case "end":
      status(
        `ended (${msg.reason}): ${msg.stats.framesIn} frames in, ${msg.stats.framesOut} out, ` +
          `${msg.stats.dropped} dropped`,
        "ended",
      );
      return;
    default:
      log(JSON.stringify(msg));
  }
}

/** A JSON output: speech and turn events update the tables; others go to the log. */
function event(/** @type {any} */ value) {
  switch (value?.type) {
    case "speech_start":
      openSegment = row(ui.segments, [
        String(ui.segments.rows.length + 1),
        seconds(value.timeUs),
        "…",
        "",
        String(value.probability),
      ]);
      openSegment.dataset.startUs = String(value.timeUs);
      ui.speech.textContent = "speech";
      ui.speech.dataset.active = "true";
      break;
    case "speech_end": {
      const tr = openSegment ??
        row(ui.segments, [String(ui.segments.rows.length + 1), "", "", "", ""]);
      openSegment = undefined;
      tr.cells[1].textContent = seconds(value.startUs);
      tr.cells[2].textContent = seconds(value.endUs);
      tr.cells[3].textContent = seconds(value.durationUs);
      tr.cells[4].textContent = String(value.probability);
      tr.dataset.startUs = String(value.startUs);
      tr.dataset.endUs = String(value.endUs);
      tr.classList.add("done");
      ui.speech.textContent = "silence";
      ui.speech.dataset.active = "false";
      break;
    }
    case "turn_start":
      openTurn = row(ui.turns, [String(ui.turns.rows.length + 1), seconds(value.timeUs), "…"]);
      ui.turn.textContent = "the user is speaking";
      ui.turn.dataset.active = "true";
      break;
    case "speaking":
      ui.turn.textContent = `the user is speaking (${seconds(value.durationUs)} s)`;
      return; // many of them: kept out of the log
    case "turn_end": {
      const tr = openTurn ?? row(ui.turns, [String(ui.turns.rows.length + 1), "", ""]);
      openTurn = undefined;
      tr.cells[1].textContent = seconds(value.startUs);
      tr.cells[2].textContent = seconds(value.endUs);
      for (
        const text of [
          `${seconds(value.speechUs)} s`,
          String(value.segments),
          value.reason === "silence"
            ? `silence ${seconds(value.silenceUs)} s (${value.cue})`
            : value.reason,
        ]
      ) {
        tr.insertCell().textContent = text;
      }
      tr.classList.add("done");
      ui.turn.textContent = "waiting for the user";
      ui.turn.dataset.active = "false";
      break;
    }
  }
  log(JSON.stringify(value));
}

// ---- returned audio ---------------------------------------------------------------------------

/**
 * A binary output: 16-byte header (version 1, kind, sample format, rate, channels, sink, sequence;
 * docs/PROTOCOL.md), then interleaved samples. Audio is played back to back, in arrival order.
 */
function reply(/** @type {ArrayBuffer} */ data) {
  const header = new DataView(data, 0, 16);
  const kind = header.getUint8(1);
  if (header.getUint8(0) !== 1 || kind !== 1 || !context) {
    log(`binary output of ${data.byteLength} bytes (kind ${kind}): not audio, not played`);
    return;
  }
  const format = header.getUint8(2);
  const sampleRate = header.getUint32(4, true);
  const channels = header.getUint16(8, true);
  const [samples, scale] = format === 0
    ? [new Float32Array(data, 16), 1]
    : format === 1
    ? [new Int16Array(data, 16), 1 / 32768]
    : [new Int32Array(data, 16), 1 / 2147483648];
  const frames = samples.length / channels;
  if (frames === 0) return;
  const buffer = context.createBuffer(channels, frames, sampleRate);
  for (let c = 0; c < channels; c++) {
    const out = buffer.getChannelData(c);
    for (let i = 0; i < frames; i++) out[i] = samples[i * channels + c] * scale;
  }
  const source = context.createBufferSource();
  source.buffer = buffer;
  source.connect(context.destination);
  const at = Math.max(context.currentTime + 0.05, playhead);
  source.start(at);
  playhead = at + buffer.duration;
  playing.add(source);
  source.onended = () => {
    if (playing.delete(source)) replies.played++;
    showReplies();
  };
  replies.received++;
  replies.seconds += buffer.duration;
  showReplies();
  log(
    `audio from sink ${header.getUint16(10, true)}: ${
      buffer.duration.toFixed(2)
    } s at ${sampleRate} Hz`,
  );
}

ui.start.onclick = () => void start();
ui.stop.onclick = () => stop();
showReplies();
status(`ready to start (server ${serverUrl()})`);
