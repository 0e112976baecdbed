//! Pipelines: manifests and their validation (`manifest`), entry routing (`entries`), the executor
//! (`engine`), sessions (`session`), the worker pool that runs threaded sessions (`pool`) and the
//! counter that wakes their waiters (`wake`).

pub mod engine;
pub mod entries;
pub mod manifest;
pub mod pool;
pub mod session;
pub mod wake;

pub use engine::Phase;
pub use manifest::{plan, plan_from_str, Issue};
pub use session::{Session, SessionOptions};
