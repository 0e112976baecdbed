//! `WavReader` / `WavWriter`: WAV files in and out.
//!
//! The reader feeds the file in chunks to [`crate::wav::WavParser`], the same incremental parser that
//! `wavFrames` uses from TypeScript, so both accept and reject the same files with the same messages.
//! The writer uses hound (writing a WAV is simple and hound's writer finalizes sizes correctly); hound's
//! reader is not used because it is not incremental.

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params, PortSchema};
use super::{expect_audio, schema_ports, single_input, Node, NodeError, NodeType, Outputs};
use crate::data::{DataType, Payload, RuntimeData, SampleFormat, Samples};
use crate::nodes::formats::{same_when, AudioAccepts, AudioOut, AudioSpec};
use crate::wav::WavParser;
use serde::Deserialize;
use serde_json::json;
use std::fs::File;
use std::io::Read;
use std::sync::Arc;

/// Registration of the reader.
pub const READER: NodeType = NodeType {
    schema: reader_schema,
    ports: reader_ports,
    build: |p: &Params| {
        Ok(Box::new(WavReader {
            params: p.parse()?,
            open: None,
        }))
    },
};

/// Registration of the writer.
pub const WRITER: NodeType = NodeType {
    schema: writer_schema,
    ports: schema_ports,
    build: |p: &Params| {
        Ok(Box::new(WavWriter {
            params: p.parse()?,
            state: None,
        }))
    },
};

/// A reader with a `path` emits its file's format (read from the header at validation; unknown when the
/// file cannot be read yet: opening it fails the session with the reason); without one, a format that
/// depends on the files it is given.
fn reader_format(p: &Params, _: Option<&AudioSpec>) -> Result<Option<AudioSpec>, String> {
    let path = p.0.get("path").and_then(|v| v.as_str()).unwrap_or_default();
    if path.is_empty() {
        return Ok(Some(AudioSpec::default()));
    }
    Ok(Some(file_format(path).unwrap_or_default()))
}

/// The format of a WAV file's audio, from its header (at most 1 MiB is read to find it).
fn file_format(path: &str) -> Option<AudioSpec> {
    let mut file = File::open(path).ok()?;
    let mut parser = WavParser::new(0.0).ok()?;
    let mut buffer = [0u8; 4096];
    let mut read = 0;
    while parser.layout().is_none() && read < (1 << 20) {
        let n = file.read(&mut buffer).ok()?;
        if n == 0 {
            return None;
        }
        read += n;
        parser.push(&buffer[..n]).ok()?;
    }
    let layout = parser.layout()?;
    Some(AudioSpec::new(
        layout.sample_rate,
        u32::from(layout.channels),
        layout.encoding.output(),
    ))
}

fn reader_schema() -> NodeSchema {
    NodeSchema {
        type_name: "WavReader".into(),
        description: "Reads a WAV file (8/16/24/32-bit PCM or 32-bit float) and emits its audio in frames of `chunkMs` (0 = one item), streaming with backpressure. With `path` it is a source: it starts when the session starts and takes no input. Without, each text input is the path of a file to read.",
        params: vec![
            ParamSchema::optional("path", ParamKind::String, "", "File to read when the session starts (the node then takes no input); when empty, each input text is a path."),
            ParamSchema::optional("chunkMs", ParamKind::Number { min: 0.0, max: 3_600_000.0 }, 20.0, "Frame duration of emitted items (0 = whole file in one item)."),
        ],
        inputs: single_input(&[DataType::Text]),
        outputs: vec![DataType::Audio],
        events: &[],
        joins_inputs: false,
        heavy: true,
        audio_in: AudioAccepts::ANY,
        audio_out: AudioOut::Derived(reader_format),
    }
}

fn writer_schema() -> NodeSchema {
    NodeSchema {
        type_name: "WavWriter".into(),
        description: "Writes incoming audio to a WAV file in its sample format (f32 → 32-bit float, i16 → 16-bit, i32 → 32-bit PCM); at end of stream emits {type:\"wav_written\", path, frames, sampleRate, channels, durationSeconds}.",
        params: vec![
            ParamSchema::required("path", ParamKind::String, "File to create (overwritten)."),
            ParamSchema::optional("passThrough", ParamKind::Boolean, false, "Also emit every audio item downstream."),
        ],
        inputs: single_input(&[DataType::Audio]),
        outputs: vec![DataType::Json, DataType::Audio],
        events: &[],
        joins_inputs: false,
        heavy: true,
        audio_in: AudioAccepts::one_format(),
        audio_out: AudioOut::Derived(|p, input| same_when("passThrough", p, input)),
    }
}

/// A reader with a `path` is a source (no input port); without, it takes paths as text.
fn reader_ports(schema: &NodeSchema, params: &Params) -> Vec<PortSchema> {
    match params.0.get("path").and_then(|p| p.as_str()) {
        Some(path) if !path.is_empty() => Vec::new(),
        _ => schema_ports(schema, params),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReaderParams {
    path: String,
    chunk_ms: f64,
}

/// Bytes read from the file per parser push.
const READ_CHUNK: usize = 64 * 1024;

struct OpenFile {
    file: File,
    parser: WavParser,
    buffer: Vec<u8>,
    /// The end of the file was reached (or the parser needs no more input) and `finish` was called.
    finished: bool,
    path: String,
}

struct WavReader {
    params: ReaderParams,
    open: Option<OpenFile>,
}

/// Items emitted per resume: bounded so downstream backpressure is felt between batches.
const BATCH: usize = 16;

fn io_error(path: &str, e: impl std::fmt::Display) -> NodeError {
    NodeError::Io(format!("{path}: {e}"))
}

impl OpenFile {
    /// The next item, reading more of the file as needed; `None` at the end.
    fn next_item(&mut self) -> Result<Option<RuntimeData>, NodeError> {
        loop {
            if let Some(item) = self.parser.take() {
                return Ok(Some(item));
            }
            let result = if self.finished {
                // Reports an error that waited for the items made before it to be taken.
                return match self.parser.finish() {
                    Ok(0) => Ok(None),
                    Ok(_) => continue,
                    Err(e) => Err(io_error(&self.path, e)),
                };
            } else if self.parser.is_complete() {
                self.finished = true;
                self.parser.finish()
            } else {
                let n = match self.file.read(&mut self.buffer) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(io_error(&self.path, e)),
                };
                if n == 0 {
                    self.finished = true;
                    self.parser.finish()
                } else {
                    self.parser.push(&self.buffer[..n])
                }
            };
            result.map_err(|e| io_error(&self.path, e))?;
        }
    }
}

impl WavReader {
    /// Opens `path` and starts reading it (resumed batch by batch while downstream has room).
    fn open(&mut self, path: String) -> Result<(), NodeError> {
        let file = File::open(&path).map_err(|e| io_error(&path, e))?;
        let parser = WavParser::new(self.params.chunk_ms).map_err(|e| io_error(&path, e))?;
        self.open = Some(OpenFile {
            file,
            parser,
            buffer: vec![0; READ_CHUNK],
            finished: false,
            path,
        });
        Ok(())
    }
}

impl Node for WavReader {
    fn initialize(&mut self) -> Result<(), NodeError> {
        // A source: the file opens now (a missing file fails the session's creation) and is read as
        // soon as the graph runs.
        if !self.params.path.is_empty() {
            self.open(self.params.path.clone())?;
        }
        Ok(())
    }

    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        let path = match &input.payload {
            Payload::Text(p) => p.clone(),
            other => {
                return Err(NodeError::WrongInput {
                    expected: "text (the path of a WAV file)",
                    actual: other.data_type(),
                })
            }
        };
        self.open(path)?;
        self.resume(out)
    }

    fn pending(&self) -> bool {
        self.open.is_some()
    }

    fn resume(&mut self, out: &mut Outputs) -> Result<(), NodeError> {
        let Some(file) = self.open.as_mut() else {
            return Ok(());
        };
        for _ in 0..BATCH {
            match file.next_item() {
                Ok(Some(item)) => out.push(Arc::new(item)),
                Ok(None) => {
                    self.open = None;
                    break;
                }
                Err(e) => {
                    self.open = None;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.open = None;
    }

    fn cleanup(&mut self) {
        self.open = None;
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WriterParams {
    path: String,
    pass_through: bool,
}

struct WriterState {
    writer: hound::WavWriter<std::io::BufWriter<File>>,
    format: SampleFormat,
    rate: u32,
    channels: u16,
    frames: u64,
}

struct WavWriter {
    params: WriterParams,
    state: Option<WriterState>,
}

impl Node for WavWriter {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        let audio = expect_audio(&input)?;
        let path = self.params.path.clone();
        if self.state.is_none() {
            let (bits, sample_format) = match audio.samples.format() {
                SampleFormat::F32 => (32, hound::SampleFormat::Float),
                SampleFormat::I16 => (16, hound::SampleFormat::Int),
                SampleFormat::I32 => (32, hound::SampleFormat::Int),
            };
            let spec = hound::WavSpec {
                channels: audio.channels,
                sample_rate: audio.sample_rate,
                bits_per_sample: bits,
                sample_format,
            };
            let writer = hound::WavWriter::create(&path, spec).map_err(|e| io_error(&path, e))?;
            self.state = Some(WriterState {
                writer,
                format: audio.samples.format(),
                rate: audio.sample_rate,
                channels: audio.channels,
                frames: 0,
            });
        }
        let state = self.state.as_mut().expect("created above");
        if state.format != audio.samples.format()
            || state.rate != audio.sample_rate
            || state.channels != audio.channels
        {
            return Err(NodeError::BadInput(format!(
                "audio layout changed mid-stream: the file is {} Hz {} ch {}, got {} Hz {} ch {}",
                state.rate,
                state.channels,
                state.format.name(),
                audio.sample_rate,
                audio.channels,
                audio.samples.format().name()
            )));
        }
        let result = match &audio.samples {
            Samples::F32(v) => v.iter().try_for_each(|&s| state.writer.write_sample(s)),
            Samples::I16(v) => v.iter().try_for_each(|&s| state.writer.write_sample(s)),
            Samples::I32(v) => v.iter().try_for_each(|&s| state.writer.write_sample(s)),
        };
        result.map_err(|e| io_error(&path, e))?;
        state.frames += audio.num_frames() as u64;
        if self.params.pass_through {
            out.push(input);
        }
        Ok(())
    }

    fn flush(&mut self, out: &mut Outputs) -> Result<(), NodeError> {
        if let Some(state) = self.state.take() {
            let WriterState {
                writer,
                rate,
                channels,
                frames,
                ..
            } = state;
            writer
                .finalize()
                .map_err(|e| io_error(&self.params.path, e))?;
            out.push(Arc::new(RuntimeData::json(json!({
                "type": "wav_written",
                "path": self.params.path,
                "frames": frames,
                "sampleRate": rate,
                "channels": channels,
                "durationSeconds": frames as f64 / rate as f64,
            }))));
        }
        Ok(())
    }

    fn cleanup(&mut self) {
        // On error or abort the file is still closed with a valid header.
        if let Some(state) = self.state.take() {
            let _ = state.writer.finalize();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::data::RuntimeData;
    use crate::nodes::testing::*;
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn write_then_read_round_trips_i16_stereo() {
        let dir = std::env::temp_dir().join(format!("rm-wav-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.wav").to_string_lossy().to_string();
        let input: Vec<f32> = (0..3200)
            .map(|i| ((i % 100) as f32 / 100.0) - 0.5)
            .collect();
        let to_i16 = run(
            build("AudioFormat", json!({"format": "i16"})).as_mut(),
            vec![audio(input.clone(), 16000, 2)],
        );
        let written = run(
            build("WavWriter", json!({"path": path})).as_mut(),
            to_i16.clone(),
        );
        assert_eq!(written.len(), 1);
        let summary = written[0].as_json().unwrap();
        assert_eq!(summary["frames"], json!(1600));
        let read = run(
            build("WavReader", json!({"chunkMs": 20})).as_mut(),
            vec![Arc::new(RuntimeData::text(path.clone()))],
        );
        assert_eq!(read.len(), 5, "100 ms in 20 ms frames");
        let a = crate::nodes::expect_audio(&read[1]).unwrap();
        assert_eq!((a.sample_rate, a.channels, a.num_frames()), (16000, 2, 320));
        assert_eq!(read[1].attributes.timestamp_us, Some(20_000));
        let all: Vec<f32> = read.iter().flat_map(|d| samples_f32(d)).collect();
        assert_eq!(all, samples_f32(&to_i16[0]));
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A minimal WAV: 16-byte fmt, then data.
    fn wav_bytes(code: u16, bits: u16, channels: u16, rate: u32, data: &[u8]) -> Vec<u8> {
        let block = channels * bits / 8;
        let mut b = b"RIFF".to_vec();
        b.extend((36 + data.len() as u32).to_le_bytes());
        b.extend(b"WAVEfmt ");
        b.extend(16u32.to_le_bytes());
        for v in [code, channels] {
            b.extend(v.to_le_bytes());
        }
        b.extend(rate.to_le_bytes());
        b.extend((rate * block as u32).to_le_bytes());
        b.extend(block.to_le_bytes());
        b.extend(bits.to_le_bytes());
        b.extend(b"data");
        b.extend((data.len() as u32).to_le_bytes());
        b.extend(data);
        b
    }

    /// Runs a WavReader on a file with these bytes: the outputs before the end, and the error if any.
    fn read_file(
        name: &str,
        bytes: &[u8],
        chunk_ms: f64,
    ) -> (Vec<Arc<RuntimeData>>, Option<String>) {
        let dir = std::env::temp_dir().join(format!("rm-wavr-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("in.wav");
        std::fs::write(&path, bytes).unwrap();
        let mut node = build("WavReader", json!({"chunkMs": chunk_ms}));
        let mut out = Outputs::default();
        let input = Arc::new(RuntimeData::text(path.to_string_lossy().to_string()));
        let mut result = node.process(0, input, &mut out);
        while result.is_ok() && node.pending() {
            result = node.resume(&mut out);
        }
        std::fs::remove_dir_all(dir).unwrap();
        (out.into_items(), result.err().map(|e| e.to_string()))
    }

    #[test]
    fn reader_decodes_8_and_24_bit_files_with_the_shared_parser() {
        let (out, err) = read_file("u8", &wav_bytes(1, 8, 1, 8000, &[0, 128, 255]), 20.0);
        assert_eq!(err, None);
        let a = crate::nodes::expect_audio(&out[0]).unwrap();
        assert_eq!(a.samples, crate::data::Samples::I16(vec![-32768, 0, 32512]));

        let frames = 48_000 / 50 * 3 + 7;
        let data: Vec<u8> = (0..frames * 3).map(|i| (i % 251) as u8).collect();
        let (out, err) = read_file("i24", &wav_bytes(1, 24, 1, 48000, &data), 20.0);
        assert_eq!(err, None);
        let sizes: Vec<usize> = out
            .iter()
            .map(|d| crate::nodes::expect_audio(d).unwrap().num_frames())
            .collect();
        assert_eq!(sizes, [960, 960, 960, 7]);
        let first = crate::nodes::expect_audio(&out[0]).unwrap();
        assert_eq!(
            first.samples,
            crate::data::Samples::I32(
                data[..960 * 3]
                    .chunks_exact(3)
                    .map(|c| i32::from_le_bytes([0, c[0], c[1], c[2]]))
                    .collect()
            )
        );
    }

    #[test]
    fn reader_errors_are_the_parsers_after_the_frames_before_them() {
        let file = wav_bytes(1, 16, 1, 8000, &[0; 1000]);
        let (out, err) = read_file("cut", &file[..44 + 700], 20.0);
        assert_eq!(
            out.len(),
            2,
            "two whole 20 ms frames (320 bytes each) before the cut"
        );
        let err = err.unwrap();
        assert!(
            err.ends_with(
                ".wav: WAV data chunk declares 1000 bytes, the stream ended after 700 of them"
            ),
            "{err}"
        );
        let (out, err) = read_file("ulaw", &wav_bytes(7, 8, 1, 8000, &[0; 10]), 20.0);
        assert!(out.is_empty());
        assert!(err.unwrap().ends_with(".wav: unsupported WAV encoding: format 7 (mu-law), 8-bit (supported: PCM 8/16/24/32-bit, IEEE float 32-bit)"));
    }

    #[test]
    fn missing_file_names_the_path() {
        let mut node = build("WavReader", json!({"path": "/nonexistent/x.wav"}));
        let err = node.initialize().unwrap_err();
        assert!(err.to_string().starts_with("/nonexistent/x.wav: "), "{err}");
        let mut node = build("WavReader", json!({}));
        let mut out = Outputs::default();
        let err = node
            .process(
                0,
                Arc::new(RuntimeData::text("/nonexistent/y.wav")),
                &mut out,
            )
            .unwrap_err();
        assert!(err.to_string().starts_with("/nonexistent/y.wav: "), "{err}");
    }

    #[test]
    fn a_reader_with_a_path_is_a_source_that_starts_by_itself() {
        let dir = std::env::temp_dir().join(format!("rm-wavs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("in.wav").to_string_lossy().to_string();
        std::fs::write(&path, wav_bytes(1, 16, 1, 8000, &[0; 1600])).unwrap();
        let t = crate::nodes::find("WavReader").unwrap();
        let params = |v| crate::nodes::schema::validate_params(&(t.schema)(), Some(&v)).unwrap();
        assert!((t.ports)(&(t.schema)(), &params(json!({"path": path}))).is_empty());
        assert_eq!((t.ports)(&(t.schema)(), &params(json!({}))).len(), 1);
        let mut node = build("WavReader", json!({"path": path}));
        node.initialize().unwrap();
        let mut out = Outputs::default();
        while node.pending() {
            node.resume(&mut out).unwrap();
        }
        assert_eq!(out.len(), 5, "100 ms in 20 ms frames, with no input");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
