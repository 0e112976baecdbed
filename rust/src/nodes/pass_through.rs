//! `PassThrough`: emits every input unchanged (no copy).

use super::schema::NodeSchema;
use super::{schema_ports, single_input, Node, NodeError, NodeType, Outputs};
use crate::data::{DataType, RuntimeData};
use crate::nodes::formats::{AudioAccepts, AudioOut};
use std::sync::Arc;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports: schema_ports,
    build: |_| Ok(Box::new(PassThrough)),
};

fn schema() -> NodeSchema {
    NodeSchema {
        type_name: "PassThrough".into(),
        description: "Emits every input unchanged (shares the payload, no copy).",
        params: vec![],
        inputs: single_input(&DataType::all()),
        outputs: DataType::all().to_vec(),
        events: &[],
        joins_inputs: false,
        heavy: false,
        audio_in: AudioAccepts::ANY,
        audio_out: AudioOut::Same,
    }
}

struct PassThrough;

impl Node for PassThrough {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        out.push(input);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::nodes::testing::*;
    use std::sync::Arc;

    #[test]
    fn shares_the_same_allocation() {
        let input = audio(vec![0.5; 4], 8000, 1);
        let out = run(
            build("PassThrough", serde_json::json!({})).as_mut(),
            vec![input.clone()],
        );
        assert!(Arc::ptr_eq(&out[0], &input));
    }
}
