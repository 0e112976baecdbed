//! `ChannelMix`: downmix to mono, upmix mono to N channels, or select one channel.

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params};
use super::{expect_audio, schema_ports, single_input, Node, NodeError, NodeType, Outputs};
use crate::data::{alloc, AudioBuffer, DataType, RuntimeData, Samples};
use crate::nodes::formats::{AudioAccepts, AudioOut, AudioSpec};
use serde::Deserialize;
use std::sync::Arc;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports: schema_ports,
    build: |p: &Params| Ok(Box::new(ChannelMix(p.parse()?))),
};

fn schema() -> NodeSchema {
    NodeSchema {
        type_name: "ChannelMix".into(),
        description:
            "Downmixes to mono (average), upmixes to `channels` (copies), or selects one `channel`.",
        params: vec![
            ParamSchema::optional(
                "mode",
                ParamKind::Enum {
                    values: &["mono", "upmix", "select"],
                },
                "mono",
                "What to do.",
            ),
            ParamSchema::optional(
                "channels",
                ParamKind::Integer { min: 1, max: 64 },
                2,
                "Output channels for `upmix`.",
            ),
            ParamSchema::optional(
                "channel",
                ParamKind::Integer { min: 0, max: 63 },
                0,
                "Channel kept by `select`.",
            ),
        ],
        inputs: single_input(&[DataType::Audio]),
        outputs: vec![DataType::Audio],
        events: &[],
        joins_inputs: false,
        heavy: false,
        audio_in: AudioAccepts::ANY,
        audio_out: AudioOut::Derived(output_format),
    }
}

#[derive(Deserialize)]
struct MixParams {
    mode: String,
    channels: u16,
    channel: u16,
}

struct ChannelMix(MixParams);

/// The output format: mono for `mono` and `select`, `channels` for `upmix`; an input that cannot be
/// converted (upmix of several channels, a selected channel the input lacks) is an error at validation.
fn output_format(p: &Params, input: Option<&AudioSpec>) -> Result<Option<AudioSpec>, String> {
    let Some(input) = input else { return Ok(None) };
    let int = |name: &str| p.0.get(name).and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    let channels = match p.0.get("mode").and_then(|v| v.as_str()) {
        Some("upmix") => {
            if let Some(ch) = input.channels.filter(|&ch| ch != 1) {
                return Err(format!(
                    "upmix expects mono input, gets {ch} channels ({input})"
                ));
            }
            int("channels")
        }
        Some("select") => {
            let channel = int("channel");
            if let Some(ch) = input.channels.filter(|&ch| channel >= ch) {
                return Err(format!(
                    "select: channel {channel} does not exist in its input ({ch} channels: {input})"
                ));
            }
            1
        }
        _ => 1,
    };
    Ok(Some(AudioSpec {
        channels: Some(channels),
        ..*input
    }))
}

impl Node for ChannelMix {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        let audio = expect_audio(&input)?;
        let ch = audio.channels as usize;
        let frames = audio.num_frames();
        let (samples, channels): (Vec<f32>, u16) = match self.0.mode.as_str() {
            "mono" => {
                if ch == 1 {
                    out.push(input);
                    return Ok(());
                }
                // Integer formats are averaged in integer arithmetic: no float round trip.
                let samples = match &audio.samples {
                    Samples::I16(v) => Samples::I16(
                        v.chunks_exact(ch)
                            .map(|f| (f.iter().map(|&x| x as i32).sum::<i32>() / ch as i32) as i16)
                            .collect(),
                    ),
                    Samples::I32(v) => Samples::I32(
                        v.chunks_exact(ch)
                            .map(|f| (f.iter().map(|&x| x as i64).sum::<i64>() / ch as i64) as i32)
                            .collect(),
                    ),
                    // Summed in f64: the average of finite f32 samples is finite, their f32 sum may not be.
                    Samples::F32(v) => {
                        let scale = 1.0 / ch as f64;
                        Samples::F32(
                            v.chunks_exact(ch)
                                .map(|f| (f.iter().map(|&x| x as f64).sum::<f64>() * scale) as f32)
                                .collect(),
                        )
                    }
                };
                out.push(Arc::new(input.with_audio(AudioBuffer {
                    samples,
                    channels: 1,
                    ..audio.clone_layout()
                })));
                return Ok(());
            }
            "upmix" => {
                if ch != 1 {
                    return Err(NodeError::BadInput(format!(
                        "upmix expects mono input, got {ch} channels"
                    )));
                }
                let n = self.0.channels as usize;
                let format = audio.samples.format();
                // The output is `channels` times the input: check it against the cap before allocating.
                let len = alloc::check_payload(
                    || {
                        format!(
                            "upmixed audio numSamples × channels × bytes per sample ({}) = {frames} × {n} × {}",
                            format.name(),
                            format.size()
                        )
                    },
                    alloc::product(&[frames as u64, n as u64, format.size() as u64]),
                )? / format.size();
                let mut upmixed = alloc::try_vec(len, "upmixed audio")?;
                upmixed.extend(
                    audio
                        .samples
                        .to_f32()
                        .iter()
                        .flat_map(|&v| std::iter::repeat_n(v, n)),
                );
                (upmixed, self.0.channels)
            }
            _ => {
                let c = self.0.channel as usize;
                if c >= ch {
                    return Err(NodeError::BadInput(format!(
                        "select channel {c} but the input has {ch} channels (0..{})",
                        ch - 1
                    )));
                }
                let s = audio.samples.to_f32();
                ((0..frames).map(|f| s[f * ch + c]).collect(), 1)
            }
        };
        let format = audio.samples.format();
        out.push(Arc::new(input.with_audio(AudioBuffer {
            samples: Samples::F32(samples).convert(format),
            channels,
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
    fn downmix_averages_channels() {
        let out = run(
            build("ChannelMix", json!({})).as_mut(),
            vec![audio(vec![1.0, 0.0, 0.5, 0.5], 8000, 2)],
        );
        assert_eq!(samples_f32(&out[0]), vec![0.5, 0.5]);
        assert_eq!(crate::nodes::expect_audio(&out[0]).unwrap().channels, 1);
    }

    #[test]
    fn integer_downmix_stays_integer() {
        use crate::data::{AudioBuffer, RuntimeData, Samples};
        let input = std::sync::Arc::new(RuntimeData::audio(
            AudioBuffer::new(
                Samples::I16(vec![100, 300, -32768, -32768, 32767, 32767]),
                8000,
                2,
            )
            .unwrap(),
        ));
        let out = run(build("ChannelMix", json!({})).as_mut(), vec![input]);
        let a = crate::nodes::expect_audio(&out[0]).unwrap();
        assert_eq!(a.samples, Samples::I16(vec![200, -32768, 32767]));
    }

    #[test]
    fn downmix_of_extreme_samples_stays_finite() {
        let out = run(
            build("ChannelMix", json!({})).as_mut(),
            vec![audio(
                vec![
                    f32::MAX,
                    f32::MAX,
                    -f32::MAX,
                    -f32::MAX,
                    f32::MAX,
                    -f32::MAX,
                ],
                8000,
                2,
            )],
        );
        assert_eq!(samples_f32(&out[0]), vec![f32::MAX, -f32::MAX, 0.0]);
    }

    #[test]
    fn an_upmix_over_the_payload_cap_is_refused_before_allocating() {
        let frames = (1 << 24) + 1; // 64 MiB of mono f32; 64 channels of it is 4 GiB + 256 bytes
        let mut node = build("ChannelMix", json!({"mode": "upmix", "channels": 64}));
        let mut out = Outputs::default();
        let err = node
            .process(0, audio(vec![0.0; frames], 48000, 1), &mut out)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "= 16777217 × 64 × 4 = 4294967552 bytes; the maximum payload size is 4294967296"
            ),
            "{err}"
        );
    }

    #[test]
    fn upmix_and_select() {
        let up = run(
            build("ChannelMix", json!({"mode": "upmix", "channels": 3})).as_mut(),
            vec![audio(vec![0.1, 0.2], 8000, 1)],
        );
        assert_eq!(samples_f32(&up[0]), vec![0.1, 0.1, 0.1, 0.2, 0.2, 0.2]);
        let sel = run(
            build("ChannelMix", json!({"mode": "select", "channel": 1})).as_mut(),
            vec![audio(vec![1.0, 2.0, 3.0, 4.0], 8000, 2)],
        );
        assert_eq!(samples_f32(&sel[0]), vec![2.0, 4.0]);
    }

    #[test]
    fn select_out_of_range_is_an_error() {
        let mut node = build("ChannelMix", json!({"mode": "select", "channel": 2}));
        let mut out = Outputs::default();
        let err = node
            .process(0, audio(vec![0.0; 4], 8000, 2), &mut out)
            .unwrap_err();
        assert!(err
            .to_string()
            .contains("select channel 2 but the input has 2 channels"));
    }
}
