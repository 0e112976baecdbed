//! `UtteranceAccumulator`: collects VAD-gated speech audio into one utterance per speech segment.

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params};
use super::{schema_ports, single_input, Node, NodeError, NodeType, Outputs};
use crate::data::{Attributes, AudioBuffer, DataType, Payload, RuntimeData, MAX_PAYLOAD_BYTES};
use crate::nodes::formats::{AudioAccepts, AudioOut};
use serde::Deserialize;
use std::sync::Arc;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports: schema_ports,
    build: |p: &Params| {
        Ok(Box::new(Utterance {
            params: p.parse()?,
            current: None,
            attributes: Attributes::default(),
            max_bytes: MAX_PAYLOAD_BYTES,
        }))
    },
};

fn schema() -> NodeSchema {
    NodeSchema {
        type_name: "UtteranceAccumulator".into(),
        description: "Appends incoming audio (e.g. from a Vad in gate mode) and emits it as one utterance at each {type:\"speech_end\"} event, at end of stream, or when `maxMs` is reached (or before it would outgrow the 4 GiB maximum payload size); utterances shorter than `minMs` are dropped.",
        params: vec![
            ParamSchema::optional("minMs", ParamKind::Integer { min: 0, max: 600_000 }, 200, "Shorter utterances are discarded."),
            ParamSchema::optional("maxMs", ParamKind::Integer { min: 1, max: 3_600_000 }, 30_000, "An utterance this long is emitted even while speech continues."),
        ],
        inputs: single_input(&[DataType::Audio, DataType::Json]),
        outputs: vec![DataType::Audio],
        events: &[],
        joins_inputs: false,
        heavy: false,
        audio_in: AudioAccepts::one_layout(),
        audio_out: AudioOut::Same,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UtteranceParams {
    min_ms: u64,
    max_ms: u64,
}

struct Utterance {
    params: UtteranceParams,
    current: Option<AudioBuffer>,
    /// Attributes of the utterance's first item (the utterance carries them).
    attributes: Attributes,
    /// Largest utterance in bytes: [`MAX_PAYLOAD_BYTES`] (lower in tests).
    max_bytes: u64,
}

impl Utterance {
    fn emit(&mut self, out: &mut Outputs) {
        if let Some(buffer) = self.current.take() {
            if buffer.duration_secs() * 1000.0 >= self.params.min_ms as f64 {
                out.push(Arc::new(RuntimeData {
                    payload: Payload::Audio(buffer),
                    attributes: std::mem::take(&mut self.attributes),
                }));
            }
        }
    }
}

impl Node for Utterance {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        match &input.payload {
            Payload::Json(v, _) => {
                if v["type"] == "speech_end" {
                    self.emit(out);
                }
                Ok(())
            }
            Payload::Audio(audio) => {
                if let Some(cur) = &self.current {
                    if cur.sample_rate != audio.sample_rate || cur.channels != audio.channels {
                        return Err(NodeError::BadInput(format!(
                            "audio layout changed inside an utterance: {} Hz {} ch, then {} Hz {} ch",
                            cur.sample_rate, cur.channels, audio.sample_rate, audio.channels
                        )));
                    }
                    // An utterance is one payload: emit it before it would outgrow the cap (maxMs allows
                    // an hour, which at high rates and channel counts is far more than 4 GiB).
                    let bytes = (cur.samples.len() as u64 + audio.samples.len() as u64)
                        * cur.samples.format().size() as u64;
                    if bytes > self.max_bytes {
                        self.emit(out);
                    }
                }
                match self.current.as_mut() {
                    None => {
                        self.current = Some(AudioBuffer {
                            samples: audio.samples.try_clone()?,
                            ..audio.clone_layout()
                        });
                        self.attributes = input.attributes.clone();
                    }
                    Some(cur) => {
                        if cur.samples.format() == audio.samples.format() {
                            cur.samples.extend_from(&audio.samples)?;
                        } else {
                            cur.samples
                                .extend_from(&audio.samples.convert(cur.samples.format()))?;
                        }
                    }
                }
                if self
                    .current
                    .as_ref()
                    .is_some_and(|c| c.duration_secs() * 1000.0 >= self.params.max_ms as f64)
                {
                    self.emit(out);
                }
                Ok(())
            }
            other => Err(NodeError::WrongInput {
                expected: "audio or json",
                actual: other.data_type(),
            }),
        }
    }

    fn flush(&mut self, out: &mut Outputs) -> Result<(), NodeError> {
        self.emit(out);
        Ok(())
    }

    fn reset(&mut self) {
        self.current = None;
    }
}

#[cfg(test)]
mod tests {
    use crate::data::RuntimeData;
    use crate::nodes::testing::*;
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn segments_are_joined_and_short_ones_dropped() {
        let end = || Arc::new(RuntimeData::json(json!({"type": "speech_end"})));
        let out = run(
            build("UtteranceAccumulator", json!({"minMs": 30})).as_mut(),
            vec![
                audio(vec![0.1; 320], 16000, 1),
                audio(vec![0.2; 320], 16000, 1),
                end(),
                audio(vec![0.3; 160], 16000, 1), // 10 ms: too short
                end(),
                audio(vec![0.4; 800], 16000, 1), // open at end of stream: flushed
            ],
        );
        assert_eq!(out.len(), 2);
        assert_eq!(samples_f32(&out[0]).len(), 640);
        assert_eq!(samples_f32(&out[1]), vec![0.4; 800]);
    }

    #[test]
    fn an_utterance_is_emitted_before_it_outgrows_the_payload_cap() {
        // The real cap is 4 GiB; the same rule with 1000 bytes: 3 items of 320 f32 samples (1280
        // bytes) each make their own utterance, 2 items of 100 samples (800 bytes) make one.
        let mut node = super::Utterance {
            params: super::UtteranceParams {
                min_ms: 0,
                max_ms: 3_600_000,
            },
            current: None,
            attributes: crate::data::Attributes::default(),
            max_bytes: 1000,
        };
        let small = || audio(vec![0.1; 100], 16000, 1);
        let big = || audio(vec![0.2; 320], 16000, 1);
        let out = run(&mut node, vec![small(), small(), big(), big(), big()]);
        let lens: Vec<usize> = out.iter().map(|d| samples_f32(d).len()).collect();
        assert_eq!(lens, vec![200, 320, 320, 320]);
    }

    #[test]
    fn max_duration_splits_long_speech() {
        let items = (0..10).map(|_| audio(vec![0.0; 160], 16000, 1)).collect();
        let out = run(
            build("UtteranceAccumulator", json!({"minMs": 0, "maxMs": 40})).as_mut(),
            items,
        );
        assert_eq!(out.len(), 3); // 40 + 40 + 20 ms
    }
}
