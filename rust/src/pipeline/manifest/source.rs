//! Manifest text as the user wrote it → the manifest as ours, and validation issues back to the user's
//! file. Text that starts with `{` or `[` is JSON; anything else is YAML (`yaml.rs`). A RemoteMedia SDK
//! manifest (`version: "v1"`, in either) is translated (`compat.rs`). Issues found on the translation
//! are reported with the user's key names (`nodes[1] "vad".params.min_speech_duration_ms`) and, for
//! YAML, the line (`… (line 12)`).

use super::compat;
use super::yaml::{self, Lines};
use super::{Issue, MAX_MANIFEST_BYTES};
use serde_json::Value;
use std::collections::HashMap;

/// A manifest read from text.
#[derive(Debug)]
pub struct Source {
    /// The manifest in our form, ready for [`plan`](super::plan).
    pub value: Value,
    /// The text was YAML.
    pub yaml: bool,
    /// The text was a RemoteMedia SDK (v1) manifest.
    pub v1: bool,
    renames: HashMap<String, String>,
    lines: Option<Lines>,
}

/// Reads manifest text (JSON or YAML; ours or v1).
pub fn load(text: &str) -> Result<Source, Vec<Issue>> {
    if text.len() > MAX_MANIFEST_BYTES {
        return Err(vec![Issue {
            path: String::new(),
            message: format!(
                "manifest is {} bytes; the limit is {MAX_MANIFEST_BYTES}",
                text.len()
            ),
        }]);
    }
    let json = text.trim_start().starts_with(['{', '[']);
    let (value, lines) = if json {
        let value = serde_json::from_str(text).map_err(|e| {
            vec![Issue {
                path: String::new(),
                message: format!("manifest is not valid JSON: {e}"),
            }]
        })?;
        (value, None)
    } else {
        let (value, lines) = yaml::parse(text).map_err(|issue| vec![issue])?;
        (value, Some(lines))
    };
    Ok(from_value(value, lines))
}

/// A parsed manifest (translated when it is a v1 manifest).
pub fn from_value(value: Value, lines: Option<Lines>) -> Source {
    let yaml = lines.is_some();
    if compat::is_v1(&value) {
        let t = compat::translate(&value);
        Source {
            value: t.value,
            yaml,
            v1: true,
            renames: t.renames,
            lines,
        }
    } else {
        Source {
            value,
            yaml,
            v1: false,
            renames: HashMap::new(),
            lines,
        }
    }
}

impl Source {
    /// Rewrites issues found on [`Source::value`] to point at the user's text: renamed keys by their
    /// original names, and the line when the text was YAML.
    pub fn locate(&self, issues: Vec<Issue>) -> Vec<Issue> {
        issues.into_iter().map(|i| self.locate_one(i)).collect()
    }

    fn locate_one(&self, mut issue: Issue) -> Issue {
        let pointer = pointer(&issue.path);
        let user = match self.renames.get(&pointer) {
            Some(user) => {
                let ours = pointer.rsplit('/').next().unwrap_or_default();
                let theirs = user.rsplit('/').next().unwrap_or_default();
                if ours != theirs {
                    if let Some(head) = issue.path.strip_suffix(ours) {
                        issue.path = format!("{head}{theirs}");
                    }
                }
                user.clone()
            }
            None => pointer,
        };
        if let Some(line) = self.lines.as_ref().and_then(|l| l.find(&user)) {
            if issue.path.is_empty() {
                issue.message = format!("{} (line {line})", issue.message);
            } else {
                issue.path = format!("{} (line {line})", issue.path);
            }
        }
        issue
    }
}

/// `nodes[1] "res".params.targetRate` → `nodes/1/params/targetRate`; `connections[0].to` →
/// `connections/0/to`.
fn pointer(path: &str) -> String {
    let mut out = Vec::new();
    let mut rest = path;
    if let Some(open) = rest.find('[') {
        if let Some(close) = rest[open..].find(']') {
            out.push(rest[..open].to_string());
            out.push(rest[open + 1..open + close].to_string());
            rest = &rest[open + close + 1..];
            // the node's id label: ` "res"` (ids never contain quotes)
            if let Some(label) = rest.strip_prefix(" \"") {
                rest = label.find('"').map_or("", |end| &label[end + 1..]);
            }
        }
    }
    out.extend(
        rest.split('.')
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    );
    out.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_paths_become_pointers() {
        assert_eq!(
            pointer("nodes[1] \"res\".params.targetRate"),
            "nodes/1/params/targetRate"
        );
        assert_eq!(pointer("nodes[0].type"), "nodes/0/type");
        assert_eq!(pointer("connections[2].to"), "connections/2/to");
        assert_eq!(pointer("nodes[3] \"x\""), "nodes/3");
        assert_eq!(pointer("version"), "version");
        assert_eq!(pointer(""), "");
    }
}
