//! YAML manifests: YAML text → the same `serde_json::Value` a JSON manifest parses to, plus the line of
//! every key and list item so that validation issues can say where in the user's file they are
//! (`nodes[1] "res".params.target_rate (line 12)`).
//!
//! The parser is `saphyr-parser`: the event parser of the saphyr project, the maintained successor of
//! yaml-rust (YAML 1.2, pure Rust, two small dependencies, no `unsafe` of its own to trust), used here
//! instead of `serde_yaml` (unmaintained since 2024) and instead of a TypeScript parser, so that Deno,
//! Bun, compiled binaries, the CLI and C callers of `rm_session_create` all read manifests with one
//! parser and the TypeScript side keeps no runtime dependency. Its events carry spans, which give the
//! line numbers; the document is built into JSON values here with the YAML 1.2 core schema (`null`,
//! `~`, `true`/`false`, decimal/hex/octal integers, floats; everything else a string).
//!
//! Anchors and aliases are supported; their expansion is bounded (`MAX_VALUES`) so a "billion laughs"
//! document is an issue, not an exhausted memory.

use super::Issue;
use saphyr_parser::{Event, Parser, ScalarStyle, Span, StrInput};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// Largest number of values (scalars, lists and maps, aliases expanded) a YAML manifest may hold.
const MAX_VALUES: usize = 1_000_000;

/// Deepest nesting accepted.
const MAX_DEPTH: usize = 256;

/// The 1-based line of each key and list item, by pointer (`nodes/1/params/target_rate`; the root is
/// the empty pointer).
#[derive(Debug, Default, Clone)]
pub struct Lines(HashMap<String, usize>);

impl Lines {
    /// The line of `pointer`, else of its closest ancestor that has one.
    pub fn find(&self, pointer: &str) -> Option<usize> {
        let mut p = pointer;
        loop {
            if let Some(&line) = self.0.get(p) {
                return Some(line);
            }
            p = &p[..p.rfind('/')?];
        }
    }
}

/// Parses YAML manifest text into a JSON value and the lines of its keys.
pub fn parse(text: &str) -> Result<(Value, Lines), Issue> {
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        lines: Lines::default(),
        anchors: HashMap::new(),
        values: 0,
    };
    builder.document()
}

fn yaml_issue(message: String) -> Issue {
    Issue {
        path: String::new(),
        message: format!("manifest is not valid YAML: {message}"),
    }
}

struct Builder<'a> {
    parser: Parser<'a, StrInput<'a>>,
    lines: Lines,
    anchors: HashMap<usize, Value>,
    values: usize,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), Issue> {
        match self.parser.next_event() {
            Some(Ok(event)) => Ok(event),
            Some(Err(e)) => Err(yaml_issue(e.to_string())),
            None => Err(yaml_issue("unexpected end of the document".into())),
        }
    }

    fn document(&mut self) -> Result<(Value, Lines), Issue> {
        let mut root = Value::Null;
        let mut documents = 0;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::DocumentStart(_) => {
                    documents += 1;
                    if documents > 1 {
                        return Err(yaml_issue(format!(
                            "a second document starts at line {} (a manifest is one document)",
                            span.start.line()
                        )));
                    }
                    let (event, span) = self.next()?;
                    root = self.value(event, span, "", 0)?;
                }
                Event::StreamEnd => return Ok((root, std::mem::take(&mut self.lines))),
                other => return Err(yaml_issue(format!("unexpected {other:?}"))),
            }
        }
    }

    fn count(&mut self, n: usize) -> Result<(), Issue> {
        self.values = self.values.saturating_add(n);
        if self.values > MAX_VALUES {
            return Err(yaml_issue(format!(
                "more than {MAX_VALUES} values (aliases expanded)"
            )));
        }
        Ok(())
    }

    fn value(
        &mut self,
        event: Event<'a>,
        span: Span,
        path: &str,
        depth: usize,
    ) -> Result<Value, Issue> {
        if depth > MAX_DEPTH {
            return Err(yaml_issue(format!(
                "nested deeper than {MAX_DEPTH} levels (line {})",
                span.start.line()
            )));
        }
        self.count(1)?;
        let (value, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let forced_string = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style == ScalarStyle::Plain && !forced_string {
                    plain_scalar(&text)
                        .map_err(|m| yaml_issue(format!("{m} (line {})", span.start.line())))?
                } else {
                    Value::String(text.into_owned())
                };
                (value, anchor)
            }
            Event::Alias(id) => {
                let value = self.anchors.get(&id).cloned().ok_or_else(|| {
                    yaml_issue(format!("unknown alias (line {})", span.start.line()))
                })?;
                self.count(count_values(&value))?;
                return Ok(value);
            }
            Event::SequenceStart(anchor, _) => {
                let mut list = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    let item = child(path, &list.len().to_string());
                    self.lines.0.insert(item.clone(), span.start.line());
                    list.push(self.value(event, span, &item, depth + 1)?);
                }
                (Value::Array(list), anchor)
            }
            Event::MappingStart(anchor, _) => {
                let mut map = Map::new();
                loop {
                    let (event, key_span) = self.next()?;
                    let key = match event {
                        Event::MappingEnd => break,
                        Event::Scalar(text, ..) => text.into_owned(),
                        _ => {
                            return Err(yaml_issue(format!(
                                "a key must be a plain string (line {})",
                                key_span.start.line()
                            )))
                        }
                    };
                    let line = key_span.start.line();
                    if map.contains_key(&key) {
                        return Err(yaml_issue(format!("duplicate key \"{key}\" (line {line})")));
                    }
                    let child = child(path, &key);
                    self.lines.0.insert(child.clone(), line);
                    let (event, span) = self.next()?;
                    let value = self.value(event, span, &child, depth + 1)?;
                    map.insert(key, value);
                }
                (Value::Object(map), anchor)
            }
            other => return Err(yaml_issue(format!("unexpected {other:?}"))),
        };
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        Ok(value)
    }
}

/// The pointer of `key` inside `path`.
fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}/{key}")
    }
}

fn count_values(value: &Value) -> usize {
    match value {
        Value::Array(list) => 1 + list.iter().map(count_values).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(count_values).sum::<usize>(),
        _ => 1,
    }
}

/// A plain scalar under the YAML 1.2 core schema.
fn plain_scalar(text: &str) -> Result<Value, String> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "-.inf" | ".nan" | ".NaN" | ".NAN" => {
            return Err(format!("{text} is not a finite number (JSON has none)"))
        }
        _ => {}
    }
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    let negative = text.starts_with('-');
    let radix = |prefix: &str, radix: u32| -> Option<Value> {
        let body = digits.strip_prefix(prefix)?;
        let n = i64::from_str_radix(body, radix).ok()?;
        Some(Value::from(if negative { -n } else { n }))
    };
    if let Some(v) = radix("0x", 16).or_else(|| radix("0o", 8)) {
        return Ok(v);
    }
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = text.parse::<i64>() {
            return Ok(Value::from(n));
        }
        if let Ok(n) = text.parse::<u64>() {
            return Ok(Value::from(n));
        }
    }
    let looks_numeric = digits
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if looks_numeric {
        if let Ok(f) = text.parse::<f64>() {
            if let Some(n) = Number::from_f64(f) {
                return Ok(Value::Number(n));
            }
        }
    }
    Ok(Value::String(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_becomes_the_json_value_with_lines() {
        let text = "# a comment\nversion: 1\nnodes:\n  - id: res\n    type: Resample\n    params:\n      targetRate: 16000\n      quality: \"high\"\n      ratio: 0.5\n      on: true\n      none: ~\n";
        let (value, lines) = parse(text).unwrap();
        assert_eq!(
            value,
            json!({"version": 1, "nodes": [{"id": "res", "type": "Resample",
                "params": {"targetRate": 16000, "quality": "high", "ratio": 0.5, "on": true, "none": null}}]})
        );
        assert_eq!(lines.find("nodes/0/params/targetRate"), Some(7));
        assert_eq!(lines.find("nodes/0"), Some(4));
        assert_eq!(lines.find("nodes/0/params/missing"), Some(6));
        assert_eq!(lines.find("version"), Some(2));
    }

    #[test]
    fn quoted_numbers_stay_strings_and_anchors_expand() {
        let (value, _) = parse("a: '1'\nb: &x {k: 0x10}\nc: *x\nd: 1e3\ne: v1\n").unwrap();
        assert_eq!(
            value,
            json!({"a": "1", "b": {"k": 16}, "c": {"k": 16}, "d": 1000.0, "e": "v1"})
        );
    }

    #[test]
    fn bad_yaml_is_an_issue_with_its_line() {
        let err = parse("nodes:\n  - id: a\n   type: [\n").unwrap_err();
        assert!(
            err.message.starts_with("manifest is not valid YAML"),
            "{err}"
        );
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert!(
            err.message.contains("duplicate key \"a\" (line 2)"),
            "{err}"
        );
        let err = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(err.message.contains("second document"), "{err}");
        let err = parse("a: .nan\n").unwrap_err();
        assert!(err.message.contains("not a finite number"), "{err}");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("more than"), "{err}");
    }
}
