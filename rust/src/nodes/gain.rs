//! `Gain`: multiplies samples by a gain and clips to [-1, 1] (the audio-effect example of the RemoteMedia SDK). Without
//! clipping, results beyond the f32 range saturate at ±f32::MAX: no node emits non-finite samples (every
//! RuntimeData constructor rejects them, and filters downstream would turn them into NaN).

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params};
use super::{expect_audio, schema_ports, single_input, Node, NodeError, NodeType, Outputs};
use crate::data::{AudioBuffer, DataType, Payload, RuntimeData, Samples};
use crate::nodes::formats::{AudioAccepts, AudioOut};
use serde::Deserialize;
use std::sync::Arc;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports: schema_ports,
    build: |p: &Params| Ok(Box::new(Gain::new(p.parse()?))),
};

fn schema() -> NodeSchema {
    NodeSchema {
        type_name: "Gain".into(),
        description:
            "Scales audio by `gain` × 10^(gainDb/20) and clips to [-1, 1]; keeps the sample format. With `clip: false`, f32 results beyond the f32 range saturate at ±3.4028235e38 (f32::MAX) instead of becoming infinite.",
        params: vec![
            ParamSchema::optional(
                "gain",
                ParamKind::Number {
                    min: 0.0,
                    max: 1000.0,
                },
                1.0,
                "Linear factor.",
            ),
            ParamSchema::optional(
                "gainDb",
                ParamKind::Number {
                    min: -120.0,
                    max: 60.0,
                },
                0.0,
                "Gain in decibels, applied on top of `gain`.",
            ),
            ParamSchema::optional(
                "clip",
                ParamKind::Boolean,
                true,
                "Clip the result to [-1, 1]; when false, only saturate at ±f32::MAX (never ±Infinity).",
            ),
        ],
        inputs: single_input(&[DataType::Audio]),
        outputs: vec![DataType::Audio],
        events: &[],
        joins_inputs: false,
        heavy: false,
        audio_in: AudioAccepts::ANY,
        audio_out: AudioOut::Same,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GainParams {
    gain: f64,
    gain_db: f64,
    clip: bool,
}

/// Applies a fixed gain.
pub struct Gain {
    factor: f32,
    clip: bool,
}

impl Gain {
    fn new(p: GainParams) -> Self {
        Gain {
            factor: (p.gain * 10f64.powf(p.gain_db / 20.0)) as f32,
            clip: p.clip,
        }
    }

    fn apply(&self, s: f32) -> f32 {
        let v = s * self.factor;
        // Inputs are finite and the factor is finite and ≥ 0, so ±inf is the only non-finite result
        // (never NaN). Constant bounds in both branches keep the loop vectorized.
        if self.clip {
            v.clamp(-1.0, 1.0)
        } else {
            v.clamp(-f32::MAX, f32::MAX)
        }
    }
}

impl Gain {
    /// Scales `samples` in place: one loop per clip mode, each vectorized. Kept out of line: inlined
    /// into `process`, its speed varied with unrelated code there (0.07–0.11 µs per 960 samples).
    #[inline(never)]
    fn apply_in_place(&self, samples: &mut [f32]) {
        let factor = self.factor;
        if self.clip {
            samples
                .iter_mut()
                .for_each(|s| *s = (*s * factor).clamp(-1.0, 1.0));
        } else {
            samples
                .iter_mut()
                .for_each(|s| *s = (*s * factor).clamp(-f32::MAX, f32::MAX));
        }
    }
}

impl Node for Gain {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        expect_audio(&input)?;
        let mut input = input;
        // Sole owner of f32 audio (the usual case mid-graph): scale in place, no allocation. A shared
        // item (a fan-out) skips `get_mut`, whose atomic writes cost more than the check.
        if Arc::strong_count(&input) == 1 {
            if let Some(RuntimeData {
                payload:
                    Payload::Audio(AudioBuffer {
                        samples: Samples::F32(v),
                        ..
                    }),
                ..
            }) = Arc::get_mut(&mut input)
            {
                self.apply_in_place(v);
                out.push(input);
                return Ok(());
            }
        }
        let audio = expect_audio(&input)?;
        let samples = match &audio.samples {
            Samples::F32(v) => Samples::F32(v.iter().map(|&s| self.apply(s)).collect()),
            other => Samples::F32(other.to_f32().into_iter().map(|s| self.apply(s)).collect())
                .convert(other.format()),
        };
        out.push(Arc::new(input.with_audio(AudioBuffer {
            samples,
            ..audio.clone_layout()
        })));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::nodes::testing::*;
    use serde_json::json;

    #[test]
    fn six_db_doubles_amplitude_and_clips() {
        let out = run(
            build("Gain", json!({"gainDb": 6.0206})).as_mut(),
            vec![audio(vec![0.25, -0.25, 0.75], 8000, 1)],
        );
        let s = samples_f32(&out[0]);
        assert!((s[0] - 0.5).abs() < 1e-4 && (s[1] + 0.5).abs() < 1e-4);
        assert_eq!(s[2], 1.0);
    }

    #[test]
    fn a_sole_owner_is_scaled_in_place_and_a_shared_input_is_left_alone() {
        let mut node = build("Gain", json!({"gain": 2.0}));
        let mut out = Outputs::default();
        let sole = audio(vec![0.25; 4], 8000, 1);
        let before = crate::nodes::expect_audio(&sole)
            .unwrap()
            .samples
            .as_bytes()
            .as_ptr();
        node.process(0, sole, &mut out).unwrap();
        let after = crate::nodes::expect_audio(&out[0])
            .unwrap()
            .samples
            .as_bytes()
            .as_ptr();
        assert_eq!(before, after, "no new buffer");
        let shared = audio(vec![0.25; 4], 8000, 1);
        node.process(0, shared.clone(), &mut out).unwrap();
        assert_eq!(
            samples_f32(&shared),
            vec![0.25; 4],
            "the caller's data is untouched"
        );
        assert_eq!(samples_f32(&out[1]), vec![0.5; 4]);
    }

    #[test]
    fn keeps_i16_format_and_saturates() {
        use crate::data::{AudioBuffer, RuntimeData, Samples};
        let input = std::sync::Arc::new(RuntimeData::audio(
            AudioBuffer::new(Samples::I16(vec![1000, -30000]), 16000, 1).unwrap(),
        ));
        let out = run(build("Gain", json!({"gain": 2.0})).as_mut(), vec![input]);
        let a = crate::nodes::expect_audio(&out[0]).unwrap();
        assert_eq!(a.samples, Samples::I16(vec![2000, -32768]));
    }

    #[test]
    fn without_clipping_results_saturate_at_f32_max_instead_of_becoming_infinite() {
        let input = vec![f32::MAX, -f32::MAX, 1e36, -1e36, 0.5, 0.0];
        for shared in [false, true] {
            let item = audio(input.clone(), 8000, 1);
            let _keep = shared.then(|| item.clone()); // a second owner forces the copying path
            let out = run(
                build("Gain", json!({"gain": 1000, "clip": false})).as_mut(),
                vec![item],
            );
            let s = samples_f32(&out[0]);
            assert!(s.iter().all(|v| v.is_finite()), "{s:?}");
            assert_eq!(
                s,
                vec![f32::MAX, -f32::MAX, f32::MAX, -f32::MAX, 500.0, 0.0]
            );
        }
        // The largest factor (gain 1000 at +60 dB) on the largest sample still saturates.
        let out = run(
            build("Gain", json!({"gain": 1000, "gainDb": 60, "clip": false})).as_mut(),
            vec![audio(vec![f32::MAX, 1e-30], 8000, 1)],
        );
        assert_eq!(samples_f32(&out[0]), vec![f32::MAX, 1e-24]);
    }

    #[test]
    fn rejects_text_naming_the_type() {
        let mut node = build("Gain", json!({}));
        let mut out = Outputs::default();
        let err = node
            .process(
                0,
                std::sync::Arc::new(crate::data::RuntimeData::text("x")),
                &mut out,
            )
            .unwrap_err();
        assert_eq!(err.to_string(), "expected audio input, got text");
    }
}
