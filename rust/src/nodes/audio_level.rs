//! `AudioLevel`: RMS and peak in dBFS per item, with silence and clipping flags, as JSON events.

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params};
use super::{expect_audio, schema_ports, single_input, Node, NodeError, NodeType, Outputs};
use crate::data::{DataType, RuntimeData};
use crate::nodes::formats::{same_when, AudioAccepts, AudioOut};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports: schema_ports,
    build: |p: &Params| {
        Ok(Box::new(AudioLevel {
            params: p.parse()?,
            position: 0,
        }))
    },
};

fn schema() -> NodeSchema {
    NodeSchema {
        type_name: "AudioLevel".into(),
        description: "Emits {type:\"level\", rmsDb, peakDb, silent, clipping, startUs, durationUs} per audio item.",
        params: vec![
            ParamSchema::optional("silenceDb", ParamKind::Number { min: -200.0, max: 0.0 }, -50.0, "Below this RMS the item is flagged silent."),
            ParamSchema::optional("clipLevel", ParamKind::Number { min: 0.0, max: 1.0 }, 0.999, "A sample at or above this magnitude flags clipping."),
            ParamSchema::optional("passAudio", ParamKind::Boolean, false, "Also emit the audio itself, before its level event."),
        ],
        inputs: single_input(&[DataType::Audio]),
        outputs: vec![DataType::Json, DataType::Audio],
        events: &[],
        joins_inputs: false,
        heavy: false,
        audio_in: AudioAccepts::ANY,
        audio_out: AudioOut::Derived(|p, input| same_when("passAudio", p, input)),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LevelParams {
    silence_db: f64,
    clip_level: f32,
    pass_audio: bool,
}

struct AudioLevel {
    params: LevelParams,
    position: u64,
}

/// Decibels relative to full scale; -inf is reported as -200.
fn dbfs(v: f64) -> f64 {
    if v <= 1e-10 {
        -200.0
    } else {
        20.0 * v.log10()
    }
}

impl Node for AudioLevel {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        let audio = expect_audio(&input)?;
        let samples = audio.samples.to_f32();
        let (sum, peak) = samples.iter().fold((0f64, 0f32), |(s, p), &x| {
            (s + (x as f64) * (x as f64), p.max(x.abs()))
        });
        let rms = if samples.is_empty() {
            0.0
        } else {
            (sum / samples.len() as f64).sqrt()
        };
        let rms_db = dbfs(rms);
        let frames = audio.num_frames() as u64;
        let start_us = input
            .attributes
            .timestamp_us
            .unwrap_or((self.position as i128 * 1_000_000 / audio.sample_rate as i128) as i64);
        self.position = self.position.saturating_add(frames);
        if self.params.pass_audio {
            out.push(input.clone());
        }
        out.push(Arc::new(RuntimeData::json(json!({
            "type": "level",
            "rmsDb": (rms_db * 100.0).round() / 100.0,
            "peakDb": (dbfs(peak as f64) * 100.0).round() / 100.0,
            "silent": rms_db < self.params.silence_db,
            "clipping": peak >= self.params.clip_level,
            "startUs": start_us,
            "durationUs": (frames as u128 * 1_000_000 / audio.sample_rate as u128) as u64,
        }))));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::nodes::testing::*;
    use serde_json::json;

    fn event(out: &[std::sync::Arc<crate::data::RuntimeData>]) -> serde_json::Value {
        out[0].as_json().expect("json expected").clone()
    }

    #[test]
    fn full_scale_sine_is_minus_3_db_rms() {
        let out = run(
            build("AudioLevel", json!({})).as_mut(),
            vec![audio(sine(1000.0, 48000, 4800, 1.0), 48000, 1)],
        );
        let e = event(&out);
        assert!((e["rmsDb"].as_f64().unwrap() + 3.01).abs() < 0.02, "{e}");
        assert_eq!(e["clipping"], json!(true));
        assert_eq!(e["silent"], json!(false));
        assert_eq!(e["durationUs"], json!(100_000));
    }

    #[test]
    fn silence_is_flagged() {
        let out = run(
            build("AudioLevel", json!({})).as_mut(),
            vec![audio(vec![0.0; 160], 16000, 1)],
        );
        let e = event(&out);
        assert_eq!(e["silent"], json!(true));
        assert_eq!(e["peakDb"], json!(-200.0));
    }
}
