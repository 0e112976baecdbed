//! Every code and slot layout that crosses the C ABI, in one place. cbindgen writes them into
//! `include/remotemedia.h`; `ffi/contract.ts` is generated from that header and from the typed JSON
//! shapes (`make contract`), and tests fail when either is stale. The enums of the data model that
//! cross too (`DataType`, `SampleFormat`, `PixelFormat`, `TensorDtype`) and of the engine (`Phase`,
//! `TaskKind`) stay where they live and are exported from there by name (see `cbindgen.toml`).
//!
//! Convention for every `int32_t` result: a value `>= 0` is success (0, a count, or one of the outcome
//! codes below), a negative value is `-RmStatus` and the error is recorded for
//! `rm_last_error_code` / `rm_last_error_message` / `rm_last_error_detail`. Calls returning a handle or a
//! pointer return 0 / null on error.

/// Status codes: the category of an error (returned negated by `int32_t` calls, see above).
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

impl Status {
    /// The stable error code of this status, as the TypeScript API reports it (`error.code`).
    pub fn code(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::InvalidHandle => "invalid_handle",
            Status::WrongType => "wrong_type",
            Status::InvalidArgument => "invalid_argument",
            Status::ShapeMismatch => "shape_mismatch",
            Status::InvalidUtf8 => "invalid_utf8",
            Status::InvalidJson => "invalid_json",
            Status::Panic => "panic",
            Status::InvalidManifest => "invalid_manifest",
            Status::NodeFailed => "node_failed",
            Status::Closed => "closed",
            Status::ResourceExhausted => "resource_exhausted",
        }
    }
}

/// Outcome of `rm_session_push` / `rm_session_push_to` when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum PushOutcome {
    /// The item was taken.
    Accepted = 0,
    /// The input queues are full: poll outputs (or wait for progress), then push again.
    Full = 1,
}

/// Outcome of `rm_session_emit` and `rm_session_task_done` when they did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum EmitOutcome {
    /// The output was routed (emit) / the task is finished (task_done).
    Accepted = 0,
    /// Downstream is full: emit again after progress.
    Full = 1,
    /// The task was cancelled (interrupt, abort, failure): stop producing.
    Cancelled = 2,
}

/// Slots of `rm_data_info` common to every data type (doubles).
#[derive(Debug, Clone, Copy)]
#[repr(i32)]
pub enum InfoSlot {
    /// `RmDataType` code.
    Type = 0,
    /// Payload length in bytes (`rm_data_ptr`).
    PayloadBytes = 1,
    /// Length of the attributes JSON in bytes (0: no attributes).
    AttributesBytes = 2,
}

/// Slots of `rm_data_info` that follow the common ones for audio.
#[derive(Debug, Clone, Copy)]
#[repr(i32)]
pub enum AudioInfoSlot {
    /// `RmSampleFormat` code.
    Format = 3,
    /// Sample rate in Hz.
    SampleRate = 4,
    /// Channels.
    Channels = 5,
    /// Frames (samples per channel).
    Frames = 6,
}

/// Slots of `rm_data_info` that follow the common ones for video.
#[derive(Debug, Clone, Copy)]
#[repr(i32)]
pub enum VideoInfoSlot {
    /// `RmPixelFormat` code.
    PixelFormat = 3,
    /// Width in pixels.
    Width = 4,
    /// Height in pixels.
    Height = 5,
}

/// Slots of `rm_data_info` that follow the common ones for tensors (then `rank` dimensions).
#[derive(Debug, Clone, Copy)]
#[repr(i32)]
pub enum TensorInfoSlot {
    /// `RmTensorDtype` code.
    Dtype = 3,
    /// Number of dimensions.
    Rank = 4,
    /// First dimension; the others follow.
    Dims = 5,
}

/// Slots of `rm_session_poll` / `rm_session_poll_sink` (`RM_POLL_INFO_LEN` doubles).
#[derive(Debug, Clone, Copy)]
#[repr(i32)]
pub enum PollSlot {
    /// Index of the emitting node in manifest order (-1 when no output was returned).
    Node = 0,
    /// `RmPhase` of the session (or of the sink's queue), -1 on error.
    Phase = 1,
    /// Outputs still queued (for this sink with `rm_session_poll_sink`).
    Queued = 2,
    /// End-to-end latency in microseconds, from the push of the input this output derives from.
    LatencyUs = 3,
}

/// Number of `f64` slots `rm_session_poll` writes.
pub const RM_POLL_INFO_LEN: usize = 4;

/// Header slots of a host task written by `rm_session_take_task` (`uint64_t`s); `count` item handles
/// follow the header, then the `count` input ports of those items.
#[derive(Debug, Clone, Copy)]
#[repr(i32)]
pub enum TaskSlot {
    /// Ticket of the task (answer with it).
    Ticket = 0,
    /// Index of the host node in manifest order.
    Node = 1,
    /// Input port of a single-input task.
    Port = 2,
    /// `RmTaskKind` code.
    Kind = 3,
    /// Number of items (and of ports after them).
    Count = 4,
}

/// Number of header slots of a host task (the items start there).
pub const RM_TASK_HEADER_LEN: usize = 5;

/// Slots of `rm_wav_parser_info` (`RM_WAV_INFO_LEN` doubles).
#[derive(Debug, Clone, Copy)]
#[repr(i32)]
pub enum WavInfoSlot {
    /// `RmWavPhase` code.
    Phase = 0,
    /// Sample rate in Hz (0 before the fmt chunk).
    SampleRate = 1,
    /// Channels (0 before the fmt chunk).
    Channels = 2,
    /// `RmSampleFormat` of the items, -1 before the fmt chunk.
    Format = 3,
    /// Bits per sample in the file.
    BitsPerSample = 4,
    /// Bytes pushed so far.
    BytesPushed = 5,
    /// Bytes of unknown chunks streamed past.
    BytesSkipped = 6,
    /// Bytes copied into the parser.
    BytesCopied = 7,
    /// Bytes held now.
    BytesHeld = 8,
    /// Most bytes ever held.
    MostBytesHeld = 9,
    /// Items ready to take.
    ItemsReady = 10,
}

/// Number of `f64` slots `rm_wav_parser_info` writes.
pub const RM_WAV_INFO_LEN: usize = 11;

/// Largest worker pool size `rm_worker_threads_set` accepts (0 asks for the default: one per core, or
/// `REMOTEMEDIA_WORKER_THREADS`).
pub const RM_MAX_WORKER_THREADS: u32 = 1024;
const _: () = assert!(RM_MAX_WORKER_THREADS as usize == crate::pipeline::pool::MAX_SIZE);

/// `ffi/contract.ts`, generated from the header and the typed JSON shapes (test-only).
#[cfg(test)]
mod generate;
