//! Format negotiation: the audio format of every edge, propagated from the entry (the session's
//! declared `audioInput`) and from sources (a `WavReader`'s file) through each node's
//! [`AudioOut`](crate::nodes::formats::AudioOut), and checked against what each node accepts
//! ([`AudioAccepts`]). With negotiation on (`negotiate: true`), an edge whose format a node does not
//! accept gets converters — `ChannelMix`, then `Resample`, then `AudioFormat` — and each is reported;
//! with it off, every known mismatch is an issue naming the edge and the formats on both sides. A
//! field nobody declared (a pushed stream without `audioInput`, a TypeScript node's output) is
//! unknown: with negotiation on it gets a converter only where that converter passes fitting audio
//! through untouched (one accepted value), and otherwise nothing — the engine checks every audio item
//! against its node's formats when it arrives (`engine::schedule`).
//!
//! One file (~550 lines, a third of them the report types and their docs): the walk over the graph
//! (`Walk`), the choice of converters (`conversion`) and their insertion (`insert`) share `Step` and
//! `Site` and are read together. The tests are in `formats_tests.rs`.

use super::*;
use crate::data::SampleFormat;
use crate::nodes::formats::AudioSpec;
use crate::pipeline::entries::{bit, mask};
use serde_json::json;

/// A converter that format negotiation inserted.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Insertion {
    /// Its node id (`<target>:mono`, `<target>:resample`, …).
    pub id: String,
    /// `ChannelMix`, `Resample` or `AudioFormat`.
    #[serde(rename = "type")]
    #[cfg_attr(test, ts(type = "\"ChannelMix\" | \"Resample\" | \"AudioFormat\""))]
    pub type_name: &'static str,
    /// Its params.
    #[cfg_attr(test, ts(type = "Record<string, unknown>"))]
    pub params: Value,
    /// The node whose audio it converts; `None` for the session's input.
    pub from: Option<String>,
    /// The node it feeds.
    pub to: String,
    /// The input port of `to`.
    pub port: String,
    /// The stream's format before it.
    pub before: AudioSpec,
    /// The stream's format after it.
    pub after: AudioSpec,
    /// Why: what `to` accepts and what it would get.
    pub reason: String,
}

/// The formats negotiation found for a node of the manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct NodeFormat {
    /// Node id.
    pub id: String,
    /// The audio it receives (after any inserted converter); absent when no audio reaches it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub input: Option<AudioSpec>,
    /// The audio it emits; absent when it emits none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub output: Option<AudioSpec>,
}

/// What negotiation did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Negotiated {
    /// Converters inserted, in graph order.
    pub inserted: Vec<Insertion>,
    /// The formats of the manifest's nodes.
    pub formats: Vec<NodeFormat>,
}

/// A manifest checked as a session would run it (`rm_manifest_check`): every issue (none when it is
/// valid), the converters format negotiation inserted, and the audio formats of the manifest's nodes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ManifestCheck {
    /// Every problem, with its path (empty when the manifest is valid).
    pub issues: Vec<Issue>,
    /// Converters inserted, in graph order.
    pub inserted: Vec<Insertion>,
    /// The formats of the manifest's nodes, in graph order.
    pub formats: Vec<NodeFormat>,
}

/// One converter to insert.
struct Step {
    type_name: &'static str,
    /// Suffix of its id.
    kind: &'static str,
    params: Value,
    before: AudioSpec,
    after: AudioSpec,
}

/// Where converters go: on a connection (edge index), or between the session input and an entry.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Site {
    Edge(usize),
    Entry(usize),
}

/// The converters that turn `have` into a format `want` admits, and the resulting format. A field of
/// `have` that is unknown gets a converter only when the converter leaves audio that already fits
/// untouched: `want` names a single value (a mono downmix, one rate, one sample format). Otherwise it
/// stays unknown, and the engine checks the audio when it arrives.
fn conversion(want: &AudioAccepts, have: AudioSpec) -> (Vec<Step>, AudioSpec) {
    let mut steps = Vec::new();
    let mut cur = have;
    let push = |steps: &mut Vec<Step>,
                cur: &mut AudioSpec,
                type_name,
                kind,
                params: Value,
                after: AudioSpec| {
        steps.push(Step {
            type_name,
            kind,
            params,
            before: *cur,
            after,
        });
        *cur = after;
    };
    let mut upmix = None;
    let wrong = |list: &[u32], v: Option<u32>| match v {
        Some(v) => !list.is_empty() && !list.contains(&v),
        None => list.len() == 1,
    };
    if (cur.channels.is_some() || want.channels == [1]) && wrong(&want.channels, cur.channels) {
        let target = if want.channels.contains(&1) {
            1
        } else {
            want.channels[0]
        };
        if cur.channels != Some(1) {
            let after = AudioSpec {
                channels: Some(1),
                ..cur
            };
            push(
                &mut steps,
                &mut cur,
                "ChannelMix",
                "mono",
                json!({"mode": "mono"}),
                after,
            );
        }
        if target != 1 {
            upmix = Some(target); // after resampling: fewer channels to resample
        }
    }
    if wrong(&want.sample_rates, cur.sample_rate) {
        // The lowest accepted rate at or above the stream's (no information lost), else the highest.
        let target = match cur.sample_rate {
            Some(r) => want
                .sample_rates
                .iter()
                .copied()
                .filter(|&t| t >= r)
                .min()
                .unwrap_or_else(|| want.sample_rates.iter().copied().max().unwrap_or(r)),
            None => want.sample_rates[0],
        };
        let after = AudioSpec {
            sample_rate: Some(target),
            ..cur
        };
        push(
            &mut steps,
            &mut cur,
            "Resample",
            "resample",
            json!({"targetRate": target}),
            after,
        );
    }
    if let Some(target) = upmix {
        let after = AudioSpec {
            channels: Some(target),
            ..cur
        };
        push(
            &mut steps,
            &mut cur,
            "ChannelMix",
            "upmix",
            json!({"mode": "upmix", "channels": target}),
            after,
        );
    }
    let codes: Vec<u32> = want.sample_formats.iter().map(|&f| f as u32).collect();
    if wrong(&codes, cur.sample_format.map(|f| f as u32)) {
        let target = if want.sample_formats.contains(&SampleFormat::F32) {
            SampleFormat::F32
        } else {
            want.sample_formats[0]
        };
        let after = AudioSpec {
            sample_format: Some(target),
            ..cur
        };
        push(
            &mut steps,
            &mut cur,
            "AudioFormat",
            "format",
            json!({"format": target.name()}),
            after,
        );
    }
    (steps, cur)
}

/// Checks the formats of a valid plan and, when `enabled`, inserts converters where a node does not
/// accept what it would get (see the module docs). `input` is the format of the session's pushed audio.
pub fn negotiate(
    plan: &mut Plan,
    input: &AudioSpec,
    enabled: bool,
) -> Result<Negotiated, Vec<Issue>> {
    let n = plan.nodes.len();
    let mut walk = Walk {
        plan,
        enabled,
        incoming: vec![Vec::new(); n],
        outputs: vec![None; n],
        emits: vec![0; n],
        issues: Vec::new(),
        pending: Vec::new(),
    };
    for (e, edge) in walk.plan.edges.iter().enumerate() {
        walk.incoming[edge.to].push(e);
    }
    let mut formats = Vec::with_capacity(n);
    for &i in &walk.plan.order {
        formats.push(walk.visit(i, input));
    }
    let Walk {
        issues, pending, ..
    } = walk;
    if !issues.is_empty() {
        return Err(issues);
    }
    let inserted = insert(plan, pending);
    Ok(Negotiated { inserted, formats })
}

/// An audio stream reaching a node: where from, on which port, in what format, and how to say so.
struct Arrival {
    site: Site,
    port: usize,
    format: AudioSpec,
    what: String,
}

/// The state of negotiation as it visits the nodes in graph order.
struct Walk<'a> {
    plan: &'a Plan,
    enabled: bool,
    /// The edges into each node.
    incoming: Vec<Vec<usize>>,
    /// The audio each visited node emits (`None`: none).
    outputs: Vec<Option<AudioSpec>>,
    /// The data types each visited node may emit (a bit per type): a PassThrough emits what reaches
    /// it and a Filter what it keeps of that, so one fed audio only carries no other type to a node
    /// that needs a converter.
    emits: Vec<u8>,
    issues: Vec<Issue>,
    /// Converters to insert: where, which, and why.
    pending: Vec<(Site, Vec<Step>, String)>,
}

/// Narrows `want` to the known fields of `reference` its node needs all inputs to share; true when
/// it narrowed anything.
fn pin(want: &mut AudioAccepts, reference: &AudioSpec) -> bool {
    let mut pinned = false;
    if want.same_layout {
        if let Some(rate) = reference.sample_rate {
            want.sample_rates = vec![rate];
            pinned = true;
        }
        if let Some(ch) = reference.channels {
            want.channels = vec![ch];
            pinned = true;
        }
    }
    if want.same_format {
        if let Some(f) = reference.sample_format {
            want.sample_formats = vec![f];
            pinned = true;
        }
    }
    pinned
}

impl Walk<'_> {
    /// Settles what reaches node `i` (converters or issues) and what it emits.
    fn visit(&mut self, i: usize, input: &AudioSpec) -> NodeFormat {
        let plan = self.plan;
        let node = &plan.nodes[i];
        self.emits[i] = self.emitted_types(i);
        let mut merged: Option<AudioSpec> = None;
        // A node that takes one stream: each field of every input as the first input that knows it.
        let mut reference = AudioSpec::default();
        for arrival in self.arrivals(i, input) {
            let mut want = node.audio_in.clone();
            let pinned = pin(&mut want, &reference);
            let arrived = self.settle(i, &arrival, &want, pinned);
            reference.sample_rate = reference.sample_rate.or(arrived.sample_rate);
            reference.channels = reference.channels.or(arrived.channels);
            reference.sample_format = reference.sample_format.or(arrived.sample_format);
            merged = Some(merged.map_or(arrived, |m| m.merge(arrived)));
        }
        let output = match node.schema.audio_out.output(&node.params, merged.as_ref()) {
            Ok(o) => o,
            Err(message) => {
                self.issues.push(Issue {
                    path: format!("nodes[{i}] \"{}\"", node.id),
                    message: format!("\"{}\" ({}): {message}", node.id, node.schema.type_name),
                });
                None
            }
        };
        self.outputs[i] = output;
        NodeFormat {
            id: node.id.clone(),
            input: merged,
            output,
        }
    }

    /// The data types node `i` may emit, from what may reach it.
    fn emitted_types(&self, i: usize) -> u8 {
        let node = &self.plan.nodes[i];
        let mut arrived = match node.ports.first() {
            Some(p) if self.incoming[i].is_empty() => mask(&p.accepts),
            _ => 0,
        };
        for &e in &self.incoming[i] {
            let edge = &self.plan.edges[e];
            arrived |= self.emits[edge.from] & mask(&node.ports[edge.port].accepts);
        }
        if node.node_type.is_none() {
            return mask(&node.schema.outputs);
        }
        match &*node.schema.type_name {
            // what reaches it, or the part of it that it keeps
            "PassThrough" => arrived,
            "Filter" => {
                let kept = node.params.0.get("types").and_then(Value::as_array);
                let kept: Vec<DataType> = kept
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().and_then(DataType::from_name))
                    .collect();
                arrived & mask(&kept)
            }
            _ => mask(&node.schema.outputs),
        }
    }

    /// The audio streams that reach node `i`: the session's input for an entry taking audio, and
    /// each connection from a node that emits audio.
    fn arrivals(&self, i: usize, input: &AudioSpec) -> Vec<Arrival> {
        let node = &self.plan.nodes[i];
        let mut out = Vec::new();
        let takes_audio = |port: usize| node.ports[port].accepts.contains(&DataType::Audio);
        if self.incoming[i].is_empty() && !node.ports.is_empty() && takes_audio(0) {
            out.push(Arrival {
                site: Site::Entry(i),
                port: 0,
                format: *input,
                what: format!("the session input is {input}"),
            });
        }
        for &e in &self.incoming[i] {
            let edge = &self.plan.edges[e];
            let src = &self.plan.nodes[edge.from];
            let carries_audio = self.emits[edge.from] & bit(DataType::Audio) != 0;
            if let (true, true, Some(format)) = (
                carries_audio,
                takes_audio(edge.port),
                self.outputs[edge.from],
            ) {
                out.push(Arrival {
                    site: Site::Edge(e),
                    port: edge.port,
                    format,
                    what: format!("\"{}\" ({}) emits {format}", src.id, src.schema.type_name),
                });
            }
        }
        out
    }

    /// Decides what happens to one stream reaching node `i` that must fit `want`: converters (with
    /// negotiation), an issue (a known mismatch), or nothing. Returns the format that arrives.
    /// `pinned`: `want` is the format of the node's other input (it takes one stream).
    fn settle(
        &mut self,
        i: usize,
        arrival: &Arrival,
        want: &AudioAccepts,
        pinned: bool,
    ) -> AudioSpec {
        let node = &self.plan.nodes[i];
        let label = format!("\"{}\" ({})", node.id, node.schema.type_name);
        let accepts = want.describe();
        // Why a node that accepts any format wants this one.
        let note = if pinned {
            " (it takes one stream: every input in the format of the first that says)"
        } else {
            ""
        };
        let port_name = &node.ports[arrival.port].name;
        let (have, what) = (arrival.format, &arrival.what);
        let place = match arrival.site {
            Site::Edge(e) => format!("connections[{e}]"),
            Site::Entry(_) => format!("nodes[{i}] \"{}\"", node.id),
        };
        let (steps, after) = conversion(want, have);
        let bad = want.mismatches(&have);
        if steps.is_empty() || (!self.enabled && bad.is_empty()) {
            return have;
        }
        if !self.enabled {
            let fix: Vec<&str> = steps.iter().map(|s| s.type_name).collect();
            self.issues.push(Issue {
                path: place,
                message: format!(
                    "format mismatch: {what} but {label} port \"{port_name}\" accepts {} (not {}); \
                     add {} before it, or set \"negotiate\": true to insert it{note}",
                    accepts,
                    bad.join(", "),
                    fix.join(" → ")
                ),
            });
            return have;
        }
        // A converter takes audio only: the connection must carry nothing else. (In front of an
        // entry, the entry then takes audio only: see Engine::new.)
        let carried: Vec<&str> = match arrival.site {
            Site::Edge(e) => {
                let from = self.emits[self.plan.edges[e].from];
                node.ports[arrival.port]
                    .accepts
                    .iter()
                    .filter(|&&t| t != DataType::Audio && from & bit(t) != 0)
                    .map(|t| t.name())
                    .collect()
            }
            Site::Entry(_) => Vec::new(),
        };
        if carried.is_empty() {
            let reason = format!("{label} port \"{port_name}\" accepts {accepts}; {what}{note}");
            self.pending.push((arrival.site, steps, reason));
            return after;
        }
        // A known mismatch no converter can fix here is an issue; guards for unknown fields are
        // simply left out (the engine checks the audio when it arrives).
        if !bad.is_empty() {
            self.issues.push(Issue {
                path: place,
                message: format!(
                    "{what} but {label} port \"{port_name}\" accepts {} (not {}); converters cannot \
                     be inserted on this connection because it also carries {} (convert the audio \
                     before it, or narrow the node's accepted types){note}",
                    accepts,
                    bad.join(", "),
                    carried.join("/")
                ),
            });
        }
        have
    }
}

/// Adds the converters to the plan (nodes appended after the manifest's, so manifest indices stay)
/// and re-orders it.
fn insert(plan: &mut Plan, pending: Vec<(Site, Vec<Step>, String)>) -> Vec<Insertion> {
    let mut ids: HashSet<String> = plan.nodes.iter().map(|n| n.id.clone()).collect();
    let mut report = Vec::new();
    for (site, steps, reason) in pending {
        let (from, to, port) = match site {
            Site::Edge(e) => {
                let edge = &plan.edges[e];
                (Some(edge.from), edge.to, edge.port)
            }
            Site::Entry(i) => (None, i, 0),
        };
        let to_id = plan.nodes[to].id.clone();
        let from_id = from.map(|f| plan.nodes[f].id.clone());
        // `<target>:<kind>`, or `<target>:<source>:<kind>` when the target has several inputs.
        let several = plan.edges.iter().filter(|e| e.to == to).count() > 1;
        let base = match (&from_id, several) {
            (Some(f), true) => format!("{to_id}:{f}"),
            _ => to_id.clone(),
        };
        let mut chain = Vec::new();
        for step in steps {
            let mut id = format!("{base}:{}", step.kind);
            let mut k = 2;
            while ids.contains(&id) {
                id = format!("{base}:{}{k}", step.kind);
                k += 1;
            }
            ids.insert(id.clone());
            let node_type = nodes::find(step.type_name).expect("converters are built-in types");
            let schema = (node_type.schema)();
            let params = validate_params(&schema, Some(&step.params))
                .expect("negotiation builds valid converter params");
            let ports = (node_type.ports)(&schema, &params);
            chain.push(plan.nodes.len());
            plan.nodes.push(NodePlan {
                id: id.clone(),
                node_type: Some(node_type),
                audio_in: schema.audio_in.clone(),
                schema,
                params,
                ports,
                skip_errors: false,
                converts_for: Some(to),
            });
            report.push(Insertion {
                id,
                type_name: step.type_name,
                params: step.params,
                from: from_id.clone(),
                to: to_id.clone(),
                port: plan.nodes[to].ports[port].name.clone(),
                before: step.before,
                after: step.after,
                reason: reason.clone(),
            });
        }
        let (Some(&first), Some(&last)) = (chain.first(), chain.last()) else {
            continue;
        };
        let hop = |from, to, port| EdgePlan {
            from,
            to,
            port,
            capacity: DEFAULT_EDGE_CAPACITY,
            policy: EdgePolicy::Block,
        };
        for pair in chain.windows(2) {
            plan.edges.push(hop(pair[0], pair[1], 0));
        }
        match site {
            Site::Edge(e) => {
                // The connection now ends at the first converter; the last feeds the node with the
                // connection's own queue bound and policy.
                let edge = &mut plan.edges[e];
                let (to, port, capacity, policy) = (edge.to, edge.port, edge.capacity, edge.policy);
                edge.to = first;
                edge.port = 0;
                edge.policy = EdgePolicy::Block;
                plan.edges.push(EdgePlan {
                    from: last,
                    to,
                    port,
                    capacity,
                    policy,
                });
            }
            Site::Entry(i) => plan.edges.push(hop(last, i, 0)),
        }
    }
    if !report.is_empty() {
        let mut issues = Vec::new();
        plan.order = graph::topological_order(
            plan.nodes.len(),
            &plan.edges,
            |i| i.to_string(),
            &mut issues,
        );
        debug_assert!(issues.is_empty(), "converters on edges add no cycle");
    }
    report
}

#[cfg(test)]
#[path = "formats_tests.rs"]
mod tests;
