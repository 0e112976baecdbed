//! Entry nodes (no incoming connection) and where a pushed item goes: to the entry it names, or to
//! every entry whose input accepts its data type. Sources (nodes without an input port, such as a
//! `WavReader` with a `path`) are not entries: they start by themselves.

use crate::data::DataType;

/// Where a pushed item goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The entry at this position in [`Entries`] (a `push(data, { to })`).
    Entry(usize),
    /// Every entry whose input accepts this type (a `push` without `to`).
    ByType(DataType),
}

/// One entry node.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Node index (manifest order).
    pub node: usize,
    /// Node id.
    pub id: String,
    /// Node type.
    pub type_name: String,
    /// Data types its input port accepts.
    pub accepts: Vec<DataType>,
    /// The same as a bit set (bit `t as u8`), for the per-item check.
    mask: u8,
}

impl Entry {
    /// True when the entry's input accepts `t`.
    pub fn accepts(&self, t: DataType) -> bool {
        self.mask & bit(t) != 0
    }

    fn describe(&self) -> String {
        let accepts: Vec<&str> = self.accepts.iter().map(|t| t.name()).collect();
        format!(
            "\"{}\" ({}) accepts {}",
            self.id,
            self.type_name,
            accepts.join("/")
        )
    }
}

/// A bit for each data type.
pub fn bit(t: DataType) -> u8 {
    1 << (t as u8)
}

/// The bits of `types`.
pub fn mask(types: &[DataType]) -> u8 {
    types.iter().fold(0, |m, &t| m | bit(t))
}

/// The entries of a graph, in manifest order, and its sources (for messages).
#[derive(Debug, Clone, Default)]
pub struct Entries {
    list: Vec<Entry>,
    /// Types at least one entry accepts.
    union: u8,
    /// `(node index, "id" (Type))` of each node that starts by itself.
    sources: Vec<(usize, String)>,
    /// Every node id, in manifest order (to name a node given by index).
    node_ids: Vec<String>,
    /// `(converter, node it converts for)` of the converters format negotiation inserted.
    converters: Vec<(usize, usize)>,
}

impl Entries {
    /// Starts an empty table for a graph whose nodes have these ids.
    pub fn new(node_ids: Vec<String>) -> Self {
        Entries {
            node_ids,
            ..Default::default()
        }
    }

    /// Adds an entry node.
    pub fn add(&mut self, node: usize, type_name: &str, accepts: &[DataType]) {
        let mask = mask(accepts);
        self.union |= mask;
        self.list.push(Entry {
            node,
            id: self.node_ids[node].clone(),
            type_name: type_name.to_string(),
            accepts: accepts.to_vec(),
            mask,
        });
    }

    /// Records a converter format negotiation put in front of node `of` (for messages).
    pub fn add_converter(&mut self, node: usize, of: usize) {
        self.converters.push((node, of));
    }

    /// Records a source node (no input port).
    pub fn add_source(&mut self, node: usize, type_name: &str) {
        let label = format!("\"{}\" ({type_name})", self.node_ids[node]);
        self.sources.push((node, label));
    }

    /// The entries, in manifest order.
    pub fn list(&self) -> &[Entry] {
        &self.list
    }

    /// The entries as JSON: `[{id, index, type, accepts: [..]}]`.
    pub fn to_json(&self) -> serde_json::Value {
        self.list
            .iter()
            .map(|e| {
                serde_json::json!({
                    "id": e.id,
                    "index": e.node,
                    "type": e.type_name,
                    "accepts": e.accepts.iter().map(|t| t.name()).collect::<Vec<_>>(),
                })
            })
            .collect()
    }

    /// Where an item of type `t` goes: to node `to` (manifest index), which must be an entry
    /// accepting `t`, or, without `to`, to every entry accepting `t` (at least one must). The error
    /// names what was wrong and lists the entries with the types they accept.
    pub fn route(&self, t: DataType, to: Option<usize>) -> Result<Route, String> {
        match to {
            None if self.union & bit(t) != 0 => Ok(Route::ByType(t)),
            None if self.list.is_empty() => Err(format!(
                "push: this pipeline has no entry node to push to{}",
                self.sources_note()
            )),
            None => Err(format!(
                "push: no entry node accepts {} (entries: {})",
                t.name(),
                self.describe_all()
            )),
            Some(node) => match self.list.iter().position(|e| e.node == node) {
                Some(k) if self.list[k].accepts(t) => Ok(Route::Entry(k)),
                Some(k) => Err(format!(
                    "push: entry {}, got {}",
                    self.list[k].describe(),
                    t.name()
                )),
                None => Err(self.not_an_entry(node)),
            },
        }
    }

    fn not_an_entry(&self, node: usize) -> String {
        let Some(id) = self.node_ids.get(node) else {
            return format!(
                "push: node index {node} is out of range (the session has {} nodes)",
                self.node_ids.len()
            );
        };
        let converts = self.converters.iter().find(|(c, _)| *c == node);
        let why = if self.sources.iter().any(|(n, _)| *n == node) {
            "it is a source: it takes no input and starts by itself".to_string()
        } else if let Some(&(_, of)) = converts {
            let of = &self.node_ids[of];
            format!(
                "it is a converter format negotiation put in front of \"{of}\": push to \"{of}\""
            )
        } else {
            "it takes its input from other nodes".to_string()
        };
        let entries = if self.list.is_empty() {
            format!("this pipeline has none{}", self.sources_note())
        } else {
            self.describe_all()
        };
        format!("push: to \"{id}\": not an entry node ({why}); entries: {entries}")
    }

    fn describe_all(&self) -> String {
        let all: Vec<String> = self.list.iter().map(Entry::describe).collect();
        all.join("; ")
    }

    fn sources_note(&self) -> String {
        if self.sources.is_empty() {
            return String::new();
        }
        let names: Vec<&str> = self.sources.iter().map(|(_, s)| s.as_str()).collect();
        format!(
            " ({} start{} by {})",
            names.join(", "),
            if names.len() == 1 { "s" } else { "" },
            if names.len() == 1 {
                "itself"
            } else {
                "themselves"
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Entries {
        let ids = ["mic", "chat", "mix", "read"].map(String::from).to_vec();
        let mut e = Entries::new(ids);
        e.add(0, "ChannelMix", &[DataType::Audio]);
        e.add(1, "TextTransform", &[DataType::Text]);
        e.add_source(3, "WavReader");
        e
    }

    #[test]
    fn items_go_to_the_entries_that_accept_their_type_or_to_the_one_named() {
        let e = table();
        assert_eq!(
            e.route(DataType::Audio, None),
            Ok(Route::ByType(DataType::Audio))
        );
        assert_eq!(e.route(DataType::Text, Some(1)), Ok(Route::Entry(1)));
        assert!(e.list()[0].accepts(DataType::Audio) && !e.list()[0].accepts(DataType::Text));
    }

    #[test]
    fn bad_routes_name_the_type_and_every_entry() {
        let e = table();
        let entries = "\"mic\" (ChannelMix) accepts audio; \"chat\" (TextTransform) accepts text";
        assert_eq!(
            e.route(DataType::Json, None).unwrap_err(),
            format!("push: no entry node accepts json (entries: {entries})")
        );
        assert_eq!(
            e.route(DataType::Text, Some(2)).unwrap_err(),
            format!("push: to \"mix\": not an entry node (it takes its input from other nodes); entries: {entries}")
        );
        assert_eq!(
            e.route(DataType::Text, Some(3)).unwrap_err(),
            format!("push: to \"read\": not an entry node (it is a source: it takes no input and starts by itself); entries: {entries}")
        );
        assert_eq!(
            e.route(DataType::Audio, Some(1)).unwrap_err(),
            "push: entry \"chat\" (TextTransform) accepts text, got audio"
        );
        assert!(e
            .route(DataType::Text, Some(9))
            .unwrap_err()
            .contains("node index 9 is out of range (the session has 4 nodes)"));
    }

    #[test]
    fn a_pipeline_of_sources_has_nothing_to_push_to() {
        let mut e = Entries::new(vec!["read".into()]);
        e.add_source(0, "WavReader");
        assert_eq!(
            e.route(DataType::Json, None).unwrap_err(),
            "push: this pipeline has no entry node to push to (\"read\" (WavReader) starts by itself)"
        );
    }
}
