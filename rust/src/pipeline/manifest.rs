//! Manifests: parsing and full validation, reporting every problem with its path.

use crate::data::{json_kind, DataType};
use crate::nodes::schema::{validate_params, NodeSchema, Params, PortSchema};
use crate::nodes::{self, NodeType};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// One validation problem.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    /// Where: `nodes[1] "res".params.targetRate`, `connections[0].to`, ...
    pub path: String,
    /// What was wrong, with expected vs got where it applies.
    pub message: String,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// How an edge behaves when full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgePolicy {
    /// Upstream waits (no loss). The default.
    Block,
    /// The oldest queued item is dropped and counted.
    DropOldest,
}

/// A validated node.
pub struct NodePlan {
    /// Unique id.
    pub id: String,
    /// Registered native type, or `None` for a node implemented by the host (TypeScript).
    pub node_type: Option<&'static NodeType>,
    /// Its schema.
    pub schema: NodeSchema,
    /// Params with defaults.
    pub params: Params,
    /// Input ports.
    pub ports: Vec<PortSchema>,
    /// Errors skip the item instead of failing the session.
    pub skip_errors: bool,
}

/// A validated connection.
pub struct EdgePlan {
    /// Index of the source node.
    pub from: usize,
    /// Index of the target node.
    pub to: usize,
    /// Index of the target port.
    pub port: usize,
    /// Queue bound.
    pub capacity: usize,
    /// Full-queue behaviour.
    pub policy: EdgePolicy,
}

/// A manifest that passed validation: ready to instantiate.
pub struct Plan {
    /// Nodes in manifest order.
    pub nodes: Vec<NodePlan>,
    /// Connections.
    pub edges: Vec<EdgePlan>,
    /// Node indices in topological order.
    pub order: Vec<usize>,
}

/// Default bound of an edge queue.
pub const DEFAULT_EDGE_CAPACITY: usize = 16;

/// Largest number of nodes (and of connections) a manifest may declare.
pub const MAX_NODES: usize = 10_000;

/// Largest manifest text accepted, in bytes.
pub const MAX_MANIFEST_BYTES: usize = 16 * 1024 * 1024;

fn issue(issues: &mut Vec<Issue>, path: impl Into<String>, message: impl Into<String>) {
    issues.push(Issue {
        path: path.into(),
        message: message.into(),
    });
}

/// A required string field: the string, or an issue ("missing" / "expected a string, got …").
fn string_field<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    path: &str,
    issues: &mut Vec<Issue>,
) -> Option<&'a str> {
    match map.get(key) {
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            let message = format!("expected a string, got {}", json_kind(other));
            issue(issues, format!("{path}.{key}"), message);
            None
        }
        None => {
            issue(issues, format!("{path}.{key}"), "missing");
            None
        }
    }
}

fn check_keys(map: &Map<String, Value>, allowed: &[&str], path: &str, issues: &mut Vec<Issue>) {
    for key in map.keys() {
        if !allowed.contains(&key.as_str()) {
            issue(
                issues,
                if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                },
                format!("unknown key (expected one of {})", allowed.join(", ")),
            );
        }
    }
}

/// Parses node types declared by the host (TypeScript nodes):
/// `[{type, inputs?: [{name, accepts: [..]}], outputs?: [..], joinsInputs?}]`. Missing ports default
/// to one port `in` accepting every type; missing outputs to every type.
pub fn external_types(value: &Value) -> Result<Vec<NodeSchema>, String> {
    let all: Vec<DataType> = DataType::all().to_vec();
    let types = |v: Option<&Value>, what: &str| -> Result<Vec<DataType>, String> {
        match v {
            None => Ok(all.clone()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .and_then(DataType::from_name)
                        .ok_or_else(|| format!("{what}: {i} is not a data type (text, audio, video, json, binary, tensor)"))
                })
                .collect(),
            Some(other) => Err(format!("{what}: expected an array of data types, got {}", json_kind(other))),
        }
    };
    let Value::Array(list) = value else {
        return Err(format!(
            "node types must be an array, got {}",
            json_kind(value)
        ));
    };
    let mut out = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let name = t["type"]
            .as_str()
            .ok_or_else(|| format!("nodeTypes[{i}].type: expected a string"))?;
        if nodes::find(name).is_some() {
            return Err(format!(
                "nodeTypes[{i}]: \"{name}\" is a built-in node type"
            ));
        }
        let inputs = match t.get("inputs") {
            None => vec![PortSchema {
                name: "in".into(),
                accepts: all.clone(),
            }],
            Some(Value::Array(ports)) if !ports.is_empty() => ports
                .iter()
                .enumerate()
                .map(|(p, port)| {
                    Ok(PortSchema {
                        name: port["name"]
                            .as_str()
                            .ok_or_else(|| {
                                format!("nodeTypes[{i}].inputs[{p}].name: expected a string")
                            })?
                            .to_string(),
                        accepts: types(
                            port.get("accepts"),
                            &format!("nodeTypes[{i}].inputs[{p}].accepts"),
                        )?,
                    })
                })
                .collect::<Result<_, String>>()?,
            Some(_) => {
                return Err(format!(
                    "nodeTypes[{i}].inputs: expected a non-empty array of ports"
                ))
            }
        };
        out.push(NodeSchema {
            type_name: name.to_string().into(),
            description: "",
            params: Vec::new(),
            inputs,
            outputs: types(t.get("outputs"), &format!("nodeTypes[{i}].outputs"))?,
            events: &[], // host nodes report no node events
            joins_inputs: t["joinsInputs"].as_bool().unwrap_or(false),
            heavy: false,
        });
    }
    Ok(out)
}

/// Parses and validates manifest text; returns the plan or every issue found.
pub fn plan_from_str(text: &str, externals: &[NodeSchema]) -> Result<Plan, Vec<Issue>> {
    if text.len() > MAX_MANIFEST_BYTES {
        return Err(vec![Issue {
            path: String::new(),
            message: format!(
                "manifest is {} bytes; the limit is {MAX_MANIFEST_BYTES}",
                text.len()
            ),
        }]);
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        vec![Issue {
            path: String::new(),
            message: format!("manifest is not valid JSON: {e}"),
        }]
    })?;
    plan(&value, externals)
}

/// Validates a parsed manifest; `externals` are node types implemented by the host.
pub fn plan(value: &Value, externals: &[NodeSchema]) -> Result<Plan, Vec<Issue>> {
    let mut issues = Vec::new();
    let Value::Object(root) = value else {
        return Err(vec![Issue {
            path: String::new(),
            message: format!("manifest must be a JSON object, got {}", json_kind(value)),
        }]);
    };
    check_keys(
        root,
        &["version", "name", "description", "nodes", "connections"],
        "",
        &mut issues,
    );
    match root.get("version") {
        Some(v) if v.as_u64() == Some(1) => {}
        Some(v) => issue(
            &mut issues,
            "version",
            format!("unsupported manifest version {v} (expected 1)"),
        ),
        None => issue(&mut issues, "version", "missing (expected 1)"),
    }

    let mut nodes: Vec<Option<NodePlan>> = Vec::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    match root.get("nodes") {
        Some(Value::Array(list)) if list.len() > MAX_NODES => issue(
            &mut issues,
            "nodes",
            format!("{} nodes; the limit is {MAX_NODES}", list.len()),
        ),
        Some(Value::Array(list)) if !list.is_empty() => {
            for (i, spec) in list.iter().enumerate() {
                nodes.push(plan_node(i, spec, &mut ids, externals, &mut issues));
            }
        }
        Some(Value::Array(_)) => issue(&mut issues, "nodes", "must contain at least one node"),
        Some(other) => issue(
            &mut issues,
            "nodes",
            format!("expected an array, got {}", json_kind(other)),
        ),
        None => issue(&mut issues, "nodes", "missing (expected an array of nodes)"),
    }

    let mut edges = Vec::new();
    let mut seen_edges = HashSet::new();
    match root.get("connections") {
        None => {}
        Some(Value::Array(list)) if list.len() > MAX_NODES * 4 => issue(
            &mut issues,
            "connections",
            format!("{} connections; the limit is {}", list.len(), MAX_NODES * 4),
        ),
        Some(Value::Array(list)) => {
            for (i, spec) in list.iter().enumerate() {
                if let Some(edge) = plan_edge(i, spec, &ids, &nodes, &mut issues) {
                    if !seen_edges.insert((edge.from, edge.to, edge.port)) {
                        issue(
                            &mut issues,
                            format!("connections[{i}]"),
                            "duplicate connection",
                        );
                    }
                    edges.push(edge);
                }
            }
        }
        Some(other) => issue(
            &mut issues,
            "connections",
            format!("expected an array, got {}", json_kind(other)),
        ),
    }

    // Every port of a multi-input node must be fed.
    for (n, node) in nodes.iter().enumerate() {
        let Some(node) = node else { continue };
        if node.ports.len() > 1 || node.schema.joins_inputs {
            for (p, port) in node.ports.iter().enumerate() {
                if !edges.iter().any(|e| e.to == n && e.port == p) {
                    issue(
                        &mut issues,
                        format!("nodes[{n}] \"{}\"", node.id),
                        format!(
                            "input port \"{}\" is not connected (a {} node needs every port fed)",
                            port.name, node.schema.type_name
                        ),
                    );
                }
            }
        }
    }

    let order = topological_order(&nodes, &edges, &mut issues);
    if !issues.is_empty() {
        return Err(issues);
    }
    Ok(Plan {
        nodes: nodes
            .into_iter()
            .map(|n| n.expect("no issues means every node planned"))
            .collect(),
        edges,
        order,
    })
}

fn plan_node(
    i: usize,
    spec: &Value,
    ids: &mut HashMap<String, usize>,
    externals: &[NodeSchema],
    issues: &mut Vec<Issue>,
) -> Option<NodePlan> {
    let base = format!("nodes[{i}]");
    let Value::Object(map) = spec else {
        issue(
            issues,
            base,
            format!(
                "expected a node object {{id, type, params}}, got {}",
                json_kind(spec)
            ),
        );
        return None;
    };
    let id = string_field(map, "id", &base, issues).and_then(|s| {
        if !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || "_-.:".contains(c)) {
            Some(s.to_string())
        } else {
            let message = format!("\"{s}\" is not a valid id (use letters, digits, _ - . :)");
            issue(issues, format!("{base}.id"), message);
            None
        }
    });
    let label = match &id {
        Some(id) => format!("{base} \"{id}\""),
        None => base.clone(),
    };
    if let Some(id) = &id {
        if let Some(&first) = ids.get(id) {
            issue(
                issues,
                format!("{base}.id"),
                format!("duplicate id \"{id}\" (also nodes[{first}])"),
            );
        } else {
            ids.insert(id.clone(), i);
        }
    }
    check_keys(map, &["id", "type", "params", "skipErrors"], &label, issues);
    let skip_errors = match map.get("skipErrors") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            issue(
                issues,
                format!("{label}.skipErrors"),
                format!("expected a boolean, got {}", json_kind(other)),
            );
            false
        }
    };
    enum Found {
        Native(&'static NodeType),
        External(NodeSchema),
    }
    let found = string_field(map, "type", &label, issues).and_then(|t| {
        match (nodes::find(t), externals.iter().find(|e| e.type_name == t)) {
            (Some(nt), _) => Some(Found::Native(nt)),
            (None, Some(ext)) => Some(Found::External(ext.clone())),
            (None, None) => {
                let mut known: Vec<String> = nodes::registry()
                    .iter()
                    .map(|t| (t.schema)().type_name.into_owned())
                    .collect();
                known.extend(externals.iter().map(|e| e.type_name.to_string()));
                issue(
                    issues,
                    format!("{label}.type"),
                    format!("unknown node type \"{t}\" (known: {})", known.join(", ")),
                );
                None
            }
        }
    });
    match found? {
        Found::Native(node_type) => {
            let schema = (node_type.schema)();
            let params = match validate_params(&schema, map.get("params")) {
                Ok(p) => p,
                Err(problems) => {
                    for (param, message) in problems {
                        let path = if param.is_empty() {
                            format!("{label}.params")
                        } else {
                            format!("{label}.params.{param}")
                        };
                        issue(issues, path, message);
                    }
                    return None;
                }
            };
            let ports = (node_type.ports)(&schema, &params);
            Some(NodePlan {
                id: id?,
                node_type: Some(node_type),
                schema,
                params,
                ports,
                skip_errors,
            })
        }
        Found::External(schema) => {
            // Host nodes validate their own params (their factory receives them).
            let params = match map.get("params") {
                None | Some(Value::Null) => Params::default(),
                Some(Value::Object(m)) => Params(m.clone()),
                Some(other) => {
                    issue(
                        issues,
                        format!("{label}.params"),
                        format!("params must be an object, got {}", json_kind(other)),
                    );
                    return None;
                }
            };
            let ports = schema.inputs.clone();
            Some(NodePlan {
                id: id?,
                node_type: None,
                schema,
                params,
                ports,
                skip_errors,
            })
        }
    }
}

fn plan_edge(
    i: usize,
    spec: &Value,
    ids: &HashMap<String, usize>,
    nodes: &[Option<NodePlan>],
    issues: &mut Vec<Issue>,
) -> Option<EdgePlan> {
    let base = format!("connections[{i}]");
    let Value::Object(map) = spec else {
        issue(
            issues,
            base,
            format!(
                "expected a connection object {{from, to, port?}}, got {}",
                json_kind(spec)
            ),
        );
        return None;
    };
    check_keys(
        map,
        &["from", "to", "port", "policy", "capacity"],
        &base,
        issues,
    );
    let mut endpoint = |key: &str| -> Option<usize> {
        match map.get(key) {
            Some(Value::String(id)) => match ids.get(id) {
                Some(&n) => Some(n),
                None => {
                    issue(
                        issues,
                        format!("{base}.{key}"),
                        format!("no node has id \"{id}\" (dangling connection)"),
                    );
                    None
                }
            },
            Some(other) => {
                issue(
                    issues,
                    format!("{base}.{key}"),
                    format!("expected a node id string, got {}", json_kind(other)),
                );
                None
            }
            None => {
                issue(issues, format!("{base}.{key}"), "missing");
                None
            }
        }
    };
    let from = endpoint("from");
    let to = endpoint("to");
    let policy = match map.get("policy") {
        None => EdgePolicy::Block,
        Some(Value::String(p)) if p == "block" => EdgePolicy::Block,
        Some(Value::String(p)) if p == "dropOldest" => EdgePolicy::DropOldest,
        Some(other) => {
            issue(
                issues,
                format!("{base}.policy"),
                format!("expected \"block\" or \"dropOldest\", got {other}"),
            );
            EdgePolicy::Block
        }
    };
    let capacity = match map.get("capacity") {
        None => DEFAULT_EDGE_CAPACITY,
        Some(v) => match v.as_u64() {
            Some(c) if (1..=65_536).contains(&c) => c as usize,
            _ => {
                issue(
                    issues,
                    format!("{base}.capacity"),
                    format!("expected an integer between 1 and 65536, got {v}"),
                );
                DEFAULT_EDGE_CAPACITY
            }
        },
    };
    let (from, to) = (from?, to?);
    if from == to {
        let id = map.get("from").and_then(Value::as_str).unwrap_or("?");
        issue(
            issues,
            base,
            format!("node \"{id}\" is connected to itself (cycle)"),
        );
        return None;
    }
    let (Some(src), Some(dst)) = (&nodes[from], &nodes[to]) else {
        return None;
    };
    if dst.ports.is_empty() {
        issue(
            issues,
            format!("{base}.to"),
            format!(
                "\"{}\" ({}) takes no input with these params: it is a source that starts by itself",
                dst.id, dst.schema.type_name
            ),
        );
        return None;
    }
    let port = match map.get("port") {
        None if dst.ports.len() == 1 => 0,
        None => {
            let names: Vec<&str> = dst.ports.iter().map(|p| p.name.as_str()).collect();
            issue(
                issues,
                format!("{base}.port"),
                format!(
                    "node \"{}\" has several input ports; name one of {}",
                    dst.id,
                    names.join(", ")
                ),
            );
            return None;
        }
        Some(Value::String(name)) => match dst.ports.iter().position(|p| &p.name == name) {
            Some(p) => p,
            None => {
                let names: Vec<&str> = dst.ports.iter().map(|p| p.name.as_str()).collect();
                issue(
                    issues,
                    format!("{base}.port"),
                    format!(
                        "node \"{}\" ({}) has no input port \"{name}\" (ports: {})",
                        dst.id,
                        dst.schema.type_name,
                        names.join(", ")
                    ),
                );
                return None;
            }
        },
        Some(other) => {
            issue(
                issues,
                format!("{base}.port"),
                format!("expected a port name string, got {}", json_kind(other)),
            );
            return None;
        }
    };
    let accepts = &dst.ports[port].accepts;
    if !src.schema.outputs.iter().any(|t| accepts.contains(t)) {
        issue(
            issues,
            base,
            format!(
                "incompatible data types: \"{}\" ({}) emits {} but \"{}\" ({}) port \"{}\" accepts {}",
                src.id,
                src.schema.type_name,
                type_list(&src.schema.outputs),
                dst.id,
                dst.schema.type_name,
                dst.ports[port].name,
                type_list(accepts)
            ),
        );
    }
    Some(EdgePlan {
        from,
        to,
        port,
        capacity,
        policy,
    })
}

fn type_list(types: &[DataType]) -> String {
    types.iter().map(|t| t.name()).collect::<Vec<_>>().join("/")
}

fn topological_order(
    nodes: &[Option<NodePlan>],
    edges: &[EdgePlan],
    issues: &mut Vec<Issue>,
) -> Vec<usize> {
    let n = nodes.len();
    let mut indegree = vec![0usize; n];
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in edges {
        indegree[e.to] += 1;
        successors[e.from].push(e.to);
    }
    let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    ready.reverse();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop() {
        order.push(i);
        for &to in &successors[i] {
            indegree[to] -= 1;
            if indegree[to] == 0 {
                ready.push(to);
            }
        }
    }
    if order.len() < n {
        let placed: HashSet<usize> = order.iter().copied().collect();
        let cyclic: Vec<String> = (0..n)
            .filter(|i| !placed.contains(i))
            .map(|i| {
                nodes[i]
                    .as_ref()
                    .map_or(format!("nodes[{i}]"), |p| format!("\"{}\"", p.id))
            })
            .collect();
        issue(
            issues,
            "connections",
            format!("cycle through nodes {}", cyclic.join(", ")),
        );
    }
    order
}

#[cfg(test)]
mod tests {
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
}
