//! remotemedia: RuntimeData and real-time media pipelines with a C ABI for Deno and Bun.
//!
//! - [`data`]: the typed values that flow between nodes (safe Rust).
//! - [`wav`]: the incremental WAV parser behind the `WavReader` node and `wavFrames`.
//! - [`nodes`]: the native node types and their declarative schemas.
//! - [`pipeline`]: manifests, the engine that runs a graph of nodes, and sessions.
//! - [`panic`](mod@panic): messages of caught panics.
//! - [`silero`]: Silero VAD, its embedded model and forward pass in safe Rust.
//! - [`abi`]: the `extern "C"` surface (the only `unsafe` code), described by `include/remotemedia.h`;
//!   `abi::contract` holds every code and slot layout that crosses it.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod abi;
pub mod data;
pub mod nodes;
pub mod panic;
pub mod pipeline;
pub mod silero;
pub mod wav;
