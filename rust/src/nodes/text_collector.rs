//! `TextCollector`: joins streamed tokens into whole sentences (LLM tokens → TTS).

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params};
use super::{expect_text, schema_ports, single_input, Node, NodeError, NodeType, Outputs};
use crate::data::{DataType, RuntimeData};
use serde::Deserialize;
use std::sync::Arc;

/// Registration.
pub const TYPE: NodeType = NodeType {
    schema,
    ports: schema_ports,
    build: |p: &Params| {
        Ok(Box::new(TextCollector {
            params: p.parse()?,
            buffer: String::new(),
        }))
    },
};

fn schema() -> NodeSchema {
    NodeSchema {
        type_name: "TextCollector",
        description: "Buffers streamed text and emits one item per sentence (ending in . ! ? or a newline, followed by whitespace); the rest is emitted at end of stream.",
        params: vec![
            ParamSchema::optional("minChars", ParamKind::Integer { min: 0, max: 100_000 }, 1, "Sentences shorter than this are held and joined with the next."),
            ParamSchema::optional("maxChars", ParamKind::Integer { min: 1, max: 1_000_000 }, 2000, "Emit at a space once this many characters are buffered, even without an end mark."),
        ],
        inputs: single_input(&[DataType::Text]),
        outputs: vec![DataType::Text],
        joins_inputs: false,
        heavy: false,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CollectorParams {
    min_chars: usize,
    max_chars: usize,
}

struct TextCollector {
    params: CollectorParams,
    buffer: String,
}

impl TextCollector {
    /// Byte index just past the first sentence end that is followed by whitespace.
    fn sentence_end(&self) -> Option<usize> {
        let mut chars = self.buffer.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let end = i + c.len_utf8();
            if c == '\n' && end >= self.params.min_chars {
                return Some(end);
            }
            if matches!(c, '.' | '!' | '?' | '。' | '！' | '？') {
                if let Some(&(_, next)) = chars.peek() {
                    if next.is_whitespace() && end >= self.params.min_chars {
                        return Some(end);
                    }
                }
            }
        }
        None
    }

    fn emit(&mut self, end: usize, out: &mut Outputs) {
        let sentence: String = self.buffer.drain(..end).collect();
        let rest = self.buffer.trim_start().len();
        self.buffer.drain(..self.buffer.len() - rest);
        let trimmed = sentence.trim();
        if !trimmed.is_empty() {
            out.push(Arc::new(RuntimeData::text(trimmed)));
        }
    }
}

impl Node for TextCollector {
    fn process(
        &mut self,
        _: usize,
        input: Arc<RuntimeData>,
        out: &mut Outputs,
    ) -> Result<(), NodeError> {
        self.buffer.push_str(expect_text(&input)?);
        while let Some(end) = self.sentence_end() {
            self.emit(end, out);
        }
        while self.buffer.len() > self.params.max_chars {
            let cut = self.buffer[..self.params.max_chars]
                .rfind(' ')
                .filter(|&i| i > 0)
                .unwrap_or(self.params.max_chars);
            let cut = (cut..=self.buffer.len())
                .find(|&i| self.buffer.is_char_boundary(i))
                .unwrap();
            self.emit(cut, out);
        }
        Ok(())
    }

    fn flush(&mut self, out: &mut Outputs) -> Result<(), NodeError> {
        let len = self.buffer.len();
        self.emit(len, out);
        Ok(())
    }

    fn reset(&mut self) {
        self.buffer.clear();
    }
}

#[cfg(test)]
mod tests {
    use crate::data::RuntimeData;
    use crate::nodes::testing::*;
    use serde_json::json;
    use std::sync::Arc;

    fn texts(out: &[Arc<RuntimeData>]) -> Vec<&str> {
        out.iter().map(|d| d.as_text().unwrap()).collect()
    }

    #[test]
    fn tokens_become_sentences() {
        let tokens = [
            "Hel",
            "lo there",
            ". How",
            " are you",
            "? I'm",
            " fine. 3.5 is",
            " a number",
        ];
        let out = run(
            build("TextCollector", json!({})).as_mut(),
            tokens
                .iter()
                .map(|t| Arc::new(RuntimeData::text(*t)))
                .collect(),
        );
        assert_eq!(
            texts(&out),
            [
                "Hello there.",
                "How are you?",
                "I'm fine.",
                "3.5 is a number"
            ]
        );
    }

    #[test]
    fn long_text_without_marks_is_cut_at_a_space() {
        let out = run(
            build("TextCollector", json!({"maxChars": 10})).as_mut(),
            vec![Arc::new(RuntimeData::text("aaaa bbbb cccc dddd"))],
        );
        assert_eq!(texts(&out), ["aaaa bbbb", "cccc dddd"]);
    }
}
