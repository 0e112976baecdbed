//! `Filter`: passes only items of the listed data types (e.g. split a Vad's events from its audio).

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params};
use super::{schema_ports, single_input, Node, NodeError, NodeType, Outputs};
use crate::data::{DataType, RuntimeData};
use crate::nodes::formats::{AudioAccepts, AudioOut};
use serde::Deserialize;
use std::sync::Arc;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports: schema_ports,
    build: |p: &Params| {
        let params: FilterParams = p.parse()?;
        let types = params
            .types
            .iter()
            .map(|t| {
                DataType::from_name(t).ok_or_else(|| format!("types: \"{t}\" is not a data type"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Box::new(Filter { types }))
    },
};

fn schema() -> NodeSchema {
    NodeSchema {
        type_name: "Filter".into(),
        description: "Passes only items whose data type is listed in `types`; drops the rest (counted as itemsIn − itemsOut).",
        params: vec![ParamSchema::required(
            "types",
            ParamKind::StringList,
            "Data types to keep: text, audio, video, json, binary, tensor.",
        )],
        inputs: single_input(&DataType::all()),
        outputs: DataType::all().to_vec(),
        events: &[],
        joins_inputs: false,
        heavy: false,
        audio_in: AudioAccepts::ANY,
        audio_out: AudioOut::Derived(|p, input| { let keeps = p.0.get("types").and_then(|v| v.as_array()).is_some_and(|t| t.iter().any(|t| t == "audio")); Ok(if keeps { input.copied() } else { None }) }),
    }
}

#[derive(Deserialize)]
struct FilterParams {
    types: Vec<String>,
}

struct Filter {
    types: Vec<DataType>,
}

impl Node for Filter {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        if self.types.contains(&input.data_type()) {
            out.push(input);
        }
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
    fn keeps_only_listed_types() {
        let out = run(
            build("Filter", json!({"types": ["audio"]})).as_mut(),
            vec![
                audio(vec![0.1], 8000, 1),
                Arc::new(RuntimeData::text("x")),
                audio(vec![0.2], 8000, 1),
            ],
        );
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|d| d.as_audio().is_ok()));
    }

    #[test]
    fn unknown_types_are_rejected_at_build() {
        let t = crate::nodes::find("Filter").unwrap();
        let p = crate::nodes::schema::validate_params(
            &(t.schema)(),
            Some(&json!({"types": ["sound"]})),
        )
        .unwrap();
        let err = (t.build)(&p).err().unwrap();
        assert_eq!(err, "types: \"sound\" is not a data type");
    }
}
