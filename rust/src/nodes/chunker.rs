//! `Chunker`: re-frames audio into fixed-size frames (e.g. 20 ms), with a policy for the remainder.

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params};
use super::{expect_audio, schema_ports, single_input, Node, NodeError, NodeType, Outputs};
use crate::data::{
    alloc, Attributes, AudioBuffer, DataType, Payload, RuntimeData, SampleFormat, Samples,
};
use crate::nodes::formats::{AudioAccepts, AudioOut};
use serde::Deserialize;
use std::sync::Arc;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports: schema_ports,
    build: |p: &Params| {
        Ok(Box::new(Chunker {
            params: p.parse()?,
            state: None,
        }))
    },
};

fn schema() -> NodeSchema {
    NodeSchema {
        type_name: "Chunker".into(),
        description: "Re-frames audio into frames of `frameMs` milliseconds (or `frames` frames); at end of stream the remainder is emitted, zero-padded or dropped. A frame larger than the maximum payload size (4 GiB) is an error at the first item.",
        params: vec![
            ParamSchema::optional("frameMs", ParamKind::Number { min: 0.1, max: 60_000.0 }, 20.0, "Frame duration in milliseconds."),
            ParamSchema::optional("frames", ParamKind::Integer { min: 0, max: 100_000_000 }, 0, "Frame size in frames per channel; overrides frameMs when > 0."),
            ParamSchema::optional("remainder", ParamKind::Enum { values: &["emit", "pad", "drop"] }, "emit", "What to do with a final partial frame."),
        ],
        inputs: single_input(&[DataType::Audio]),
        outputs: vec![DataType::Audio],
        events: &[],
        joins_inputs: false,
        heavy: false,
        audio_in: AudioAccepts::one_format(),
        audio_out: AudioOut::Same,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChunkerParams {
    frame_ms: f64,
    frames: usize,
    remainder: String,
}

struct Layout {
    format: SampleFormat,
    sample_rate: u32,
    channels: u16,
    frame: usize,
    buffer: Samples,
    /// Timestamp of the first buffered frame, when the input carries timestamps.
    next_timestamp_us: Option<i64>,
    template: AudioBuffer,
    /// Attributes of the stream's first item, which every chunk carries (with its own timestamp).
    attributes: Attributes,
}

struct Chunker {
    params: ChunkerParams,
    state: Option<Layout>,
}

impl Layout {
    /// The layout of the stream that `audio` starts.
    fn first(
        audio: &AudioBuffer,
        attributes: &Attributes,
        params: &ChunkerParams,
    ) -> Result<Layout, NodeError> {
        let frame = if params.frames > 0 {
            params.frames
        } else {
            // Saturates: a frame too large to count is refused just below.
            ((params.frame_ms / 1000.0) * audio.sample_rate as f64)
                .round()
                .max(1.0) as usize
        };
        // Frames are buffered (and padded) up to this size: refuse one that could not be a payload.
        let format = audio.samples.format();
        alloc::check_payload(
            || {
                format!(
                    "frame frames × channels × bytes per sample ({}) = {frame} × {} × {}",
                    format.name(),
                    audio.channels,
                    format.size()
                )
            },
            alloc::product(&[frame as u64, audio.channels as u64, format.size() as u64]),
        )?;
        Ok(Layout {
            format,
            sample_rate: audio.sample_rate,
            channels: audio.channels,
            frame,
            buffer: Samples::empty(format),
            next_timestamp_us: attributes.timestamp_us,
            template: audio.clone_layout(),
            attributes: attributes.clone(),
        })
    }

    fn emit(&mut self, frames: usize, out: &mut Outputs) {
        let samples = self.buffer.drain_front(frames * self.channels as usize);
        let chunk = AudioBuffer {
            samples,
            ..self.template.clone_layout()
        };
        let mut attributes = self.attributes.clone();
        if let Some(ts) = self.next_timestamp_us {
            attributes.timestamp_us = Some(ts);
            let duration_us = frames as u128 * 1_000_000 / self.sample_rate as u128;
            self.next_timestamp_us =
                Some(ts.saturating_add(i64::try_from(duration_us).unwrap_or(i64::MAX)));
        }
        out.push(Arc::new(RuntimeData {
            payload: Payload::Audio(chunk),
            attributes,
        }));
    }
}

impl Node for Chunker {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        let audio = expect_audio(&input)?;
        let state = match self.state.take() {
            Some(state) => state,
            None => Layout::first(audio, &input.attributes, &self.params)?,
        };
        let state = self.state.insert(state);
        if state.format != audio.samples.format()
            || state.sample_rate != audio.sample_rate
            || state.channels != audio.channels
        {
            return Err(NodeError::BadInput(format!(
                "audio layout changed mid-stream: {} Hz {} ch {} became {} Hz {} ch {}",
                state.sample_rate,
                state.channels,
                state.format.name(),
                audio.sample_rate,
                audio.channels,
                audio.samples.format().name()
            )));
        }
        state.buffer.extend_from(&audio.samples)?;
        while state.buffer.len() >= state.frame * state.channels as usize {
            let frames = state.frame;
            state.emit(frames, out);
        }
        Ok(())
    }

    fn flush(&mut self, out: &mut Outputs) -> Result<(), NodeError> {
        if let Some(state) = self.state.as_mut() {
            let left = state.buffer.len() / state.channels as usize;
            if left > 0 {
                match self.params.remainder.as_str() {
                    "emit" => state.emit(left, out),
                    "pad" => {
                        state
                            .buffer
                            .pad_zeros((state.frame - left) * state.channels as usize)?;
                        let frames = state.frame;
                        state.emit(frames, out);
                    }
                    _ => {
                        state.buffer.drain_front(state.buffer.len());
                    }
                }
            }
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.state = None;
    }
}

#[cfg(test)]
mod tests {
    use crate::nodes::testing::*;
    use serde_json::json;

    fn lens(out: &[std::sync::Arc<crate::data::RuntimeData>]) -> Vec<usize> {
        out.iter()
            .map(|d| crate::nodes::expect_audio(d).unwrap().num_frames())
            .collect()
    }

    #[test]
    fn reframes_to_20ms_and_emits_the_remainder() {
        let input: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let out = run(
            build("Chunker", json!({})).as_mut(),
            vec![
                audio(input[..300].to_vec(), 16000, 1),
                audio(input[300..].to_vec(), 16000, 1),
            ],
        );
        assert_eq!(lens(&out), vec![320, 320, 320, 40]);
        let joined: Vec<f32> = out.iter().flat_map(|d| samples_f32(d)).collect();
        assert_eq!(joined, input, "no sample lost, duplicated or reordered");
    }

    #[test]
    fn pad_and_drop_policies() {
        let padded = run(
            build("Chunker", json!({"frames": 4, "remainder": "pad"})).as_mut(),
            vec![audio(vec![1.0; 6], 8000, 1)],
        );
        assert_eq!(lens(&padded), vec![4, 4]);
        assert_eq!(samples_f32(&padded[1]), vec![1.0, 1.0, 0.0, 0.0]);
        let dropped = run(
            build("Chunker", json!({"frames": 4, "remainder": "drop"})).as_mut(),
            vec![audio(vec![1.0; 6], 8000, 1)],
        );
        assert_eq!(lens(&dropped), vec![4]);
    }

    #[test]
    fn a_frame_over_the_payload_cap_is_refused_before_anything_is_buffered() {
        let mut node = build(
            "Chunker",
            json!({"frames": 100_000_000, "remainder": "pad"}),
        );
        let mut out = Outputs::default();
        let err = node
            .process(0, audio(vec![0.0; 64], 8000, 64), &mut out)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "payload too large: frame frames × channels × bytes per sample (f32) = 100000000 × 64 × 4 \
             = 25600000000 bytes; the maximum payload size is 4294967296 bytes (RM_MAX_PAYLOAD_BYTES)"
        );
        // frameMs × a huge rate: the frame count itself is enormous.
        let mut node = build("Chunker", json!({"frameMs": 60000}));
        let err = node
            .process(0, audio(vec![0.0], u32::MAX, 1), &mut out)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("= 257698037700 × 1 × 4 = 1030792150800 bytes"),
            "{err}"
        );
        // Just under the cap is accepted (nothing is allocated up front).
        let mut node = build(
            "Chunker",
            json!({"frames": 100_000_000, "remainder": "drop"}),
        );
        node.process(0, audio(vec![0.0; 4], 8000, 4), &mut out)
            .unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn timestamps_saturate_instead_of_overflowing() {
        let mut item = (*audio(vec![0.0; 8], 8000, 1)).clone();
        item.attributes.timestamp_us = Some(i64::MAX - 10);
        let out = run(
            build("Chunker", json!({"frames": 4})).as_mut(),
            vec![std::sync::Arc::new(item)],
        );
        let stamps: Vec<_> = out.iter().map(|d| d.attributes().timestamp_us).collect();
        assert_eq!(stamps, vec![Some(i64::MAX - 10), Some(i64::MAX)]);
    }

    #[test]
    fn stereo_frames_stay_interleaved() {
        let out = run(
            build("Chunker", json!({"frames": 2})).as_mut(),
            vec![audio(vec![1.0, -1.0, 2.0, -2.0, 3.0, -3.0], 8000, 2)],
        );
        assert_eq!(samples_f32(&out[0]), vec![1.0, -1.0, 2.0, -2.0]);
        assert_eq!(samples_f32(&out[1]), vec![3.0, -3.0]);
    }
}
