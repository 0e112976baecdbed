//! RuntimeData: the typed values that flow between pipeline nodes.
//!
//! Everything here is safe Rust. Payloads (audio samples, pixel bytes, binary, tensor data) are stored in
//! contiguous vectors so the ABI layer can expose them to JavaScript as typed arrays without copying.
//!
//! This file owns [`RuntimeData`] (a [`Payload`] and its [`Attributes`]) and [`DataType`]; the payload
//! types live in `audio`, `video` and `tensor`, the attributes in `attributes`, and the size checks
//! and fallible allocations every payload goes through in `alloc`.

pub mod alloc;
mod attributes;
mod audio;
mod error;
mod tensor;
mod video;

pub use alloc::MAX_PAYLOAD_BYTES;
pub use attributes::Attributes;
pub use audio::{AudioBuffer, SampleFormat, Samples};
pub use error::DataError;
pub use tensor::{Tensor, TensorData, TensorDtype};
pub use video::{PixelFormat, VideoFrame};

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
    #[inline]
    pub fn new(payload: Payload) -> Self {
        RuntimeData {
            payload,
            attributes: Attributes::default(),
        }
    }

    /// A new value with `payload` and the attributes of this one: what a node emits for an input.
    #[inline]
    pub fn with_payload(&self, payload: Payload) -> Self {
        RuntimeData {
            payload,
            attributes: self.attributes.clone(),
        }
    }

    /// A new audio value with the attributes of this one: what a node emits for an audio input.
    #[inline]
    pub fn with_audio(&self, buffer: AudioBuffer) -> Self {
        self.with_payload(Payload::Audio(buffer))
    }

    /// This value with `attributes` instead of its own.
    #[inline]
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
}
