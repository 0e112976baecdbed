//! Built-in native nodes, one file each, registered by type name.

pub mod event;
pub mod formats;
pub mod schema;

mod audio_format;
mod audio_level;
mod channel_mix;
mod chunker;
mod filter;
mod g711;
mod gain;
mod mix;
mod pass_through;
mod resample;
mod stream_health;
mod text_collector;
mod text_transform;
mod turn;
mod utterance;
mod vad;
mod wav;

use crate::data::{DataError, DataType, Payload, RuntimeData};
pub use event::NodeEvent;
use schema::{NodeSchema, Params};
use std::sync::Arc;

/// What a node emits during one call: its output items, in order (the list derefs to them:
/// `out.push(item)`), and [node events](NodeEvent) for the session's event log.
#[derive(Debug, Default)]
pub struct Outputs {
    items: Vec<Arc<RuntimeData>>,
    events: Vec<NodeEvent>,
}

impl Outputs {
    /// Reports a node event (its kind must be listed in the node's schema).
    pub fn event(&mut self, event: NodeEvent) {
        self.events.push(event);
    }

    /// The node events reported so far.
    pub fn events(&self) -> &[NodeEvent] {
        &self.events
    }

    /// Removes every item and event (the buffer is reused for the next call).
    pub fn clear(&mut self) {
        self.items.clear();
        self.events.clear();
    }

    /// The items alone (for a node that feeds another's output to itself, e.g. the `Vad` its resampler).
    pub fn into_items(self) -> Vec<Arc<RuntimeData>> {
        self.items
    }

    /// Takes the node events reported so far.
    pub fn take_events(&mut self) -> std::vec::Drain<'_, NodeEvent> {
        self.events.drain(..)
    }
}

impl std::ops::Deref for Outputs {
    type Target = Vec<Arc<RuntimeData>>;
    fn deref(&self) -> &Self::Target {
        &self.items
    }
}

impl std::ops::DerefMut for Outputs {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.items
    }
}

impl<'a> IntoIterator for &'a Outputs {
    type Item = &'a Arc<RuntimeData>;
    type IntoIter = std::slice::Iter<'a, Arc<RuntimeData>>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl From<Vec<Arc<RuntimeData>>> for Outputs {
    fn from(items: Vec<Arc<RuntimeData>>) -> Self {
        Outputs {
            items,
            events: Vec::new(),
        }
    }
}

/// Why a node could not process an item. The engine adds the node id and type.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The item's type is not one the node accepts.
    #[error("expected {expected} input, got {actual}")]
    WrongInput {
        /// Accepted type(s), e.g. "audio" or "text or json".
        expected: &'static str,
        /// What arrived.
        actual: DataType,
    },
    /// The item is of the right type but unusable (rate, channels, format, ...).
    #[error("{0}")]
    BadInput(String),
    /// Building or converting data failed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// I/O (files).
    #[error("{0}")]
    Io(String),
}

/// A pipeline node: `initialize` once, `process` per item, `flush` at end of stream, `cleanup` once.
pub trait Node: Send {
    /// Called once before the first item.
    fn initialize(&mut self) -> Result<(), NodeError> {
        Ok(())
    }

    /// Processes one item that arrived on input port `port` (index into the node's ports).
    fn process(
        &mut self,
        port: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError>;

    /// For nodes whose schema joins inputs: one item per port, in port order. A port is `None` when the
    /// join stopped waiting for it (another port's queue was full, or the stream ended).
    fn process_joined(
        &mut self,
        inputs: Vec<Option<Arc<RuntimeData>>>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        let _ = (inputs, out);
        Err(NodeError::BadInput("this node does not join inputs".into()))
    }

    /// True while the node has more output to produce without new input (a file reader between
    /// batches). The engine calls [`Node::resume`] when downstream has room, before feeding new input.
    fn pending(&self) -> bool {
        false
    }

    /// Produces the next batch of pending output.
    fn resume(&mut self, out: &mut Outputs) -> Result<(), NodeError> {
        let _ = out;
        Ok(())
    }

    /// End of stream: emit whatever is buffered (remainders, resampler tails, open utterances).
    fn flush(&mut self, out: &mut Outputs) -> Result<(), NodeError> {
        let _ = out;
        Ok(())
    }

    /// Interruption (barge-in): drop buffered state without emitting it.
    fn reset(&mut self) {}

    /// Called exactly once at the end (normal end, error or abort).
    fn cleanup(&mut self) {}
}

/// A registered node type: its schema, its input ports for given params, and its constructor.
pub struct NodeType {
    /// The schema (`type` name, params, ports, output types).
    pub schema: fn() -> NodeSchema,
    /// Input ports for validated params (most nodes: the schema's ports).
    pub ports: fn(&NodeSchema, &Params) -> Vec<schema::PortSchema>,
    /// Builds an instance from validated params.
    pub build: fn(&Params) -> Result<Box<dyn Node>, String>,
}

/// The schema's own ports.
pub fn schema_ports(schema: &NodeSchema, _: &Params) -> Vec<schema::PortSchema> {
    schema.inputs.clone()
}

/// Every built-in node type.
pub fn registry() -> &'static [NodeType] {
    static REGISTRY: &[NodeType] = &[
        pass_through::TYPE,
        gain::TYPE,
        audio_format::TYPE,
        channel_mix::TYPE,
        resample::TYPE,
        chunker::TYPE,
        vad::TYPE,
        wav::READER,
        wav::WRITER,
        text_transform::TYPE,
        text_collector::TYPE,
        utterance::TYPE,
        audio_level::TYPE,
        mix::TYPE,
        filter::TYPE,
        turn::TYPE,
        stream_health::TYPE,
        g711::TYPE,
    ];
    REGISTRY
}

/// Looks a node type up by name.
pub fn find(type_name: &str) -> Option<&'static NodeType> {
    registry()
        .iter()
        .find(|t| (t.schema)().type_name == type_name)
}

/// A single input port named `in` accepting `types`.
pub fn single_input(types: &[DataType]) -> Vec<schema::PortSchema> {
    vec![schema::PortSchema {
        name: "in".into(),
        accepts: types.to_vec(),
    }]
}

/// The audio buffer of an item, or a `WrongInput` error.
pub fn expect_audio(data: &RuntimeData) -> Result<&crate::data::AudioBuffer, NodeError> {
    match &data.payload {
        Payload::Audio(a) => Ok(a),
        other => Err(NodeError::WrongInput {
            expected: "audio",
            actual: other.data_type(),
        }),
    }
}

/// The text of an item, or a `WrongInput` error.
pub fn expect_text(data: &RuntimeData) -> Result<&str, NodeError> {
    match &data.payload {
        Payload::Text(s) => Ok(s),
        other => Err(NodeError::WrongInput {
            expected: "text",
            actual: other.data_type(),
        }),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Signal generators and helpers for node unit tests.
    pub use super::Outputs;
    use super::*;
    use crate::data::{AudioBuffer, Samples};

    /// A sine of `freq` Hz, `amp` peak, `frames` frames, mono f32.
    pub fn sine(freq: f64, rate: u32, frames: usize, amp: f32) -> Vec<f32> {
        (0..frames)
            .map(|i| {
                amp * (2.0 * std::f64::consts::PI * freq * i as f64 / rate as f64).sin() as f32
            })
            .collect()
    }

    /// Wraps f32 samples as audio data.
    pub fn audio(samples: Vec<f32>, rate: u32, channels: u32) -> Arc<RuntimeData> {
        Arc::new(RuntimeData::audio(
            AudioBuffer::new(Samples::F32(samples), rate, channels).unwrap(),
        ))
    }

    /// Builds a node from JSON params through its schema.
    pub fn build(type_name: &str, params: serde_json::Value) -> Box<dyn Node> {
        let t = find(type_name).unwrap();
        let p = schema::validate_params(&(t.schema)(), Some(&params)).unwrap();
        (t.build)(&p).unwrap()
    }

    /// Feeds every item to port 0, flushes, and returns all outputs.
    pub fn run(node: &mut dyn Node, inputs: Vec<Arc<RuntimeData>>) -> Outputs {
        let mut out = Outputs::default();
        node.initialize().unwrap();
        for i in inputs {
            node.process(0, i, &mut out).unwrap();
            while node.pending() {
                node.resume(&mut out).unwrap();
            }
        }
        node.flush(&mut out).unwrap();
        node.cleanup();
        out
    }

    /// The f32 samples of an audio output.
    pub fn samples_f32(d: &RuntimeData) -> Vec<f32> {
        expect_audio(d).unwrap().samples.to_f32()
    }

    /// Estimates the dominant frequency by counting zero crossings.
    pub fn zero_crossing_freq(samples: &[f32], rate: u32) -> f64 {
        let crossings = samples
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        crossings as f64 / 2.0 / (samples.len() as f64 / rate as f64)
    }

    /// Root mean square.
    pub fn rms(samples: &[f32]) -> f64 {
        (samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
    }
}
