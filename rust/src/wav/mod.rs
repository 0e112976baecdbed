//! The one WAV reader of the crate: an incremental parser that is pushed bytes as they arrive (a file
//! read in chunks, an HTTP body from JavaScript) and hands out audio items of a fixed duration.
//!
//! The `WavReader` node and `wavFrames` in TypeScript (through `rm_wav_parser_*`) both use it, so they
//! accept and reject exactly the same files, with the same messages.
//!
//! Why not hound, which the crate uses for writing: hound's reader pulls from `std::io::Read` and wants
//! the whole header before it returns, so it cannot be fed chunk by chunk from a JavaScript stream, and
//! its per-sample iterator was the bottleneck of the 10-minute benchmark. Parsing RIFF is small enough
//! to do here, with every size checked.
//!
//! What is accepted:
//! - `RIFF`/`WAVE` with a `fmt ` chunk of PCM 8/16/24/32-bit, IEEE float 32-bit, or
//!   `WAVE_FORMAT_EXTENSIBLE` whose sub-format is one of those (the channel mask is ignored; samples whose
//!   valid bits are fewer than their container are read by container, as they are left-justified).
//! - Any other chunk before the data chunk is skipped as it streams past, never buffered (odd sizes
//!   are followed by one padding byte). Everything after the data chunk is ignored.
//! - A data size of 0 or 0xFFFFFFFF means "streamed, length unknown": the data runs to the end of input.
//!
//! Output sample formats: 8-bit unsigned → i16 as `(byte - 128) << 8` (lossless, and on the same scale as
//! 16-bit files: half the memory of f32, no rounding); 16-bit → i16; 24-bit → i32 shifted left 8 (full
//! scale, like 32-bit); 32-bit → i32; float → f32 (NaN/infinity are an error naming the frame).
//!
//! Items hold `round(rate × frame_ms / 1000)` frames (at least 1; `frame_ms` 0 = the whole stream in one
//! item), never split a frame, carry a timestamp (µs from the start, rounded), and only the last one may
//! be shorter. A data chunk shorter than declared, or data that ends inside a frame, is an error that
//! names the expected and the actual byte counts.
//!
//! Errors are reported once every item made before them was taken: `push`/`finish` keep returning the
//! number of items ready while there are some, and return the error when the queue is empty. So a
//! consumer always gets the good prefix first, then the error, whatever the chunking.
//!
//! The byte layout (magic, `fmt ` chunk, sample decoding) is in `format.rs`; this file is the streaming
//! state machine (~550 lines, one `WavParser` whose states are read best in one place).

mod format;

use format::{check_magic, decode_into, parse_fmt, reserve_samples, SUPPORTED};
pub use format::{Encoding, WavLayout};

use crate::data::{AudioBuffer, RuntimeData, Samples};
use std::collections::VecDeque;

/// Bytes of the `RIFF <size> WAVE` header.
const RIFF_HEADER: usize = 12;
/// Bytes of a chunk header (`<id> <size>`).
const CHUNK_HEADER: usize = 8;
/// Largest `fmt ` chunk buffered (the extensible one is 40 bytes; writers add little more).
const MAX_FMT_BYTES: u32 = 1024;
/// Samples reserved up front for an item; beyond that the vector grows as data arrives, so a header
/// that lies about sizes cannot make us allocate more than the data actually sent.
const MAX_PREALLOC_SAMPLES: u64 = 1 << 20;
/// Why a WAV stream was rejected. Messages are complete sentences for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WavError {
    /// The stream does not start like a WAV file.
    #[error("not a WAV stream: {0}")]
    NotWav(String),
    /// A RIFF variant that is not read (big-endian RIFX, RF64).
    #[error("unsupported WAV container: {0} (only little-endian RIFF/WAVE is read)")]
    UnsupportedContainer(&'static str),
    /// The input ended before the data chunk started.
    #[error("WAV stream ended after {offset} bytes, inside its header ({detail})")]
    TruncatedHeader {
        /// Bytes received.
        offset: u64,
        /// Where in the header it ended.
        detail: String,
    },
    /// A data chunk came before any fmt chunk.
    #[error("WAV data chunk before its fmt chunk")]
    DataBeforeFmt,
    /// An encoding the parser does not decode.
    #[error("unsupported WAV encoding: {0} ({SUPPORTED})")]
    UnsupportedEncoding(String),
    /// A fmt chunk that contradicts itself.
    #[error("invalid WAV fmt chunk: {0}")]
    BadFmt(String),
    /// The data chunk is shorter than its header says.
    #[error("WAV data chunk declares {declared} bytes, the stream ended after {got} of them")]
    TruncatedData {
        /// Bytes the data chunk header declares.
        declared: u64,
        /// Bytes that arrived.
        got: u64,
    },
    /// The data ends inside a frame.
    #[error("WAV data ends inside a frame: {bytes} bytes is not a whole number of {frame_bytes}-byte frames ({layout}); {left_over} bytes left over")]
    PartialFrame {
        /// Data bytes received.
        bytes: u64,
        /// Bytes per frame (block align).
        frame_bytes: u32,
        /// Channels and sample size.
        layout: String,
        /// Bytes of the incomplete frame.
        left_over: u64,
    },
    /// Decoded samples that are not valid audio (a NaN float).
    #[error("invalid WAV data: {0}")]
    BadData(String),
    /// An argument of the parser itself.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Bytes pushed after the end of input was signalled.
    #[error("WAV parser: push after finish()")]
    PushAfterFinish,
}

/// Counters for tests and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WavStats {
    /// Bytes pushed so far.
    pub bytes_pushed: u64,
    /// Bytes of skipped chunks (streamed past, never stored).
    pub bytes_skipped: u64,
    /// Bytes copied into parser memory: header pieces and decoded data.
    pub bytes_copied: u64,
    /// Bytes the parser holds now (header piece, partial sample, decoded items not yet taken).
    pub held_bytes: u64,
    /// The most bytes it ever held at once.
    pub peak_held_bytes: u64,
}

/// Where the parser is in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Collecting the 12-byte `RIFF <size> WAVE` header.
    Riff,
    /// Collecting an 8-byte chunk header.
    ChunkHeader,
    /// Collecting the body (and padding byte) of the fmt chunk.
    Fmt { size: u32 },
    /// Streaming past an unknown chunk; `left` counts its padding byte too.
    Skip {
        id: [u8; 4],
        declared: u32,
        left: u64,
    },
    /// Decoding samples; `left` is `None` for streamed data (read to the end).
    Data { declared: u32, left: Option<u64> },
    /// The data chunk ended; the rest of the input is ignored.
    Complete,
}

/// Coarse state, as `rm_wav_parser_info` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ParserPhase {
    /// Still in the header.
    Header = 0,
    /// In the data chunk.
    Data = 1,
    /// The data ended: no more input is needed.
    Complete = 2,
    /// Failed (the error is returned once the items before it were taken).
    Failed = 3,
}

/// An incremental WAV parser. See the module documentation.
#[derive(Debug)]
pub struct WavParser {
    frame_ms: f64,
    stage: Stage,
    /// The header piece being collected (at most `MAX_FMT_BYTES + 1` bytes).
    head: Vec<u8>,
    layout: Option<WavLayout>,
    /// Samples per item (frames × channels); `u64::MAX` for one item per stream.
    item_samples: u64,
    /// Bytes of a sample split across pushes.
    carry: [u8; 4],
    carry_len: usize,
    /// The item being filled.
    current: Samples,
    /// Audio items with their timestamps.
    ready: VecDeque<RuntimeData>,
    ready_bytes: u64,
    frames_emitted: u64,
    data_bytes: u64,
    /// Bytes consumed by the state machine (equal to `stats.bytes_pushed` until the data ends).
    offset: u64,
    failure: Option<WavError>,
    finished: bool,
    stats: WavStats,
}

impl WavParser {
    /// A parser that emits items of `frame_ms` milliseconds (0 = the whole stream in one item).
    pub fn new(frame_ms: f64) -> Result<Self, WavError> {
        if !frame_ms.is_finite() || frame_ms < 0.0 {
            return Err(WavError::InvalidArgument(format!(
                "frameMs must be a finite number ≥ 0, got {frame_ms}"
            )));
        }
        Ok(WavParser {
            frame_ms,
            stage: Stage::Riff,
            head: Vec::with_capacity(RIFF_HEADER),
            layout: None,
            item_samples: u64::MAX,
            carry: [0; 4],
            carry_len: 0,
            current: Samples::I16(Vec::new()),
            ready: VecDeque::new(),
            ready_bytes: 0,
            frames_emitted: 0,
            data_bytes: 0,
            offset: 0,
            failure: None,
            finished: false,
            stats: WavStats::default(),
        })
    }

    /// Feeds the next bytes of the stream. Returns the number of items ready to [`take`](Self::take),
    /// or the stream's error once no item made before it is left.
    pub fn push(&mut self, bytes: &[u8]) -> Result<usize, WavError> {
        if self.finished {
            return Err(WavError::PushAfterFinish);
        }
        self.stats.bytes_pushed = self.stats.bytes_pushed.saturating_add(bytes.len() as u64);
        if self.failure.is_none() {
            if let Err(e) = self.consume(bytes) {
                self.failure = Some(e);
            }
        }
        self.report()
    }

    /// Signals the end of input: emits the last (possibly shorter) item, or fails when the stream ended
    /// early (inside the header, the data chunk or a frame). Returns like [`push`](Self::push); calling
    /// it again returns the same outcome.
    pub fn finish(&mut self) -> Result<usize, WavError> {
        if !self.finished {
            self.finished = true;
            if self.failure.is_none() {
                if let Err(e) = self.end_of_input() {
                    self.failure = Some(e);
                }
            }
        }
        self.report()
    }

    /// The next item (audio, with its timestamp), oldest first.
    pub fn take(&mut self) -> Option<RuntimeData> {
        let item = self.ready.pop_front()?;
        self.ready_bytes -= item.payload_bytes().len() as u64;
        self.stats.held_bytes = self.held();
        Some(item)
    }

    /// Items ready to take.
    pub fn ready(&self) -> usize {
        self.ready.len()
    }

    /// The layout, once the fmt chunk was read.
    pub fn layout(&self) -> Option<&WavLayout> {
        self.layout.as_ref()
    }

    /// True once no more input can change the outcome (the data chunk ended, or the stream failed):
    /// readers can stop reading and call [`finish`](Self::finish).
    pub fn is_complete(&self) -> bool {
        self.stage == Stage::Complete || self.failure.is_some()
    }

    /// Coarse state.
    pub fn phase(&self) -> ParserPhase {
        match (self.failure.is_some(), self.stage) {
            (true, _) => ParserPhase::Failed,
            (_, Stage::Complete) => ParserPhase::Complete,
            (_, Stage::Data { .. }) => ParserPhase::Data,
            _ => ParserPhase::Header,
        }
    }

    /// Counters.
    pub fn stats(&self) -> WavStats {
        self.stats
    }

    fn report(&self) -> Result<usize, WavError> {
        match &self.failure {
            Some(e) if self.ready.is_empty() => Err(e.clone()),
            _ => Ok(self.ready.len()),
        }
    }

    fn held(&self) -> u64 {
        let current = (self.current.len() * self.current.format().size()) as u64;
        self.head.len() as u64 + self.carry_len as u64 + current + self.ready_bytes
    }

    fn note_held(&mut self) {
        self.stats.held_bytes = self.held();
        self.stats.peak_held_bytes = self.stats.peak_held_bytes.max(self.stats.held_bytes);
    }

    fn advance(&mut self, n: usize) {
        self.offset = self.offset.saturating_add(n as u64);
    }

    fn consume(&mut self, mut bytes: &[u8]) -> Result<(), WavError> {
        while !bytes.is_empty() {
            match self.stage {
                Stage::Riff | Stage::ChunkHeader | Stage::Fmt { .. } => {
                    let need = match self.stage {
                        Stage::Riff => RIFF_HEADER,
                        Stage::ChunkHeader => CHUNK_HEADER,
                        Stage::Fmt { size } => size as usize + (size & 1) as usize,
                        _ => unreachable!("matched above"),
                    };
                    let n = need.saturating_sub(self.head.len()).min(bytes.len());
                    self.head.extend_from_slice(&bytes[..n]);
                    self.stats.bytes_copied += n as u64;
                    self.advance(n);
                    bytes = &bytes[n..];
                    self.note_held();
                    if self.stage == Stage::Riff {
                        check_magic(&self.head)?;
                    }
                    if self.head.len() == need {
                        let head = std::mem::take(&mut self.head);
                        let result = self.on_header(&head);
                        self.head = head;
                        self.head.clear();
                        self.note_held();
                        result?;
                    }
                }
                Stage::Skip { id, declared, left } => {
                    let n = left.min(bytes.len() as u64);
                    let rest = left - n;
                    self.stats.bytes_skipped += n;
                    self.advance(n as usize);
                    bytes = &bytes[n as usize..];
                    self.stage = if rest == 0 {
                        Stage::ChunkHeader
                    } else {
                        Stage::Skip {
                            id,
                            declared,
                            left: rest,
                        }
                    };
                }
                Stage::Data { declared, left } => {
                    let n = left.map_or(bytes.len(), |l| l.min(bytes.len() as u64) as usize);
                    self.decode(&bytes[..n])?;
                    self.advance(n);
                    bytes = &bytes[n..];
                    if let Some(l) = left {
                        let rest = l - n as u64;
                        self.stage = Stage::Data {
                            declared,
                            left: Some(rest),
                        };
                        if rest == 0 {
                            self.end_of_data()?;
                        }
                    }
                }
                Stage::Complete => return Ok(()),
            }
        }
        Ok(())
    }

    /// A complete header piece (`head`) for the current stage.
    fn on_header(&mut self, head: &[u8]) -> Result<(), WavError> {
        match self.stage {
            Stage::Riff => {
                if &head[8..12] != b"WAVE" {
                    return Err(WavError::NotWav(
                        "it does not start with RIFF....WAVE".into(),
                    ));
                }
                self.stage = Stage::ChunkHeader;
            }
            Stage::ChunkHeader => {
                let id = [head[0], head[1], head[2], head[3]];
                let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
                self.stage = match &id {
                    b"fmt " => {
                        if self.layout.is_some() {
                            return Err(WavError::BadFmt(format!(
                                "a second fmt chunk at byte {}",
                                self.offset - CHUNK_HEADER as u64
                            )));
                        }
                        if size < 16 {
                            return Err(WavError::BadFmt(format!(
                                "{size} bytes is too short (at least 16)"
                            )));
                        }
                        if size > MAX_FMT_BYTES {
                            return Err(WavError::BadFmt(format!(
                                "{size} bytes is too long (at most {MAX_FMT_BYTES})"
                            )));
                        }
                        Stage::Fmt { size }
                    }
                    b"data" => {
                        let Some(layout) = self.layout else {
                            return Err(WavError::DataBeforeFmt);
                        };
                        self.start_data(&layout);
                        let left = (size != 0 && size != u32::MAX).then_some(size as u64);
                        Stage::Data {
                            declared: size,
                            left,
                        }
                    }
                    _ => {
                        let left = size as u64 + (size & 1) as u64;
                        if left == 0 {
                            Stage::ChunkHeader
                        } else {
                            Stage::Skip {
                                id,
                                declared: size,
                                left,
                            }
                        }
                    }
                };
            }
            Stage::Fmt { size } => {
                self.layout = Some(parse_fmt(&head[..size as usize])?);
                self.stage = Stage::ChunkHeader;
            }
            Stage::Skip { .. } | Stage::Data { .. } | Stage::Complete => {
                unreachable!("no header is collected in this stage")
            }
        }
        Ok(())
    }

    fn start_data(&mut self, layout: &WavLayout) {
        let frames = if self.frame_ms == 0.0 {
            u64::MAX
        } else {
            // `as` saturates: an absurd frame_ms gives one item per stream, never an overflow.
            ((layout.sample_rate as f64 * self.frame_ms / 1000.0).round() as u64).max(1)
        };
        self.item_samples = frames.saturating_mul(layout.channels as u64);
        self.current = Samples::empty(layout.encoding.output());
    }

    /// Decodes data bytes (any count: a sample split across pushes is carried over).
    fn decode(&mut self, mut bytes: &[u8]) -> Result<(), WavError> {
        let layout = self
            .layout
            .expect("data is only decoded after the fmt chunk");
        let size = layout.encoding.bytes();
        self.data_bytes = self.data_bytes.saturating_add(bytes.len() as u64);
        self.stats.bytes_copied += bytes.len() as u64;
        if self.carry_len > 0 {
            let n = (size - self.carry_len).min(bytes.len());
            self.carry[self.carry_len..self.carry_len + n].copy_from_slice(&bytes[..n]);
            self.carry_len += n;
            bytes = &bytes[n..];
            if self.carry_len < size {
                self.note_held();
                return Ok(());
            }
            let sample = self.carry;
            self.carry_len = 0;
            self.append(&layout, &sample[..size])?;
        }
        let whole = bytes.len() / size * size;
        self.append(&layout, &bytes[..whole])?;
        let rest = &bytes[whole..];
        self.carry[..rest.len()].copy_from_slice(rest);
        self.carry_len = rest.len();
        self.note_held();
        Ok(())
    }

    /// Decodes whole samples into the current item, emitting every item that fills up.
    fn append(&mut self, layout: &WavLayout, mut bytes: &[u8]) -> Result<(), WavError> {
        let size = layout.encoding.bytes();
        while !bytes.is_empty() {
            if self.current.is_empty() {
                // Bytes left in the chunk include the ones being decoded (the stage is updated after).
                let left_in_chunk = match self.stage {
                    Stage::Data { left: Some(l), .. } => l / size as u64 + 1,
                    _ => u64::MAX,
                };
                let reserve = self
                    .item_samples
                    .min(MAX_PREALLOC_SAMPLES)
                    .min(left_in_chunk);
                reserve_samples(&mut self.current, reserve as usize);
            }
            let room = self.item_samples - self.current.len() as u64;
            let n = room.min((bytes.len() / size) as u64) as usize;
            decode_into(&mut self.current, layout.encoding, &bytes[..n * size]);
            bytes = &bytes[n * size..];
            if self.current.len() as u64 == self.item_samples {
                self.emit(layout)?;
            }
        }
        Ok(())
    }

    /// Moves the current item (whole frames only) to the ready queue.
    fn emit(&mut self, layout: &WavLayout) -> Result<(), WavError> {
        if self.current.is_empty() {
            return Ok(());
        }
        let samples =
            std::mem::replace(&mut self.current, Samples::empty(layout.encoding.output()));
        if let Samples::F32(v) = &samples {
            if let Some(i) = v.iter().position(|s| !s.is_finite()) {
                let channels = layout.channels as u64;
                return Err(WavError::BadData(format!(
                    "frame {} channel {} is {} (float samples must be finite)",
                    self.frames_emitted + i as u64 / channels,
                    i as u64 % channels,
                    v[i]
                )));
            }
        }
        let buffer = AudioBuffer::new(samples, layout.sample_rate, layout.channels as u32)
            .map_err(|e| WavError::BadData(e.to_string()))?;
        let rate = layout.sample_rate as u128;
        let micros = (self.frames_emitted as u128 * 1_000_000 + rate / 2) / rate;
        self.frames_emitted += buffer.num_frames() as u64;
        self.ready_bytes += buffer.samples.as_bytes().len() as u64;
        let mut item = RuntimeData::audio(buffer);
        item.attributes.timestamp_us = Some(i64::try_from(micros).unwrap_or(i64::MAX));
        self.ready.push_back(item);
        self.note_held();
        Ok(())
    }

    /// The data chunk ended (its declared size was reached, or the input of streamed data ended).
    fn end_of_data(&mut self) -> Result<(), WavError> {
        self.stage = Stage::Complete;
        let layout = self.layout.expect("data is only read after the fmt chunk");
        let frame_bytes = layout.frame_bytes();
        let left_over = self.data_bytes % frame_bytes as u64;
        if left_over != 0 {
            return Err(WavError::PartialFrame {
                bytes: self.data_bytes,
                frame_bytes,
                layout: layout.describe(),
                left_over,
            });
        }
        self.emit(&layout)
    }

    fn end_of_input(&mut self) -> Result<(), WavError> {
        let offset = self.offset;
        let truncated = |detail: String| Err(WavError::TruncatedHeader { offset, detail });
        let got = self.head.len();
        match self.stage {
            Stage::Riff => {
                if !b"RIFF".starts_with(&self.head[..got.min(4)]) {
                    return Err(WavError::NotWav(
                        "it does not start with RIFF....WAVE".into(),
                    ));
                }
                truncated(format!(
                    "the RIFF header needs {RIFF_HEADER} bytes, got {got}"
                ))
            }
            Stage::ChunkHeader if got == 0 => truncated("no data chunk yet".into()),
            Stage::ChunkHeader => truncated(format!(
                "a chunk header needs {CHUNK_HEADER} bytes, got {got}"
            )),
            Stage::Fmt { size } => truncated(format!(
                "the fmt chunk declares {size} bytes, got {}",
                got.min(size as usize)
            )),
            Stage::Skip { id, declared, left } => {
                let padded = declared as u64 + (declared & 1) as u64;
                truncated(format!(
                    "chunk {:?} declares {declared} bytes, got {}",
                    String::from_utf8_lossy(&id),
                    (padded - left).min(declared as u64)
                ))
            }
            Stage::Data { left: None, .. } => self.end_of_data(),
            Stage::Data {
                declared,
                left: Some(left),
            } => Err(WavError::TruncatedData {
                declared: declared as u64,
                got: declared as u64 - left,
            }),
            Stage::Complete => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
