//! `Mix`: sums audio from several named ports, aligned by sample position, with bounded waiting.

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params, PortSchema};
use super::{expect_audio, Node, NodeError, NodeType, Outputs};
use crate::data::SampleFormat;
use crate::data::{alloc, AudioBuffer, DataType, RuntimeData, Samples};
use crate::nodes::formats::{AudioAccepts, AudioOut, AudioSpec};
use serde::Deserialize;
use std::collections::VecDeque;
use std::sync::Arc;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports,
    build: |p: &Params| Ok(Box::new(Mix::new(p.parse()?)?)),
};

fn schema() -> NodeSchema {
    NodeSchema {
        type_name: "Mix".into(),
        description: "Sums audio from its input ports (each scaled by its gain), aligned by sample position, and clips to [-1, 1]. Items may have any length per port (a chunked branch and a raw branch mix correctly); audio is emitted as soon as every port has it. A port more than maxLagMs behind the others counts as silence for the part that is late (its late samples, when they come, are dropped and reported in the next output's metadata as lateFrames); at end of stream the rest is emitted with missing ports as silence. Ports must share rate and channel count.",
        params: vec![
            ParamSchema::optional("inputs", ParamKind::StringList, vec!["a", "b"], "Names of the input ports (at least one).")
                .min_items(1, "a join node needs at least one input"),
            ParamSchema::optional("gains", ParamKind::NumberList, Vec::<f64>::new(), "Per-port linear gains (default 1 each)."),
            ParamSchema::optional("maxLagMs", ParamKind::Number { min: 1.0, max: 600_000.0 }, 1000.0, "How far (ms of audio) one port may run ahead of another before the late one counts as silence."),
        ],
        inputs: vec![
            PortSchema { name: "a".into(), accepts: vec![DataType::Audio] },
            PortSchema { name: "b".into(), accepts: vec![DataType::Audio] },
        ],
        outputs: vec![DataType::Audio],
        // Not a count-based join: every item is taken as it comes, so an uneven branch never stalls
        // the graph through backpressure; alignment is by sample position, below.
        events: &[],
        joins_inputs: false,
        heavy: false,
        audio_in: AudioAccepts::one_layout(),
        audio_out: AudioOut::Derived(|_, input| Ok(input.map(|i| AudioSpec { sample_format: Some(SampleFormat::F32), ..*i }))),
    }
}

fn ports(_: &NodeSchema, params: &Params) -> Vec<PortSchema> {
    params
        .parse::<MixParams>()
        .map(|p| p.inputs)
        .unwrap_or_default()
        .into_iter()
        .map(|name| PortSchema {
            name,
            accepts: vec![DataType::Audio],
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MixParams {
    inputs: Vec<String>,
    gains: Vec<f32>,
    max_lag_ms: f64,
}

/// What one port has buffered, in interleaved f32 samples.
#[derive(Default)]
struct PortBuffer {
    samples: VecDeque<f32>,
    /// Frames of this port still to drop on arrival: they were already mixed as silence (late).
    skip_frames: u64,
    /// Frames dropped as late since the last output (reported in its metadata).
    late_frames: u64,
}

/// Rate and channels every port must share, fixed by the first item.
#[derive(Clone, Copy, PartialEq)]
struct Layout {
    rate: u32,
    channels: u16,
    port: usize,
}

struct Mix {
    params: MixParams,
    ports: Vec<PortBuffer>,
    layout: Option<Layout>,
    /// Timestamp of the first item (µs), if it had one; outputs count from it.
    start_us: Option<i64>,
    emitted_frames: u64,
}

/// Largest gain magnitude: any more and a full-scale sum would not stay finite in f32.
const MAX_GAIN: f32 = 1e6;

impl Mix {
    fn new(params: MixParams) -> Result<Self, String> {
        if let Some((i, g)) = params
            .gains
            .iter()
            .enumerate()
            .find(|(_, g)| g.is_nan() || g.abs() > MAX_GAIN)
        {
            return Err(format!(
                "gains[{i}] must be between -{MAX_GAIN} and {MAX_GAIN}, got {g}"
            ));
        }
        let ports = params
            .inputs
            .iter()
            .map(|_| PortBuffer::default())
            .collect();
        Ok(Mix {
            params,
            ports,
            layout: None,
            start_us: None,
            emitted_frames: 0,
        })
    }

    fn frames(&self, port: usize) -> usize {
        let channels = self.layout.map_or(1, |l| l.channels as usize);
        self.ports[port].samples.len() / channels
    }

    /// Emits what every port has; then, while a port is more than `maxLagMs` ahead of the latest one,
    /// the late ports count as silence for the excess.
    fn emit_ready(&mut self, out: &mut Outputs) -> Result<(), NodeError> {
        let Some(layout) = self.layout else {
            return Ok(());
        };
        let max_lag = ((self.params.max_lag_ms / 1000.0) * layout.rate as f64).ceil() as usize;
        loop {
            let min = (0..self.ports.len())
                .map(|p| self.frames(p))
                .min()
                .unwrap_or(0);
            let max = (0..self.ports.len())
                .map(|p| self.frames(p))
                .max()
                .unwrap_or(0);
            if min > 0 {
                self.emit(min, out)?;
            } else if max > max_lag {
                self.emit(max - max_lag, out)?;
            } else {
                return Ok(());
            }
        }
    }

    /// Mixes `frames` frames: ports with fewer contribute silence for the rest (and will drop that
    /// many frames when they arrive, so every port stays aligned by sample position).
    fn emit(&mut self, frames: usize, out: &mut Outputs) -> Result<(), NodeError> {
        let layout = self.layout.expect("emit after the first item");
        let channels = layout.channels as usize;
        let mut sum = alloc::try_zeroed::<f32>(frames * channels, "a Mix output")
            .map_err(|e| NodeError::BadInput(e.to_string()))?;
        let mut late = serde_json::Map::new();
        for (p, port) in self.ports.iter_mut().enumerate() {
            let gain = self.params.gains.get(p).copied().unwrap_or(1.0);
            let have = (port.samples.len() / channels).min(frames);
            for (acc, v) in sum.iter_mut().zip(port.samples.drain(..have * channels)) {
                *acc += v * gain;
            }
            port.skip_frames += (frames - have) as u64;
            if port.late_frames > 0 {
                late.insert(
                    self.params.inputs[p].clone(),
                    std::mem::take(&mut port.late_frames).into(),
                );
            }
        }
        for v in &mut sum {
            *v = v.clamp(-1.0, 1.0);
        }
        let buffer = AudioBuffer::new(Samples::F32(sum), layout.rate, layout.channels as u32)
            .map_err(|e| NodeError::BadInput(e.to_string()))?;
        let mut mixed = RuntimeData::audio(buffer);
        mixed.attributes.timestamp_us = self
            .start_us
            .map(|t| t + (self.emitted_frames as i128 * 1_000_000 / layout.rate as i128) as i64);
        if !late.is_empty() {
            mixed.attributes.metadata = Some(serde_json::json!({ "lateFrames": late }));
        }
        self.emitted_frames += frames as u64;
        out.push(Arc::new(mixed));
        Ok(())
    }
}

impl Node for Mix {
    fn process(
        &mut self,
        port: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        let audio = expect_audio(&input)?;
        let name = &self.params.inputs[port];
        match self.layout {
            None => {
                self.layout = Some(Layout {
                    rate: audio.sample_rate,
                    channels: audio.channels,
                    port,
                });
                self.start_us = input.attributes.timestamp_us;
            }
            Some(l) if l.rate != audio.sample_rate || l.channels != audio.channels => {
                return Err(NodeError::BadInput(format!(
                    "port \"{name}\" has {} Hz {} ch, port \"{}\" has {} Hz {} ch",
                    audio.sample_rate,
                    audio.channels,
                    self.params.inputs[l.port],
                    l.rate,
                    l.channels
                )));
            }
            Some(_) => {}
        }
        let channels = audio.channels as usize;
        let buffer = &mut self.ports[port];
        let frames = audio.num_frames() as u64;
        let skip = buffer.skip_frames.min(frames);
        buffer.skip_frames -= skip;
        buffer.late_frames += skip;
        let samples = audio.samples.to_f32();
        buffer
            .samples
            .try_reserve(samples.len() - skip as usize * channels)
            .map_err(|_| NodeError::BadInput(format!("port \"{name}\": out of memory")))?;
        buffer.samples.extend(&samples[skip as usize * channels..]);
        self.emit_ready(out)
    }

    /// End of stream: the rest, with missing ports as silence.
    fn flush(&mut self, out: &mut Outputs) -> Result<(), NodeError> {
        let rest = (0..self.ports.len())
            .map(|p| self.frames(p))
            .max()
            .unwrap_or(0);
        if rest > 0 {
            self.emit(rest, out)?;
        }
        Ok(())
    }

    fn reset(&mut self) {
        let ports = self
            .params
            .inputs
            .iter()
            .map(|_| PortBuffer::default())
            .collect();
        self.ports = ports;
        self.layout = None;
        self.start_us = None;
        self.emitted_frames = 0;
    }
}

#[cfg(test)]
mod tests {
    use crate::nodes::testing::*;
    use crate::nodes::Node;
    use serde_json::json;

    fn feed(node: &mut Box<dyn Node>, port: usize, samples: Vec<f32>, rate: u32) -> Vec<f32> {
        let mut out = Outputs::default();
        node.process(port, audio(samples, rate, 1), &mut out)
            .unwrap();
        out.iter().flat_map(|d| samples_f32(d)).collect()
    }

    fn flush(node: &mut Box<dyn Node>) -> Vec<f32> {
        let mut out = Outputs::default();
        node.flush(&mut out).unwrap();
        out.iter().flat_map(|d| samples_f32(d)).collect()
    }

    #[test]
    fn sums_ports_with_gains_and_clips() {
        let mut node = build(
            "Mix",
            json!({"inputs": ["voice", "music"], "gains": [1, 0.5]}),
        );
        assert!(
            feed(&mut node, 0, vec![0.5, 0.9], 8000).is_empty(),
            "waits for music"
        );
        assert_eq!(
            feed(&mut node, 1, vec![0.2, 0.4, 0.6], 8000),
            vec![0.6, 1.0]
        );
        assert_eq!(flush(&mut node), vec![0.3], "the rest, voice silent");
    }

    #[test]
    fn aligns_by_sample_position_whatever_the_item_sizes() {
        let mut node = build("Mix", json!({}));
        let a: Vec<f32> = (0..480).map(|i| i as f32 / 1000.0).collect();
        let b: Vec<f32> = (0..480).map(|i| -(i as f32) / 2000.0).collect();
        let mut got = vec![];
        for chunk in a.chunks(48) {
            got.extend(feed(&mut node, 0, chunk.to_vec(), 16000));
        }
        got.extend(feed(&mut node, 1, b[..100].to_vec(), 16000));
        got.extend(feed(&mut node, 1, b[100..].to_vec(), 16000));
        got.extend(flush(&mut node));
        let want: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_port_later_than_max_lag_counts_as_silence_and_its_late_samples_are_reported() {
        let mut node = build("Mix", json!({"maxLagMs": 500}));
        // 2 s at 1 kHz on port a, nothing on b: 1.5 s go out with b silent.
        assert_eq!(feed(&mut node, 0, vec![0.25; 2000], 1000).len(), 1500);
        // b's first 1.5 s are too late: dropped; the rest aligns with a's remaining 0.5 s.
        let mut out = Outputs::default();
        node.process(1, audio(vec![0.5; 1600], 1000, 1), &mut out)
            .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(samples_f32(&out[0]), vec![0.75; 100]);
        let meta = out[0].attributes.metadata.clone();
        assert_eq!(meta, Some(json!({"lateFrames": {"b": 1500}})));
        assert_eq!(flush(&mut node), vec![0.25; 400]);
    }

    #[test]
    fn a_manifest_with_no_inputs_is_rejected_naming_the_node_and_param() {
        // It used to pass validation and panic (index out of bounds) on the first item.
        let issues = crate::pipeline::manifest::plan(
            &json!({"version": 1, "nodes": [{"id": "m", "type": "Mix", "params": {"inputs": []}}]}),
            &[],
        )
        .err()
        .unwrap();
        assert_eq!(
            issues.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
            vec![
                "nodes[0] \"m\".params.inputs: expected at least 1 item(s), got 0 (a join node needs at least one input)"
            ]
        );
    }

    #[test]
    fn gains_that_would_overflow_f32_are_refused() {
        let t = crate::nodes::find("Mix").unwrap();
        let p = crate::nodes::schema::validate_params(
            &(t.schema)(),
            Some(&json!({"gains": [1, 1e300]})),
        )
        .unwrap();
        let err = (t.build)(&p).err().unwrap();
        assert_eq!(
            err,
            "gains[1] must be between -1000000 and 1000000, got inf"
        );
    }

    #[test]
    fn mismatched_rates_name_the_ports() {
        let mut node = build("Mix", json!({}));
        let mut out = Outputs::default();
        node.process(0, audio(vec![0.0], 8000, 1), &mut out)
            .unwrap();
        let err = node
            .process(1, audio(vec![0.0], 16000, 1), &mut out)
            .unwrap_err();
        assert!(err
            .to_string()
            .contains("port \"b\" has 16000 Hz 1 ch, port \"a\" has 8000 Hz 1 ch"));
    }
}
