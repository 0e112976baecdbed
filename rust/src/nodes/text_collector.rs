//! `TextCollector`: joins streamed tokens into whole sentences (LLM tokens → TTS). Lengths count
//! characters (Unicode scalar values), never bytes, and a cut never falls inside a character.

use super::schema::{NodeSchema, ParamKind, ParamSchema, Params};
use super::{expect_text, schema_ports, single_input, Node, NodeError, NodeType, Outputs};
use crate::data::{DataError, DataType, RuntimeData};
use crate::nodes::formats::{AudioAccepts, AudioOut};
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
        type_name: "TextCollector".into(),
        description: "Buffers streamed text and emits one item per sentence (ending in . ! ? or a newline, followed by whitespace); the rest is emitted at end of stream.",
        params: vec![
            ParamSchema::optional("minChars", ParamKind::Integer { min: 0, max: 100_000 }, 1, "Sentences shorter than this many characters (Unicode scalar values) are held and joined with the next."),
            ParamSchema::optional("maxChars", ParamKind::Integer { min: 1, max: 1_000_000 }, 2000, "When more than this many characters (Unicode scalar values) are buffered without an end mark, emit up to the last space within them (or exactly this many characters when there is none)."),
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
    /// Byte index just past the first sentence end (a newline, or an end mark followed by whitespace)
    /// with at least `minChars` characters before it.
    fn sentence_end(&self) -> Option<usize> {
        let mut chars = self.buffer.char_indices().peekable();
        let mut count = 0;
        while let Some((i, c)) = chars.next() {
            count += 1;
            let end = i + c.len_utf8();
            if count < self.params.min_chars {
                continue;
            }
            if c == '\n' {
                return Some(end);
            }
            if matches!(c, '.' | '!' | '?' | '。' | '！' | '？')
                && chars.peek().is_some_and(|&(_, next)| next.is_whitespace())
            {
                return Some(end);
            }
        }
        None
    }

    /// Where to cut a buffer of more than `maxChars` characters: after the last space within its first
    /// `maxChars` characters, else just after them (always a char boundary, always > 0).
    fn overflow_cut(&self) -> Option<usize> {
        // Characters never outnumber bytes: a short buffer cannot be over the limit.
        if self.buffer.len() <= self.params.max_chars {
            return None;
        }
        let (limit, _) = self.buffer.char_indices().nth(self.params.max_chars)?;
        Some(
            self.buffer[..limit]
                .rfind(' ')
                .filter(|&i| i > 0)
                .unwrap_or(limit),
        )
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
        let text = expect_text(&input)?;
        self.buffer.try_reserve(text.len()).map_err(|_| {
            DataError::OutOfMemory(format!(
                "could not grow the TextCollector buffer by {} bytes",
                text.len()
            ))
        })?;
        self.buffer.push_str(text);
        while let Some(end) = self.sentence_end() {
            self.emit(end, out);
        }
        while let Some(cut) = self.overflow_cut() {
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
    fn max_chars_counts_characters_and_never_splits_one() {
        // 2-, 3- and 4-byte characters; "end byte index 5 is not a char boundary" before.
        let out = run(
            build("TextCollector", json!({"maxChars": 5})).as_mut(),
            vec![Arc::new(RuntimeData::text("héllo wörld"))],
        );
        assert_eq!(texts(&out), ["héllo", "wörld"]);
        let out = run(
            build("TextCollector", json!({"maxChars": 4})).as_mut(),
            vec![Arc::new(RuntimeData::text("日本語のテキスト🎉🎉🎉"))],
        );
        assert_eq!(texts(&out), ["日本語の", "テキスト", "🎉🎉🎉"]);
        for item in &out {
            assert!(item.as_text().unwrap().chars().count() <= 4);
        }
        // Exactly maxChars characters (more bytes than that) stay buffered.
        let mut node = build("TextCollector", json!({"maxChars": 3}));
        let mut out = Outputs::default();
        node.process(0, Arc::new(RuntimeData::text("ééé")), &mut out)
            .unwrap();
        assert!(out.is_empty());
        // Every split point of a multi-byte stream, one byte-odd token at a time.
        let text = "añb€c😀d ".repeat(5);
        for max in 1..=9 {
            let tokens: Vec<_> = text
                .chars()
                .map(|c| Arc::new(RuntimeData::text(c.to_string())))
                .collect();
            let out = run(
                build("TextCollector", json!({"maxChars": max})).as_mut(),
                tokens,
            );
            let joined: String = texts(&out).concat();
            assert_eq!(joined, text.replace(' ', ""), "maxChars {max}");
        }
    }

    #[test]
    fn min_chars_counts_characters() {
        let out = run(
            build("TextCollector", json!({"minChars": 4})).as_mut(),
            vec![Arc::new(RuntimeData::text("Ça. Oui. Très bien. "))],
        );
        // "Ça." is 3 characters (4 bytes): held and joined with the next sentence.
        assert_eq!(texts(&out), ["Ça. Oui.", "Très bien."]);
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
