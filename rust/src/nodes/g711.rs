//! `G711`: ITU-T G.711 μ-law and A-law, the telephone codecs (Twilio Media Streams send μ-law at
//! 8 kHz). The pure functions [`ulaw_encode`], [`ulaw_decode`], [`alaw_encode`] and [`alaw_decode`]
//! work on one sample; the node encodes audio to bytes or decodes bytes to audio.
//!
//! Data representation: encoded audio is **binary** data, one byte per sample, channels interleaved
//! (the wire format of telephony); the bytes carry no rate or channel count, so `decode` takes them
//! as params (default 8000 Hz, mono). Decoding emits **i16** audio, the codecs' own 16-bit scale
//! (μ-law ±32124, A-law ±32256); encoding takes i16, i32 (top 16 bits) or f32 (rounded and
//! saturated to i16, as `AudioFormat` converts) and ignores the rate. Attributes (timestamp, stream id,
//! metadata) go from each input to its output. Bit-exact against sox (`tests` below, with the
//! reference files of `tools/g711_reference.sh`).

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params};
use super::{expect_audio, schema_ports, single_input, Node, NodeError, NodeType, Outputs};
use crate::data::{alloc, AudioBuffer, DataType, Payload, RuntimeData, SampleFormat, Samples};
use crate::nodes::formats::{AudioAccepts, AudioOut, AudioSpec};
use serde::Deserialize;
use std::sync::Arc;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports: schema_ports,
    build: |p: &Params| {
        let p: G711Params = p.parse()?;
        let law = match p.law.as_str() {
            "mulaw" => Law::Mu,
            "alaw" => Law::A,
            other => return Err(format!("bad law {other}")),
        };
        let encode = p.mode == "encode";
        Ok(Box::new(G711 {
            law,
            encode,
            sample_rate: p.sample_rate,
            channels: p.channels,
        }))
    },
};

/// `decode` emits i16 audio at `sampleRate` with `channels`; `encode` emits bytes.
fn output_format(p: &Params, _: Option<&AudioSpec>) -> Result<Option<AudioSpec>, String> {
    let int = |name: &str| p.0.get(name).and_then(|v| v.as_u64()).map(|v| v as u32);
    Ok(match p.0.get("mode").and_then(|v| v.as_str()) {
        Some("decode") => Some(AudioSpec {
            sample_rate: int("sampleRate"),
            channels: int("channels"),
            sample_format: Some(SampleFormat::I16),
        }),
        _ => None,
    })
}

fn schema() -> NodeSchema {
    NodeSchema {
        type_name: "G711".into(),
        description: "G.711 μ-law / A-law (telephony): `encode` turns audio into binary (one byte per sample, channels interleaved); `decode` turns such bytes into i16 audio at `sampleRate` with `channels`. Bit-exact with sox.",
        params: vec![
            ParamSchema::required(
                "mode",
                ParamKind::Enum { values: &["encode", "decode"] },
                "encode: audio → bytes; decode: bytes → i16 audio.",
            ),
            ParamSchema::optional(
                "law",
                ParamKind::Enum { values: &["mulaw", "alaw"] },
                serde_json::json!("mulaw"),
                "μ-law (North America, Japan; Twilio) or A-law (Europe).",
            ),
            ParamSchema::optional(
                "sampleRate",
                ParamKind::Integer { min: 1000, max: 384_000 },
                serde_json::json!(8000),
                "decode: sample rate of the decoded audio (the bytes carry none).",
            ),
            ParamSchema::optional(
                "channels",
                ParamKind::Integer { min: 1, max: 64 },
                serde_json::json!(1),
                "decode: channels interleaved in the bytes.",
            ),
        ],
        inputs: single_input(&[DataType::Audio, DataType::Binary]),
        outputs: vec![DataType::Audio, DataType::Binary],
        events: &[],
        joins_inputs: false,
        heavy: false,
        audio_in: AudioAccepts::ANY,
        audio_out: AudioOut::Derived(output_format),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct G711Params {
    mode: String,
    law: String,
    sample_rate: u32,
    channels: u32,
}

/// Which G.711 companding law.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    /// μ-law (G.711 §2, North America and Japan).
    Mu,
    /// A-law (G.711 §3, Europe and the rest).
    A,
}

impl Law {
    /// Encodes one 16-bit sample.
    pub fn encode(self, sample: i16) -> u8 {
        match self {
            Law::Mu => ulaw_encode(sample),
            Law::A => alaw_encode(sample),
        }
    }

    /// Decodes one byte to a 16-bit sample.
    pub fn decode(self, byte: u8) -> i16 {
        match self {
            Law::Mu => ulaw_decode(byte),
            Law::A => alaw_decode(byte),
        }
    }
}

/// Upper ends of the eight μ-law segments, on the biased 14-bit magnitude.
const ULAW_SEGMENT_END: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
/// Upper ends of the eight A-law segments, on the 13-bit magnitude.
const ALAW_SEGMENT_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
/// The μ-law bias (added to the 16-bit magnitude; 0x84 = 132, i.e. 33 on the 14-bit scale).
const ULAW_BIAS: i32 = 0x84;
/// Largest 14-bit magnitude μ-law represents before the bias (8159).
const ULAW_CLIP: i32 = 8159;

fn segment(value: i32, ends: &[i32; 8]) -> usize {
    ends.iter().position(|&end| value <= end).unwrap_or(8)
}

/// The sample rounded to its top `bits` bits (to nearest, ties up; the largest values saturate), as
/// sox does before companding. ITU-T G.191's reference code truncates instead (`>>`): the two
/// differ by one step on 508 (μ-law) and 1020 (A-law) of the 65536 inputs; rounding halves the
/// worst-case error of that step.
fn round_to_bits(sample: i16, bits: u32) -> i32 {
    let shift = 16 - bits;
    let max = (1 << (bits - 1)) - 1;
    ((i32::from(sample) + (1 << (shift - 1))) >> shift).min(max)
}

/// μ-law encoding of a 16-bit sample: the sample rounded to 14 bits, sign and magnitude, biased by
/// 33, as a 3-bit segment and a 4-bit step, all bits inverted (G.711's algorithm as sox implements
/// it, after Sun's `g711.c`).
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut value = round_to_bits(sample, 14); // 14-bit two's complement
    let mask: u8 = if value < 0 {
        value = -value;
        0x7F
    } else {
        0xFF
    };
    value = value.min(ULAW_CLIP) + (ULAW_BIAS >> 2);
    let seg = segment(value, &ULAW_SEGMENT_END);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let byte = ((seg as u8) << 4) | ((value >> (seg + 1)) & 0x0F) as u8;
    byte ^ mask
}

/// μ-law decoding to a 16-bit sample (±32124 at most).
pub fn ulaw_decode(byte: u8) -> i16 {
    let byte = !byte;
    let mut t = (i32::from(byte & 0x0F) << 3) + ULAW_BIAS;
    t <<= (byte & 0x70) >> 4;
    (if byte & 0x80 != 0 {
        ULAW_BIAS - t
    } else {
        t - ULAW_BIAS
    }) as i16
}

/// A-law encoding of a 16-bit sample: the sample rounded to 13 bits (one's complement magnitude
/// for negative values), a 3-bit segment and a 4-bit step, even bits inverted (0x55).
pub fn alaw_encode(sample: i16) -> u8 {
    let mut value = round_to_bits(sample, 13); // 13-bit two's complement
    let mask: u8 = if value >= 0 {
        0xD5
    } else {
        value = -value - 1;
        0x55
    };
    let seg = segment(value, &ALAW_SEGMENT_END);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let step = if seg < 2 { value >> 1 } else { value >> seg };
    (((seg as u8) << 4) | (step & 0x0F) as u8) ^ mask
}

/// A-law decoding to a 16-bit sample (±32256 at most).
pub fn alaw_decode(byte: u8) -> i16 {
    let byte = byte ^ 0x55;
    let mut t = i32::from(byte & 0x0F) << 4;
    let seg = (byte & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    (if byte & 0x80 != 0 { t } else { -t }) as i16
}

/// Encodes samples of any format; f32 and i32 are converted to i16 first exactly as `AudioFormat`
/// converts them.
pub fn encode_samples(law: Law, samples: &Samples) -> Result<Vec<u8>, NodeError> {
    let mut out = alloc::try_vec::<u8>(samples.len(), "G.711 bytes")?;
    match samples {
        Samples::I16(s) => out.extend(s.iter().map(|&x| law.encode(x))),
        other => {
            let Samples::I16(s) = other.convert(SampleFormat::I16) else {
                unreachable!("convert(I16) returns i16 samples")
            };
            out.extend(s.iter().map(|&x| law.encode(x)));
        }
    }
    Ok(out)
}

/// Decodes bytes to 16-bit samples.
pub fn decode_bytes(law: Law, bytes: &[u8]) -> Result<Vec<i16>, NodeError> {
    let mut out = alloc::try_vec::<i16>(bytes.len(), "G.711 samples")?;
    out.extend(bytes.iter().map(|&b| law.decode(b)));
    Ok(out)
}

struct G711 {
    law: Law,
    encode: bool,
    sample_rate: u32,
    channels: u32,
}

impl Node for G711 {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        if self.encode {
            let audio = expect_audio(&input)?;
            let bytes = encode_samples(self.law, &audio.samples)?;
            out.push(Arc::new(input.with_payload(Payload::Binary(bytes))));
            return Ok(());
        }
        let Payload::Binary(bytes) = &input.payload else {
            return Err(NodeError::WrongInput {
                expected: "binary (G.711 bytes)",
                actual: input.data_type(),
            });
        };
        if bytes.len() % self.channels as usize != 0 {
            return Err(NodeError::BadInput(format!(
                "{} G.711 bytes do not split into {} channels",
                bytes.len(),
                self.channels
            )));
        }
        let samples = decode_bytes(self.law, bytes)?;
        let audio = AudioBuffer::new(Samples::I16(samples), self.sample_rate, self.channels)?;
        out.push(Arc::new(input.with_audio(audio)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nodes::testing::{build, run};
    use serde_json::json;

    /// Written by `tools/g711_reference.sh` with sox (no dither): every 16-bit value from -32768
    /// to 32767 (little-endian) encoded, and every byte 0..=255 decoded to 16-bit little-endian.
    const SOX_ULAW_ENCODED: &[u8] = include_bytes!("../../testdata/g711/ulaw_encoded.bin");
    const SOX_ALAW_ENCODED: &[u8] = include_bytes!("../../testdata/g711/alaw_encoded.bin");
    const SOX_ULAW_DECODED: &[u8] = include_bytes!("../../testdata/g711/ulaw_decoded.s16");
    const SOX_ALAW_DECODED: &[u8] = include_bytes!("../../testdata/g711/alaw_decoded.s16");

    fn every_i16() -> impl Iterator<Item = i16> {
        i16::MIN..=i16::MAX
    }

    fn le_i16(bytes: &[u8]) -> Vec<i16> {
        bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect()
    }

    #[test]
    fn ulaw_encoding_of_every_16_bit_value_matches_sox() {
        assert_eq!(SOX_ULAW_ENCODED.len(), 65536);
        for (x, &expected) in every_i16().zip(SOX_ULAW_ENCODED) {
            assert_eq!(ulaw_encode(x), expected, "μ-law of {x}");
        }
    }

    #[test]
    fn alaw_encoding_of_every_16_bit_value_matches_sox() {
        assert_eq!(SOX_ALAW_ENCODED.len(), 65536);
        for (x, &expected) in every_i16().zip(SOX_ALAW_ENCODED) {
            assert_eq!(alaw_encode(x), expected, "A-law of {x}");
        }
    }

    #[test]
    fn decoding_of_every_byte_matches_sox() {
        let mu = le_i16(SOX_ULAW_DECODED);
        let a = le_i16(SOX_ALAW_DECODED);
        assert_eq!((mu.len(), a.len()), (256, 256));
        for byte in 0..=255u8 {
            assert_eq!(
                ulaw_decode(byte),
                mu[byte as usize],
                "μ-law byte {byte:#04x}"
            );
            assert_eq!(
                alaw_decode(byte),
                a[byte as usize],
                "A-law byte {byte:#04x}"
            );
        }
    }

    #[test]
    fn decoding_then_encoding_gives_every_byte_back() {
        for byte in 0..=255u8 {
            // μ-law has two zeros, +0 (0xFF) and -0 (0x7F): both decode to 0, which encodes as +0.
            let ulaw = if byte == 0x7F { 0xFF } else { byte };
            assert_eq!(
                ulaw_encode(ulaw_decode(byte)),
                ulaw,
                "μ-law byte {byte:#04x}"
            );
            assert_eq!(
                alaw_encode(alaw_decode(byte)),
                byte,
                "A-law byte {byte:#04x}"
            );
        }
    }

    #[test]
    fn silence_is_0xff_in_ulaw_and_0xd5_in_alaw() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(alaw_decode(0xD5), 8);
    }

    #[test]
    fn the_node_encodes_f32_like_i16_and_decodes_back_with_the_params_layout() {
        let samples = vec![0.0f32, 0.5, -0.5, 1.0, -1.0, 0.001];
        let Samples::I16(i16s) = Samples::F32(samples.clone()).convert(SampleFormat::I16) else {
            unreachable!()
        };
        let mut enc = build("G711", json!({"mode": "encode", "law": "alaw"}));
        let input = crate::nodes::testing::audio(samples, 16000, 2);
        let out = run(enc.as_mut(), vec![input]);
        let bytes = out[0].payload_bytes().to_vec();
        assert_eq!(out[0].data_type(), DataType::Binary);
        assert_eq!(
            bytes,
            i16s.iter().map(|&x| alaw_encode(x)).collect::<Vec<_>>()
        );

        let mut dec = build(
            "G711",
            json!({"mode": "decode", "law": "alaw", "sampleRate": 16000, "channels": 2}),
        );
        let back = run(dec.as_mut(), out.into_items());
        let audio = expect_audio(&back[0]).unwrap();
        assert_eq!((audio.sample_rate, audio.channels), (16000, 2));
        let expected: Vec<i16> = bytes.iter().map(|&b| alaw_decode(b)).collect();
        assert_eq!(audio.samples, Samples::I16(expected));
    }

    #[test]
    fn the_node_keeps_the_attributes_and_refuses_bytes_that_do_not_split_into_channels() {
        let mut dec = build("G711", json!({"mode": "decode", "channels": 2}));
        let input = RuntimeData::binary(vec![0xFF; 3]);
        let mut out = Outputs::default();
        let error = dec.process(0, Arc::new(input), &mut out).unwrap_err();
        assert!(
            error.to_string().contains("do not split into 2 channels"),
            "{error}"
        );

        let attributes = crate::data::Attributes {
            timestamp_us: Some(20_000),
            ..Default::default()
        };
        let input = RuntimeData::binary(vec![0xFF; 4]).with_attributes(attributes.clone());
        dec.process(0, Arc::new(input), &mut out).unwrap();
        assert_eq!(out[0].attributes, attributes);
    }
}
