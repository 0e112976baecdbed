//! RemoteMedia SDK manifests (the fixtures in tests/data/sdk/, shared with the TypeScript tests):
//! translation, validation on the translation, and issues that point at the user's file.

use super::super::plan_from_str;
use super::super::source::load;
use super::*;
use serde_json::json;

const PASSTHROUGH: &str = include_str!("../../../../tests/data/sdk/passthrough.yaml");
const VAD_CHAIN: &str = include_str!("../../../../tests/data/sdk/vad_chain.yaml");
const VAD_CHAIN_JSON: &str = include_str!("../../../../tests/data/sdk/vad_chain.json");
const LEVEL_AND_TEXT: &str = include_str!("../../../../tests/data/sdk/level_and_text.yaml");
const VOICE_ASSISTANT: &str = include_str!("../../../../tests/data/sdk/voice_assistant.yaml");
const BAD: &str = include_str!("../../../../tests/data/sdk/bad.yaml");

fn messages(issues: &[crate::pipeline::Issue]) -> Vec<String> {
    issues.iter().map(|i| i.to_string()).collect()
}

#[test]
fn a_v1_passthrough_becomes_ours() {
    let source = load(PASSTHROUGH).unwrap();
    assert!(source.v1 && source.yaml);
    assert_eq!(
        source.value,
        json!({"version": 1, "negotiate": true, "name": "test-passthrough",
            "description": "Simple passthrough pipeline for testing CLI execution",
            "nodes": [{"id": "pass", "type": "PassThrough", "params": {}}], "connections": []})
    );
    plan_from_str(PASSTHROUGH, &[]).unwrap();
}

#[test]
fn the_vad_chain_maps_every_param_and_picks_gate_mode() {
    let source = load(VAD_CHAIN).unwrap();
    let nodes = &source.value["nodes"];
    assert_eq!(
        nodes[0],
        json!({"id": "chunker", "type": "Chunker", "params": {"frames": 512}})
    );
    assert_eq!(nodes[1]["type"], "Vad");
    let vad = &nodes[1]["params"];
    assert_eq!(vad["minSpeechMs"], 250);
    assert_eq!(vad["minSilenceMs"], 300);
    assert_eq!(vad["speechPadMs"], 30);
    assert_eq!(vad["threshold"], 0.5);
    assert_eq!(vad["mode"], "gate");
    assert!(vad.get("samplingRate").is_none());
    assert_eq!(
        nodes[2],
        json!({"id": "accumulator", "type": "UtteranceAccumulator", "params": {"minMs": 500, "maxMs": 30000}})
    );
    // sampling_rate: the rate the SDK node expects, which negotiation provides.
    assert_eq!(nodes[1]["inputFormat"], json!({"sampleRate": 16000}));
    plan_from_str(VAD_CHAIN, &[]).unwrap();
}

#[test]
fn the_json_form_with_camel_case_translates_the_same() {
    let source = load(VAD_CHAIN_JSON).unwrap();
    assert!(source.v1 && !source.yaml);
    let nodes = &source.value["nodes"];
    assert_eq!(
        nodes[0],
        json!({"id": "resample", "type": "Resample", "params": {"targetRate": 16000, "quality": "high"}})
    );
    assert_eq!(nodes[2]["params"]["minSilenceMs"], 300);
    assert_eq!(nodes[3]["params"], json!({"minMs": 500}));
    plan_from_str(VAD_CHAIN_JSON, &[]).unwrap();
}

#[test]
fn levels_and_text_collectors_translate() {
    let source = load(LEVEL_AND_TEXT).unwrap();
    let nodes = &source.value["nodes"];
    assert_eq!(
        nodes[0]["params"],
        json!({"targetRate": 8000, "quality": "fast"})
    );
    assert_eq!(
        nodes[1],
        json!({"id": "level", "type": "AudioLevel", "params": {"silenceDb": -50.0}})
    );
    assert_eq!(
        nodes[2],
        json!({"id": "sentences", "type": "TextCollector", "params": {"minChars": 10}})
    );
    plan_from_str(LEVEL_AND_TEXT, &[]).unwrap();
}

#[test]
fn a_node_type_we_do_not_have_says_how_to_provide_it() {
    let issues = plan_from_str(VOICE_ASSISTANT, &[]).err().unwrap();
    let text = messages(&issues).join("\n");
    assert!(
        text.contains("nodes[1] \"tts\".node_type (line 13): unknown node type \"KokoroTTSNode\""),
        "{text}"
    );
    assert!(text.contains("registerNode(\"KokoroTTSNode\""), "{text}");
    // Its params reach the host node as written.
    let source = load(VOICE_ASSISTANT).unwrap();
    assert_eq!(
        source.value["nodes"][1]["params"],
        json!({"voice": "af_bella", "speed": 1.0, "sample_rate": 24000})
    );
    // Registered by the host, it validates.
    let kokoro: crate::nodes::schema::NodeSchema = super::super::external_types(&json!([
        {"type": "KokoroTTSNode", "inputs": [{"name": "in", "accepts": ["text"]}], "outputs": ["audio"]}
    ]))
    .unwrap()
    .remove(0);
    plan_from_str(VOICE_ASSISTANT, &[kokoro]).unwrap();
}

#[test]
fn issues_name_the_users_keys_and_lines() {
    let issues = plan_from_str(BAD, &[]).err().unwrap();
    let text = messages(&issues);
    let has = |needle: &str| {
        assert!(
            text.iter().any(|t| t.starts_with(needle)),
            "no issue starts with {needle:?}:\n{}",
            text.join("\n")
        )
    };
    has("nodes[0] \"res\".params.target_rate (line 8): expected an integer between 1000 and 384000, got 5");
    has("nodes[0] \"res\".params.quality (line 9):");
    has("nodes[1] \"vad\".params.min_speech_duration_ms (line 13):");
    has("nodes[1] \"vad\".params.colour (line 14): unknown");
    has("connections[0].to (line 17): no node has id \"ghost\"");
}

#[test]
fn our_own_yaml_validates_with_lines() {
    let text = "version: 1\nnodes:\n  - id: g\n    type: Gain\n    params:\n      gainDb: 100\n";
    let issues = plan_from_str(text, &[]).err().unwrap();
    assert_eq!(
        messages(&issues),
        ["nodes[0] \"g\".params.gainDb (line 6): expected a number between -120 and 60, got 100"]
    );
    let issues = plan_from_str("version: 2\nnodes: []\n", &[]).err().unwrap();
    assert!(messages(&issues)[0].starts_with("version (line 1): unsupported manifest version 2"));
}

#[test]
fn snake_case_keys_become_camel_case() {
    assert_eq!(camel("min_speech_duration_ms"), "minSpeechDurationMs");
    assert_eq!(camel("minSpeechDurationMs"), "minSpeechDurationMs");
    assert_eq!(camel("_private"), "_private");
}

#[test]
fn the_sdk_stream_health_analysers_become_stream_health_nodes() {
    let text = include_str!("../../../../tests/data/sdk/stream_health.yaml");
    let source = load(text).unwrap();
    let nodes = &source.value["nodes"];
    assert_eq!(
        nodes[1]["params"],
        json!({"silenceDb": -50.0, "silenceMs": 500.0, "dropoutCount": 3, "dropoutWindowMs": 5000.0,
            "kinds": ["silence", "dropouts"]})
    );
    assert_eq!(
        nodes[2]["params"],
        json!({"clipLevel": 0.99, "kinds": ["clipping"]})
    );
    assert_eq!(
        nodes[3]["params"],
        json!({"imbalanceDb": 10.0, "kinds": ["channel_imbalance"]})
    );
    assert_eq!(
        nodes[4]["params"],
        json!({"driftMs": 50, "freezeMs": 500, "cadenceCv": 0.3, "kinds": ["drift", "cadence", "freeze"]})
    );
    plan_from_str(text, &[]).unwrap();
}

#[test]
fn mutated_manifests_never_panic() {
    // Every fixture with bytes replaced, removed and repeated (a fixed LCG, so the run is repeatable):
    // the YAML reader, the translation and the validation return issues, never panic.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: usize| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as usize % n.max(1)
    };
    let alphabet = b"{}[]:,-&*!|>'\"#%@`? \n\t0aZ_.~";
    for text in [
        PASSTHROUGH,
        VAD_CHAIN,
        VAD_CHAIN_JSON,
        LEVEL_AND_TEXT,
        VOICE_ASSISTANT,
        BAD,
    ] {
        for _ in 0..1000 {
            let mut bytes = text.as_bytes().to_vec();
            for _ in 0..1 + next(4) {
                let at = next(bytes.len());
                match next(3) {
                    0 => bytes[at] = alphabet[next(alphabet.len())],
                    1 => {
                        bytes.remove(at);
                    }
                    _ => {
                        let end = (at + next(40)).min(bytes.len());
                        let piece = bytes[at..end].to_vec();
                        bytes.splice(at..at, piece);
                    }
                }
            }
            if let Ok(text) = std::str::from_utf8(&bytes) {
                let _ = plan_from_str(text, &[]);
            }
        }
    }
}

#[test]
fn every_mapped_param_exists_in_our_node() {
    // A mapped param whose target our node lacked used to be dropped; the table must never map to
    // nothing.
    for alias in ALIASES {
        let schema = (crate::nodes::find(alias.ours).expect(alias.ours).schema)();
        for (sdk, ours) in alias.mapped() {
            assert!(
                schema.params.iter().any(|p| p.name == ours),
                "{}.{sdk} maps to {}.{ours}, which does not exist",
                alias.sdk,
                alias.ours
            );
        }
        for (name, _) in alias.defaults {
            assert!(
                schema.params.iter().any(|p| p.name == *name),
                "{}: default {name}",
                alias.sdk
            );
        }
    }
}
