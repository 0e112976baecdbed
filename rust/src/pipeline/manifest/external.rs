//! Node types declared by the host (TypeScript nodes), as JSON from the bindings.

use super::*;
use crate::nodes::formats::{AudioAccepts, AudioOut, AudioSpec};

/// Parses node types declared by the host (TypeScript nodes):
/// `[{type, inputs?: [{name, accepts: [..]}], outputs?: [..], joinsInputs?, inputFormat?,
/// outputFormat?}]`. Missing ports default to one port `in` accepting every type; missing outputs to
/// every type. `inputFormat` (`{sampleRate?, channels?, sampleFormat?}`, each a value or a list) is the
/// audio its inputs accept; `outputFormat` (single values) the audio it emits — unknown when absent.
pub fn external_types(value: &Value) -> Result<Vec<NodeSchema>, String> {
    let all: Vec<DataType> = DataType::all().to_vec();
    let types = |v: Option<&Value>, what: &str| -> Result<Vec<DataType>, String> {
        match v {
            None => Ok(all.clone()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .and_then(DataType::from_name)
                        .ok_or_else(|| format!("{what}: {i} is not a data type (text, audio, video, json, binary, tensor)"))
                })
                .collect(),
            Some(other) => Err(format!("{what}: expected an array of data types, got {}", json_kind(other))),
        }
    };
    let Value::Array(list) = value else {
        return Err(format!(
            "node types must be an array, got {}",
            json_kind(value)
        ));
    };
    let mut out = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let name = t["type"]
            .as_str()
            .ok_or_else(|| format!("nodeTypes[{i}].type: expected a string"))?;
        if nodes::find(name).is_some() {
            return Err(format!(
                "nodeTypes[{i}]: \"{name}\" is a built-in node type"
            ));
        }
        let inputs = match t.get("inputs") {
            None => vec![PortSchema {
                name: "in".into(),
                accepts: all.clone(),
            }],
            Some(Value::Array(ports)) if !ports.is_empty() => ports
                .iter()
                .enumerate()
                .map(|(p, port)| {
                    Ok(PortSchema {
                        name: port["name"]
                            .as_str()
                            .ok_or_else(|| {
                                format!("nodeTypes[{i}].inputs[{p}].name: expected a string")
                            })?
                            .to_string(),
                        accepts: types(
                            port.get("accepts"),
                            &format!("nodeTypes[{i}].inputs[{p}].accepts"),
                        )?,
                    })
                })
                .collect::<Result<_, String>>()?,
            Some(_) => {
                return Err(format!(
                    "nodeTypes[{i}].inputs: expected a non-empty array of ports"
                ))
            }
        };
        let audio_in = match t.get("inputFormat") {
            None | Some(Value::Null) => AudioAccepts::ANY,
            Some(v) => {
                AudioAccepts::from_json(v, &format!("nodeTypes[{i}] \"{name}\".inputFormat"))
                    .map_err(|e| e.join("; "))?
            }
        };
        let audio_out = match t.get("outputFormat") {
            None | Some(Value::Null) => AudioSpec::default(),
            Some(v) => AudioSpec::from_json(v, &format!("nodeTypes[{i}] \"{name}\".outputFormat"))
                .map_err(|e| e.join("; "))?,
        };
        out.push(NodeSchema {
            type_name: name.to_string().into(),
            description: "",
            params: Vec::new(),
            inputs,
            outputs: types(t.get("outputs"), &format!("nodeTypes[{i}].outputs"))?,
            events: &[], // host nodes report no node events
            joins_inputs: t["joinsInputs"].as_bool().unwrap_or(false),
            heavy: false,
            audio_in,
            audio_out: AudioOut::Fixed(audio_out),
        });
    }
    Ok(out)
}
