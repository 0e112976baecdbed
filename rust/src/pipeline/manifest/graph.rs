//! The edges of a manifest (ports, data types on both ends, queue policies) and the graph's order (no
//! cycles, every node reachable).

use super::*;

pub(super) fn plan_edge(
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

pub(super) fn type_list(types: &[DataType]) -> String {
    types.iter().map(|t| t.name()).collect::<Vec<_>>().join("/")
}

pub(super) fn topological_order(
    n: usize,
    edges: &[EdgePlan],
    label: impl Fn(usize) -> String,
    issues: &mut Vec<Issue>,
) -> Vec<usize> {
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
        let cyclic: Vec<String> = (0..n).filter(|i| !placed.contains(i)).map(label).collect();
        issue(
            issues,
            "connections",
            format!("cycle through nodes {}", cyclic.join(", ")),
        );
    }
    order
}
