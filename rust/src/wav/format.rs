//! The byte layout of WAV files: the RIFF magic, the `fmt ` chunk (sample encodings, extensible
//! sub-formats, names of the formats that are refused) and decoding sample bytes into `Samples`. The
//! streaming state machine that uses them is in `mod.rs`.

use super::WavError;
use crate::data::{SampleFormat, Samples};

/// `WAVE_FORMAT_EXTENSIBLE`.
pub(super) const EXTENSIBLE: u16 = 0xFFFE;
/// The last 14 bytes of every standard sub-format GUID (`xxxx0000-0000-0010-8000-00aa00389b71`).
pub(super) const GUID_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];
/// What the parser reads, for error messages.
pub(super) const SUPPORTED: &str = "supported: PCM 8/16/24/32-bit, IEEE float 32-bit";

/// How the samples of a file are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// 8-bit unsigned PCM (128 = silence).
    U8,
    /// 16-bit signed PCM.
    I16,
    /// 24-bit signed PCM, packed in 3 bytes.
    I24,
    /// 32-bit signed PCM.
    I32,
    /// 32-bit IEEE float.
    F32,
}

impl Encoding {
    /// Bytes per sample in the file.
    pub fn bytes(self) -> usize {
        match self {
            Encoding::U8 => 1,
            Encoding::I16 => 2,
            Encoding::I24 => 3,
            Encoding::I32 | Encoding::F32 => 4,
        }
    }

    /// Format of the decoded samples.
    pub fn output(self) -> SampleFormat {
        match self {
            Encoding::U8 | Encoding::I16 => SampleFormat::I16,
            Encoding::I24 | Encoding::I32 => SampleFormat::I32,
            Encoding::F32 => SampleFormat::F32,
        }
    }
}

/// What the fmt chunk says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavLayout {
    /// Sample storage.
    pub encoding: Encoding,
    /// Frames per second (≥ 1).
    pub sample_rate: u32,
    /// Interleaved channels (≥ 1).
    pub channels: u16,
}

impl WavLayout {
    /// Bytes per frame (all channels).
    pub fn frame_bytes(&self) -> u32 {
        self.channels as u32 * self.encoding.bytes() as u32
    }

    /// Bits per sample in the file.
    pub fn bits(&self) -> u32 {
        self.encoding.bytes() as u32 * 8
    }

    pub(super) fn describe(&self) -> String {
        format!("{} ch × {}-bit", self.channels, self.bits())
    }
}

/// Rejects a stream as soon as its first bytes cannot start a RIFF/WAVE file.
pub(super) fn check_magic(head: &[u8]) -> Result<(), WavError> {
    let n = head.len().min(4);
    if b"RIFF".starts_with(&head[..n]) {
        return Ok(());
    }
    if n == 4 && &head[..4] == b"RIFX" {
        return Err(WavError::UnsupportedContainer("big-endian RIFX"));
    }
    if n == 4 && &head[..4] == b"RF64" {
        return Err(WavError::UnsupportedContainer("RF64 (64-bit sizes)"));
    }
    if n < 4 && (b"RIFX".starts_with(&head[..n]) || b"RF64".starts_with(&head[..n])) {
        return Ok(());
    }
    Err(WavError::NotWav(
        "it does not start with RIFF....WAVE".into(),
    ))
}

pub(super) fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

pub(super) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

pub(super) fn format_name(code: u16) -> String {
    let name = match code {
        0x0001 => "PCM",
        0x0002 => "Microsoft ADPCM",
        0x0003 => "IEEE float",
        0x0006 => "A-law",
        0x0007 => "mu-law",
        0x0011 => "IMA ADPCM",
        0x0031 => "GSM 6.10",
        0x0050 => "MPEG",
        0x0055 => "MPEG Layer 3",
        0x00FF => "AAC",
        _ => return format!("format 0x{code:04X}"),
    };
    format!("format {code} ({name})")
}

/// Parses the body of a fmt chunk (16 to `MAX_FMT_BYTES` bytes, checked by the caller).
pub(super) fn parse_fmt(body: &[u8]) -> Result<WavLayout, WavError> {
    let tag = le16(body, 0);
    let channels = le16(body, 2);
    let sample_rate = le32(body, 4);
    let block_align = le16(body, 12);
    let bits = le16(body, 14);
    let (code, valid_bits, extensible) = if tag == EXTENSIBLE {
        if body.len() < 40 {
            return Err(WavError::BadFmt(format!(
                "an extensible fmt chunk needs 40 bytes, got {}",
                body.len()
            )));
        }
        if body[26..40] != GUID_TAIL {
            return Err(WavError::UnsupportedEncoding(
                "extensible with a non-standard sub-format GUID".into(),
            ));
        }
        (le16(body, 24), le16(body, 18), true)
    } else {
        (tag, bits, false)
    };
    let encoding = match (code, bits) {
        (1, 8) => Encoding::U8,
        (1, 16) => Encoding::I16,
        (1, 24) => Encoding::I24,
        (1, 32) => Encoding::I32,
        (3, 32) => Encoding::F32,
        (1, _) | (3, _) => {
            let kind = if code == 1 { "PCM" } else { "IEEE float" };
            return Err(WavError::UnsupportedEncoding(format!("{kind} {bits}-bit")));
        }
        _ => {
            let prefix = if extensible { "extensible, sub-" } else { "" };
            return Err(WavError::UnsupportedEncoding(format!(
                "{prefix}{}, {bits}-bit",
                format_name(code)
            )));
        }
    };
    if valid_bits > bits {
        return Err(WavError::BadFmt(format!(
            "{valid_bits} valid bits in a {bits}-bit sample"
        )));
    }
    if channels == 0 {
        return Err(WavError::BadFmt("0 channels".into()));
    }
    if sample_rate == 0 {
        return Err(WavError::BadFmt("sample rate 0 Hz".into()));
    }
    let layout = WavLayout {
        encoding,
        sample_rate,
        channels,
    };
    if block_align as u32 != layout.frame_bytes() {
        return Err(WavError::BadFmt(format!(
            "block align {block_align} does not match {} ({} bytes)",
            layout.describe(),
            layout.frame_bytes()
        )));
    }
    Ok(layout)
}

pub(super) fn reserve_samples(samples: &mut Samples, n: usize) {
    match samples {
        Samples::F32(v) => v.reserve(n),
        Samples::I16(v) => v.reserve(n),
        Samples::I32(v) => v.reserve(n),
    }
}

/// Appends little-endian samples (`bytes` holds whole samples) to `out`, whose format is
/// `encoding.output()`.
pub(super) fn decode_into(out: &mut Samples, encoding: Encoding, bytes: &[u8]) {
    match (encoding, out) {
        (Encoding::U8, Samples::I16(v)) => {
            v.extend(bytes.iter().map(|&b| (b as i16 - 128) << 8));
        }
        (Encoding::I16, Samples::I16(v)) => {
            v.extend(
                bytes
                    .chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]])),
            );
        }
        (Encoding::I24, Samples::I32(v)) => {
            v.extend(
                bytes
                    .chunks_exact(3)
                    .map(|c| i32::from_le_bytes([0, c[0], c[1], c[2]])),
            );
        }
        (Encoding::I32, Samples::I32(v)) => {
            v.extend(
                bytes
                    .chunks_exact(4)
                    .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        }
        (Encoding::F32, Samples::F32(v)) => {
            v.extend(
                bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        }
        (encoding, out) => unreachable!(
            "items of {encoding:?} data are {:?}, not {}",
            encoding.output(),
            out.format().name()
        ),
    }
}
