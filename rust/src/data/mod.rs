//! RuntimeData: the typed values that flow between pipeline nodes.
//!
//! Everything here is safe Rust. Payloads (audio samples, pixel bytes, binary, tensor data) are stored in
//! contiguous vectors so the ABI layer can expose them to JavaScript as typed arrays without copying.

pub mod alloc;
mod audio;
mod error;

pub use alloc::MAX_PAYLOAD_BYTES;
pub use audio::{AudioBuffer, SampleFormat, Samples};
pub use error::DataError;

use serde_json::Value;
use std::sync::OnceLock;

/// Discriminant of a [`RuntimeData`] value, with stable numeric codes used by the C ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum DataType {
    /// UTF-8 text.
    Text = 0,
    /// PCM audio, interleaved.
    Audio = 1,
    /// One raw video frame.
    Video = 2,
    /// A JSON value.
    Json = 3,
    /// Opaque bytes.
    Binary = 4,
    /// An n-dimensional array.
    Tensor = 5,
}

impl DataType {
    /// Every data type, in code order.
    pub const fn all() -> [DataType; 6] {
        [
            DataType::Text,
            DataType::Audio,
            DataType::Video,
            DataType::Json,
            DataType::Binary,
            DataType::Tensor,
        ]
    }

    /// Lower-case name as used in manifests, schemas and error messages.
    pub fn name(self) -> &'static str {
        match self {
            DataType::Text => "text",
            DataType::Audio => "audio",
            DataType::Video => "video",
            DataType::Json => "json",
            DataType::Binary => "binary",
            DataType::Tensor => "tensor",
        }
    }

    /// Parses a lower-case name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "text" => DataType::Text,
            "audio" => DataType::Audio,
            "video" => DataType::Video,
            "json" => DataType::Json,
            "binary" => DataType::Binary,
            "tensor" => DataType::Tensor,
            _ => return None,
        })
    }
}

impl std::fmt::Display for DataType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Optional attributes of every value, whatever its type: presentation timestamp, stream id, free-form
/// metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributes {
    /// Presentation timestamp in microseconds.
    pub timestamp_us: Option<i64>,
    /// Stream the item belongs to (e.g. a participant or track).
    pub stream_id: Option<String>,
    /// Free-form JSON metadata.
    pub metadata: Option<Value>,
}

impl Attributes {
    /// True when no attribute is set.
    pub fn is_empty(&self) -> bool {
        self.timestamp_us.is_none() && self.stream_id.is_none() && self.metadata.is_none()
    }

    /// Parses `{"timestampUs"?: int, "streamId"?: string, "metadata"?: any}`; unknown keys are errors.
    pub fn from_json(text: &str) -> Result<Self, DataError> {
        let value: Value = serde_json::from_str(text).map_err(|e| DataError::InvalidJson {
            what: "attributes",
            reason: e.to_string(),
        })?;
        let Value::Object(map) = value else {
            return Err(DataError::InvalidAttributes(format!(
                "expected a JSON object, got {}",
                json_kind(&value)
            )));
        };
        let mut attrs = Attributes::default();
        for (key, value) in map {
            match key.as_str() {
                "timestampUs" => {
                    attrs.timestamp_us = Some(value.as_i64().ok_or_else(|| {
                        DataError::InvalidAttributes(format!(
                            "timestampUs: expected an integer number of microseconds, got {value}"
                        ))
                    })?)
                }
                "streamId" => match value {
                    Value::String(s) => attrs.stream_id = Some(s),
                    other => {
                        return Err(DataError::InvalidAttributes(format!(
                            "streamId: expected a string, got {}",
                            json_kind(&other)
                        )))
                    }
                },
                "metadata" => attrs.metadata = Some(value),
                other => {
                    return Err(DataError::InvalidAttributes(format!(
                        "unknown key \"{other}\" (expected timestampUs, streamId or metadata)"
                    )))
                }
            }
        }
        Ok(attrs)
    }

    /// Serialises to the same shape [`Attributes::from_json`] reads.
    pub fn to_json(&self) -> String {
        let mut map = serde_json::Map::new();
        if let Some(ts) = self.timestamp_us {
            map.insert("timestampUs".into(), ts.into());
        }
        if let Some(id) = &self.stream_id {
            map.insert("streamId".into(), id.clone().into());
        }
        if let Some(meta) = &self.metadata {
            map.insert("metadata".into(), meta.clone());
        }
        Value::Object(map).to_string()
    }
}

/// Pixel layout of a raw video frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum PixelFormat {
    /// 4 bytes per pixel.
    Rgba = 0,
    /// 3 bytes per pixel.
    Rgb24 = 1,
    /// Planar YUV 4:2:0 (Y plane, then U and V at half resolution).
    I420 = 2,
}

impl PixelFormat {
    /// From the ABI code.
    pub fn from_code(code: i32) -> Result<Self, DataError> {
        Ok(match code {
            0 => PixelFormat::Rgba,
            1 => PixelFormat::Rgb24,
            2 => PixelFormat::I420,
            other => {
                return Err(DataError::InvalidArgument(format!(
                    "pixel format code {other} (expected 0 = rgba, 1 = rgb24, 2 = i420)"
                )))
            }
        })
    }

    /// Bytes a frame of this size must have; `None` when that overflows 64 bits (u32 dimensions can).
    pub fn frame_len(self, width: u32, height: u32) -> Option<u64> {
        let (w, h) = (width as u64, height as u64);
        match self {
            PixelFormat::Rgba => alloc::product(&[w, h, 4]),
            PixelFormat::Rgb24 => alloc::product(&[w, h, 3]),
            // A full-size Y plane, then U and V at half resolution (rounded up).
            PixelFormat::I420 => {
                let chroma = alloc::product(&[2, w.div_ceil(2), h.div_ceil(2)])?;
                w.checked_mul(h)?.checked_add(chroma)
            }
        }
    }

    /// Name used in errors and in TypeScript.
    pub fn name(self) -> &'static str {
        match self {
            PixelFormat::Rgba => "rgba",
            PixelFormat::Rgb24 => "rgb24",
            PixelFormat::I420 => "i420",
        }
    }
}

/// One raw video frame (no codecs).
#[derive(Debug, Clone, PartialEq)]
pub struct VideoFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixel layout.
    pub format: PixelFormat,
    /// `format.frame_len(width, height)` bytes.
    pub pixels: Vec<u8>,
}

impl VideoFrame {
    /// Validates the dimensions against the byte count.
    pub fn new(
        width: u32,
        height: u32,
        format: PixelFormat,
        pixels: Vec<u8>,
    ) -> Result<Self, DataError> {
        Self::check(width, height, format, pixels.len())?;
        Ok(VideoFrame {
            width,
            height,
            format,
            pixels,
        })
    }

    /// Validates the dimensions against the byte count, then copies the pixels.
    pub fn from_slice(
        width: u32,
        height: u32,
        format: PixelFormat,
        pixels: &[u8],
    ) -> Result<Self, DataError> {
        Self::check(width, height, format, pixels.len())?;
        let pixels = alloc::try_copy(pixels, "video pixels")?;
        Ok(VideoFrame {
            width,
            height,
            format,
            pixels,
        })
    }

    /// Dimensions of at least 1, a frame size within the payload cap, and exactly `len` bytes.
    fn check(width: u32, height: u32, format: PixelFormat, len: usize) -> Result<(), DataError> {
        if width == 0 || height == 0 {
            return Err(DataError::InvalidArgument(format!(
                "video frame size {width}x{height}: width and height must be at least 1"
            )));
        }
        let expected = alloc::check_payload(
            || format!("{} video frame {width}x{height}", format.name()),
            format.frame_len(width, height),
        )?;
        if len != expected {
            return Err(DataError::ShapeMismatch(format!(
                "{} frame {width}x{height} needs {expected} bytes, got {len}",
                format.name(),
            )));
        }
        Ok(())
    }
}

/// Element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum TensorDtype {
    /// 32-bit float.
    F32 = 0,
    /// 32-bit signed integer.
    I32 = 1,
    /// 8-bit unsigned integer.
    U8 = 2,
}

impl TensorDtype {
    /// From the ABI code.
    pub fn from_code(code: i32) -> Result<Self, DataError> {
        Ok(match code {
            0 => TensorDtype::F32,
            1 => TensorDtype::I32,
            2 => TensorDtype::U8,
            other => {
                return Err(DataError::InvalidArgument(format!(
                    "tensor dtype code {other} (expected 0 = f32, 1 = i32, 2 = u8)"
                )))
            }
        })
    }

    /// Name used in errors and in TypeScript.
    pub fn name(self) -> &'static str {
        match self {
            TensorDtype::F32 => "f32",
            TensorDtype::I32 => "i32",
            TensorDtype::U8 => "u8",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            TensorDtype::F32 | TensorDtype::I32 => 4,
            TensorDtype::U8 => 1,
        }
    }
}

/// Tensor elements, typed so that views over them are aligned for their element type.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    /// 32-bit floats.
    F32(Vec<f32>),
    /// 32-bit signed integers.
    I32(Vec<i32>),
    /// Bytes.
    U8(Vec<u8>),
}

/// An n-dimensional array.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Elements in row-major order.
    pub data: TensorData,
}

impl Tensor {
    /// Validates that `bytes` holds exactly `product(shape)` elements of `dtype` (native byte order),
    /// within the payload cap, and copies them.
    pub fn from_bytes(
        shape: Vec<usize>,
        dtype: TensorDtype,
        bytes: &[u8],
    ) -> Result<Self, DataError> {
        // A zero dimension makes the product 0 whatever the others are (and however large).
        let elements = if shape.contains(&0) {
            Some(0)
        } else {
            shape
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(u64::try_from(d).ok()?))
        };
        let expected = alloc::check_payload(
            || format!("tensor shape {shape:?} of {}", dtype.name()),
            elements.and_then(|n| n.checked_mul(dtype.size() as u64)),
        )?;
        if bytes.len() != expected {
            return Err(DataError::ShapeMismatch(format!(
                "tensor shape {shape:?} of {} needs {expected} bytes ({} elements), got {}",
                dtype.name(),
                expected / dtype.size(),
                bytes.len()
            )));
        }
        let what = "tensor data";
        let data = match dtype {
            TensorDtype::F32 => TensorData::F32(alloc::try_pod_from_bytes(bytes, what)?),
            TensorDtype::I32 => TensorData::I32(alloc::try_pod_from_bytes(bytes, what)?),
            TensorDtype::U8 => TensorData::U8(alloc::try_copy(bytes, what)?),
        };
        Ok(Tensor { shape, data })
    }

    /// Element type.
    pub fn dtype(&self) -> TensorDtype {
        match self.data {
            TensorData::F32(_) => TensorDtype::F32,
            TensorData::I32(_) => TensorDtype::I32,
            TensorData::U8(_) => TensorDtype::U8,
        }
    }

    /// The element bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.data {
            TensorData::F32(v) => bytemuck::cast_slice(v),
            TensorData::I32(v) => bytemuck::cast_slice(v),
            TensorData::U8(v) => v,
        }
    }
}

/// A value flowing between nodes: a payload of one of six types, and attributes (timestamp, stream
/// id, metadata) that every type has in the same place.
#[derive(Debug, Clone)]
pub struct RuntimeData {
    /// The typed content.
    pub payload: Payload,
    /// Timestamp, stream id, metadata.
    pub attributes: Attributes,
}

/// The content of a [`RuntimeData`] value.
#[derive(Debug)]
pub enum Payload {
    /// UTF-8 text.
    Text(String),
    /// PCM audio.
    Audio(AudioBuffer),
    /// A raw video frame.
    Video(VideoFrame),
    /// JSON; the serialised text is cached on first request.
    Json(Value, OnceLock<String>),
    /// Opaque bytes.
    Binary(Vec<u8>),
    /// An n-dimensional array.
    Tensor(Tensor),
}

impl TensorData {
    fn try_clone(&self) -> Result<Self, DataError> {
        let what = "a tensor copy";
        Ok(match self {
            TensorData::F32(v) => TensorData::F32(alloc::try_copy(v, what)?),
            TensorData::I32(v) => TensorData::I32(alloc::try_copy(v, what)?),
            TensorData::U8(v) => TensorData::U8(alloc::try_copy(v, what)?),
        })
    }
}

impl Clone for Payload {
    fn clone(&self) -> Self {
        match self {
            Payload::Text(s) => Payload::Text(s.clone()),
            Payload::Audio(b) => Payload::Audio(b.clone()),
            Payload::Video(v) => Payload::Video(v.clone()),
            Payload::Json(v, _) => Payload::Json(v.clone(), OnceLock::new()),
            Payload::Binary(b) => Payload::Binary(b.clone()),
            Payload::Tensor(t) => Payload::Tensor(t.clone()),
        }
    }
}

impl Payload {
    /// The payload's type.
    pub fn data_type(&self) -> DataType {
        match self {
            Payload::Text(_) => DataType::Text,
            Payload::Audio(_) => DataType::Audio,
            Payload::Video(_) => DataType::Video,
            Payload::Json(..) => DataType::Json,
            Payload::Binary(_) => DataType::Binary,
            Payload::Tensor(_) => DataType::Tensor,
        }
    }

    /// The payload as bytes: UTF-8 for text and JSON, samples for audio, pixels, raw bytes, tensor elements.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Payload::Text(s) => s.as_bytes(),
            Payload::Audio(a) => a.samples.as_bytes(),
            Payload::Video(v) => &v.pixels,
            Payload::Json(v, cache) => cache.get_or_init(|| v.to_string()).as_bytes(),
            Payload::Binary(b) => b,
            Payload::Tensor(t) => t.bytes(),
        }
    }

    /// A deep copy, or an out-of-memory error instead of an abort (JSON values are copied with the
    /// infallible allocator: their size is bounded by the JSON text's, which is capped).
    fn try_clone(&self) -> Result<Self, DataError> {
        Ok(match self {
            Payload::Text(s) => Payload::Text(alloc::try_string(s, "a text copy")?),
            Payload::Audio(b) => Payload::Audio(AudioBuffer {
                samples: b.samples.try_clone()?,
                ..b.clone_layout()
            }),
            Payload::Video(v) => Payload::Video(VideoFrame {
                pixels: alloc::try_copy(&v.pixels, "a video frame copy")?,
                ..*v
            }),
            Payload::Json(..) => self.clone(),
            Payload::Binary(b) => Payload::Binary(alloc::try_copy(b, "a binary copy")?),
            Payload::Tensor(t) => Payload::Tensor(Tensor {
                shape: t.shape.clone(),
                data: t.data.try_clone()?,
            }),
        })
    }

    /// Same type and layout (rate, channels and format; frame size and format; shape and dtype).
    fn same_layout(&self, other: &Payload) -> bool {
        match (self, other) {
            (Payload::Text(_), Payload::Text(_))
            | (Payload::Binary(_), Payload::Binary(_))
            | (Payload::Json(..), Payload::Json(..)) => true,
            (Payload::Audio(a), Payload::Audio(b)) => {
                a.sample_rate == b.sample_rate
                    && a.channels == b.channels
                    && a.samples.format() == b.samples.format()
            }
            (Payload::Video(a), Payload::Video(b)) => {
                a.width == b.width && a.height == b.height && a.format == b.format
            }
            (Payload::Tensor(a), Payload::Tensor(b)) => {
                a.shape == b.shape && a.dtype() == b.dtype()
            }
            _ => false,
        }
    }
}

/// Equality of values: same type, layout and attributes, and bit-identical payloads (so a tensor
/// holding NaN equals its copy, unlike an element-wise float comparison); JSON compares as values.
impl PartialEq for RuntimeData {
    fn eq(&self, other: &Self) -> bool {
        let payload_eq = match (&self.payload, &other.payload) {
            (Payload::Json(a, _), Payload::Json(b, _)) => a == b,
            (a, b) => a.same_layout(b) && a.bytes() == b.bytes(),
        };
        payload_eq && self.attributes == other.attributes
    }
}

impl From<Payload> for RuntimeData {
    fn from(payload: Payload) -> Self {
        RuntimeData::new(payload)
    }
}

impl RuntimeData {
    /// A value without attributes.
    pub fn new(payload: Payload) -> Self {
        RuntimeData {
            payload,
            attributes: Attributes::default(),
        }
    }

    /// A new value with `payload` and the attributes of this one: what a node emits for an input.
    pub fn with_payload(&self, payload: Payload) -> Self {
        RuntimeData {
            payload,
            attributes: self.attributes.clone(),
        }
    }

    /// A new audio value with the attributes of this one: what a node emits for an audio input.
    pub fn with_audio(&self, buffer: AudioBuffer) -> Self {
        self.with_payload(Payload::Audio(buffer))
    }

    /// This value with `attributes` instead of its own.
    pub fn with_attributes(self, attributes: Attributes) -> Self {
        RuntimeData { attributes, ..self }
    }

    /// Text without attributes.
    pub fn text(s: impl Into<String>) -> Self {
        RuntimeData::new(Payload::Text(s.into()))
    }

    /// Audio without attributes.
    pub fn audio(buffer: AudioBuffer) -> Self {
        RuntimeData::new(Payload::Audio(buffer))
    }

    /// A video frame without attributes.
    pub fn video(frame: VideoFrame) -> Self {
        RuntimeData::new(Payload::Video(frame))
    }

    /// JSON without attributes.
    pub fn json(value: Value) -> Self {
        RuntimeData::new(Payload::Json(value, OnceLock::new()))
    }

    /// A tensor without attributes.
    pub fn tensor(tensor: Tensor) -> Self {
        RuntimeData::new(Payload::Tensor(tensor))
    }

    /// Parses JSON text (at most [`MAX_PAYLOAD_BYTES`] of it).
    pub fn json_from_str(text: &str) -> Result<Self, DataError> {
        alloc::check_payload(|| "json text length".into(), Some(text.len() as u64))?;
        let value = serde_json::from_str(text).map_err(|e| DataError::InvalidJson {
            what: "json payload",
            reason: e.to_string(),
        })?;
        Ok(RuntimeData::json(value))
    }

    /// Binary without attributes.
    pub fn binary(bytes: Vec<u8>) -> Self {
        RuntimeData::new(Payload::Binary(bytes))
    }

    /// Text copied from `text` (at most [`MAX_PAYLOAD_BYTES`] of it); an error instead of an abort when
    /// memory runs out.
    pub fn try_text(text: &str) -> Result<Self, DataError> {
        alloc::check_payload(|| "text length".into(), Some(text.len() as u64))?;
        Ok(RuntimeData::text(alloc::try_string(text, "text")?))
    }

    /// Binary copied from `bytes` (at most [`MAX_PAYLOAD_BYTES`]).
    pub fn try_binary_copy(bytes: &[u8]) -> Result<Self, DataError> {
        alloc::check_payload(|| "binary byteLength".into(), Some(bytes.len() as u64))?;
        Ok(RuntimeData::binary(alloc::try_copy(bytes, "binary data")?))
    }

    /// `len` zero bytes (at most [`MAX_PAYLOAD_BYTES`]), to be filled in place.
    pub fn try_binary_zeroed(len: usize) -> Result<Self, DataError> {
        let len = alloc::check_payload(|| "binary byteLength".into(), Some(len as u64))?;
        Ok(RuntimeData::binary(alloc::try_zeroed(len, "binary data")?))
    }

    /// A deep copy, or an out-of-memory error instead of an abort.
    pub fn try_clone(&self) -> Result<Self, DataError> {
        Ok(RuntimeData {
            payload: self.payload.try_clone()?,
            attributes: self.attributes.clone(),
        })
    }

    /// The payload's type.
    pub fn data_type(&self) -> DataType {
        self.payload.data_type()
    }

    /// The payload as bytes: UTF-8 for text and JSON, samples for audio, pixels, raw bytes, tensor elements.
    pub fn payload_bytes(&self) -> &[u8] {
        self.payload.bytes()
    }

    /// The optional attributes.
    pub fn attributes(&self) -> &Attributes {
        &self.attributes
    }

    /// Mutable attributes.
    pub fn attributes_mut(&mut self) -> &mut Attributes {
        &mut self.attributes
    }

    /// Borrows the audio buffer or says what the value was instead.
    pub fn as_audio(&self) -> Result<&AudioBuffer, DataError> {
        match &self.payload {
            Payload::Audio(a) => Ok(a),
            other => Err(DataError::WrongType {
                expected: DataType::Audio,
                actual: other.data_type(),
            }),
        }
    }

    /// Borrows the text or says what the value was instead.
    pub fn as_text(&self) -> Result<&str, DataError> {
        match &self.payload {
            Payload::Text(s) => Ok(s),
            other => Err(DataError::WrongType {
                expected: DataType::Text,
                actual: other.data_type(),
            }),
        }
    }

    /// The JSON value, if the payload is JSON.
    pub fn as_json(&self) -> Option<&Value> {
        match &self.payload {
            Payload::Json(v, _) => Some(v),
            _ => None,
        }
    }
}

/// Short name of a JSON value's kind, for error messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_payload_is_utf8_bytes() {
        let d = RuntimeData::text("héllo");
        assert_eq!(d.data_type(), DataType::Text);
        assert_eq!(d.payload_bytes(), "héllo".as_bytes());
    }

    #[test]
    fn json_payload_is_serialised_once_and_cached() {
        let d = RuntimeData::json_from_str(r#"{"a": [1, 2]}"#).unwrap();
        let first = d.payload_bytes().as_ptr();
        assert_eq!(d.payload_bytes(), br#"{"a":[1,2]}"#);
        assert_eq!(first, d.payload_bytes().as_ptr());
    }

    #[test]
    fn invalid_json_names_the_reason() {
        let err = RuntimeData::json_from_str("{oops").unwrap_err().to_string();
        assert!(err.contains("json payload"), "{err}");
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn video_frame_size_is_checked_against_format() {
        assert!(VideoFrame::new(2, 2, PixelFormat::Rgba, vec![0; 16]).is_ok());
        assert!(VideoFrame::new(3, 3, PixelFormat::I420, vec![0; 9 + 2 * 4]).is_ok());
        let err = VideoFrame::new(2, 2, PixelFormat::Rgb24, vec![0; 16])
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs 12 bytes, got 16"), "{err}");
        assert!(VideoFrame::new(0, 2, PixelFormat::Rgba, vec![]).is_err());
    }

    #[test]
    fn video_sizes_that_overflow_or_exceed_the_cap_are_refused() {
        // 1380655685 × 3340214413 × 4 wraps to exactly 4 in 64 bits: release builds accepted 4 bytes.
        let err = VideoFrame::new(1380655685, 3340214413, PixelFormat::Rgba, vec![0; 4])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "payload too large: rgba video frame 1380655685x3340214413 overflows 64 bits; the \
             maximum payload size is 4294967296 bytes (RM_MAX_PAYLOAD_BYTES)"
        );
        for format in [PixelFormat::Rgba, PixelFormat::Rgb24, PixelFormat::I420] {
            // u32::MAX × u32::MAX fits in 64 bits; times 3 or 4, or plus the chroma planes, it does not.
            assert_eq!(format.frame_len(u32::MAX, u32::MAX), None, "{format:?}");
            let err = VideoFrame::from_slice(u32::MAX, u32::MAX, format, &[0; 4])
                .unwrap_err()
                .to_string();
            assert!(err.contains("overflows 64 bits"), "{err}");
            // Fits in 64 bits but over the cap.
            let err = VideoFrame::from_slice(65536, 65536, format, &[])
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("payload too large"), "{err}");
        }
        assert_eq!(
            PixelFormat::I420.frame_len(u32::MAX, 1),
            Some(u32::MAX as u64 + 2 * (1u64 << 31))
        );
        // At the cap exactly: 32768 × 32768 rgba is 4 GiB (checked without allocating it).
        assert_eq!(
            alloc::check_payload(String::new, PixelFormat::Rgba.frame_len(32768, 32768)).unwrap()
                as u64,
            MAX_PAYLOAD_BYTES
        );
        let err = VideoFrame::from_slice(32768, 32768, PixelFormat::Rgba, &[0; 4])
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs 4294967296 bytes, got 4"), "{err}");
    }

    #[test]
    fn tensor_shapes_that_overflow_or_exceed_the_cap_are_refused() {
        let err = Tensor::from_bytes(vec![usize::MAX, 2], TensorDtype::U8, &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tensor shape [18446744073709551615, 2] of u8 overflows 64 bits"),
            "{err}"
        );
        // The product fits, times the element size it does not.
        let err = Tensor::from_bytes(vec![1 << 31, 1 << 31, 4], TensorDtype::F32, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("overflows 64 bits"), "{err}");
        let err = Tensor::from_bytes(vec![1 << 16, 1 << 15], TensorDtype::F32, &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("= 8589934592 bytes; the maximum payload size"),
            "{err}"
        );
        // A zero dimension makes an empty tensor however large the others are, in any order.
        let m = u32::MAX as usize;
        for shape in [vec![0, m, m, m], vec![m, m, m, 0], vec![m, 0, m, m]] {
            let t = Tensor::from_bytes(shape.clone(), TensorDtype::I32, &[]).unwrap();
            assert_eq!(t.bytes().len(), 0, "{shape:?}");
        }
    }

    #[test]
    fn binary_text_and_json_sizes_are_capped() {
        let err = RuntimeData::try_binary_zeroed(1 << 40).unwrap_err();
        assert_eq!(
            err.to_string(),
            "payload too large: binary byteLength = 1099511627776 bytes; the maximum payload size is \
             4294967296 bytes (RM_MAX_PAYLOAD_BYTES)"
        );
        assert!(RuntimeData::try_binary_zeroed(usize::MAX).is_err());
        let ok = RuntimeData::try_binary_zeroed(16).unwrap();
        assert_eq!(ok.payload_bytes(), &[0; 16]);
        assert_eq!(
            RuntimeData::try_binary_copy(&[1, 2]).unwrap(),
            RuntimeData::binary(vec![1, 2])
        );
        assert_eq!(
            RuntimeData::try_text("hé").unwrap(),
            RuntimeData::text("hé")
        );
    }

    #[test]
    fn try_clone_copies_every_type() {
        let mut text = RuntimeData::text("x");
        text.attributes_mut().stream_id = Some("s".into());
        let values = [
            text,
            RuntimeData::audio(AudioBuffer::new(Samples::I16(vec![1, 2]), 8000, 2).unwrap()),
            RuntimeData::video(VideoFrame::new(1, 1, PixelFormat::Rgb24, vec![1, 2, 3]).unwrap()),
            RuntimeData::json(serde_json::json!({"a": 1})),
            RuntimeData::binary(vec![9; 3]),
            RuntimeData::tensor(Tensor::from_bytes(vec![2], TensorDtype::F32, &[0; 8]).unwrap()),
        ];
        for v in values {
            let copy = v.try_clone().unwrap();
            assert_eq!(copy, v);
            if !v.payload_bytes().is_empty() && v.data_type() != DataType::Json {
                assert_ne!(copy.payload_bytes().as_ptr(), v.payload_bytes().as_ptr());
            }
        }
    }

    #[test]
    fn equality_is_bitwise_so_nan_payloads_equal_their_copies() {
        let nan = f32::NAN.to_ne_bytes();
        let t = RuntimeData::tensor(Tensor::from_bytes(vec![1], TensorDtype::F32, &nan).unwrap());
        assert_eq!(t, t.clone());
        let other =
            RuntimeData::tensor(Tensor::from_bytes(vec![1], TensorDtype::F32, &[0; 4]).unwrap());
        assert_ne!(t, other);
    }

    #[test]
    fn tensor_shape_must_match_data() {
        let t = Tensor::from_bytes(vec![2, 3], TensorDtype::F32, &[0u8; 24]).unwrap();
        assert_eq!(t.bytes().len(), 24);
        assert_eq!(t.bytes().as_ptr() as usize % 4, 0);
        let err = Tensor::from_bytes(vec![2, 3], TensorDtype::I32, &[0u8; 20])
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs 24 bytes (6 elements), got 20"), "{err}");
        assert!(Tensor::from_bytes(vec![usize::MAX, 2], TensorDtype::U8, &[]).is_err());
    }

    #[test]
    fn attributes_round_trip_and_reject_unknown_keys() {
        let a = Attributes::from_json(
            r#"{"timestampUs": 20000, "streamId": "mic", "metadata": {"x": 1}}"#,
        )
        .unwrap();
        assert_eq!(a.timestamp_us, Some(20000));
        assert_eq!(Attributes::from_json(&a.to_json()).unwrap(), a);
        let err = Attributes::from_json(r#"{"ts": 1}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown key \"ts\""), "{err}");
        let err = Attributes::from_json(r#"{"streamId": 3}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("streamId: expected a string, got a number"),
            "{err}"
        );
    }
}
