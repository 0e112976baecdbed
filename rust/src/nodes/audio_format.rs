//! `AudioFormat`: converts samples between f32, i16 and i32.

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params};
use super::{expect_audio, schema_ports, single_input, Node, NodeError, NodeType, Outputs};
use crate::data::{AudioBuffer, DataType, RuntimeData, SampleFormat};
use crate::nodes::formats::{AudioAccepts, AudioOut, AudioSpec};
use serde::Deserialize;
use std::sync::Arc;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports: schema_ports,
    build: |p: &Params| {
        let p: FormatParams = p.parse()?;
        let format = SampleFormat::from_name(&p.format).ok_or("bad format")?;
        Ok(Box::new(AudioFormat { format }))
    },
};

fn schema() -> NodeSchema {
    NodeSchema {
        type_name: "AudioFormat".into(),
        description: "Converts audio samples to f32, i16 or i32 (i16 → f32 divides by 32768; back multiplies, rounds and saturates).",
        params: vec![ParamSchema::required(
            "format",
            ParamKind::Enum { values: &["f32", "i16", "i32"] },
            "Target sample format.",
        )],
        inputs: single_input(&[DataType::Audio]),
        outputs: vec![DataType::Audio],
        events: &[],
        joins_inputs: false,
        heavy: false,
        audio_in: AudioAccepts::ANY,
        audio_out: AudioOut::Derived(|p, input| { let format = p.0.get("format").and_then(|v| v.as_str()).and_then(SampleFormat::from_name); Ok(input.map(|i| AudioSpec { sample_format: format, ..*i })) }),
    }
}

#[derive(Deserialize)]
struct FormatParams {
    format: String,
}

struct AudioFormat {
    format: SampleFormat,
}

impl Node for AudioFormat {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        let audio = expect_audio(&input)?;
        if audio.samples.format() == self.format {
            out.push(input);
            return Ok(());
        }
        out.push(Arc::new(input.with_audio(AudioBuffer {
            samples: audio.samples.convert(self.format),
            ..audio.clone_layout()
        })));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::data::Samples;
    use crate::nodes::testing::*;
    use serde_json::json;

    #[test]
    fn f32_to_i16_and_back_is_close() {
        let mut to16 = build("AudioFormat", json!({"format": "i16"}));
        let out = run(to16.as_mut(), vec![audio(vec![0.5, -1.0, 0.25], 16000, 1)]);
        let a = crate::nodes::expect_audio(&out[0]).unwrap();
        assert_eq!(a.samples, Samples::I16(vec![16384, -32768, 8192]));
        let mut tof = build("AudioFormat", json!({"format": "f32"}));
        let back = run(tof.as_mut(), out.into_items());
        assert_eq!(samples_f32(&back[0]), vec![0.5, -1.0, 0.25]);
    }
}
