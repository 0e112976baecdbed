//! `Resample`: band-limited sample-rate conversion with rubato, streaming across items without clicks,
//! and an exact total output length (`round(inputFrames × out / in)`) at end of stream, for any pair of
//! rates in [`MIN_RATE`]`..=`[`MAX_RATE`].
//!
//! Rate pairs with a small common structure (48k → 16k, 44.1k → 16k, ...) use rubato's synchronous FFT
//! resampler, whose block is a multiple of `in / gcd(in, out)` input frames. For other pairs (44101 Hz,
//! 40009 Hz, ...) that block would be up to a second long (one output item per second, and FFTs of
//! prime size), so they use the asynchronous sinc resampler instead, whose blocks are ~10 ms at any
//! ratio. Either way the first output comes within ~20 ms of input.

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params};
use super::{expect_audio, schema_ports, single_input, Node, NodeError, NodeType, Outputs};
use crate::data::{
    alloc, Attributes, AudioBuffer, DataType, Payload, RuntimeData, SampleFormat, Samples,
};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, Indexing, Resampler, SincInterpolationParameters,
    SincInterpolationType, WindowFunction,
};
use serde::Deserialize;
use std::sync::{Arc, Mutex};

/// Lowest input or output rate, in Hz.
const MIN_RATE: u32 = 1000;
/// Highest input or output rate, in Hz.
const MAX_RATE: u32 = 384_000;

/// Samples are clamped to ±this on their way into the filters. Larger finite samples (up to f32::MAX)
/// are not audio, and a filter sums thousands of them: the sums would overflow to ±inf, then NaN, which
/// rubato's FFT turns into a panic. 1e9 is 180 dB above full scale and leaves the sums far from
/// overflowing.
const SAMPLE_LIMIT: f32 = 1e9;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports: schema_ports,
    build: |p: &Params| Ok(Box::new(Resample::new(p.parse()?))),
};

fn schema() -> NodeSchema {
    NodeSchema {
        type_name: "Resample".into(),
        description: "Converts audio to `targetRate` (rubato). Streams across items without discontinuities; the output keeps the input's sample format; the total length is exact at end of stream. Input rates outside 1000..=384000 Hz are an error; samples beyond ±1e9 are clamped to ±1e9.",
        params: vec![
            ParamSchema::required("targetRate", ParamKind::Integer { min: MIN_RATE as i64, max: MAX_RATE as i64 }, "Output sample rate in Hz."),
            ParamSchema::optional("quality", ParamKind::Enum { values: &["fast", "balanced", "high"] }, "balanced", "fast: cubic polynomial (least work, some aliasing); balanced: FFT with ~10 ms blocks, or a 128-tap sinc for rate pairs whose FFT block would be longer (first output after ~20 ms of input at 8 kHz and above); high: FFT with ~85 ms blocks (longest filter, most latency), or a 256-tap sinc for rate pairs whose FFT block would be longer."),
        ],
        inputs: single_input(&[DataType::Audio]),
        outputs: vec![DataType::Audio],
        events: &[],
        joins_inputs: false,
        heavy: false,
    }
}

/// Parameters of [`Resample`].
#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ResampleParams {
    /// Output rate.
    pub target_rate: u32,
    /// Preset name.
    pub quality: String,
}

struct Stream {
    resampler: Box<dyn Resampler<f32>>,
    in_rate: u32,
    channels: usize,
    format: SampleFormat,
    template: AudioBuffer,
    /// Attributes of the stream's first item, which every output carries (with its own timestamp).
    attributes: Attributes,
    fifo: Vec<f32>,
    out_buf: Vec<f32>,
    /// Output frames still to discard (the resampler's delay).
    skip: usize,
    frames_in: u64,
    frames_out: u64,
    base_timestamp_us: Option<i64>,
}

/// Streaming resampler state; public so the VAD can reuse it for non-16 kHz input.
pub struct Resample {
    params: ResampleParams,
    stream: Option<Stream>,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Which rubato resampler a preset uses for a rate pair.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kernel {
    /// Asynchronous cubic polynomial, `chunk` input frames per call.
    Poly { chunk: usize },
    /// Synchronous FFT with blocks of about `chunk` input frames (a multiple of `in / gcd`).
    Fft { chunk: usize },
    /// Asynchronous windowed sinc of `taps` points, `chunk` input frames per call.
    Sinc { taps: usize, chunk: usize },
}

/// `ms_at_48k` worth of frames at 48 kHz, scaled to `rate` (so about the same duration at every rate).
fn frames_like_48k(rate: u32, frames_at_48k: u64) -> usize {
    (rate as u64 * frames_at_48k / 48_000).max(16) as usize
}

impl Kernel {
    fn choose(quality: &str, in_rate: u32, out_rate: u32) -> Kernel {
        // The FFT block is a multiple of this many input frames.
        let fft_unit = in_rate as u64 / gcd(in_rate as u64, out_rate as u64);
        let short_chunk = frames_like_48k(in_rate, 512); // ~10.7 ms
        match quality {
            "fast" => Kernel::Poly {
                chunk: frames_like_48k(in_rate, 1024),
            },
            "high" => {
                let chunk = frames_like_48k(in_rate, 4096);
                if fft_unit as usize <= chunk {
                    Kernel::Fft { chunk }
                } else {
                    Kernel::Sinc {
                        taps: 256,
                        chunk: short_chunk,
                    }
                }
            }
            _ => {
                if fft_unit as usize <= short_chunk {
                    Kernel::Fft { chunk: short_chunk }
                } else {
                    Kernel::Sinc {
                        taps: 128,
                        chunk: short_chunk,
                    }
                }
            }
        }
    }

    fn build(
        self,
        in_rate: u32,
        out_rate: u32,
        channels: usize,
    ) -> Result<Box<dyn Resampler<f32>>, NodeError> {
        let ratio = out_rate as f64 / in_rate as f64;
        let err = |e: rubato::ResamplerConstructionError| {
            NodeError::BadInput(format!(
                "cannot resample {in_rate} Hz to {out_rate} Hz: {e}"
            ))
        };
        Ok(match self {
            Kernel::Poly { chunk } => Box::new(
                Async::<f32>::new_poly(
                    ratio,
                    1.0,
                    rubato::PolynomialDegree::Cubic,
                    chunk,
                    channels,
                    FixedAsync::Input,
                )
                .map_err(err)?,
            ),
            // One FFT block per call (no sub-blocks): measured fastest per item here.
            Kernel::Fft { chunk } => Box::new(
                Fft::<f32>::new_custom(
                    in_rate as usize,
                    out_rate as usize,
                    chunk,
                    1,
                    channels,
                    WindowFunction::BlackmanHarris2,
                    FixedSync::Input,
                )
                .map_err(err)?,
            ),
            Kernel::Sinc { taps, chunk } => Box::new(
                Async::<f32>::new_sinc(
                    ratio,
                    1.0,
                    &SincInterpolationParameters::new(taps, WindowFunction::BlackmanHarris2)
                        .oversampling_factor(256)
                        .interpolation(SincInterpolationType::Linear),
                    chunk,
                    channels,
                    FixedAsync::Input,
                )
                .map_err(err)?,
            ),
        })
    }
}

/// An error naming the rate and the range when `rate` is outside [`MIN_RATE`]`..=`[`MAX_RATE`].
fn check_rate(what: &str, rate: u32) -> Result<(), NodeError> {
    if (MIN_RATE..=MAX_RATE).contains(&rate) {
        return Ok(());
    }
    Err(NodeError::BadInput(format!(
        "{what} sample rate {rate} Hz is outside Resample's supported range of {MIN_RATE}..={MAX_RATE} Hz"
    )))
}

/// The exact delay (in output frames, possibly fractional) of a kernel for a rate pair, measured once
/// per process: rubato reports its delays rounded, and a fraction of a sample is a phase error that
/// shows at high frequencies. Measured from the phase of a sine at 1/64 of the lower rate (well inside
/// the pass band), fitted by least squares after the start-up transient; the whole periods that phase
/// cannot tell apart are taken from rubato's rounded delay. The work is a few of the sine's periods
/// plus twice the delay, linear in the rates.
fn exact_delay(kernel: Kernel, in_rate: u32, out_rate: u32) -> Result<f64, NodeError> {
    /// (kernel, input rate, output rate) → delay in output frames.
    type DelayKey = (Kernel, u32, u32);
    static CACHE: Mutex<Vec<(DelayKey, f64)>> = Mutex::new(Vec::new());
    let key = (kernel, in_rate, out_rate);
    if let Some((_, d)) = CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(k, _)| *k == key)
    {
        return Ok(*d);
    }
    let (delay, _) = measure_delay(kernel, in_rate, out_rate)?;
    CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((key, delay));
    Ok(delay)
}

/// [`exact_delay`] without the cache; also returns how many input frames the measurement ran.
fn measure_delay(kernel: Kernel, in_rate: u32, out_rate: u32) -> Result<(f64, usize), NodeError> {
    let mut r = kernel.build(in_rate, out_rate, 1)?;
    let coarse = r.output_delay() as f64;
    let freq = in_rate.min(out_rate) as f64 / 64.0;
    let period = out_rate as f64 / freq; // output frames, >= 64
    let fit_from = (2.0 * coarse + period).ceil() as usize;
    let fit_len = (2.0 * period).ceil() as usize;
    let w_in = 2.0 * std::f64::consts::PI * freq / in_rate as f64;
    let w_out = 2.0 * std::f64::consts::PI * freq / out_rate as f64;
    let mut output = Vec::with_capacity(fit_from + fit_len + r.output_frames_max());
    let mut buffer = vec![0f32; r.output_frames_max()];
    let mut input = Vec::new();
    let mut pos = 0usize;
    while output.len() < fit_from + fit_len {
        let n = r.input_frames_next();
        input.clear();
        input.extend((pos..pos + n).map(|i| (w_in * i as f64).sin() as f32));
        let inp = InterleavedSlice::new(&input[..], 1, n)
            .map_err(|e| NodeError::BadInput(e.to_string()))?;
        let cap = buffer.len();
        let mut out = InterleavedSlice::new_mut(&mut buffer[..], 1, cap)
            .map_err(|e| NodeError::BadInput(e.to_string()))?;
        let (_, written) = r
            .process_into_buffer(&inp, &mut out, None)
            .map_err(|e| NodeError::BadInput(format!("resampler failed: {e}")))?;
        output.extend_from_slice(&buffer[..written]);
        pos += n;
    }
    // Least squares for v(i) ≈ a·sin(w·i) + b·cos(w·i) = A·sin(w·(i − delay)).
    let (mut ss, mut sc, mut cc, mut vs, mut vc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &v) in output.iter().enumerate().skip(fit_from).take(fit_len) {
        let (s, c) = (w_out * i as f64).sin_cos();
        ss += s * s;
        sc += s * c;
        cc += c * c;
        vs += v as f64 * s;
        vc += v as f64 * c;
    }
    let det = ss * cc - sc * sc;
    let a = (vs * cc - vc * sc) / det;
    let b = (vc * ss - vs * sc) / det;
    let phase_delay = -b.atan2(a) / w_out;
    // The delay is the phase delay plus the whole number of periods that brings it nearest rubato's.
    let delay = phase_delay + ((coarse - phase_delay) / period).round() * period;
    Ok((delay, pos))
}

/// A resampler and how to make its delay a whole number of output frames.
struct Prepared {
    resampler: Box<dyn Resampler<f32>>,
    /// Zero frames to prepend to the input.
    pad: usize,
    /// Output frames to discard.
    skip: usize,
}

/// Builds the resampler of a preset with its delay compensation. Prepending `p` input frames adds
/// `p·out/in` output frames of delay; `p` is chosen so that the total is (nearly) whole, then that many
/// output frames are discarded. The candidates for `p` stop at ~10 ms of input, so the padding never
/// adds more latency than that.
fn build_resampler(
    quality: &str,
    in_rate: u32,
    out_rate: u32,
    channels: usize,
) -> Result<Prepared, NodeError> {
    let kernel = Kernel::choose(quality, in_rate, out_rate);
    // rubato allocates its buffers per channel (infallibly): check their size against the cap first.
    // Per channel: its input and output blocks, about four times over (rubato's scratch and overlap,
    // this node's FIFO and output buffer).
    let one = kernel.build(in_rate, out_rate, 1)?;
    let per_channel = (one.input_frames_max() + one.output_frames_max()) as u64 * 4 * 4;
    alloc::check_payload(
        || {
            format!(
                "Resample buffers for {channels} channels at {in_rate} -> {out_rate} Hz: channels × bytes per channel = {channels} × {per_channel}"
            )
        },
        alloc::product(&[channels as u64, per_channel]),
    )?;
    let resampler = kernel.build(in_rate, out_rate, channels)?;
    let delay = exact_delay(kernel, in_rate, out_rate)?;
    let g = gcd(in_rate as u64, out_rate as u64);
    let (up, down) = ((out_rate as u64 / g) as f64, in_rate as u64 / g);
    // An FFT kernel's unit `down` is at most one block, so every residue is reachable within a block;
    // otherwise the candidates stop at ~10 ms of input.
    let candidates = match kernel {
        Kernel::Fft { .. } => down,
        _ => down.min(frames_like_48k(in_rate, 512) as u64),
    };
    let mut best = (0u64, f64::MAX);
    for pad in 0..candidates {
        let total = delay + pad as f64 * up / down as f64;
        let off = (total - total.round()).abs();
        if total > -0.5 && off < best.1 - 1e-9 {
            best = (pad, off);
        }
    }
    let skip = (delay + best.0 as f64 * up / down as f64).round().max(0.0) as usize;
    Ok(Prepared {
        resampler,
        pad: best.0 as usize,
        skip,
    })
}

impl Resample {
    /// A resampler to `params.target_rate`.
    pub fn new(params: ResampleParams) -> Self {
        Resample {
            params,
            stream: None,
        }
    }

    /// Runs the resampler over whole chunks in the FIFO (or, with `final_len`, one last partial chunk).
    fn pump(stream: &mut Stream, final_len: Option<usize>) -> Result<Vec<f32>, NodeError> {
        let ch = stream.channels;
        let mut produced = Vec::new();
        let mut start = 0; // frames of the FIFO already consumed
        loop {
            let need = stream.resampler.input_frames_next();
            let have = stream.fifo.len() / ch - start;
            let partial = match final_len {
                None if have >= need => None,
                None => break,
                Some(_) => Some(have.min(need)),
            };
            let indexing;
            let idx = match partial {
                Some(len) if len < need => {
                    stream.fifo.resize((start + need) * ch, 0.0);
                    indexing = Indexing::new().partial_len(len);
                    Some(&indexing)
                }
                _ => None,
            };
            let out_max = stream.resampler.output_frames_max();
            stream.out_buf.resize(out_max * ch, 0.0);
            let input =
                InterleavedSlice::new(&stream.fifo[start * ch..(start + need) * ch], ch, need)
                    .map_err(|e| NodeError::BadInput(e.to_string()))?;
            let mut output = InterleavedSlice::new_mut(&mut stream.out_buf[..], ch, out_max)
                .map_err(|e| NodeError::BadInput(e.to_string()))?;
            let (consumed, written) = stream
                .resampler
                .process_into_buffer(&input, &mut output, idx)
                .map_err(|e| NodeError::BadInput(format!("resampler failed: {e}")))?;
            start += match partial {
                Some(len) => len.min(consumed),
                None => consumed,
            };
            let skip = stream.skip.min(written);
            stream.skip -= skip;
            let kept = &stream.out_buf[skip * ch..written * ch];
            alloc::try_reserve(&mut produced, kept.len(), "resampled audio")?;
            produced.extend_from_slice(kept);
            if partial.is_some() {
                stream.fifo.clear();
                return Ok(produced);
            }
        }
        stream.fifo.drain(..start * ch);
        Ok(produced)
    }

    fn emit(stream: &mut Stream, samples: Vec<f32>, out: &mut Outputs) {
        if samples.is_empty() {
            return;
        }
        let frames = samples.len() / stream.channels;
        let buffer = AudioBuffer {
            samples: Samples::F32(samples).convert(stream.format),
            ..stream.template.clone_layout()
        };
        let mut attributes = stream.attributes.clone();
        if let Some(base) = stream.base_timestamp_us {
            let offset_us = stream.frames_out as u128 * 1_000_000 / buffer.sample_rate as u128;
            attributes.timestamp_us =
                Some(base.saturating_add(i64::try_from(offset_us).unwrap_or(i64::MAX)));
        }
        stream.frames_out += frames as u64;
        out.push(Arc::new(RuntimeData {
            payload: Payload::Audio(buffer),
            attributes,
        }));
    }

    /// Feeds one audio item.
    pub fn push(&mut self, input: &RuntimeData, out: &mut Outputs) -> Result<(), NodeError> {
        let audio = expect_audio(input)?;
        if self.stream.is_none() {
            // Before anything is built: the resampler's buffers and delay measurement scale with the
            // rates (a 4294967291 Hz input would take gigabytes and minutes).
            check_rate("input", audio.sample_rate)?;
            check_rate("output", self.params.target_rate)?;
            let channels = audio.channels as usize;
            let Prepared {
                resampler,
                pad,
                skip,
            } = build_resampler(
                &self.params.quality,
                audio.sample_rate,
                self.params.target_rate,
                channels,
            )?;
            let mut template = audio.clone_layout();
            template.sample_rate = self.params.target_rate;
            self.stream = Some(Stream {
                skip,
                resampler,
                in_rate: audio.sample_rate,
                channels,
                format: audio.samples.format(),
                template,
                attributes: input.attributes.clone(),
                fifo: vec![0.0; pad * channels],
                out_buf: Vec::new(),
                frames_in: 0,
                frames_out: 0,
                base_timestamp_us: input.attributes.timestamp_us,
            });
        }
        let Some(stream) = self.stream.as_mut() else {
            return Ok(());
        };
        if audio.sample_rate != stream.in_rate || audio.channels as usize != stream.channels {
            return Err(NodeError::BadInput(format!(
                "input changed mid-stream from {} Hz {} ch to {} Hz {} ch",
                stream.in_rate, stream.channels, audio.sample_rate, audio.channels
            )));
        }
        if audio.sample_rate == self.params.target_rate {
            stream.frames_in += audio.num_frames() as u64;
            let s = audio.samples.to_f32();
            Self::emit(stream, s, out);
            return Ok(());
        }
        // What this item makes must fit in one payload (an upsampling ratio of up to 384 applies).
        let out_rate = self.params.target_rate as u64;
        let frames = (stream.fifo.len() / stream.channels + audio.num_frames()) as u64;
        alloc::check_payload(
            || {
                format!(
                    "{frames} frames at {} Hz resampled to {out_rate} Hz: frames × channels × 4 bytes (f32) = {} × {} × 4",
                    stream.in_rate,
                    frames.saturating_mul(out_rate) / stream.in_rate as u64,
                    stream.channels,
                )
            },
            alloc::product(&[frames, out_rate, stream.channels as u64, 4])
                .map(|b| b / stream.in_rate as u64),
        )?;
        alloc::try_reserve(
            &mut stream.fifo,
            audio.samples.len(),
            "the resampler's input",
        )?;
        match &audio.samples {
            Samples::F32(v) => stream
                .fifo
                .extend(v.iter().map(|s| s.clamp(-SAMPLE_LIMIT, SAMPLE_LIMIT))),
            other => stream.fifo.extend(other.to_f32()),
        }
        stream.frames_in += audio.num_frames() as u64;
        let produced = Self::pump(stream, None)?;
        Self::emit(stream, produced, out);
        Ok(())
    }

    /// Drains the resampler so the total output is exactly `round(frames_in × out / in)` frames.
    pub fn finish(&mut self, out: &mut Outputs) -> Result<(), NodeError> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(());
        };
        let expected = ((stream.frames_in as u128 * self.params.target_rate as u128
            + stream.in_rate as u128 / 2)
            / stream.in_rate as u128) as u64;
        let ch = stream.channels;
        let mut tail = Vec::new();
        // Each call runs one (zero-padded) chunk, which makes ~10 or more output frames at every
        // supported ratio; calls that make nothing (kept or skipped) several times in a row mean the
        // resampler is drained, so the loop always ends.
        let mut idle = 0;
        while stream.frames_out + ((tail.len() / ch) as u64) < expected && idle < 8 {
            let skip_before = stream.skip;
            let more = Self::pump(stream, Some(0))?;
            let progress = !more.is_empty() || stream.skip < skip_before;
            idle = if progress { 0 } else { idle + 1 };
            alloc::try_reserve(&mut tail, more.len(), "the resampler's tail")?;
            tail.extend(more);
        }
        let missing = expected.saturating_sub(stream.frames_out) as usize;
        tail.truncate(missing * ch);
        Self::emit(stream, tail, out);
        self.stream = None;
        Ok(())
    }
}

impl Node for Resample {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        let audio = expect_audio(&input)?;
        if audio.sample_rate == self.params.target_rate && self.stream.is_none() {
            // Already at the target rate: pass the item through untouched (no copy).
            out.push(input);
            return Ok(());
        }
        self.push(&input, out)
    }

    fn flush(&mut self, out: &mut Outputs) -> Result<(), NodeError> {
        self.finish(out)
    }

    fn reset(&mut self) {
        self.stream = None;
    }
}

#[cfg(test)]
mod tests {
    use crate::nodes::testing::*;
    use serde_json::json;

    fn total(out: &[std::sync::Arc<crate::data::RuntimeData>]) -> Vec<f32> {
        out.iter().flat_map(|d| samples_f32(d)).collect()
    }

    /// Streams mono `input` at `from` Hz in 20 ms items; returns every output sample and the (1-based)
    /// number of items after which output first appeared.
    fn stream(quality: &str, from: u32, to: u32, input: &[f32]) -> (Vec<f32>, Option<usize>) {
        let mut node = build("Resample", json!({"targetRate": to, "quality": quality}));
        let mut out = Outputs::default();
        let mut first = None;
        for (k, item) in input.chunks(from as usize / 50).enumerate() {
            node.process(0, audio(item.to_vec(), from, 1), &mut out)
                .unwrap();
            if first.is_none() && !out.is_empty() {
                first = Some(k + 1);
            }
        }
        node.flush(&mut out).unwrap();
        (total(&out), first)
    }

    /// Fits `a·sin(w·i) + b·cos(w·i)` to the middle 80 % of `s`: amplitude, delay in frames, and the
    /// SNR in dB of the samples against the fitted sine (any other frequency, noise or distortion
    /// counts as error).
    fn fit_sine(s: &[f32], rate: u32, freq: f64) -> (f64, f64, f64) {
        let w = 2.0 * std::f64::consts::PI * freq / rate as f64;
        let range = s.len() / 10..s.len() * 9 / 10;
        let (mut ss, mut sc, mut cc, mut vs, mut vc) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in range.clone() {
            let (si, co) = (w * i as f64).sin_cos();
            let v = s[i] as f64;
            (ss, sc, cc, vs, vc) = (
                ss + si * si,
                sc + si * co,
                cc + co * co,
                vs + v * si,
                vc + v * co,
            );
        }
        let det = ss * cc - sc * sc;
        let (a, b) = ((vs * cc - vc * sc) / det, (vc * ss - vs * sc) / det);
        let (mut sig, mut err) = (0.0, 0.0);
        for i in range {
            let fitted = a * (w * i as f64).sin() + b * (w * i as f64).cos();
            sig += fitted * fitted;
            err += (s[i] as f64 - fitted).powi(2);
        }
        (a.hypot(b), -b.atan2(a) / w, 10.0 * (sig / err).log10())
    }

    #[test]
    fn odd_rates_get_the_exact_length_early_output_and_an_intact_sine() {
        for quality in ["fast", "balanced", "high"] {
            for odd in [8001, 11025, 22050, 40009, 44101, 48001, 96000] {
                for common in [16000, 48000] {
                    for (from, to) in [(odd, common), (common, odd)] {
                        let input = sine(1000.0, from, from as usize, 0.5);
                        let (s, first) = stream(quality, from, to, &input);
                        let pair = format!("{quality} {from} -> {to}");
                        assert_eq!(s.len(), to as usize, "{pair}: 1 s in, 1 s out");
                        // high's FFT blocks are ~85 ms long by design.
                        let latest = if quality == "high" { 10 } else { 2 };
                        assert!(
                            first.is_some_and(|k| k <= latest),
                            "{pair}: first output after {first:?} items"
                        );
                        let (amp, delay, snr) = fit_sine(&s, to, 1000.0);
                        let min_snr = if quality == "fast" { 50.0 } else { 100.0 };
                        assert!(snr > min_snr, "{pair}: SNR {snr:.1} dB");
                        assert!((amp - 0.5).abs() < 0.005, "{pair}: amplitude {amp}");
                        // FFT kernels are aligned exactly; the others to within the fraction of an
                        // output frame that ~10 ms of padding can correct.
                        let kernel = super::Kernel::choose(quality, from, to);
                        let tolerance = if matches!(kernel, super::Kernel::Fft { .. }) {
                            0.005
                        } else {
                            0.5
                        };
                        assert!(delay.abs() < tolerance, "{pair}: {delay} frames late");
                        let f = zero_crossing_freq(&s[to as usize / 10..to as usize * 9 / 10], to);
                        assert!((f - 1000.0).abs() < 1.0, "{pair}: {f} Hz");
                    }
                }
            }
        }
    }

    #[test]
    fn the_tail_is_kept_at_non_standard_rates() {
        // 1 s at 44101 Hz used to become 15472 frames at 16 kHz instead of 16000.
        for items in [1, 50] {
            let input = sine(440.0, 44101, 44101, 0.5);
            let mut node = build("Resample", json!({"targetRate": 16000}));
            let chunks: Vec<_> = input
                .chunks(input.len().div_ceil(items))
                .map(|c| audio(c.to_vec(), 44101, 1))
                .collect();
            let s = total(&run(node.as_mut(), chunks));
            assert_eq!(s.len(), 16000, "{items} items");
            let (_, _, snr) = fit_sine(&s, 16000, 440.0);
            assert!(snr > 60.0, "{items} items: SNR {snr:.1}");
        }
    }

    #[test]
    fn rates_outside_the_supported_range_are_refused_before_anything_is_built() {
        for rate in [1, 999, 384_001, 4_294_967_291] {
            let mut node = build("Resample", json!({"targetRate": 16000}));
            let mut out = Outputs::default();
            let started = std::time::Instant::now();
            let err = node
                .process(0, audio(vec![0.0; 4], rate, 1), &mut out)
                .unwrap_err()
                .to_string();
            assert_eq!(
                err,
                format!("input sample rate {rate} Hz is outside Resample's supported range of 1000..=384000 Hz")
            );
            assert!(started.elapsed().as_secs() < 1, "refused at once");
        }
        // The ends of the range are accepted.
        for rate in [1000, 384_000] {
            let s = total(&run(
                build("Resample", json!({"targetRate": 16000})).as_mut(),
                vec![audio(vec![0.0; rate as usize / 10], rate, 1)],
            ));
            assert_eq!(s.len(), 1600, "{rate} Hz");
        }
    }

    #[test]
    fn measuring_the_delay_takes_work_linear_in_the_rates() {
        // The measurement used to run 16384·in/min(in, out) input frames: 6.3 million for
        // 384 kHz → 1 kHz, billions at absurd rates. Now it is bounded for every supported pair.
        for quality in ["fast", "balanced", "high"] {
            for (from, to) in [
                (1000, 384_000),
                (384_000, 1000),
                (1001, 384_000),
                (383_999, 1000),
                (44101, 16000),
            ] {
                let kernel = super::Kernel::choose(quality, from, to);
                let (delay, frames) = super::measure_delay(kernel, from, to).unwrap();
                assert!(
                    delay.is_finite() && delay > -1.0,
                    "{quality} {from} -> {to}: {delay}"
                );
                assert!(
                    frames <= 200_000,
                    "{quality} {from} -> {to}: {frames} input frames"
                );
            }
        }
    }

    #[test]
    fn huge_finite_samples_are_clamped_instead_of_panicking() {
        // ±3.4e38 made rubato's FFT panic ("Imaginary part of first value was non-zero").
        let mut input = sine(1000.0, 48000, 4800, 0.5);
        for (i, v) in input.iter_mut().enumerate().skip(1000).take(200) {
            *v = if i % 2 == 0 { f32::MAX } else { -f32::MAX };
        }
        for quality in ["fast", "balanced", "high"] {
            for (from, to) in [(48000, 16000), (48000, 44101), (16000, 48000)] {
                let frames = input.len() * from as usize / 48000;
                let out = run(
                    build("Resample", json!({"targetRate": to, "quality": quality})).as_mut(),
                    vec![audio(input[..frames].to_vec(), from, 1)],
                );
                let s = total(&out);
                let expected = (frames as f64 * to as f64 / from as f64).round();
                assert_eq!(s.len(), expected as usize, "{quality} {from} -> {to}");
                assert!(s.iter().all(|v| v.is_finite()), "{quality} {from} -> {to}");
                assert!(s.iter().all(|v| v.abs() < 1e10), "{quality} {from} -> {to}");
            }
        }
    }

    #[test]
    fn an_item_whose_output_would_exceed_the_payload_cap_is_refused() {
        // 12 M frames at 1 kHz become 4.6 G frames at 384 kHz: 18 GB of f32.
        let mut node = build(
            "Resample",
            json!({"targetRate": 384_000, "quality": "fast"}),
        );
        let mut out = Outputs::default();
        let err = node
            .process(0, audio(vec![0.0; 12_000_000], 1000, 1), &mut out)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "payload too large: 12000000 frames at 1000 Hz resampled to 384000 Hz: frames × channels × 4 \
             bytes (f32) = 4608000000 × 1 × 4 = 18432000000 bytes; the maximum payload size is \
             4294967296 bytes (RM_MAX_PAYLOAD_BYTES)"
        );
    }

    #[test]
    fn buffers_for_many_channels_are_checked_against_the_cap_before_rubato_allocates_them() {
        // 65535 channels from 1 kHz to 384 kHz: rubato's per-channel FFT buffers alone would be
        // gigabytes, allocated without a way to fail.
        let mut node = build(
            "Resample",
            json!({"targetRate": 384_000, "quality": "high"}),
        );
        let mut out = Outputs::default();
        let err = node
            .process(0, audio(vec![0.0; 65535], 1000, 65535), &mut out)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "payload too large: Resample buffers for 65535 channels at 1000 -> 384000 Hz"
            ),
            "{err}"
        );
        // Common layouts are far below it.
        let out = run(
            build("Resample", json!({"targetRate": 16000})).as_mut(),
            vec![audio(vec![0.0; 960 * 8], 48000, 8)],
        );
        assert_eq!(total(&out).len(), 320 * 8);
    }

    #[test]
    fn timestamps_saturate_instead_of_overflowing() {
        let mut item = (*audio(vec![0.0; 4800], 48000, 1)).clone();
        item.attributes.timestamp_us = Some(i64::MAX - 10);
        let out = run(
            build("Resample", json!({"targetRate": 16000})).as_mut(),
            vec![std::sync::Arc::new(item)],
        );
        let last = out.last().unwrap().attributes().timestamp_us;
        assert_eq!(last, Some(i64::MAX));
    }

    #[test]
    fn sine_keeps_frequency_level_and_exact_length_for_every_preset() {
        for quality in ["fast", "balanced", "high"] {
            let input = sine(1000.0, 48000, 48000, 0.5);
            // Uneven item sizes exercise the streaming path.
            let items: Vec<_> = input
                .chunks(777)
                .map(|c| audio(c.to_vec(), 48000, 1))
                .collect();
            let out = run(
                build("Resample", json!({"targetRate": 16000, "quality": quality})).as_mut(),
                items,
            );
            let s = total(&out);
            assert_eq!(s.len(), 16000, "{quality}: exact output length");
            let body = &s[800..15200];
            let f = zero_crossing_freq(body, 16000);
            assert!((f - 1000.0).abs() < 5.0, "{quality}: frequency {f}");
            let level = rms(body);
            assert!(
                (level - 0.5 / 2f64.sqrt()).abs() < 0.01,
                "{quality}: rms {level}"
            );
        }
    }

    #[test]
    fn no_clicks_at_item_boundaries() {
        let input = sine(440.0, 44100, 44100, 0.8);
        let items: Vec<_> = input
            .chunks(441)
            .map(|c| audio(c.to_vec(), 44100, 1))
            .collect();
        let out = run(
            build("Resample", json!({"targetRate": 48000})).as_mut(),
            items,
        );
        let s = total(&out);
        assert_eq!(s.len(), 48000);
        // A 440 Hz sine at 0.8 changes by at most 2π·440·0.8/48000 ≈ 0.046 per sample.
        let max_step = s[100..47900]
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0f32, f32::max);
        assert!(max_step < 0.05, "largest step {max_step}");
    }

    #[test]
    fn stereo_upsampling_keeps_channels_apart() {
        let left = sine(500.0, 16000, 16000, 0.5);
        let inter: Vec<f32> = left.iter().flat_map(|&l| [l, 0.0]).collect();
        let out = run(
            build("Resample", json!({"targetRate": 48000})).as_mut(),
            vec![audio(inter, 16000, 2)],
        );
        let s = total(&out);
        assert_eq!(s.len(), 48000 * 2);
        let right: Vec<f32> = s.iter().skip(1).step_by(2).copied().collect();
        assert!(rms(&right) < 1e-3);
        let l: Vec<f32> = s.iter().step_by(2).copied().collect();
        assert!((zero_crossing_freq(&l[2000..46000], 48000) - 500.0).abs() < 3.0);
    }
}

#[cfg(test)]
mod snr_tests {
    use crate::nodes::testing::*;
    use serde_json::json;

    /// SNR in dB of `s` against `amp·sin(2π·f·i/rate)`, over the middle 80%.
    fn snr(s: &[f32], rate: u32, f: f64, amp: f64) -> f64 {
        let (from, to) = (s.len() / 10, s.len() * 9 / 10);
        let (mut sig, mut err) = (0.0, 0.0);
        for (i, &v) in s.iter().enumerate().take(to).skip(from) {
            let ideal = amp * (2.0 * std::f64::consts::PI * f * i as f64 / rate as f64).sin();
            sig += ideal * ideal;
            err += (v as f64 - ideal).powi(2);
        }
        10.0 * (sig / err).log10()
    }

    #[test]
    fn every_preset_is_time_aligned_with_the_input() {
        for quality in ["fast", "balanced", "high"] {
            for (from, to) in [(48000, 16000), (16000, 48000), (44100, 16000)] {
                let input = sine(1000.0, from, from as usize * 2, 0.5);
                let items: Vec<_> = input
                    .chunks(from as usize / 50)
                    .map(|c| audio(c.to_vec(), from, 1))
                    .collect();
                let out = run(
                    build("Resample", json!({"targetRate": to, "quality": quality})).as_mut(),
                    items,
                );
                let s: Vec<f32> = out.iter().flat_map(|d| samples_f32(d)).collect();
                let db = snr(&s, to, 1000.0, 0.5);
                eprintln!("{quality} {from}->{to}: {db:.1} dB");
                assert!(db > 60.0, "{quality} {from}->{to}: SNR {db:.1} dB");
            }
        }
    }
}
