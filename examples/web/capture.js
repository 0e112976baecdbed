// @ts-check
/**
 * The AudioWorklet of the browser client (loaded by client.js with `audioWorklet.addModule`): runs
 * on the audio rendering thread, mixes the microphone to mono and posts 20 ms frames of 16-bit PCM
 * (little-endian, what the native protocol's `"format": "i16"` expects) to the page, which sends
 * each as one binary WebSocket message. The browser calls `process` with 128-frame blocks; a 20 ms
 * frame is `sampleRate / 50` of them (960 at 48 kHz, 882 at 44.1 kHz), so blocks are cut across.
 *
 * @module
 */

/**
 * The globals of an AudioWorkletGlobalScope (TypeScript's DOM library does not declare them).
 * @typedef {{
 *   sampleRate: number,
 *   currentFrame: number,
 *   AudioWorkletProcessor: new () => { port: MessagePort },
 *   registerProcessor(name: string, processor: new () => unknown): void,
 * }} WorkletScope
 */
const scope = /** @type {WorkletScope} */ (/** @type {unknown} */ (globalThis));

class CaptureProcessor extends scope.AudioWorkletProcessor {
  constructor() {
    super();
    /** Samples per frame: 20 ms at the context's rate. */
    this.frameLength = Math.round(scope.sampleRate / 50);
    /** The frame being filled. */
    this.frame = new Int16Array(this.frameLength);
    /** Samples in it so far. */
    this.filled = 0;
    /** False once the page sent "stop": the last partial frame is posted and nothing more. */
    this.running = true;
    this.port.onmessage = (/** @type {MessageEvent} */ event) => {
      if (event.data !== "stop" || !this.running) return;
      this.running = false;
      if (this.filled > 0) this.post(this.frame.slice(0, this.filled));
      this.port.postMessage({ type: "stopped" });
    };
  }

  /** @param {Int16Array} frame */
  post(frame) {
    this.port.postMessage({ type: "frame", samples: frame.buffer }, [frame.buffer]);
  }

  /**
   * @param {Float32Array[][]} inputs the microphone: one input, one array per channel
   * @returns {boolean} true while capturing (keeps the processor alive)
   */
  process(inputs) {
    if (!this.running) return false;
    const channels = inputs[0] ?? [];
    const length = channels[0]?.length ?? 0; // no channels: the input is not connected yet
    for (let i = 0; i < length; i++) {
      let sum = 0;
      for (const channel of channels) sum += channel[i];
      const value = Math.max(-1, Math.min(1, sum / channels.length));
      this.frame[this.filled++] = Math.round(value < 0 ? value * 32768 : value * 32767);
      if (this.filled === this.frameLength) {
        this.post(this.frame);
        this.frame = new Int16Array(this.frameLength);
        this.filled = 0;
      }
    }
    return true;
  }
}

scope.registerProcessor("remotemedia-capture", CaptureProcessor);
