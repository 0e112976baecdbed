/**
 * Straightforward pure-TypeScript implementations of what the native `Gain` and `Resample` nodes do,
 * for the native-vs-TS benchmark. Written to be fast JS (typed arrays, no allocation in loops).
 *
 * @module
 */

/** Gain + clip to [-1, 1] into a new array (what `Gain` does). */
export function gainClip(input: Float32Array, gain: number): Float32Array {
  const out = new Float32Array(input.length);
  const g = Math.fround(gain);
  for (let i = 0; i < input.length; i++) {
    const v = input[i] * g;
    out[i] = v > 1 ? 1 : v < -1 ? -1 : v;
  }
  return out;
}

/**
 * Windowed-sinc (Blackman-Harris) low-pass FIR decimator by an integer `factor`, the classic band-limited
 * resampler for integer ratios such as 48 kHz → 16 kHz. The filter is centred on each output's input
 * position, so the output has no delay and exactly `ceil(input / factor)` samples.
 */
export function decimate(input: Float32Array, factor: number, taps = 253): Float32Array {
  const half = (taps - 1) / 2;
  if (half % factor !== 0) throw new RangeError("(taps - 1) / 2 must be a multiple of factor");
  const cutoff = 0.9 / factor / 2; // normalised to the input rate: 90% of the output Nyquist
  const h = new Float32Array(taps);
  let sum = 0;
  for (let n = 0; n < taps; n++) {
    const x = n - half;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    const w = 0.35875 - 0.48829 * Math.cos((2 * Math.PI * n) / (taps - 1)) +
      0.14128 * Math.cos((4 * Math.PI * n) / (taps - 1)) -
      0.01168 * Math.cos((6 * Math.PI * n) / (taps - 1));
    h[n] = sinc * w;
    sum += h[n];
  }
  for (let n = 0; n < taps; n++) h[n] /= sum;
  const outLen = Math.ceil(input.length / factor);
  const out = new Float32Array(outLen);
  for (let o = 0; o < outLen; o++) {
    // Output o is centred on input sample (o + delay) * factor - half = o * factor.
    const centre = o * factor;
    const start = centre - half;
    let acc = 0;
    const lo = Math.max(0, -start);
    const hi = Math.min(taps, input.length - start);
    for (let k = lo; k < hi; k++) acc += h[k] * input[start + k];
    out[o] = acc;
  }
  return out;
}
