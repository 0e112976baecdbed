//! Reads the float tensors out of an ONNX file: the few protobuf messages of `onnx.proto` that hold
//! weights, declared for `prost` with only the fields needed (prost skips every other field).
//!
//! Weights sit either in the graph's `initializer` list (`silero_vad_16k_op15.onnx`,
//! `silero_vad_op18_ifless.onnx`) or in `Constant` nodes inside the branches of an `If`
//! (`silero_vad.onnx`, which picks the 8 kHz or 16 kHz network by its `sr` input); both are collected,
//! subgraphs included, by name.

use std::collections::HashMap;

use prost::Message;

/// `ModelProto`: only the graph.
#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
}

/// `GraphProto`: nodes (for `Constant` nodes and subgraphs) and initializers.
#[derive(Clone, PartialEq, Message)]
struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    node: Vec<NodeProto>,
    #[prost(message, repeated, tag = "5")]
    initializer: Vec<TensorProto>,
}

/// `NodeProto`: what a `Constant` node defines, and attributes that may hold a tensor or a subgraph.
#[derive(Clone, PartialEq, Message)]
struct NodeProto {
    #[prost(string, repeated, tag = "2")]
    output: Vec<String>,
    #[prost(string, tag = "4")]
    op_type: String,
    #[prost(message, repeated, tag = "5")]
    attribute: Vec<AttributeProto>,
}

/// `AttributeProto`: a tensor (`t`, the value of a `Constant`) or a graph (`g`, a branch of an `If`).
#[derive(Clone, PartialEq, Message)]
struct AttributeProto {
    #[prost(message, optional, tag = "5")]
    t: Option<TensorProto>,
    #[prost(message, optional, tag = "6")]
    g: Option<GraphProto>,
}

/// `TensorProto`: shape, element type, name, and the data either as `float_data` or as little-endian
/// `raw_data`.
#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    data_type: i32,
    #[prost(float, repeated, tag = "4")]
    float_data: Vec<f32>,
    #[prost(string, tag = "8")]
    name: String,
    #[prost(bytes = "vec", tag = "9")]
    raw_data: Vec<u8>,
}

/// `TensorProto.DataType.FLOAT`.
const FLOAT: i32 = 1;

/// A float tensor of the model: its shape and its values in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tensor {
    pub dims: Vec<usize>,
    pub values: Vec<f32>,
}

/// Every float tensor of the model (initializers and `Constant` outputs, subgraphs included), by name.
pub(crate) fn float_tensors(bytes: &[u8]) -> Result<HashMap<String, Tensor>, String> {
    let model = ModelProto::decode(bytes).map_err(|e| format!("not an ONNX model: {e}"))?;
    let graph = model.graph.ok_or("the ONNX model has no graph")?;
    let mut tensors = HashMap::new();
    collect(&graph, &mut tensors)?;
    Ok(tensors)
}

fn collect(graph: &GraphProto, into: &mut HashMap<String, Tensor>) -> Result<(), String> {
    for tensor in &graph.initializer {
        add(&tensor.name, tensor, into)?;
    }
    for node in &graph.node {
        for attribute in &node.attribute {
            if let (Some(tensor), "Constant", Some(name)) =
                (&attribute.t, node.op_type.as_str(), node.output.first())
            {
                add(name, tensor, into)?;
            }
            if let Some(subgraph) = &attribute.g {
                collect(subgraph, into)?;
            }
        }
    }
    Ok(())
}

fn add(name: &str, tensor: &TensorProto, into: &mut HashMap<String, Tensor>) -> Result<(), String> {
    if tensor.data_type != FLOAT {
        return Ok(());
    }
    let dims = tensor
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("tensor {name} has a negative dimension")))
        .collect::<Result<Vec<_>, _>>()?;
    let values = if tensor.raw_data.is_empty() {
        tensor.float_data.clone()
    } else {
        tensor
            .raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    };
    if values.len() != dims.iter().product::<usize>() {
        return Err(format!(
            "tensor {name} has {} values for the shape {dims:?}",
            values.len()
        ));
    }
    into.insert(name.to_owned(), Tensor { dims, values });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_initializers_and_constants_inside_subgraphs() {
        let tensor = |name: &str, values: &[f32]| TensorProto {
            dims: vec![values.len() as i64],
            data_type: FLOAT,
            float_data: vec![],
            name: name.into(),
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        };
        let constant = NodeProto {
            output: vec!["inner".into()],
            op_type: "Constant".into(),
            attribute: vec![AttributeProto {
                t: Some(tensor("", &[3.0])),
                g: None,
            }],
        };
        let branch = GraphProto {
            node: vec![constant],
            initializer: vec![],
        };
        let model = ModelProto {
            graph: Some(GraphProto {
                node: vec![NodeProto {
                    output: vec!["out".into()],
                    op_type: "If".into(),
                    attribute: vec![AttributeProto {
                        t: None,
                        g: Some(branch),
                    }],
                }],
                initializer: vec![tensor("outer", &[1.0, 2.0])],
            }),
        };
        let tensors = float_tensors(&model.encode_to_vec()).unwrap();
        assert_eq!(tensors["outer"].values, [1.0, 2.0]);
        assert_eq!(tensors["inner"].values, [3.0]);
        assert_eq!(tensors["inner"].dims, [1]);
    }

    #[test]
    fn refuses_bytes_that_are_not_a_model() {
        assert!(float_tensors(b"\xff\xff\xff").is_err());
    }
}
