//! Engine tests: node lifecycle, failures, the accounting of calls, node events, and the JSON and
//! TypeScript shapes of events and metrics.

use super::observe::{ts_declarations, NodeEventRecord};
use super::*;
use crate::data::DataType;
use crate::nodes::formats::{AudioAccepts, AudioOut};
use crate::nodes::schema::{NodeSchema, Params};
use crate::nodes::{single_input, NodeEvent, NodeType};
use crate::pipeline::manifest::{EdgePlan, NodePlan};
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

const TEXT: Route = Route::ByType(DataType::Text);
static INITS: AtomicUsize = AtomicUsize::new(0);
static CLEANUPS: AtomicUsize = AtomicUsize::new(0);
static SERIAL: Mutex<()> = Mutex::new(());

/// Counts lifecycle calls; fails on text "fail", panics on text "panic".
struct Probe;

impl Node for Probe {
    fn initialize(&mut self) -> Result<(), NodeError> {
        INITS.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        match input.as_text() {
            Ok("fail") => Err(NodeError::BadInput("asked to fail".into())),
            Ok("panic") => panic!("asked to panic"),
            _ => {
                out.push(input);
                Ok(())
            }
        }
    }
    fn cleanup(&mut self) {
        CLEANUPS.fetch_add(1, Ordering::SeqCst);
    }
}

fn probe_schema() -> NodeSchema {
    NodeSchema {
        type_name: "Probe".into(),
        description: "",
        params: vec![],
        inputs: single_input(&[crate::data::DataType::Text]),
        outputs: vec![crate::data::DataType::Text],
        events: &[],
        joins_inputs: false,
        heavy: false,
        audio_in: AudioAccepts::ANY,
        audio_out: AudioOut::Same,
    }
}

static PROBE: NodeType = NodeType {
    schema: probe_schema,
    ports: crate::nodes::schema_ports,
    build: |_| Ok(Box::new(Probe)),
};

fn engine() -> Engine {
    let node = |id: &str| NodePlan {
        id: id.into(),
        node_type: Some(&PROBE),
        schema: probe_schema(),
        params: Params::default(),
        ports: probe_schema().inputs,
        skip_errors: false,
        audio_in: AudioAccepts::ANY,
        converts_for: None,
    };
    let plan = Plan {
        nodes: vec![node("a"), node("b")],
        edges: vec![EdgePlan {
            from: 0,
            to: 1,
            port: 0,
            capacity: 4,
            policy: EdgePolicy::Block,
        }],
        order: vec![0, 1],
        negotiate: false,
    };
    let mut e = Engine::new(plan, 4).unwrap();
    e.initialize().unwrap();
    e
}

struct Collect(Vec<Arc<RuntimeData>>);
impl Sink for Collect {
    fn has_room(&self, _: usize) -> bool {
        true
    }
    fn deliver(&mut self, _: usize, item: Arc<RuntimeData>, _: Instant) {
        self.0.push(item);
    }
    fn dispatch(&mut self, _: Task) {
        unreachable!("no host nodes here")
    }
}

fn counts() -> (usize, usize) {
    (
        INITS.load(Ordering::SeqCst),
        CLEANUPS.load(Ordering::SeqCst),
    )
}

#[test]
fn a_native_flush_is_one_more_call_with_the_same_accounting() {
    let manifest = serde_json::json!({"version": 1, "nodes": [
        {"id": "chunk", "type": "Chunker", "params": {"frames": 100}}
    ]});
    let mut e = Engine::new(crate::pipeline::plan(&manifest, &[]).unwrap(), 4).unwrap();
    e.initialize().unwrap();
    e.set_events(true);
    let samples = crate::data::Samples::F32(vec![0.0; 150]);
    let audio = crate::data::AudioBuffer::new(samples, 16000, 1).unwrap();
    e.accept(
        Arc::new(RuntimeData::audio(audio)),
        Route::ByType(DataType::Audio),
    );
    e.close_input();
    let mut sink = Collect(vec![]);
    e.run(&mut sink, &|| false);
    assert_eq!(e.phase(), Phase::Ended);
    assert_eq!(
        sink.0.len(),
        2,
        "one full chunk, then the remainder at end of stream"
    );
    let events = serde_json::to_value(e.drain_events()).unwrap();
    let calls: Vec<&serde_json::Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "process" && e["node"] == "chunk")
        .collect();
    assert_eq!(calls.len(), 2, "the process call and the flush: {events}");
    assert!(calls.iter().all(|c| c["itemsOut"] == 1), "{events}");
    let metrics = serde_json::to_value(e.metrics()).unwrap();
    assert_eq!(metrics["nodes"][0]["itemsOut"], 2);
    assert_eq!(
        e.slots[0].stats.recent_calls(),
        2,
        "both calls are in the percentiles"
    );
}

#[test]
fn initialize_once_and_cleanup_exactly_once_on_end_error_panic_abort_and_drop() {
    let _serial = SERIAL.lock().unwrap();
    let (i0, c0) = counts();
    // Normal end.
    let mut e = engine();
    e.accept(Arc::new(RuntimeData::text("x")), TEXT);
    e.close_input();
    let mut sink = Collect(vec![]);
    e.run(&mut sink, &|| false);
    assert_eq!(e.phase(), Phase::Ended);
    assert_eq!(sink.0.len(), 1);
    drop(e);
    assert_eq!(counts(), (i0 + 2, c0 + 2));
    // Error, then panic: both fail the session with the node id; cleanup still once per node.
    for (text, expected) in [
        ("fail", "asked to fail"),
        ("panic", "panicked: asked to panic"),
    ] {
        let mut e = engine();
        e.accept(Arc::new(RuntimeData::text(text)), TEXT);
        e.run(&mut Collect(vec![]), &|| false);
        assert_eq!(e.phase(), Phase::Failed);
        let f = e.failure().unwrap();
        assert_eq!((f.node_id.as_str(), f.message.as_str()), ("a", expected));
        e.abort(); // no second cleanup
        drop(e);
    }
    assert_eq!(counts(), (i0 + 6, c0 + 6));
    // Abort, then drop.
    let mut e = engine();
    e.abort();
    e.abort();
    drop(e);
    let e = engine();
    drop(e);
    assert_eq!(counts(), (i0 + 10, c0 + 10));
}

/// Reports a speech start for the text "report"; for anything else emits a JSON item that looks like
/// one (which is data, not an event).
struct Talker;

impl Node for Talker {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        if input.as_text().is_ok_and(|t| t == "report") {
            out.event(crate::nodes::NodeEvent::SpeechStart {
                time_us: 5,
                probability: 0.9,
            });
        } else {
            let lookalike = serde_json::json!({"type": "speech_start", "timeUs": 6});
            out.push(Arc::new(RuntimeData::json(lookalike)));
        }
        Ok(())
    }
}

fn talker_schema() -> NodeSchema {
    NodeSchema {
        type_name: "Talker".into(),
        outputs: vec![DataType::Json],
        events: &["speech_start"],
        ..probe_schema()
    }
}

static TALKER: NodeType = NodeType {
    schema: talker_schema,
    ports: crate::nodes::schema_ports,
    build: |_| Ok(Box::new(Talker)),
};

#[test]
fn node_events_are_forwarded_with_the_node_id_and_json_items_are_only_data() {
    let plan = Plan {
        nodes: vec![NodePlan {
            id: "talk".into(),
            node_type: Some(&TALKER),
            schema: talker_schema(),
            params: Params::default(),
            ports: talker_schema().inputs,
            skip_errors: false,
            audio_in: AudioAccepts::ANY,
            converts_for: None,
        }],
        edges: vec![],
        order: vec![0],
        negotiate: false,
    };
    let mut e = Engine::new(plan, 4).unwrap();
    e.initialize().unwrap();
    let mut sink = Collect(vec![]);
    e.accept(Arc::new(RuntimeData::text("report")), TEXT);
    e.run(&mut sink, &|| false); // nobody listens: the event is not kept
    e.set_events(true);
    for text in ["report", "data"] {
        e.accept(Arc::new(RuntimeData::text(text)), TEXT);
    }
    e.run(&mut sink, &|| false);
    assert_eq!(sink.0.len(), 1, "the lookalike JSON is an output");
    let speech: Vec<serde_json::Value> = e
        .drain_events()
        .events
        .iter()
        .map(|event| serde_json::to_value(event).unwrap())
        .filter(|event| event["type"] == "speech_start")
        .collect();
    assert_eq!(speech.len(), 1, "{speech:?}");
    assert_eq!(speech[0]["node"], "talk");
    assert_eq!(speech[0]["timeUs"], 5);
    assert!(speech[0]["atUs"].is_number());
}

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap()
}

#[test]
fn events_and_metrics_serialise_to_the_json_typescript_reads() {
    let node = || "a".to_string();
    let cases = [
        (
            SessionEvent::NodeStarted {
                node: node(),
                at_us: 9.0,
            },
            r#"{"type":"node_started","node":"a","atUs":9.0}"#,
        ),
        (
            SessionEvent::NodeFinished {
                node: node(),
                at_us: 80.0,
            },
            r#"{"type":"node_finished","node":"a","atUs":80.0}"#,
        ),
        (
            SessionEvent::Process {
                node: node(),
                start_us: 38.0,
                duration_us: 21.452,
                items_out: Some(1),
                at_us: 69.0,
            },
            r#"{"type":"process","node":"a","startUs":38.0,"durationUs":21.452,"itemsOut":1,"atUs":69.0}"#,
        ),
        (
            SessionEvent::Process {
                node: node(),
                start_us: 1.0,
                duration_us: 2.5,
                items_out: None,
                at_us: 4.0,
            },
            r#"{"type":"process","node":"a","startUs":1.0,"durationUs":2.5,"atUs":4.0}"#,
        ),
        (
            SessionEvent::Drop {
                node: "b".into(),
                from: node(),
                at_us: 5.0,
            },
            r#"{"type":"drop","node":"b","from":"a","atUs":5.0}"#,
        ),
        (
            SessionEvent::Error {
                node: node(),
                node_type: "Vad".into(),
                message: "Vad needs mono audio".into(),
                at_us: 6.0,
            },
            r#"{"type":"error","node":"a","nodeType":"Vad","message":"Vad needs mono audio","atUs":6.0}"#,
        ),
        (
            SessionEvent::Node(NodeEventRecord {
                event: NodeEvent::SpeechStart {
                    time_us: 560000,
                    probability: 0.9876,
                },
                node: "vad".into(),
                at_us: 7.0,
            }),
            r#"{"type":"speech_start","timeUs":560000,"probability":0.9876,"node":"vad","atUs":7.0}"#,
        ),
        (
            SessionEvent::Node(NodeEventRecord {
                event: NodeEvent::SpeechEnd {
                    start_us: 560000,
                    end_us: 4160000,
                    duration_us: 3600000,
                    probability: 0.8125,
                },
                node: "vad".into(),
                at_us: 8.0,
            }),
            r#"{"type":"speech_end","startUs":560000,"endUs":4160000,"durationUs":3600000,"probability":0.8125,"node":"vad","atUs":8.0}"#,
        ),
    ];
    for (event, expected) in &cases {
        assert_eq!(json(event), *expected);
    }
    let batch = EventBatch {
        events: vec![cases[0].0.clone()],
        dropped: 2,
    };
    assert_eq!(
        json(&batch),
        format!(r#"{{"events":[{}],"dropped":2}}"#, cases[0].1)
    );
    let metrics = SessionMetrics {
        phase: 1,
        nodes: vec![NodeMetrics {
            id: "g".into(),
            type_name: "Gain".into(),
            items_in: 3,
            items_out: 3,
            total_ms: 0.5,
            max_ms: 0.25,
            p50_ms: 0.125,
            p95_ms: 0.25,
            errors: 0,
            queue_depth: 1,
            dropped: 0,
            converts_for: None,
        }],
        input_queue: 2,
        output_queue: 4,
    };
    assert_eq!(
        json(&metrics),
        r#"{"phase":1,"nodes":[{"id":"g","type":"Gain","itemsIn":3,"itemsOut":3,"totalMs":0.5,"maxMs":0.25,"p50Ms":0.125,"p95Ms":0.25,"errors":0,"queueDepth":1,"dropped":0}],"inputQueue":2,"outputQueue":4}"#
    );
}

#[test]
fn typescript_declarations_use_numbers_and_optional_fields() {
    let decls = ts_declarations();
    let names: Vec<&str> = decls
        .iter()
        .map(|d| {
            let at = d
                .find("type ")
                .expect("a declaration after its doc comment");
            d[at..].split_whitespace().nth(1).unwrap()
        })
        .collect();
    assert_eq!(
        names,
        [
            "NodeEvent",
            "NodeEventRecord",
            "SessionEvent",
            "EventBatch",
            "NodeMetrics",
            "SessionMetrics"
        ]
    );
    let all = decls.join("\n");
    assert!(!all.contains("bigint"), "{all}");
    assert!(all.contains("itemsOut?: number"), "{all}");
    assert!(all.contains("\"type\": \"speech_end\""), "{all}");
}
