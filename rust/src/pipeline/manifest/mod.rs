//! Manifests: parsing and full validation, reporting every problem with its path. The nodes and their
//! params are checked here; the edges and the graph's order in `graph.rs`; the node types declared by the
//! host (TypeScript nodes) are read in `external.rs`. Text is read in `source.rs` (JSON or YAML, the
//! latter parsed in `yaml.rs`); RemoteMedia SDK manifests are translated in `compat.rs`.

pub mod compat;
mod external;
pub mod formats;
mod graph;
pub mod source;
pub mod yaml;

pub use external::external_types;
use graph::{plan_edge, topological_order};

use crate::data::{json_kind, DataType};
use crate::nodes::formats::AudioAccepts;
use crate::nodes::schema::{validate_params, NodeSchema, Params, PortSchema};
use crate::nodes::{self, NodeType};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// One validation problem.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
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
    /// The audio formats its inputs accept: its type's, narrowed by the manifest's `inputFormat`.
    pub audio_in: AudioAccepts,
    /// For a converter that format negotiation inserted: the node it converts for (the one it was put
    /// in front of). It is reset with that node, and in front of an entry it takes the session's input
    /// for it (pushes still name the entry).
    pub converts_for: Option<usize>,
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
    /// The manifest asks for format negotiation (`negotiate: true`).
    pub negotiate: bool,
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

/// Parses (JSON or YAML, ours or a RemoteMedia SDK v1 manifest) and validates manifest text; returns the
/// plan or every issue found, pointing at the user's text (their key names; lines for YAML).
pub fn plan_from_str(text: &str, externals: &[NodeSchema]) -> Result<Plan, Vec<Issue>> {
    let source = source::load(text)?;
    plan(&source.value, externals).map_err(|issues| source.locate(issues))
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
        &[
            "version",
            "name",
            "description",
            "negotiate",
            "nodes",
            "connections",
        ],
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

    let negotiate = match root.get("negotiate") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            let message = format!("expected a boolean, got {}", json_kind(other));
            issue(&mut issues, "negotiate", message);
            false
        }
    };

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

    let label = |i: usize| {
        nodes[i]
            .as_ref()
            .map_or(format!("nodes[{i}]"), |p| format!("\"{}\"", p.id))
    };
    let order = topological_order(nodes.len(), &edges, label, &mut issues);
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
        negotiate,
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
    check_keys(
        map,
        &["id", "type", "params", "skipErrors", "inputFormat"],
        &label,
        issues,
    );
    let input_format = match map.get("inputFormat") {
        None => None,
        Some(v) => match AudioAccepts::from_json(v, &format!("{label}.inputFormat")) {
            Ok(a) => Some(a),
            Err(messages) => {
                for message in messages {
                    let (path, message) = message.split_once(": ").unwrap_or(("", &message));
                    issue(issues, path, message);
                }
                None
            }
        },
    };
    // The type's accepted formats narrowed by the manifest's.
    let audio_in = |schema: &NodeSchema, issues: &mut Vec<Issue>| match &input_format {
        None => Some(schema.audio_in.clone()),
        Some(pinned) => match schema.audio_in.narrow(pinned, &schema.type_name) {
            Ok(a) => Some(a),
            Err(message) => {
                issue(issues, format!("{label}.inputFormat"), message);
                None
            }
        },
    };
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
        External(Box<NodeSchema>),
    }
    let found = string_field(map, "type", &label, issues).and_then(|t| {
        match (nodes::find(t), externals.iter().find(|e| e.type_name == t)) {
            (Some(nt), _) => Some(Found::Native(nt)),
            (None, Some(ext)) => Some(Found::External(Box::new(ext.clone()))),
            (None, None) => {
                let mut known: Vec<String> = nodes::registry()
                    .iter()
                    .map(|t| (t.schema)().type_name.into_owned())
                    .collect();
                known.extend(externals.iter().map(|e| e.type_name.to_string()));
                issue(
                    issues,
                    format!("{label}.type"),
                    format!(
                        "unknown node type \"{t}\" (known: {}); to provide it, register a \
                         TypeScript node under this name: registerNode(\"{t}\", factory, \
                         {{ accepts, outputs }})",
                        known.join(", ")
                    ),
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
            let audio_in = audio_in(&schema, issues);
            Some(NodePlan {
                id: id?,
                node_type: Some(node_type),
                audio_in: audio_in?,
                schema,
                params,
                ports,
                skip_errors,
                converts_for: None,
            })
        }
        Found::External(schema) => {
            let schema = *schema;
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
            let audio_in = audio_in(&schema, issues);
            Some(NodePlan {
                id: id?,
                node_type: None,
                audio_in: audio_in?,
                schema,
                params,
                ports,
                skip_errors,
                converts_for: None,
            })
        }
    }
}

#[cfg(test)]
mod tests;
