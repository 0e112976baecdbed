//! Pipelines: manifests, validation, the executor and sessions.

pub mod engine;
pub mod entries;
pub mod manifest;
pub mod session;

pub use engine::Phase;
pub use manifest::{plan, plan_from_str, Issue};
pub use session::{Session, SessionOptions};
