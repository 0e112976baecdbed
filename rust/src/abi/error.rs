//! One error model for the whole ABI: a status per call (negated in `int32_t` results, see
//! `contract`) plus a thread-local record of the last error — its message and its structured detail
//! (node id and type, manifest issues, expected vs actual), so that bindings never parse messages.

use crate::data::DataError;
use crate::pipeline::Issue;
use serde::Serialize;
use std::cell::RefCell;

pub use super::contract::Status;

/// What is known about an error beyond its category and message; serialised for
/// `rm_last_error_detail` with every absent field left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// Id of the node the error belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub node_id: Option<String>,
    /// Type of that node.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub node_type: Option<String>,
    /// What the node reported, without the "node … failed:" prefix of the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub reason: Option<String>,
    /// Every problem of an invalid manifest, each with its path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(test, ts(optional, as = "Option<Vec<Issue>>"))]
    pub issues: Vec<Issue>,
    /// What the operation needed (a data type name for `wrong_type`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub expected: Option<String>,
    /// What it got.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub actual: Option<String>,
}

/// The record of the last error, as `rm_last_error_detail` writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ErrorRecord<'a> {
    /// Stable code of the status (`"node_failed"`, …).
    #[cfg_attr(test, ts(type = "(typeof STATUS_CODES)[number]"))]
    pub code: &'static str,
    /// The status.
    pub status: i32,
    /// Full message for the user.
    pub message: &'a str,
    /// Structured detail.
    #[serde(flatten)]
    pub detail: &'a ErrorDetail,
}

/// An error on its way to the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct AbiError {
    /// Category.
    pub status: Status,
    /// Full message for the user.
    pub message: String,
    /// Structured detail (boxed: most errors have none, and `Result<_, AbiError>` stays small on the
    /// hot paths that return it).
    pub detail: Option<Box<ErrorDetail>>,
}

impl AbiError {
    /// Builds an error with no detail beyond its message.
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        AbiError {
            status,
            message: message.into(),
            detail: None,
        }
    }

    /// The same error with `detail`.
    pub fn with_detail(mut self, detail: ErrorDetail) -> Self {
        self.detail = Some(Box::new(detail));
        self
    }
}

impl From<DataError> for AbiError {
    fn from(e: DataError) -> Self {
        let mut detail = ErrorDetail::default();
        let status = match &e {
            DataError::WrongType { expected, actual } => {
                detail.expected = Some(expected.name().to_string());
                detail.actual = Some(actual.name().to_string());
                Status::WrongType
            }
            DataError::ShapeMismatch(_) => Status::ShapeMismatch,
            DataError::InvalidArgument(_)
            | DataError::InvalidAttributes(_)
            | DataError::TooLarge(_) => Status::InvalidArgument,
            DataError::OutOfMemory(_) => Status::ResourceExhausted,
            DataError::InvalidUtf8 { .. } => Status::InvalidUtf8,
            DataError::InvalidJson { .. } => Status::InvalidJson,
        };
        AbiError::new(status, e.to_string()).with_detail(detail)
    }
}

/// The error of an invalid manifest: every issue in the message and in the detail.
pub fn manifest_error(issues: &[Issue]) -> AbiError {
    let lines: Vec<String> = issues.iter().map(|i| format!("  - {i}")).collect();
    AbiError::new(
        Status::InvalidManifest,
        format!("invalid manifest:\n{}", lines.join("\n")),
    )
    .with_detail(ErrorDetail {
        issues: issues.to_vec(),
        ..ErrorDetail::default()
    })
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

/// The last error as JSON (`ErrorRecord`; `{"code":"ok","status":0,"message":""}` when none).
pub fn last_detail_json() -> String {
    LAST_ERROR.with(|cell| {
        let cell = cell.borrow();
        let none = ErrorDetail::default();
        let record = match cell.as_ref() {
            Some(e) => ErrorRecord {
                code: e.status.code(),
                status: e.status as i32,
                message: &e.message,
                detail: e.detail.as_deref().unwrap_or(&none),
            },
            None => ErrorRecord {
                code: Status::Ok.code(),
                status: 0,
                message: "",
                detail: &none,
            },
        };
        serde_json::to_string(&record).unwrap_or_else(|_| {
            // Only strings and integers inside: serialising cannot fail; stay total anyway.
            format!(
                r#"{{"code":"{}","status":{},"message":""}}"#,
                record.code, record.status
            )
        })
    })
}

/// Runs the body of an `extern "C"` function: catches panics, records errors, returns `on_error` on
/// failure. For `int32_t` results use [`guard_status`].
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
                format!(
                    "internal panic: {}",
                    crate::panic::panic_message(payload.as_ref())
                ),
            ));
            on_error
        }
    }
}

/// Runs the body of an `extern "C"` function with an `int32_t` result: the value (`>= 0`) on success,
/// `-status` of the recorded error on failure (a caught panic is `-RM_STATUS_PANIC`).
pub fn guard_status(body: impl FnOnce() -> Result<i32, AbiError>) -> i32 {
    let result = guard(None, || body().map(Some));
    match result {
        Some(value) => {
            debug_assert!(value >= 0, "a successful int32_t result is never negative");
            value
        }
        None => -(last_status() as i32),
    }
}
