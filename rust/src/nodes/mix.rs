//! `Mix`: a multi-input node that joins one audio item from each named port and sums them.

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params, PortSchema};
use super::{expect_audio, Node, NodeError, NodeType, Outputs};
use crate::data::{AudioBuffer, DataType, RuntimeData, Samples};
use serde::Deserialize;
use std::sync::Arc;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports,
    build: |p: &Params| Ok(Box::new(Mix(p.parse()?))),
};

fn schema() -> NodeSchema {
    NodeSchema {
        type_name: "Mix",
        description: "Waits for one audio item on every input port, then sums them (each scaled by its gain) and clips to [-1, 1]. Items must share rate and channel count; shorter ones are zero-padded.",
        params: vec![
            ParamSchema::optional("inputs", ParamKind::StringList, vec!["a", "b"], "Names of the input ports (at least one).")
                .min_items(1, "a join node needs at least one input"),
            ParamSchema::optional("gains", ParamKind::NumberList, Vec::<f64>::new(), "Per-port linear gains (default 1 each)."),
        ],
        inputs: vec![
            PortSchema { name: "a".into(), accepts: vec![DataType::Audio] },
            PortSchema { name: "b".into(), accepts: vec![DataType::Audio] },
        ],
        outputs: vec![DataType::Audio],
        joins_inputs: true,
        heavy: false,
    }
}

fn ports(_: &NodeSchema, params: &Params) -> Vec<PortSchema> {
    params
        .parse::<MixParams>()
        .map(|p| p.inputs)
        .unwrap_or_default()
        .into_iter()
        .map(|name| PortSchema {
            name,
            accepts: vec![DataType::Audio],
        })
        .collect()
}

#[derive(Deserialize)]
struct MixParams {
    inputs: Vec<String>,
    gains: Vec<f32>,
}

struct Mix(MixParams);

impl Node for Mix {
    fn process(&mut self, _: usize, _: Arc<RuntimeData>, _: &mut Outputs) -> Result<(), NodeError> {
        Err(NodeError::BadInput(
            "Mix joins its inputs; it cannot process one item alone".into(),
        ))
    }

    fn process_joined(
        &mut self,
        inputs: Vec<Arc<RuntimeData>>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        let mut first: Option<&AudioBuffer> = None;
        let mut sum: Vec<f32> = Vec::new();
        for (i, item) in inputs.iter().enumerate() {
            let audio = expect_audio(item)?;
            let port = &self.0.inputs[i];
            if let Some(f) = first {
                if f.sample_rate != audio.sample_rate || f.channels != audio.channels {
                    return Err(NodeError::BadInput(format!(
                        "port \"{port}\" has {} Hz {} ch, port \"{}\" has {} Hz {} ch",
                        audio.sample_rate,
                        audio.channels,
                        self.0.inputs[0],
                        f.sample_rate,
                        f.channels
                    )));
                }
            } else {
                first = Some(audio);
            }
            let gain = self.0.gains.get(i).copied().unwrap_or(1.0);
            let s = audio.samples.to_f32();
            if s.len() > sum.len() {
                sum.resize(s.len(), 0.0);
            }
            for (acc, v) in sum.iter_mut().zip(s) {
                *acc += v * gain;
            }
        }
        let first = first.ok_or_else(|| NodeError::BadInput("no inputs".into()))?;
        for v in &mut sum {
            *v = v.clamp(-1.0, 1.0);
        }
        out.push(Arc::new(RuntimeData::Audio(AudioBuffer {
            samples: Samples::F32(sum),
            ..first.clone_layout()
        })));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::nodes::testing::*;
    use serde_json::json;

    #[test]
    fn sums_ports_with_gains_and_clips() {
        let mut node = build(
            "Mix",
            json!({"inputs": ["voice", "music"], "gains": [1, 0.5]}),
        );
        let mut out = vec![];
        node.process_joined(
            vec![
                audio(vec![0.5, 0.9], 8000, 1),
                audio(vec![0.2, 0.4, 0.6], 8000, 1),
            ],
            &mut out,
        )
        .unwrap();
        let s = samples_f32(&out[0]);
        assert_eq!(s, vec![0.6, 1.0, 0.3]);
    }

    #[test]
    fn a_manifest_with_no_inputs_is_rejected_naming_the_node_and_param() {
        // It used to pass validation and panic (index out of bounds) on the first item.
        let issues = crate::pipeline::manifest::plan(
            &json!({"version": 1, "nodes": [{"id": "m", "type": "Mix", "params": {"inputs": []}}]}),
            &[],
        )
        .err()
        .unwrap();
        assert_eq!(
            issues.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
            vec![
                "nodes[0] \"m\".params.inputs: expected at least 1 item(s), got 0 (a join node needs at least one input)"
            ]
        );
    }

    #[test]
    fn mismatched_rates_name_the_ports() {
        let mut node = build("Mix", json!({}));
        let mut out = vec![];
        let err = node
            .process_joined(
                vec![audio(vec![0.0], 8000, 1), audio(vec![0.0], 16000, 1)],
                &mut out,
            )
            .unwrap_err();
        assert!(err
            .to_string()
            .contains("port \"b\" has 16000 Hz 1 ch, port \"a\" has 8000 Hz 1 ch"));
    }
}
