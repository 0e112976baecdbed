//! `TextTransform`: upper/lower case, trim (the basic text node of the RemoteMedia SDK's examples).

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params};
use super::{expect_text, schema_ports, single_input, Node, NodeError, NodeType, Outputs};
use crate::data::{DataType, Payload, RuntimeData};
use crate::nodes::formats::{AudioAccepts, AudioOut};
use serde::Deserialize;
use std::sync::Arc;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports: schema_ports,
    build: |p: &Params| Ok(Box::new(TextTransform(p.parse()?))),
};

fn schema() -> NodeSchema {
    NodeSchema {
        type_name: "TextTransform".into(),
        description: "Transforms text: upper, lower, trim, or prefix/suffix.",
        params: vec![
            ParamSchema::optional(
                "op",
                ParamKind::Enum {
                    values: &["upper", "lower", "trim", "none"],
                },
                "upper",
                "Case/whitespace operation.",
            ),
            ParamSchema::optional(
                "prefix",
                ParamKind::String,
                "",
                "Prepended after the operation.",
            ),
            ParamSchema::optional(
                "suffix",
                ParamKind::String,
                "",
                "Appended after the operation.",
            ),
        ],
        inputs: single_input(&[DataType::Text]),
        outputs: vec![DataType::Text],
        events: &[],
        joins_inputs: false,
        heavy: false,
        audio_in: AudioAccepts::ANY,
        audio_out: AudioOut::None,
    }
}

#[derive(Deserialize)]
struct TransformParams {
    op: String,
    prefix: String,
    suffix: String,
}

struct TextTransform(TransformParams);

impl Node for TextTransform {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        let text = expect_text(&input)?;
        let body = match self.0.op.as_str() {
            "upper" => text.to_uppercase(),
            "lower" => text.to_lowercase(),
            "trim" => text.trim().to_string(),
            _ => text.to_string(),
        };
        let result = format!("{}{body}{}", self.0.prefix, self.0.suffix);
        out.push(Arc::new(input.with_payload(Payload::Text(result))));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::data::RuntimeData;
    use crate::nodes::testing::*;
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn upper_cases_unicode() {
        let out = run(
            build("TextTransform", json!({})).as_mut(),
            vec![Arc::new(RuntimeData::text("héllo"))],
        );
        assert_eq!(out[0].as_text().unwrap(), "HÉLLO");
        let out = run(
            build("TextTransform", json!({"op": "trim", "prefix": "> "})).as_mut(),
            vec![Arc::new(RuntimeData::text("  hi \n"))],
        );
        assert_eq!(out[0].as_text().unwrap(), "> hi");
    }
}
