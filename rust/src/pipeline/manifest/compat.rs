//! RemoteMedia SDK manifests (`version: "v1"`) translated to ours, keeping a record of what was renamed
//! so that validation issues name the user's own keys (see `source.rs`).
//!
//! Their shape: `metadata.{name, description}`, nodes with `node_type` (YAML) or `nodeType` (JSON),
//! params in snake_case or camelCase under their own names, and informational fields (`is_streaming`,
//! `description`, `config`, `executor`, …) that we ignore. Node types we have an equivalent for are
//! aliases ([`ALIASES`]); any other type keeps its name and its params as written, so a TypeScript node
//! registered under that name (`registerNode("KokoroTTSNode", …)`) provides it.
//!
//! Formats: the SDK's runtime converts formats between nodes, so a translated manifest asks for format
//! negotiation (`negotiate: true`, unless it says otherwise), and what a node's params say about the
//! audio it expects (`sampling_rate` of a Silero VAD) becomes that node's `inputFormat`.

use crate::nodes;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// How an SDK param becomes one of ours.
struct Param {
    /// The SDK's name in camelCase (snake_case keys are compared after conversion).
    sdk: &'static str,
    /// Our param, or `None`: ignored (informational, or what our node does anyway).
    ours: Option<&'static str>,
}

const fn p(sdk: &'static str, ours: &'static str) -> Param {
    Param {
        sdk,
        ours: Some(ours),
    }
}

const fn ignored(sdk: &'static str) -> Param {
    Param { sdk, ours: None }
}

/// One of our params and the value that gives the SDK node's default.
type ParamDefault = (&'static str, fn() -> Value);

/// One SDK node type and the node of ours that does its work.
pub struct Alias {
    /// The SDK's type name.
    pub sdk: &'static str,
    /// Our type.
    pub ours: &'static str,
    params: &'static [Param],
    /// The SDK's defaults where ours differ (applied when the manifest does not set the param).
    defaults: &'static [ParamDefault],
    /// What the README's table says about it.
    pub note: &'static str,
}

/// The SDK node types we translate.
pub const ALIASES: &[Alias] = &[
    Alias {
        sdk: "PassThrough",
        ours: "PassThrough",
        params: &[],
        defaults: &[],
        note: "—",
    },
    Alias {
        sdk: "AudioChunkerNode",
        ours: "Chunker",
        params: &[p("chunkSize", "frames")],
        defaults: &[("frames", || json!(512))],
        note: "`chunk_size` (samples per channel, default 512) → `frames`",
    },
    Alias {
        sdk: "FastResampleNode",
        ours: "Resample",
        params: &[
            p("targetRate", "targetRate"),
            p("targetSampleRate", "targetRate"),
            p("quality", "quality"),
            ignored("sourceRate"),
            ignored("channels"),
        ],
        defaults: &[("targetRate", || json!(16000))],
        note: "`target_rate` (default 16000) → `targetRate`; `quality` `Low`/`Medium`/`High` → `fast`/`balanced`/`high`; `source_rate` ignored (read from the audio)",
    },
    Alias {
        sdk: "SileroVADNode",
        ours: "Vad",
        params: &[
            p("threshold", "threshold"),
            p("negThreshold", "negThreshold"),
            p("minSpeechDurationMs", "minSpeechMs"),
            p("minSilenceDurationMs", "minSilenceMs"),
            p("speechPadMs", "speechPadMs"),
            p("preSpeechPadMs", "speechPadMs"),
            ignored("samplingRate"),
            ignored("sampleRate"),
        ],
        defaults: &[],
        note: "`model: \"silero\"`; `threshold`, `neg_threshold`, `min_speech_duration_ms` → `minSpeechMs`, `min_silence_duration_ms` → `minSilenceMs`, `speech_pad_ms` → `speechPadMs`; `sampling_rate` kept as the expected input rate; `mode` is `gate` when it feeds an `AudioBufferAccumulatorNode`, `pass` when it feeds anything else (the SDK node passes its audio on), `events` as a sink",
    },
    Alias {
        sdk: "AudioBufferAccumulatorNode",
        ours: "UtteranceAccumulator",
        params: &[
            p("minUtteranceDurationMs", "minMs"),
            p("maxUtteranceDurationMs", "maxMs"),
        ],
        defaults: &[("minMs", || json!(300))],
        note: "`min_utterance_duration_ms` (default 300) → `minMs`, `max_utterance_duration_ms` → `maxMs`",
    },
    Alias {
        sdk: "TextCollectorNode",
        ours: "TextCollector",
        params: &[
            p("minSentenceLength", "minChars"),
            ignored("yieldPartialOnEnd"),
            ignored("splitPattern"),
        ],
        defaults: &[("minChars", || json!(3))],
        note: "`min_sentence_length` (default 3) → `minChars`; ends of sentences are . ! ? and newlines (`split_pattern` ignored); the rest is always emitted at the end",
    },
    Alias {
        sdk: "AudioLevelNode",
        ours: "AudioLevel",
        params: &[
            p("silenceThresholdDb", "silenceDb"),
            ignored("lowVolumeThresholdDb"),
        ],
        defaults: &[("silenceDb", || json!(-60))],
        note: "`silence_threshold_db` (default -60) → `silenceDb`; for low-volume alerts use `StreamHealth`",
    },
    Alias {
        sdk: "SilenceDetectorNode",
        ours: "StreamHealth",
        params: &[
            p("silenceThresholdDb", "silenceDb"),
            p("sustainedSilenceMs", "silenceMs"),
            p("dropoutCountThreshold", "dropoutCount"),
            p("dropoutWindowMs", "dropoutWindowMs"),
        ],
        defaults: &[("kinds", || json!(["silence", "dropouts"])), ("silenceDb", || json!(-50)), ("silenceMs", || json!(500))],
        note: "`StreamHealth` with `kinds: [silence, dropouts]`; `silence_threshold_db` (default -50) → `silenceDb`, `sustained_silence_ms` (default 500) → `silenceMs`, `dropout_count_threshold` → `dropoutCount`, `dropout_window_ms` → `dropoutWindowMs`",
    },
    Alias {
        sdk: "ClippingDetectorNode",
        ours: "StreamHealth",
        params: &[
            p("saturationThreshold", "clipLevel"),
            ignored("saturationRatioThreshold"),
            ignored("crestFactorThresholdDb"),
        ],
        defaults: &[("kinds", || json!(["clipping"]))],
        note: "`StreamHealth` with `kinds: [clipping]`; `saturation_threshold` → `clipLevel` (ratio and crest-factor thresholds ignored: `clipWindows` counts clipped windows)",
    },
    Alias {
        sdk: "ChannelBalanceNode",
        ours: "StreamHealth",
        params: &[
            p("imbalanceThresholdDb", "imbalanceDb"),
            ignored("deadChannelThresholdDb"),
        ],
        defaults: &[("kinds", || json!(["channel_imbalance"])), ("imbalanceDb", || json!(10))],
        note: "`StreamHealth` with `kinds: [channel_imbalance]`; `imbalance_threshold_db` (default 10) → `imbalanceDb` (a dead channel is an imbalance)",
    },
    Alias {
        sdk: "HealthEmitterNode",
        ours: "StreamHealth",
        params: &[
            p("leadThresholdMs", "driftMs"),
            p("freezeThresholdMs", "freezeMs"),
            p("cadenceCvThreshold", "cadenceCv"),
            ignored("healthEmitIntervalMs"),
            ignored("avSkewThresholdMs"),
            ignored("healthThreshold"),
            ignored("scoreChangeThreshold"),
        ],
        defaults: &[("kinds", || json!(["drift", "cadence", "freeze"]))],
        note: "`StreamHealth` with `kinds: [drift, cadence, freeze]`; `lead_threshold_ms` → `driftMs`, `freeze_threshold_ms` → `freezeMs`, `cadence_cv_threshold` → `cadenceCv` (health scores and A/V skew ignored)",
    },
];

impl Alias {
    /// The SDK params it maps, with the param of ours each becomes.
    pub fn mapped(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        self.params.iter().filter_map(|p| Some((p.sdk, p.ours?)))
    }
}

/// The SDK alias named `sdk_type`.
pub fn alias(sdk_type: &str) -> Option<&'static Alias> {
    ALIASES.iter().find(|a| a.sdk == sdk_type)
}

/// Node fields of the SDK that say nothing we act on.
const INFORMATIONAL: &[&str] = &[
    "isStreaming",
    "description",
    "config",
    "executor",
    "runtimeHint",
    "pythonDeps",
    "capabilities",
];

/// A v1 manifest in our form.
#[derive(Debug)]
pub struct Translated {
    /// The manifest as ours (`version: 1`, `type`, our params).
    pub value: Value,
    /// Pointer in `value` → pointer in the user's manifest, for every key that was renamed.
    pub renames: HashMap<String, String>,
}

/// True for a RemoteMedia SDK manifest (`version: "v1"`).
pub fn is_v1(value: &Value) -> bool {
    value.get("version").and_then(Value::as_str) == Some("v1")
}

/// `min_speech_duration_ms` → `minSpeechDurationMs` (camelCase stays as it is).
pub fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' && !out.is_empty() {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Translates a v1 manifest (see [`is_v1`]).
pub fn translate(value: &Value) -> Translated {
    let mut t = Translated {
        value: Value::Null,
        renames: HashMap::new(),
    };
    let Value::Object(root) = value else {
        t.value = value.clone();
        return t;
    };
    let mut out = Map::new();
    out.insert("version".into(), json!(1));
    // SDK pipelines count on the runtime converting formats between nodes.
    out.insert("negotiate".into(), json!(true));
    if let Some(Value::Object(meta)) = root.get("metadata") {
        for key in ["name", "description"] {
            if let Some(v) = meta.get(key) {
                out.insert(key.into(), v.clone());
                t.renames.insert(key.into(), format!("metadata/{key}"));
            }
        }
    }
    // The user's node types by id, to choose a Silero VAD's mode from what it feeds.
    let types: HashMap<&str, &str> = match root.get("nodes") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|n| Some((n.get("id")?.as_str()?, node_type(n.as_object()?)?.1)))
            .collect(),
        _ => HashMap::new(),
    };
    let connections: Vec<(&str, &str)> = match root.get("connections") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|c| Some((c.get("from")?.as_str()?, c.get("to")?.as_str()?)))
            .collect(),
        _ => Vec::new(),
    };
    for (key, v) in root {
        match key.as_str() {
            "version" | "metadata" => {}
            "nodes" => {
                let nodes = match v {
                    Value::Array(list) => Value::Array(
                        list.iter()
                            .enumerate()
                            .map(|(i, n)| node(i, n, &types, &connections, &mut t))
                            .collect(),
                    ),
                    other => other.clone(),
                };
                out.insert("nodes".into(), nodes);
            }
            _ => {
                out.insert(key.clone(), v.clone());
            }
        }
    }
    t.value = Value::Object(out);
    t
}

/// The node's type field and type, whichever of `node_type`, `nodeType`, `type` it uses.
fn node_type(map: &Map<String, Value>) -> Option<(&'static str, &str)> {
    ["node_type", "nodeType", "type"]
        .into_iter()
        .find_map(|k| Some((k, map.get(k)?.as_str()?)))
}

fn node(
    i: usize,
    spec: &Value,
    types: &HashMap<&str, &str>,
    connections: &[(&str, &str)],
    t: &mut Translated,
) -> Value {
    let Value::Object(map) = spec else {
        return spec.clone();
    };
    let base = format!("nodes/{i}");
    let mut out = Map::new();
    let found = node_type(map);
    let sdk_type = found.map(|(_, ty)| ty);
    let alias = sdk_type.and_then(alias);
    for (key, v) in map {
        let k = camel(key);
        match k.as_str() {
            "id" => {
                out.insert("id".into(), v.clone());
            }
            "nodeType" | "type" => {
                if found.is_some_and(|(field, _)| field == key) {
                    let ours = alias.map_or_else(|| v.clone(), |a| json!(a.ours));
                    out.insert("type".into(), ours);
                    t.renames
                        .insert(format!("{base}/type"), format!("{base}/{key}"));
                }
            }
            "skipErrors" => {
                out.insert("skipErrors".into(), v.clone());
                t.renames
                    .insert(format!("{base}/skipErrors"), format!("{base}/{key}"));
            }
            "params" => {
                let mut rate = None;
                let params = params(i, v, sdk_type, alias, t, &mut rate);
                out.insert("params".into(), params);
                if let Some((rate, user)) = rate {
                    out.insert("inputFormat".into(), json!({ "sampleRate": rate }));
                    t.renames
                        .insert(format!("{base}/inputFormat/sampleRate"), user);
                }
            }
            _ if INFORMATIONAL.contains(&k.as_str()) => {}
            _ => {
                out.insert(key.clone(), v.clone());
            }
        }
    }
    if let Some(alias) = alias {
        let params = out
            .entry("params")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(params) = params {
            for (name, default) in alias.defaults {
                params.entry(*name).or_insert_with(default);
            }
            if alias.sdk == "SileroVADNode" {
                silero_choices(map, params, types, connections);
            }
        }
    }
    Value::Object(out)
}

/// A Silero VAD: our `Vad` with `model: "silero"` (when the library's `Vad` has models) and the mode
/// that gives its consumers what the SDK node gave them.
fn silero_choices(
    spec: &Map<String, Value>,
    params: &mut Map<String, Value>,
    types: &HashMap<&str, &str>,
    connections: &[(&str, &str)],
) {
    let has_model =
        nodes::find("Vad").is_some_and(|t| (t.schema)().params.iter().any(|p| p.name == "model"));
    if has_model {
        params.entry("model").or_insert_with(|| json!("silero"));
    }
    let id = spec.get("id").and_then(Value::as_str).unwrap_or_default();
    let feeds: Vec<&str> = connections
        .iter()
        .filter(|(from, _)| *from == id)
        .filter_map(|(_, to)| types.get(to).copied())
        .collect();
    let mode = if feeds
        .iter()
        .any(|t| *t == "AudioBufferAccumulatorNode" || *t == "UtteranceAccumulator")
    {
        "gate"
    } else if connections.iter().any(|(from, _)| *from == id) {
        "pass"
    } else {
        "events"
    };
    params.entry("mode").or_insert_with(|| json!(mode));
}

/// The node's params in our names; `rate`: the sample rate they say the node expects (with the
/// pointer to it in the user's manifest).
fn params(
    i: usize,
    value: &Value,
    sdk_type: Option<&str>,
    alias: Option<&Alias>,
    t: &mut Translated,
    rate: &mut Option<(Value, String)>,
) -> Value {
    let Value::Object(map) = value else {
        return value.clone();
    };
    // A type of ours written in a v1 manifest gets camelCase keys; a type we do not have (a host
    // node) gets its params exactly as written.
    let native = alias.is_some() || sdk_type.is_some_and(|ty| nodes::find(ty).is_some());
    if !native {
        return value.clone();
    }
    let mut out = Map::new();
    for (key, v) in map {
        let k = camel(key);
        let ours = match alias.and_then(|a| a.params.iter().find(|p| p.sdk == k)) {
            Some(Param { ours: None, .. }) => {
                if matches!(k.as_str(), "samplingRate" | "sampleRate") {
                    *rate = Some((v.clone(), format!("nodes/{i}/params/{key}")));
                }
                continue;
            }
            // Every mapped param exists in our node (a test checks the table).
            Some(Param { ours: Some(o), .. }) => o.to_string(),
            None => k,
        };
        let v = match (alias.map(|a| a.sdk), ours.as_str(), v) {
            (Some("FastResampleNode"), "quality", Value::String(q)) => {
                match q.to_ascii_lowercase().as_str() {
                    "low" => json!("fast"),
                    "medium" => json!("balanced"),
                    "high" => json!("high"),
                    _ => v.clone(),
                }
            }
            _ => v.clone(),
        };
        if ours != *key {
            t.renames.insert(
                format!("nodes/{i}/params/{ours}"),
                format!("nodes/{i}/params/{key}"),
            );
        }
        out.insert(ours, v);
    }
    Value::Object(out)
}

#[cfg(test)]
#[path = "compat_tests.rs"]
mod tests;
