//! One error model for the whole ABI: a status code per call plus a thread-local message.

use crate::data::DataError;
use std::cell::RefCell;

/// Status codes returned (negated where a call returns a count) by every `rm_*` function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// Null, stale, freed, foreign or wrong-kind handle.
    InvalidHandle = 1,
    /// A value of another data type than required.
    WrongType = 2,
    /// An argument outside its domain.
    InvalidArgument = 3,
    /// Sizes that do not fit together.
    ShapeMismatch = 4,
    /// Invalid UTF-8.
    InvalidUtf8 = 5,
    /// JSON that does not parse.
    InvalidJson = 6,
    /// A panic was caught at the boundary.
    Panic = 7,
    /// A manifest failed validation.
    InvalidManifest = 8,
    /// A node failed while processing.
    NodeFailed = 9,
    /// The object was closed.
    Closed = 10,
    /// Too many live objects, or memory the system refused.
    ResourceExhausted = 11,
}

/// An error on its way to the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct AbiError {
    /// Category.
    pub status: Status,
    /// Full message for the user.
    pub message: String,
}

impl AbiError {
    /// Builds an error.
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        AbiError {
            status,
            message: message.into(),
        }
    }
}

impl From<DataError> for AbiError {
    fn from(e: DataError) -> Self {
        let status = match e {
            DataError::WrongType { .. } => Status::WrongType,
            DataError::ShapeMismatch(_) => Status::ShapeMismatch,
            DataError::InvalidArgument(_)
            | DataError::InvalidAttributes(_)
            | DataError::TooLarge(_) => Status::InvalidArgument,
            DataError::OutOfMemory(_) => Status::ResourceExhausted,
            DataError::InvalidUtf8 { .. } => Status::InvalidUtf8,
            DataError::InvalidJson { .. } => Status::InvalidJson,
        };
        AbiError::new(status, e.to_string())
    }
}

thread_local! {
    static LAST_ERROR: RefCell<Option<AbiError>> = const { RefCell::new(None) };
}

/// Records the error of the current call on this thread.
pub fn set_last(error: AbiError) {
    LAST_ERROR.with(|cell| *cell.borrow_mut() = Some(error));
}

/// Status of the last failed call on this thread (0 when none failed yet).
pub fn last_status() -> Status {
    LAST_ERROR.with(|cell| cell.borrow().as_ref().map_or(Status::Ok, |e| e.status))
}

/// Runs `f` with the last message (empty when none).
pub fn with_last_message<R>(f: impl FnOnce(&str) -> R) -> R {
    LAST_ERROR.with(|cell| f(cell.borrow().as_ref().map_or("", |e| e.message.as_str())))
}

/// Turns a caught panic payload into a message.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Runs the body of an `extern "C"` function: catches panics, records errors, returns `on_error` on failure.
pub fn guard<T>(on_error: T, body: impl FnOnce() -> Result<T, AbiError>) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(error)) => {
            set_last(error);
            on_error
        }
        Err(payload) => {
            set_last(AbiError::new(
                Status::Panic,
                format!("internal panic: {}", panic_message(payload.as_ref())),
            ));
            on_error
        }
    }
}
