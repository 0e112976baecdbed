//! Audio formats in node schemas: what a node's audio input accepts ([`AudioAccepts`]) and the format of
//! the audio it emits given its input's ([`AudioOut`]). Format negotiation
//! (`pipeline::manifest::formats`) reads both to check a graph, and to insert converters, before
//! anything starts.

use super::schema::Params;
use crate::data::{AudioBuffer, SampleFormat};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

/// The format of an audio stream as far as it is known before the session runs: each field `None`
/// (absent in JSON) when it depends on data not seen yet (a TypeScript node's output, a pushed stream
/// nobody declared).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AudioSpec {
    /// Sample rate in Hz.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub sample_rate: Option<u32>,
    /// Interleaved channels.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub channels: Option<u32>,
    /// Sample storage format.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "format_name"
    )]
    #[cfg_attr(test, ts(optional, type = "\"f32\" | \"i16\" | \"i32\""))]
    pub sample_format: Option<SampleFormat>,
}

fn format_name<S: Serializer>(f: &Option<SampleFormat>, s: S) -> Result<S::Ok, S::Error> {
    match f {
        Some(f) => s.serialize_str(f.name()),
        None => s.serialize_none(),
    }
}

impl AudioSpec {
    /// A fully known format.
    pub fn new(sample_rate: u32, channels: u32, sample_format: SampleFormat) -> Self {
        AudioSpec {
            sample_rate: Some(sample_rate),
            channels: Some(channels),
            sample_format: Some(sample_format),
        }
    }

    /// The format of `audio` (every field known).
    pub fn of(audio: &AudioBuffer) -> Self {
        AudioSpec::new(
            audio.sample_rate,
            u32::from(audio.channels),
            audio.samples.format(),
        )
    }

    /// What two streams arriving at one port have in common (a field they disagree on is unknown).
    pub fn merge(self, other: AudioSpec) -> AudioSpec {
        fn same<T: PartialEq>(a: Option<T>, b: Option<T>) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) if a == b => Some(a),
                _ => None,
            }
        }
        AudioSpec {
            sample_rate: same(self.sample_rate, other.sample_rate),
            channels: same(self.channels, other.channels),
            sample_format: same(self.sample_format, other.sample_format),
        }
    }

    /// Reads `{sampleRate?, channels?, sampleFormat?}` (single values; `what` names it in errors;
    /// every bad field is reported).
    pub fn from_json(value: &Value, what: &str) -> Result<AudioSpec, Vec<String>> {
        let accepts = read(value, what, false)?;
        Ok(AudioSpec {
            sample_rate: accepts.sample_rates.first().copied(),
            channels: accepts.channels.first().copied(),
            sample_format: accepts.sample_formats.first().copied(),
        })
    }
}

impl std::fmt::Display for AudioSpec {
    /// `48000 Hz, 2 ch, i16`; unknown fields as `? Hz`, `? ch`, `?`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.sample_rate {
            Some(r) => write!(f, "{r} Hz")?,
            None => f.write_str("? Hz")?,
        }
        match self.channels {
            Some(c) => write!(f, ", {c} ch")?,
            None => f.write_str(", ? ch")?,
        }
        match self.sample_format {
            Some(s) => write!(f, ", {}", s.name()),
            None => f.write_str(", ?"),
        }
    }
}

/// The audio formats an input accepts: each list empty means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudioAccepts {
    /// Accepted sample rates in Hz.
    pub sample_rates: Vec<u32>,
    /// Accepted channel counts.
    pub channels: Vec<u32>,
    /// Accepted sample formats.
    pub sample_formats: Vec<SampleFormat>,
    /// Everything that reaches it is one stream: every input (each port, each connection) must bring
    /// the same rate and channel count (a mixer, a resampler, a file writer).
    pub same_layout: bool,
    /// ... and the same sample format (nodes that append samples: a chunker, a file writer).
    pub same_format: bool,
}

impl AudioAccepts {
    /// Any audio.
    pub const ANY: AudioAccepts = AudioAccepts {
        sample_rates: Vec::new(),
        channels: Vec::new(),
        sample_formats: Vec::new(),
        same_layout: false,
        same_format: false,
    };

    /// Mono audio at any rate and in any sample format.
    pub fn mono() -> Self {
        AudioAccepts {
            channels: vec![1],
            ..Self::ANY
        }
    }

    /// Exactly the known fields of `spec` (a declared format that audio must match).
    pub fn exactly(spec: &AudioSpec) -> Self {
        AudioAccepts {
            sample_rates: spec.sample_rate.into_iter().collect(),
            channels: spec.channels.into_iter().collect(),
            sample_formats: spec.sample_format.into_iter().collect(),
            ..Self::ANY
        }
    }

    /// One stream of any format: every input with the same rate and channels.
    pub fn one_layout() -> Self {
        AudioAccepts {
            same_layout: true,
            ..Self::ANY
        }
    }

    /// One stream of samples appended together: the same rate, channels and sample format.
    pub fn one_format() -> Self {
        AudioAccepts {
            same_layout: true,
            same_format: true,
            ..Self::ANY
        }
    }

    /// True when nothing is constrained (the engine then checks nothing at run time).
    pub fn is_any(&self) -> bool {
        self.sample_rates.is_empty() && self.channels.is_empty() && self.sample_formats.is_empty()
    }

    /// The fields of `have` that are known and not accepted, as `2 ch` / `44100 Hz` / `i16`.
    pub fn mismatches(&self, have: &AudioSpec) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(r) = have.sample_rate {
            if !self.sample_rates.is_empty() && !self.sample_rates.contains(&r) {
                out.push(format!("{r} Hz"));
            }
        }
        if let Some(c) = have.channels {
            if !self.channels.is_empty() && !self.channels.contains(&c) {
                out.push(format!("{c} ch"));
            }
        }
        if let Some(f) = have.sample_format {
            if !self.sample_formats.is_empty() && !self.sample_formats.contains(&f) {
                out.push(f.name().to_string());
            }
        }
        out
    }

    /// True when `spec`'s known fields are all accepted.
    pub fn admits(&self, spec: &AudioSpec) -> bool {
        fn ok<T: PartialEq>(list: &[T], v: &Option<T>) -> bool {
            list.is_empty() || v.as_ref().is_none_or(|v| list.contains(v))
        }
        ok(&self.sample_rates, &spec.sample_rate)
            && ok(&self.channels, &spec.channels)
            && ok(&self.sample_formats, &spec.sample_format)
    }

    /// What both accept (a manifest's `inputFormat` narrowing the type `who`'s own). The error names
    /// the field whose lists have nothing in common.
    pub fn narrow(&self, other: &AudioAccepts, who: &str) -> Result<AudioAccepts, String> {
        fn both<T: PartialEq + Copy + std::fmt::Debug>(
            a: &[T],
            b: &[T],
            field: &str,
            who: &str,
            show: impl Fn(&T) -> String,
        ) -> Result<Vec<T>, String> {
            if a.is_empty() {
                return Ok(b.to_vec());
            }
            if b.is_empty() {
                return Ok(a.to_vec());
            }
            let common: Vec<T> = b.iter().copied().filter(|v| a.contains(v)).collect();
            if common.is_empty() {
                let list = |l: &[T]| l.iter().map(&show).collect::<Vec<_>>().join(", ");
                return Err(format!(
                    "{field} {}: {who} accepts only {}",
                    list(b),
                    list(a)
                ));
            }
            Ok(common)
        }
        Ok(AudioAccepts {
            sample_rates: both(
                &self.sample_rates,
                &other.sample_rates,
                "sampleRate",
                who,
                u32::to_string,
            )?,
            channels: both(
                &self.channels,
                &other.channels,
                "channels",
                who,
                u32::to_string,
            )?,
            sample_formats: both(
                &self.sample_formats,
                &other.sample_formats,
                "sampleFormat",
                who,
                |f| f.name().to_string(),
            )?,
            same_layout: self.same_layout || other.same_layout,
            same_format: self.same_format || other.same_format,
        })
    }

    /// `1 ch, 16000 Hz` style summary of the constraints (`any audio` when there are none).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let join = |l: Vec<String>| l.join(" or ");
        if !self.sample_rates.is_empty() {
            let rates = self
                .sample_rates
                .iter()
                .map(|r| format!("{r} Hz"))
                .collect();
            parts.push(join(rates));
        }
        if !self.channels.is_empty() {
            parts.push(join(
                self.channels.iter().map(|c| format!("{c} ch")).collect(),
            ));
        }
        if !self.sample_formats.is_empty() {
            parts.push(join(
                self.sample_formats
                    .iter()
                    .map(|f| f.name().to_string())
                    .collect(),
            ));
        }
        if parts.is_empty() {
            "any audio".into()
        } else {
            parts.join(", ")
        }
    }

    /// Reads `{sampleRate?, channels?, sampleFormat?}`, each a value or a list of values (`what`
    /// names the object in errors; every bad field is reported).
    pub fn from_json(value: &Value, what: &str) -> Result<AudioAccepts, Vec<String>> {
        read(value, what, true)
    }
}

/// Reads an [`AudioAccepts`] (`lists`: a field may be a list of values) or reports every bad field.
fn read(value: &Value, what: &str, lists: bool) -> Result<AudioAccepts, Vec<String>> {
    let Value::Object(map) = value else {
        return Err(vec![format!(
            "{what}: expected an object {{sampleRate?, channels?, sampleFormat?}}, got {}",
            crate::data::json_kind(value)
        )]);
    };
    let mut errors = Vec::new();
    for key in map.keys() {
        if !["sampleRate", "channels", "sampleFormat"].contains(&key.as_str()) {
            errors.push(format!(
                "{what}.{key}: unknown key (expected one of sampleRate, channels, sampleFormat)"
            ));
        }
    }
    let mut list = |key: &str, expected: &str, read: &dyn Fn(&Value) -> Option<u32>| {
        let expected = if lists {
            format!("{expected} (or a list of them)")
        } else {
            expected.to_string()
        };
        let items: Vec<&Value> = match map.get(key) {
            None => return Vec::new(),
            Some(Value::Array(items)) if lists && !items.is_empty() => items.iter().collect(),
            Some(v @ Value::Array(_)) if !lists => {
                errors.push(format!("{what}.{key}: expected one value, got {v}"));
                return Vec::new();
            }
            // null (NaN in JavaScript becomes null in JSON) is a bad value, not "unknown"
            Some(v) => vec![v],
        };
        let mut out = Vec::new();
        for v in items {
            match read(v) {
                Some(x) => out.push(x),
                None => {
                    errors.push(format!("{what}.{key}: expected {expected}, got {v}"));
                    return Vec::new();
                }
            }
        }
        out
    };
    let int = |lo: u64, hi: u64| {
        move |v: &Value| {
            v.as_u64()
                .filter(|n| (lo..=hi).contains(n))
                .map(|n| n as u32)
        }
    };
    let sample_rates = list(
        "sampleRate",
        "a sample rate between 1000 and 384000 Hz",
        &int(1000, 384_000),
    );
    let channels = list("channels", "a channel count between 1 and 64", &int(1, 64));
    let codes = list("sampleFormat", "f32, i16 or i32", &|v: &Value| {
        v.as_str()
            .and_then(SampleFormat::from_name)
            .map(|f| f as u32)
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    let sample_formats = codes
        .into_iter()
        .filter_map(|c| SampleFormat::from_code(c as i32).ok())
        .collect();
    Ok(AudioAccepts {
        sample_rates,
        channels,
        sample_formats,
        same_layout: false,
        same_format: false,
    })
}

impl Serialize for AudioAccepts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if !self.sample_rates.is_empty() {
            map.serialize_entry("sampleRates", &self.sample_rates)?;
        }
        if !self.channels.is_empty() {
            map.serialize_entry("channels", &self.channels)?;
        }
        if !self.sample_formats.is_empty() {
            let names: Vec<&str> = self.sample_formats.iter().map(|f| f.name()).collect();
            map.serialize_entry("sampleFormats", &names)?;
        }
        if self.same_layout {
            map.serialize_entry("sameLayout", &true)?;
        }
        if self.same_format {
            map.serialize_entry("sameFormat", &true)?;
        }
        map.end()
    }
}

/// Computes a node's audio output format from its params and its input's format (`None` when no audio
/// reaches it); `Ok(None)`: it emits no audio. An error is a problem validation reports on the node
/// (e.g. `upmix` given stereo).
pub type DeriveFormat = fn(&Params, Option<&AudioSpec>) -> Result<Option<AudioSpec>, String>;

/// The format of the audio a node emits.
#[derive(Debug, Clone, Copy)]
pub enum AudioOut {
    /// It emits no audio.
    None,
    /// The format of its input (most nodes: they change samples, not their format).
    Same,
    /// Always this format (a host node that declares its output).
    Fixed(AudioSpec),
    /// Computed from its params and input (a converter, a file reader).
    Derived(DeriveFormat),
}

impl AudioOut {
    /// The output format for `params` and an input of format `input`.
    pub fn output(
        &self,
        params: &Params,
        input: Option<&AudioSpec>,
    ) -> Result<Option<AudioSpec>, String> {
        match self {
            AudioOut::None => Ok(None),
            AudioOut::Same => Ok(input.copied()),
            AudioOut::Fixed(spec) => Ok(Some(*spec)),
            AudioOut::Derived(f) => f(params, input),
        }
    }
}

impl Serialize for AudioOut {
    /// `"none"`, `"same"`, `"derived"` (from params), or the fixed format.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AudioOut::None => s.serialize_str("none"),
            AudioOut::Same => s.serialize_str("same"),
            AudioOut::Derived(_) => s.serialize_str("derived"),
            AudioOut::Fixed(spec) => spec.serialize(s),
        }
    }
}

/// For [`AudioOut::Derived`]: the input's format when a boolean param (`passAudio`) is set, no audio
/// otherwise.
pub fn same_when(
    param: &str,
    params: &Params,
    input: Option<&AudioSpec>,
) -> Result<Option<AudioSpec>, String> {
    Ok(match params.0.get(param) {
        Some(Value::Bool(true)) => input.copied(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn specs_merge_and_print() {
        let a = AudioSpec::new(48000, 2, SampleFormat::I16);
        let b = AudioSpec::new(48000, 1, SampleFormat::I16);
        let m = a.merge(b);
        assert_eq!(m.to_string(), "48000 Hz, ? ch, i16");
        assert_eq!(
            serde_json::to_value(m).unwrap(),
            json!({"sampleRate": 48000, "sampleFormat": "i16"})
        );
    }

    #[test]
    fn accepts_read_values_and_lists_and_name_bad_fields() {
        let a = AudioAccepts::from_json(
            &json!({"sampleRate": [8000, 16000], "channels": 1, "sampleFormat": "f32"}),
            "inputFormat",
        )
        .unwrap();
        assert_eq!(a.sample_rates, vec![8000, 16000]);
        assert_eq!(a.describe(), "8000 Hz or 16000 Hz, 1 ch, f32");
        assert!(a.admits(&AudioSpec {
            sample_rate: Some(16000),
            ..AudioSpec::default()
        }));
        assert!(!a.admits(&AudioSpec::new(44100, 1, SampleFormat::F32)));
        let e = AudioAccepts::from_json(&json!({"channels": 0}), "inputFormat").unwrap_err();
        assert_eq!(
            e,
            ["inputFormat.channels: expected a channel count between 1 and 64 (or a list of them), got 0"]
        );
        // every bad field, not the first only; null (NaN in JavaScript) is not "unknown"
        let e = AudioAccepts::from_json(
            &json!({"rate": 1, "sampleRate": 480, "sampleFormat": ["f64"], "channels": null}),
            "x",
        )
        .unwrap_err();
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(e[0].starts_with("x.rate: unknown key"), "{e:?}");
        assert!(e.iter().any(|m| m.ends_with("got null")), "{e:?}");
        let e = AudioSpec::from_json(
            &json!({"sampleRate": [8000, 16000], "channels": 0}),
            "audioInput",
        )
        .unwrap_err();
        assert_eq!(
            e,
            [
                "audioInput.sampleRate: expected one value, got [8000,16000]",
                "audioInput.channels: expected a channel count between 1 and 64, got 0"
            ]
        );
    }

    #[test]
    fn narrowing_keeps_the_common_values_or_says_there_are_none() {
        let mono = AudioAccepts::mono();
        let pinned = AudioAccepts::from_json(&json!({"sampleRate": 16000}), "x").unwrap();
        let both = mono.narrow(&pinned, "Vad").unwrap();
        assert_eq!((both.sample_rates, both.channels), (vec![16000], vec![1]));
        let stereo = AudioAccepts::from_json(&json!({"channels": 2}), "x").unwrap();
        assert_eq!(
            mono.narrow(&stereo, "Vad").unwrap_err(),
            "channels 2: Vad accepts only 1"
        );
    }
}
