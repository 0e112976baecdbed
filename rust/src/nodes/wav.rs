//! `WavReader` / `WavWriter`: WAV files in and out (hound).

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params};
use super::{expect_audio, schema_ports, single_input, Node, NodeError, NodeType, Outputs};
use crate::data::{AudioBuffer, DataType, RuntimeData, SampleFormat, Samples};
use serde::Deserialize;
use serde_json::json;
use std::fs::File;
use std::io::BufReader;
use std::sync::Arc;

/// Registration of the reader.
pub const READER: NodeType = NodeType {
    schema: reader_schema,
    ports: schema_ports,
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

fn reader_schema() -> NodeSchema {
    NodeSchema {
        type_name: "WavReader",
        description: "Reads a WAV file (16/24/32-bit PCM or 32-bit float) when an item arrives: the item's text is the path, or `path` for any other item. Emits audio in frames of `chunkMs` (0 = one item), streaming with backpressure.",
        params: vec![
            ParamSchema::optional("path", ParamKind::String, "", "File to read; when empty, the input text is the path."),
            ParamSchema::optional("chunkMs", ParamKind::Number { min: 0.0, max: 3_600_000.0 }, 20.0, "Frame duration of emitted items (0 = whole file in one item)."),
        ],
        inputs: single_input(&[DataType::Text, DataType::Json, DataType::Binary, DataType::Audio]),
        outputs: vec![DataType::Audio],
        joins_inputs: false,
        heavy: true,
    }
}

fn writer_schema() -> NodeSchema {
    NodeSchema {
        type_name: "WavWriter",
        description: "Writes incoming audio to a WAV file in its sample format (f32 → 32-bit float, i16 → 16-bit, i32 → 32-bit PCM); at end of stream emits {type:\"wav_written\", path, frames, sampleRate, channels, durationSeconds}.",
        params: vec![
            ParamSchema::required("path", ParamKind::String, "File to create (overwritten)."),
            ParamSchema::optional("passThrough", ParamKind::Boolean, false, "Also emit every audio item downstream."),
        ],
        inputs: single_input(&[DataType::Audio]),
        outputs: vec![DataType::Json, DataType::Audio],
        joins_inputs: false,
        heavy: true,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReaderParams {
    path: String,
    chunk_ms: f64,
}

/// Where samples come from: 16-bit and 32-bit float PCM are read as raw little-endian bytes in bulk
/// (hound's per-sample iterator costs ~9 ns a sample); other layouts go through hound.
enum Source {
    Hound(hound::WavReader<BufReader<File>>),
    Raw {
        reader: BufReader<File>,
        remaining: u64,
    },
}

struct OpenFile {
    source: Source,
    format: SampleFormat,
    shift: u32,
    rate: u32,
    channels: u16,
    chunk_frames: usize,
    frames_read: u64,
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
    fn read_chunk(&mut self) -> Result<Option<AudioBuffer>, NodeError> {
        let n = self.chunk_frames * self.channels as usize;
        let path = self.path.clone();
        let samples = match &mut self.source {
            Source::Raw { reader, remaining } => {
                use std::io::Read;
                let take = (n as u64).min(*remaining) as usize;
                let mut bytes = vec![0u8; take * self.format.size()];
                reader
                    .read_exact(&mut bytes)
                    .map_err(|e| io_error(&path, format!("truncated data: {e}")))?;
                *remaining -= take as u64;
                Samples::from_le_bytes(self.format, &bytes)?
            }
            Source::Hound(reader) => match self.format {
                SampleFormat::F32 => Samples::F32(
                    reader
                        .samples::<f32>()
                        .take(n)
                        .collect::<Result<_, _>>()
                        .map_err(|e| io_error(&path, e))?,
                ),
                SampleFormat::I16 => Samples::I16(
                    reader
                        .samples::<i16>()
                        .take(n)
                        .collect::<Result<_, _>>()
                        .map_err(|e| io_error(&path, e))?,
                ),
                SampleFormat::I32 => {
                    let shift = self.shift;
                    Samples::I32(
                        reader
                            .samples::<i32>()
                            .take(n)
                            .map(|s| s.map(|v| v << shift))
                            .collect::<Result<_, _>>()
                            .map_err(|e| io_error(&path, e))?,
                    )
                }
            },
        };
        if samples.is_empty() {
            return Ok(None);
        }
        if samples.len() % self.channels as usize != 0 {
            return Err(io_error(&path, "truncated: the last frame is incomplete"));
        }
        let mut buffer = AudioBuffer::new(samples, self.rate, self.channels as u32)?;
        buffer.attributes.timestamp_us =
            Some((self.frames_read as i64 * 1_000_000) / self.rate as i64);
        self.frames_read += buffer.num_frames() as u64;
        Ok(Some(buffer))
    }
}

impl Node for WavReader {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        let path = match (&*input, self.params.path.is_empty()) {
            (RuntimeData::Text(p, _), true) => p.clone(),
            (_, false) => self.params.path.clone(),
            (other, true) => {
                return Err(NodeError::WrongInput {
                    expected: "text (the path, since `path` is not set)",
                    actual: other.data_type(),
                })
            }
        };
        let reader = hound::WavReader::open(&path).map_err(|e| io_error(&path, e))?;
        let spec = reader.spec();
        let (format, shift) = match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Float, 32) => (SampleFormat::F32, 0),
            (hound::SampleFormat::Int, 16) => (SampleFormat::I16, 0),
            (hound::SampleFormat::Int, bits @ (8 | 24 | 32)) => {
                (SampleFormat::I32, 32 - bits as u32)
            }
            (f, bits) => {
                return Err(io_error(
                    &path,
                    format!("unsupported WAV sample format {f:?} {bits}-bit"),
                ))
            }
        };
        let total = reader.duration() as usize;
        let chunk_frames = if self.params.chunk_ms <= 0.0 {
            total.max(1)
        } else {
            ((self.params.chunk_ms / 1000.0) * spec.sample_rate as f64)
                .round()
                .max(1.0) as usize
        };
        let len = reader.len() as u64;
        let source = match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Int, 16) | (hound::SampleFormat::Float, 32) => Source::Raw {
                reader: reader.into_inner(),
                remaining: len,
            },
            _ => Source::Hound(reader),
        };
        self.open = Some(OpenFile {
            source,
            format,
            shift,
            rate: spec.sample_rate,
            channels: spec.channels,
            chunk_frames,
            frames_read: 0,
            path,
        });
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
            match file.read_chunk() {
                Ok(Some(buffer)) => out.push(Arc::new(RuntimeData::Audio(buffer))),
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
        let RuntimeData::Json(summary, ..) = &*written[0] else {
            panic!()
        };
        assert_eq!(summary["frames"], json!(1600));
        let read = run(
            build("WavReader", json!({"chunkMs": 20})).as_mut(),
            vec![Arc::new(RuntimeData::text(path.clone()))],
        );
        assert_eq!(read.len(), 5, "100 ms in 20 ms frames");
        let a = crate::nodes::expect_audio(&read[1]).unwrap();
        assert_eq!((a.sample_rate, a.channels, a.num_frames()), (16000, 2, 320));
        assert_eq!(a.attributes.timestamp_us, Some(20_000));
        let all: Vec<f32> = read.iter().flat_map(|d| samples_f32(d)).collect();
        assert_eq!(all, samples_f32(&to_i16[0]));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_file_names_the_path() {
        let mut node = build("WavReader", json!({"path": "/nonexistent/x.wav"}));
        let mut out = vec![];
        let err = node
            .process(0, Arc::new(RuntimeData::json(json!(null))), &mut out)
            .unwrap_err();
        assert!(err.to_string().starts_with("/nonexistent/x.wav: "), "{err}");
    }
}
