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
use crate::nodes::formats::{AudioAccepts, AudioOut, AudioSpec};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, Indexing, Resampler, SincInterpolationParameters,
    SincInterpolationType, WindowFunction,
};
use serde::Deserialize;

mod kernel;
use kernel::*;
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
        audio_in: AudioAccepts::one_layout(),
        audio_out: AudioOut::Derived(|p, input| { let rate = p.0.get("targetRate").and_then(|v| v.as_u64()).map(|r| r as u32); Ok(input.map(|i| AudioSpec { sample_rate: rate, ..*i })) }),
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
mod tests;
