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

/// Phase of a WAV parser (`RM_WAV_INFO_SLOT_PHASE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum WavPhase {
    /// Reading the header.
    Header = 0,
    /// Reading samples.
    Data = 1,
    /// The data chunk is complete: no more input is needed.
    Complete = 2,
    /// The stream was invalid.
    Failed = 3,
}

impl From<crate::wav::Phase> for WavPhase {
    fn from(phase: crate::wav::Phase) -> Self {
        match phase {
            crate::wav::Phase::Header => WavPhase::Header,
            crate::wav::Phase::Data => WavPhase::Data,
            crate::wav::Phase::Complete => WavPhase::Complete,
            crate::wav::Phase::Failed => WavPhase::Failed,
        }
    }
}

/// Where a session (or one sink's output queue) stands (`rm_session_phase`, `RM_POLL_SLOT_PHASE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum SessionPhase {
    /// Accepting input.
    Running = 0,
    /// Input closed; draining and flushing.
    Closing = 1,
    /// Every node flushed and cleaned up.
    Ended = 2,
    /// A node failed; every node cleaned up (`rm_session_failure` says which).
    Failed = 3,
    /// Aborted by the caller; every node cleaned up.
    Aborted = 4,
}

impl From<crate::pipeline::Phase> for SessionPhase {
    fn from(phase: crate::pipeline::Phase) -> Self {
        use crate::pipeline::Phase;
        match phase {
            Phase::Running => SessionPhase::Running,
            Phase::Closing => SessionPhase::Closing,
            Phase::Ended => SessionPhase::Ended,
            Phase::Failed => SessionPhase::Failed,
            Phase::Aborted => SessionPhase::Aborted,
        }
    }
}

/// What a host (TypeScript) node is asked to do (`RM_TASK_SLOT_KIND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum HostTaskKind {
    /// Process the task's items (one, or one per port for joining nodes).
    Process = 0,
    /// End of stream: emit whatever is buffered.
    Flush = 1,
}

impl From<crate::pipeline::engine::TaskKind> for HostTaskKind {
    fn from(kind: crate::pipeline::engine::TaskKind) -> Self {
        use crate::pipeline::engine::TaskKind;
        match kind {
            TaskKind::Process => HostTaskKind::Process,
            TaskKind::Flush => HostTaskKind::Flush,
        }
    }
}

/// `ffi/contract.ts`, generated from the header (every enum and constant that crosses the ABI) and from
/// the typed JSON shapes (ts-rs): `REMOTEMEDIA_WRITE_CONTRACT=1 cargo test --lib contract` writes it
/// (`make contract`), and the test fails while the committed file is stale.
#[cfg(test)]
mod generate {
    use ts_rs::TS;

    const HEADER: &str = include_str!("../../include/remotemedia.h");
    /// Enums whose variant names are also the API's names for the codes (`"f32"`, `"text"`, …).
    const NAMED: [&str; 4] = [
        "RmDataType",
        "RmSampleFormat",
        "RmPixelFormat",
        "RmTensorDtype",
    ];

    fn pascal(screaming: &str) -> String {
        screaming
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next().map_or(String::new(), |f| {
                    f.to_uppercase()
                        .chain(c.flat_map(char::to_lowercase))
                        .collect()
                })
            })
            .collect()
    }

    fn screaming(pascal: &str) -> String {
        let mut out = String::new();
        for (i, ch) in pascal.chars().enumerate() {
            if ch.is_uppercase() && i > 0 {
                out.push('_');
            }
            out.extend(ch.to_uppercase());
        }
        out
    }

    fn jsdoc(lines: &[&str], indent: &str) -> String {
        match lines {
            [] => String::new(),
            [one] => format!("{indent}/** {one} */\n"),
            many => {
                let body: String = many.iter().map(|l| format!("{indent} * {l}\n")).collect();
                format!("{indent}/**\n{body}{indent} */\n")
            }
        }
    }

    /// `(doc lines, name, value)` of every `#define RM_*` and `(doc, enum name, variants)` of every enum.
    #[allow(clippy::type_complexity)]
    fn parse() -> (
        Vec<(Vec<&'static str>, &'static str, String)>,
        Vec<(
            Vec<&'static str>,
            String,
            Vec<(Vec<&'static str>, String, i64)>,
        )>,
    ) {
        let mut defines = Vec::new();
        let mut enums = Vec::new();
        let mut doc: Vec<&str> = Vec::new();
        let mut lines = HEADER.lines();
        while let Some(line) = lines.next() {
            let t = line.trim();
            if let Some(d) = t.strip_prefix("// ") {
                doc.push(d);
                continue;
            }
            if let Some(rest) = t.strip_prefix("#define RM_") {
                let (name, value) = rest.split_once(' ').expect("#define NAME VALUE");
                let name: &'static str = &line[line.find("RM_").unwrap()..][..name.len() + 3];
                defines.push((std::mem::take(&mut doc), name, value.to_string()));
            } else if let Some(name) = t.strip_prefix("enum ").filter(|n| !n.contains(' ')) {
                let prefix = format!("RM_{}_", screaming(&name[2..]));
                let enum_doc = std::mem::take(&mut doc);
                let mut variants = Vec::new();
                for line in lines.by_ref() {
                    let t = line.trim();
                    if t == "};" {
                        break;
                    }
                    if let Some(d) = t.strip_prefix("// ") {
                        doc.push(d);
                    } else if let Some((v, n)) = t.trim_end_matches(',').split_once(" = ") {
                        let v = v
                            .strip_prefix(&prefix)
                            .unwrap_or_else(|| panic!("{v} in {name}"));
                        variants.push((
                            std::mem::take(&mut doc),
                            v.to_string(),
                            n.parse().unwrap(),
                        ));
                    }
                }
                enums.push((enum_doc, name.to_string(), variants));
            } else {
                doc.clear();
            }
        }
        (defines, enums)
    }

    fn ts_type<T: TS>() -> String {
        let doc = T::DOCS.map(|d| d.to_string()).unwrap_or_default();
        format!("{doc}export {}\n", T::decl())
    }

    /// `/** doc */ type X = …;` → `/** doc */ export type X = …;`
    fn exported(decl: String) -> String {
        let at = decl.find("type ").expect("a type declaration");
        format!("{}export {}\n", &decl[..at], &decl[at..])
    }

    fn contract_ts() -> String {
        let (defines, enums) = parse();
        let mut out = [
            "// deno-fmt-ignore-file",
            "// Generated from rust/include/remotemedia.h and the crate's typed JSON shapes by",
            "// `make contract` (rust/src/abi/contract.rs). Do not edit.",
            "",
            "/**",
            " * Every code and slot layout that crosses the C ABI, and the JSON shapes the library returns.",
            " *",
            " * @module",
            " */",
            "",
        ]
        .join("\n");
        for (doc, name, value) in &defines {
            let value = value.trim_start_matches('(').trim_end_matches(')');
            out += &format!("\n{}export const {name} = {value};\n", jsdoc(doc, ""));
        }
        for (doc, name, variants) in &enums {
            let short = &name[2..];
            out += &format!("\n{}export const {short} = {{\n", jsdoc(doc, ""));
            for (vdoc, v, n) in variants {
                out += &format!("{}  {}: {n},\n", jsdoc(vdoc, "  "), pascal(v));
            }
            out += &format!(
                "}} as const;\n/** One of the values of {{@link {short}}}. */\nexport type {short} = (typeof {short})[keyof typeof {short}];\n"
            );
            if NAMED.contains(&name.as_str()) {
                for (i, (_, _, n)) in variants.iter().enumerate() {
                    assert_eq!(*n, i as i64, "{name} codes are 0..n");
                }
                let names: Vec<String> = variants
                    .iter()
                    .map(|(_, v, _)| format!("\"{}\"", v.to_lowercase()))
                    .collect();
                out += &format!(
                    "\n/** The API's name of each {{@link {short}}} code, indexed by code. */\nexport const {}_NAMES = [{}] as const;\n",
                    screaming(short),
                    names.join(", ")
                );
            }
            if name == "RmStatus" {
                let codes: Vec<String> = variants
                    .iter()
                    .map(|(_, v, _)| format!("\"{}\"", v.to_lowercase()))
                    .collect();
                out += &format!(
                    "\n/** The stable error code (`error.code`) of each {{@link Status}}, indexed by status. */\nexport const STATUS_CODES = [{}] as const;\n",
                    codes.join(", ")
                );
            }
        }
        out += "\n// JSON shapes.\n\n";
        for decl in [
            ts_type::<super::super::error::ErrorIssue>(),
            ts_type::<super::super::error::ErrorDetail>(),
            ts_type::<super::super::error::ErrorRecord<'static>>(),
        ]
        .into_iter()
        .chain(
            crate::pipeline::engine::observe::ts_declarations()
                .into_iter()
                .map(exported),
        ) {
            out += &decl;
            out += "\n";
        }
        out.trim_end().to_string() + "\n"
    }

    #[test]
    fn status_codes_are_the_snake_case_variant_names() {
        use super::Status;
        let (_, enums) = parse();
        let (_, _, variants) = enums.iter().find(|(_, n, _)| n == "RmStatus").unwrap();
        let all = [
            Status::Ok,
            Status::InvalidHandle,
            Status::WrongType,
            Status::InvalidArgument,
            Status::ShapeMismatch,
            Status::InvalidUtf8,
            Status::InvalidJson,
            Status::Panic,
            Status::InvalidManifest,
            Status::NodeFailed,
            Status::Closed,
            Status::ResourceExhausted,
        ];
        assert_eq!(variants.len(), all.len());
        for ((_, v, n), s) in variants.iter().zip(all) {
            assert_eq!((*n as i32, v.to_lowercase().as_str()), (s as i32, s.code()));
        }
    }

    #[test]
    fn contract_ts_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../ffi/contract.ts");
        let generated = contract_ts();
        if std::env::var_os("REMOTEMEDIA_WRITE_CONTRACT").is_some() {
            std::fs::write(path, &generated).expect("write ffi/contract.ts");
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "ffi/contract.ts is stale: run `make contract` (after `make header`) and commit it"
        );
    }
}
