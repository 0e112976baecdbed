//! Attributes every value has, whatever its type: presentation timestamp, stream id, free-form
//! metadata; and their JSON form at the C ABI.

use super::{json_kind, DataError};
use serde_json::Value;

/// Optional attributes of every value, whatever its type: presentation timestamp, stream id, free-form
/// metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributes {
    /// Presentation timestamp in microseconds.
    pub timestamp_us: Option<i64>,
    /// Stream the item belongs to (e.g. a participant or track).
    pub stream_id: Option<String>,
    /// Free-form JSON metadata.
    pub metadata: Option<Value>,
}

impl Attributes {
    /// True when no attribute is set.
    pub fn is_empty(&self) -> bool {
        self.timestamp_us.is_none() && self.stream_id.is_none() && self.metadata.is_none()
    }

    /// Parses `{"timestampUs"?: int, "streamId"?: string, "metadata"?: any}`; unknown keys are errors.
    pub fn from_json(text: &str) -> Result<Self, DataError> {
        let value: Value = serde_json::from_str(text).map_err(|e| DataError::InvalidJson {
            what: "attributes",
            reason: e.to_string(),
        })?;
        let Value::Object(map) = value else {
            return Err(DataError::InvalidAttributes(format!(
                "expected a JSON object, got {}",
                json_kind(&value)
            )));
        };
        let mut attrs = Attributes::default();
        for (key, value) in map {
            match key.as_str() {
                "timestampUs" => {
                    attrs.timestamp_us = Some(value.as_i64().ok_or_else(|| {
                        DataError::InvalidAttributes(format!(
                            "timestampUs: expected an integer number of microseconds, got {value}"
                        ))
                    })?)
                }
                "streamId" => match value {
                    Value::String(s) => attrs.stream_id = Some(s),
                    other => {
                        return Err(DataError::InvalidAttributes(format!(
                            "streamId: expected a string, got {}",
                            json_kind(&other)
                        )))
                    }
                },
                "metadata" => attrs.metadata = Some(value),
                other => {
                    return Err(DataError::InvalidAttributes(format!(
                        "unknown key \"{other}\" (expected timestampUs, streamId or metadata)"
                    )))
                }
            }
        }
        Ok(attrs)
    }

    /// Serialises to the same shape [`Attributes::from_json`] reads.
    pub fn to_json(&self) -> String {
        let mut map = serde_json::Map::new();
        if let Some(ts) = self.timestamp_us {
            map.insert("timestampUs".into(), ts.into());
        }
        if let Some(id) = &self.stream_id {
            map.insert("streamId".into(), id.clone().into());
        }
        if let Some(meta) = &self.metadata {
            map.insert("metadata".into(), meta.clone());
        }
        Value::Object(map).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_round_trip_and_reject_unknown_keys() {
        let a = Attributes::from_json(
            r#"{"timestampUs": 20000, "streamId": "mic", "metadata": {"x": 1}}"#,
        )
        .unwrap();
        assert_eq!(a.timestamp_us, Some(20000));
        assert_eq!(Attributes::from_json(&a.to_json()).unwrap(), a);
        let err = Attributes::from_json(r#"{"ts": 1}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown key \"ts\""), "{err}");
        let err = Attributes::from_json(r#"{"streamId": 3}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("streamId: expected a string, got a number"),
            "{err}"
        );
    }
}
