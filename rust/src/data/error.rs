use super::DataType;

/// What went wrong building or reading a [`super::RuntimeData`].
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DataError {
    /// The value is of another type than the operation needs.
    #[error("wrong data type: expected {expected}, got {actual}")]
    WrongType {
        /// What the operation needs.
        expected: DataType,
        /// What it got.
        actual: DataType,
    },
    /// Sizes that do not fit together (channels vs sample count, tensor shape vs data, ...).
    #[error("shape mismatch: {0}")]
    ShapeMismatch(String),
    /// An argument out of its domain.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Bytes that were meant to be UTF-8 are not.
    #[error("invalid UTF-8 in {what}: {reason}")]
    InvalidUtf8 {
        /// Which input.
        what: &'static str,
        /// Decoder message (includes the byte offset).
        reason: String,
    },
    /// Text that was meant to be JSON does not parse.
    #[error("invalid JSON in {what}: {reason}")]
    InvalidJson {
        /// Which input.
        what: &'static str,
        /// Parser message (includes line and column).
        reason: String,
    },
    /// The attributes object has a bad key or value.
    #[error("invalid attributes: {0}")]
    InvalidAttributes(String),
    /// A requested size over [`super::MAX_PAYLOAD_BYTES`] (or one whose computation overflows); the
    /// message shows how the size was computed and the cap.
    #[error("payload too large: {0}")]
    TooLarge(String),
    /// The allocator refused a request within the cap.
    #[error("out of memory: {0}")]
    OutOfMemory(String),
}
