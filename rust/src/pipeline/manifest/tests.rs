//! Manifest validation tests: every problem reported with its path.

use super::*;
use serde_json::json;

fn issues(v: Value) -> Vec<String> {
    match plan(&v, &[]) {
        Ok(_) => vec![],
        Err(list) => list.iter().map(|i| i.to_string()).collect(),
    }
}

#[test]
fn a_valid_chain_is_planned_in_order() {
    let p = plan(
        &json!({"version": 1, "nodes": [
        {"id": "b", "type": "Resample", "params": {"targetRate": 16000}},
        {"id": "a", "type": "ChannelMix"}
    ], "connections": [{"from": "a", "to": "b"}]}),
        &[],
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(p.order, vec![1, 0]);
    assert_eq!(p.edges[0].capacity, DEFAULT_EDGE_CAPACITY);
}

#[test]
fn every_problem_is_reported_at_once() {
    let got = issues(json!({"version": 2, "extra": 1, "nodes": [
        {"id": "a", "type": "Nope"},
        {"id": "a", "type": "Gain", "params": {"gain": -1}},
        {"id": "r", "type": "Resample"},
        {"id": "t", "type": "TextTransform"}
    ], "connections": [
        {"from": "a", "to": "ghost"},
        {"from": "r", "to": "t"},
        {"from": "r", "to": "r"},
        {"from": "r", "to": "t", "policy": "sometimes", "capacity": 0}
    ]}));
    let text = got.join("\n");
    for expected in [
        "version: unsupported manifest version 2 (expected 1)",
        "extra: unknown key",
        "nodes[0] \"a\".type: unknown node type \"Nope\" (known: PassThrough, Gain,",
        "nodes[1].id: duplicate id \"a\" (also nodes[0])",
        "nodes[1] \"a\".params.gain: expected a number between 0 and 1000, got -1",
        "nodes[2] \"r\".params.targetRate: required param is missing",
        "connections[0].to: no node has id \"ghost\" (dangling connection)",
        "connections[2]: node \"r\" is connected to itself (cycle)",
        "connections[3].policy: expected \"block\" or \"dropOldest\", got \"sometimes\"",
        "connections[3].capacity: expected an integer between 1 and 65536, got 0",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn incompatible_types_name_both_ends() {
    let text = issues(json!({"version": 1, "nodes": [
        {"id": "up", "type": "TextTransform"}, {"id": "g", "type": "Gain"}
    ], "connections": [{"from": "up", "to": "g"}]}))
    .join("\n");
    assert!(text.contains("connections[0]: incompatible data types: \"up\" (TextTransform) emits text but \"g\" (Gain) port \"in\" accepts audio"), "{text}");
}

#[test]
fn cycles_and_unfed_ports_are_found() {
    let text = issues(json!({"version": 1, "nodes": [
        {"id": "a", "type": "PassThrough"}, {"id": "b", "type": "PassThrough"}, {"id": "c", "type": "PassThrough"},
        {"id": "m", "type": "Mix", "params": {"inputs": ["x", "y"]}}
    ], "connections": [
        {"from": "a", "to": "b"}, {"from": "b", "to": "c"}, {"from": "c", "to": "b"},
        {"from": "a", "to": "m", "port": "x"}, {"from": "a", "to": "m", "port": "z"}
    ]}))
    .join("\n");
    assert!(
        text.contains("connections: cycle through nodes \"b\", \"c\""),
        "{text}"
    );
    assert!(text.contains("input port \"y\" is not connected"), "{text}");
    assert!(
        text.contains("has no input port \"z\" (ports: x, y)"),
        "{text}"
    );
}

#[test]
fn a_source_takes_no_connection() {
    let text = issues(json!({"version": 1, "nodes": [
        {"id": "up", "type": "TextTransform"},
        {"id": "read", "type": "WavReader", "params": {"path": "in.wav"}}
    ], "connections": [{"from": "up", "to": "read"}]}))
    .join("\n");
    assert_eq!(text, "connections[0].to: \"read\" (WavReader) takes no input with these params: it is a source that starts by itself");
}

#[test]
fn malformed_json_reports_line_and_column() {
    let err = plan_from_str("{\"version\": 1,\n \"nodes\": [", &[])
        .err()
        .unwrap();
    assert!(err[0].message.contains("line 2"), "{}", err[0]);
}
