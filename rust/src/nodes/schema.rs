//! Node schemas: what each node type declares about its params and ports. Validation, `nodeTypes()` in
//! TypeScript and the generated manifest types all read these.

use super::formats::{AudioAccepts, AudioOut};
use crate::data::{json_kind, DataType};
use serde::Serialize;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The kind and domain of one parameter.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ParamKind {
    /// A finite number in `[min, max]`.
    Number {
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// An integer in `[min, max]`.
    Integer {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// `true` or `false`.
    Boolean,
    /// Any string (non-empty when required).
    String,
    /// One of a fixed set of strings.
    Enum {
        /// The allowed values.
        values: &'static [&'static str],
    },
    /// A list of strings.
    StringList,
    /// A list of finite numbers.
    NumberList,
}

/// One parameter of a node type.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParamSchema {
    /// camelCase name used in manifests.
    pub name: &'static str,
    /// Type and domain.
    #[serde(flatten)]
    pub kind: ParamKind,
    /// Value used when the manifest leaves it out; `None` means required.
    pub default: Option<Value>,
    /// What it does.
    pub description: &'static str,
    /// For list kinds: the fewest items allowed, and why (both shown in the error).
    #[serde(skip)]
    pub min_items: Option<(usize, &'static str)>,
}

impl ParamSchema {
    /// A required parameter.
    pub fn required(name: &'static str, kind: ParamKind, description: &'static str) -> Self {
        ParamSchema {
            name,
            kind,
            default: None,
            description,
            min_items: None,
        }
    }

    /// An optional parameter with a default.
    pub fn optional(
        name: &'static str,
        kind: ParamKind,
        default: impl Into<Value>,
        description: &'static str,
    ) -> Self {
        ParamSchema {
            name,
            kind,
            default: Some(default.into()),
            description,
            min_items: None,
        }
    }

    /// For a list param: at least `min` items, for the reason `why`.
    pub fn min_items(mut self, min: usize, why: &'static str) -> Self {
        self.min_items = Some((min, why));
        self
    }

    /// Checks one value against the kind; the error says what was expected and what was given.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        if let (Value::Array(items), Some((min, why))) = (value, self.min_items) {
            if items.len() < min {
                return Err(format!(
                    "expected at least {min} item(s), got {} ({why})",
                    items.len()
                ));
            }
        }
        match &self.kind {
            ParamKind::Number { min, max } => match value.as_f64() {
                Some(v) if v.is_finite() && v >= *min && v <= *max => Ok(()),
                Some(v) => Err(format!(
                    "expected a number between {min} and {max}, got {v}"
                )),
                None => Err(format!("expected a number, got {}", json_kind(value))),
            },
            ParamKind::Integer { min, max } => match value.as_i64() {
                Some(v) if v >= *min && v <= *max => Ok(()),
                Some(v) => Err(format!(
                    "expected an integer between {min} and {max}, got {v}"
                )),
                None if value.is_number() => Err(format!("expected an integer, got {value}")),
                None => Err(format!("expected an integer, got {}", json_kind(value))),
            },
            ParamKind::Boolean => match value {
                Value::Bool(_) => Ok(()),
                other => Err(format!("expected a boolean, got {}", json_kind(other))),
            },
            ParamKind::String => match value {
                Value::String(s) if self.default.is_some() || !s.is_empty() => Ok(()),
                Value::String(_) => Err("expected a non-empty string".to_string()),
                other => Err(format!("expected a string, got {}", json_kind(other))),
            },
            ParamKind::Enum { values } => match value {
                Value::String(s) if values.contains(&s.as_str()) => Ok(()),
                Value::String(s) => Err(format!(
                    "expected one of {}, got \"{s}\"",
                    values.join(", ")
                )),
                other => Err(format!(
                    "expected one of {}, got {}",
                    values.join(", "),
                    json_kind(other)
                )),
            },
            ParamKind::NumberList => match value {
                Value::Array(items)
                    if items.iter().all(|v| v.as_f64().is_some_and(f64::is_finite)) =>
                {
                    Ok(())
                }
                other => Err(format!(
                    "expected an array of numbers, got {}",
                    json_kind(other)
                )),
            },
            ParamKind::StringList => match value {
                Value::Array(items) if items.iter().all(Value::is_string) => Ok(()),
                other => Err(format!(
                    "expected an array of strings, got {}",
                    json_kind(other)
                )),
            },
        }
    }
}

/// One input port.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortSchema {
    /// Port name used in connections (`"in"` for single-input nodes).
    pub name: String,
    /// Data types the port accepts.
    pub accepts: Vec<DataType>,
}

impl Serialize for DataType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Everything a node type declares.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSchema {
    /// Name used as `type` in manifests.
    #[serde(rename = "type")]
    pub type_name: Cow<'static, str>,
    /// One-line description.
    pub description: &'static str,
    /// Parameters.
    pub params: Vec<ParamSchema>,
    /// Input ports with default params (multi-input nodes may derive theirs from params).
    pub inputs: Vec<PortSchema>,
    /// Data types it may emit.
    pub outputs: Vec<DataType>,
    /// The kinds (`type`) of the [node events](super::NodeEvent) it may report to the session's event
    /// log.
    pub events: &'static [&'static str],
    /// True when `process` receives one item from every port at once (`processMulti`).
    pub joins_inputs: bool,
    /// True for nodes that do blocking I/O or long work per item (files): sessions that contain one run
    /// on the worker pool by default, and the pool lends a thread while they run (`pipeline::pool`).
    pub heavy: bool,
    /// The audio formats its audio inputs accept (format negotiation checks every edge against it).
    pub audio_in: AudioAccepts,
    /// The format of the audio it emits, from its params and its input's format.
    pub audio_out: AudioOut,
}

/// Validated params with defaults filled in.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Map<String, Value>);

impl Params {
    /// Deserialises into a node's typed params struct.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_value(Value::Object(self.0.clone())).map_err(|e| e.to_string())
    }
}

/// Checks params against a schema: unknown names, missing required ones and bad values are all
/// reported (as `(param, message)` pairs); on success returns the params with defaults filled in.
pub fn validate_params(
    schema: &NodeSchema,
    given: Option<&Value>,
) -> Result<Params, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let empty = Map::new();
    let given = match given {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(vec![(
                String::new(),
                format!("params must be an object, got {}", json_kind(other)),
            )])
        }
    };
    for name in given.keys() {
        if !schema.params.iter().any(|p| p.name == name) {
            let known: Vec<&str> = schema.params.iter().map(|p| p.name).collect();
            problems.push((
                name.clone(),
                if known.is_empty() {
                    format!("unknown param (node type {} takes none)", schema.type_name)
                } else {
                    format!("unknown param (expected one of {})", known.join(", "))
                },
            ));
        }
    }
    let mut out = Map::new();
    for param in &schema.params {
        match (given.get(param.name), &param.default) {
            (Some(value), _) => match param.check(value) {
                Ok(()) => {
                    out.insert(param.name.to_string(), value.clone());
                }
                Err(message) => problems.push((param.name.to_string(), message)),
            },
            (None, Some(default)) => {
                out.insert(param.name.to_string(), default.clone());
            }
            (None, None) => {
                problems.push((param.name.to_string(), "required param is missing".into()))
            }
        }
    }
    if problems.is_empty() {
        Ok(Params(out))
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> NodeSchema {
        NodeSchema {
            type_name: "T".into(),
            description: "",
            params: vec![
                ParamSchema::optional(
                    "gainDb",
                    ParamKind::Number {
                        min: -96.0,
                        max: 24.0,
                    },
                    0.0,
                    "",
                ),
                ParamSchema::required(
                    "rate",
                    ParamKind::Integer {
                        min: 1,
                        max: 384000,
                    },
                    "",
                ),
                ParamSchema::optional(
                    "mode",
                    ParamKind::Enum {
                        values: &["a", "b"],
                    },
                    "a",
                    "",
                ),
            ],
            inputs: vec![],
            outputs: vec![],
            events: &[],
            joins_inputs: false,
            heavy: false,
            audio_in: AudioAccepts::ANY,
            audio_out: AudioOut::Same,
        }
    }

    #[test]
    fn defaults_are_filled_in() {
        let p = validate_params(&schema(), Some(&json!({"rate": 16000}))).unwrap();
        assert_eq!(p.0["gainDb"], json!(0.0));
        assert_eq!(p.0["mode"], json!("a"));
    }

    #[test]
    fn every_problem_is_reported_with_its_param() {
        let errs = validate_params(
            &schema(),
            Some(&json!({"gainDb": 40, "mode": "c", "extra": 1})),
        )
        .unwrap_err();
        let text = format!("{errs:?}");
        assert!(
            text.contains("unknown param (expected one of gainDb, rate, mode)"),
            "{text}"
        );
        assert!(
            text.contains("expected a number between -96 and 24, got 40"),
            "{text}"
        );
        assert!(
            text.contains("expected one of a, b, got \\\"c\\\""),
            "{text}"
        );
        assert!(text.contains("required param is missing"), "{text}");
        assert_eq!(errs.len(), 4);
    }

    #[test]
    fn a_list_with_a_minimum_length_says_why_it_is_too_short() {
        let s = ParamSchema::required("inputs", ParamKind::StringList, "")
            .min_items(1, "a join node needs at least one input");
        assert_eq!(
            s.check(&json!([])).unwrap_err(),
            "expected at least 1 item(s), got 0 (a join node needs at least one input)"
        );
        assert!(s.check(&json!(["a"])).is_ok());
        assert!(s.check(&json!([1])).is_err(), "the kind is still checked");
    }

    #[test]
    fn integers_reject_fractions_and_strings() {
        let s = ParamSchema::required("n", ParamKind::Integer { min: 0, max: 10 }, "");
        assert_eq!(
            s.check(&json!(1.5)).unwrap_err(),
            "expected an integer, got 1.5"
        );
        assert_eq!(
            s.check(&json!("3")).unwrap_err(),
            "expected an integer, got a string"
        );
    }
}
