//! Node events: what a node reports to the session's event log (`session.events()` in TypeScript)
//! besides its output items. A node emits one with [`Outputs::event`](super::Outputs::event) and lists
//! the kinds it can emit in its schema ([`NodeSchema::events`](super::schema::NodeSchema::events)); the
//! engine forwards them with the node's id and knows no node type.

use serde::Serialize;

/// Something a node reports. Serialised as `{type: "<kind>", ...fields}` (camelCase fields), the same
/// JSON a node may also emit as a data item (the `Vad` does both).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum NodeEvent {
    /// `Vad`: speech started (reported once the segment is certain to last `minSpeechMs`).
    SpeechStart {
        /// Start of the speech in audio time (the input's timestamps, or frames counted from 0), µs;
        /// with Silero, `speechPadMs` before the first speech window.
        #[cfg_attr(test, ts(type = "number"))]
        time_us: i64,
        /// The highest speech probability of the segment's windows so far (Silero: 32 ms windows;
        /// earshot: its 16 ms frame scores), rounded to 1e-4.
        probability: f64,
    },
    /// `Vad`: speech ended (after `minSilenceMs` of silence, or at end of stream).
    SpeechEnd {
        /// Start of the segment in audio time, µs (as its `speech_start` reported it).
        #[cfg_attr(test, ts(type = "number"))]
        start_us: i64,
        /// End of the segment in audio time, µs; with Silero, padded by `speechPadMs`.
        #[cfg_attr(test, ts(type = "number"))]
        end_us: i64,
        /// `endUs - startUs`.
        #[cfg_attr(test, ts(type = "number"))]
        duration_us: i64,
        /// The mean speech probability of the segment's windows (padding left out), rounded to 1e-4.
        probability: f64,
    },
    /// `TurnDetector`: the user began a turn (their first speech since the previous turn ended).
    TurnStart {
        /// Start of the turn's first speech in audio time, µs.
        #[cfg_attr(test, ts(type = "number"))]
        time_us: i64,
    },
    /// `TurnDetector`: the user's turn ended (silence, maximum length, or end of stream).
    TurnEnd {
        /// Start of the turn's first speech in audio time, µs.
        #[cfg_attr(test, ts(type = "number"))]
        start_us: i64,
        /// End of its last speech in audio time, µs.
        #[cfg_attr(test, ts(type = "number"))]
        end_us: i64,
        /// `endUs - startUs`.
        #[cfg_attr(test, ts(type = "number"))]
        duration_us: i64,
        /// Speech in the turn (its pauses left out), µs.
        #[cfg_attr(test, ts(type = "number"))]
        speech_us: i64,
        /// Speech segments (`Vad` speech_start…speech_end) in the turn.
        segments: u32,
        /// Why it ended.
        #[cfg_attr(test, ts(type = "\"silence\" | \"max_length\" | \"end_of_stream\""))]
        reason: String,
        /// The silence that ended it (the timeout applied), µs; 0 unless the reason is `silence`.
        #[cfg_attr(test, ts(type = "number"))]
        silence_us: i64,
        /// Why that silence: `fixed`, or with `adaptive`: `falling_pitch`, `long_turn`,
        /// `short_fragment`, `default`.
        #[cfg_attr(
            test,
            ts(
                type = "\"fixed\" | \"falling_pitch\" | \"long_turn\" | \"short_fragment\" | \"default\""
            )
        )]
        cue: String,
        /// Audio time at which the end was decided (the end of the audio processed then), µs.
        #[cfg_attr(test, ts(type = "number"))]
        decided_us: i64,
    },
    /// `StreamHealth`: a fault began (raised once it lasted its onset time; see the node's params).
    Alert {
        /// The fault.
        #[cfg_attr(
            test,
            ts(
                type = "\"silence\" | \"low_volume\" | \"clipping\" | \"channel_imbalance\" | \"dropouts\" | \"drift\" | \"cadence\" | \"freeze\""
            )
        )]
        kind: String,
        /// When the fault began, in audio time (the input's timestamps, or frames counted from 0), µs.
        #[cfg_attr(test, ts(type = "number"))]
        start_us: i64,
        /// When it was confirmed (the audio time of the end of the audio judged then), µs; for a
        /// `freeze`, when the stream resumed.
        #[cfg_attr(test, ts(type = "number"))]
        end_us: i64,
        /// What was measured, for people (`rms -78.1 dBFS below silenceDb -60 for 1.00 s`).
        detail: String,
    },
    /// `StreamHealth`: a fault that was raised is over (its release time passed without it, or the
    /// stream ended).
    AlertEnd {
        /// The fault, as its `alert` said.
        #[cfg_attr(
            test,
            ts(
                type = "\"silence\" | \"low_volume\" | \"clipping\" | \"channel_imbalance\" | \"dropouts\" | \"drift\" | \"cadence\" | \"freeze\""
            )
        )]
        kind: String,
        /// When the fault began (as its `alert` said), µs.
        #[cfg_attr(test, ts(type = "number"))]
        start_us: i64,
        /// When it ended in audio time, µs.
        #[cfg_attr(test, ts(type = "number"))]
        end_us: i64,
        /// Why it is over (`recovered`, `end of stream`), with the last measurement.
        detail: String,
    },
}

impl NodeEvent {
    /// The event's `type`, as node schemas list it.
    pub fn kind(&self) -> &'static str {
        match self {
            NodeEvent::SpeechStart { .. } => "speech_start",
            NodeEvent::SpeechEnd { .. } => "speech_end",
            NodeEvent::TurnStart { .. } => "turn_start",
            NodeEvent::TurnEnd { .. } => "turn_end",
            NodeEvent::Alert { .. } => "alert",
            NodeEvent::AlertEnd { .. } => "alert_end",
        }
    }

    /// The event as JSON (`{type, ...}`), for nodes that also emit it as a data item.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("node events serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_are_the_serialised_type() {
        let events = [
            NodeEvent::SpeechStart {
                time_us: 1,
                probability: 0.9,
            },
            NodeEvent::SpeechEnd {
                start_us: 1,
                end_us: 3,
                duration_us: 2,
                probability: 0.75,
            },
        ];
        for e in &events {
            assert_eq!(e.to_json()["type"], e.kind());
        }
        assert_eq!(
            serde_json::to_string(&events[1]).unwrap(),
            r#"{"type":"speech_end","startUs":1,"endUs":3,"durationUs":2,"probability":0.75}"#
        );
        assert_eq!(
            events[0].to_json(),
            json!({"type": "speech_start", "timeUs": 1, "probability": 0.9})
        );
    }
}
