//! `ffi/contract.ts`, generated from the header (every enum and constant that crosses the ABI) and from
//! the typed JSON shapes (ts-rs): `REMOTEMEDIA_WRITE_CONTRACT=1 cargo test --lib contract` writes it
//! (`make contract`), and the test fails while the committed file is stale.

use ts_rs::TS;

const HEADER: &str = include_str!("../../../include/remotemedia.h");
/// Enums whose variant names are also the API's names for the codes (`"f32"`, `"text"`, …).
const NAMED: [&str; 4] = [
    "RmDataType",
    "RmSampleFormat",
    "RmPixelFormat",
    "RmTensorDtype",
];

fn pascal(screaming: &str) -> String {
    screaming
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or(String::new(), |f| {
                f.to_uppercase()
                    .chain(c.flat_map(char::to_lowercase))
                    .collect()
            })
        })
        .collect()
}

fn screaming(pascal: &str) -> String {
    let mut out = String::new();
    for (i, ch) in pascal.chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(ch.to_uppercase());
    }
    out
}

fn jsdoc(lines: &[&str], indent: &str) -> String {
    match lines {
        [] => String::new(),
        [one] => format!("{indent}/** {one} */\n"),
        many => {
            let body: String = many.iter().map(|l| format!("{indent} * {l}\n")).collect();
            format!("{indent}/**\n{body}{indent} */\n")
        }
    }
}

/// `(doc lines, name, value)` of every `#define RM_*` and `(doc, enum name, variants)` of every enum.
#[allow(clippy::type_complexity)]
fn parse() -> (
    Vec<(Vec<&'static str>, &'static str, String)>,
    Vec<(
        Vec<&'static str>,
        String,
        Vec<(Vec<&'static str>, String, i64)>,
    )>,
) {
    let mut defines = Vec::new();
    let mut enums = Vec::new();
    let mut doc: Vec<&str> = Vec::new();
    let mut lines = HEADER.lines();
    while let Some(line) = lines.next() {
        let t = line.trim();
        if let Some(d) = t.strip_prefix("// ") {
            doc.push(d);
            continue;
        }
        if let Some(rest) = t.strip_prefix("#define RM_") {
            let (name, value) = rest.split_once(' ').expect("#define NAME VALUE");
            let name: &'static str = &line[line.find("RM_").unwrap()..][..name.len() + 3];
            defines.push((std::mem::take(&mut doc), name, value.to_string()));
        } else if let Some(name) = t.strip_prefix("enum ").filter(|n| !n.contains(' ')) {
            let prefix = format!("RM_{}_", screaming(&name[2..]));
            let enum_doc = std::mem::take(&mut doc);
            let mut variants = Vec::new();
            for line in lines.by_ref() {
                let t = line.trim();
                if t == "};" {
                    break;
                }
                if let Some(d) = t.strip_prefix("// ") {
                    doc.push(d);
                } else if let Some((v, n)) = t.trim_end_matches(',').split_once(" = ") {
                    let v = v
                        .strip_prefix(&prefix)
                        .unwrap_or_else(|| panic!("{v} in {name}"));
                    variants.push((std::mem::take(&mut doc), v.to_string(), n.parse().unwrap()));
                }
            }
            enums.push((enum_doc, name.to_string(), variants));
        } else {
            doc.clear();
        }
    }
    (defines, enums)
}

fn ts_type<T: TS>() -> String {
    let doc = T::DOCS.map(|d| d.to_string()).unwrap_or_default();
    format!("{doc}export {}\n", T::decl())
}

/// `/** doc */ type X = …;` → `/** doc */ export type X = …;`
fn exported(decl: String) -> String {
    let at = decl.find("type ").expect("a type declaration");
    format!("{}export {}\n", &decl[..at], &decl[at..])
}

fn contract_ts() -> String {
    let (defines, enums) = parse();
    let mut out = [
        "// deno-fmt-ignore-file",
        "// Generated from rust/include/remotemedia.h and the crate's typed JSON shapes by",
        "// `make contract` (rust/src/abi/contract/). Do not edit.",
        "",
        "/**",
        " * Every code and slot layout that crosses the C ABI, and the JSON shapes the library returns.",
        " *",
        " * @module",
        " */",
        "",
    ]
    .join("\n");
    for (doc, name, value) in &defines {
        let value = value.trim_start_matches('(').trim_end_matches(')');
        out += &format!("\n{}export const {name} = {value};\n", jsdoc(doc, ""));
    }
    for (doc, name, variants) in &enums {
        let short = &name[2..];
        out += &format!("\n{}export const {short} = {{\n", jsdoc(doc, ""));
        for (vdoc, v, n) in variants {
            out += &format!("{}  {}: {n},\n", jsdoc(vdoc, "  "), pascal(v));
        }
        out += &format!(
            "}} as const;\n/** One of the values of {{@link {short}}}. */\nexport type {short} = (typeof {short})[keyof typeof {short}];\n"
        );
        if NAMED.contains(&name.as_str()) {
            for (i, (_, _, n)) in variants.iter().enumerate() {
                assert_eq!(*n, i as i64, "{name} codes are 0..n");
            }
            let names: Vec<String> = variants
                .iter()
                .map(|(_, v, _)| format!("\"{}\"", v.to_lowercase()))
                .collect();
            out += &format!(
                "\n/** The API's name of each {{@link {short}}} code, indexed by code. */\nexport const {}_NAMES = [{}] as const;\n",
                screaming(short),
                names.join(", ")
            );
        }
        if name == "RmStatus" {
            let codes: Vec<String> = variants
                .iter()
                .map(|(_, v, _)| format!("\"{}\"", v.to_lowercase()))
                .collect();
            out += &format!(
                "\n/** The stable error code (`error.code`) of each {{@link Status}}, indexed by status. */\nexport const STATUS_CODES = [{}] as const;\n",
                codes.join(", ")
            );
        }
    }
    out += "\n// JSON shapes.\n\n";
    for decl in [
        ts_type::<crate::pipeline::Issue>(),
        ts_type::<crate::abi::error::ErrorDetail>(),
        ts_type::<crate::abi::error::ErrorRecord<'static>>(),
        ts_type::<crate::pipeline::pool::PoolStats>(),
        ts_type::<crate::nodes::formats::AudioSpec>(),
        ts_type::<crate::pipeline::manifest::formats::Insertion>(),
        ts_type::<crate::pipeline::manifest::formats::NodeFormat>(),
        ts_type::<crate::pipeline::manifest::formats::ManifestCheck>(),
    ]
    .into_iter()
    .chain(
        crate::pipeline::engine::observe::ts_declarations()
            .into_iter()
            .map(exported),
    ) {
        out += &decl;
        out += "\n";
    }
    out.trim_end().to_string() + "\n"
}

#[test]
fn status_codes_are_the_snake_case_variant_names() {
    use crate::abi::contract::Status;
    let (_, enums) = parse();
    let (_, _, variants) = enums.iter().find(|(_, n, _)| n == "RmStatus").unwrap();
    let all = [
        Status::Ok,
        Status::InvalidHandle,
        Status::WrongType,
        Status::InvalidArgument,
        Status::ShapeMismatch,
        Status::InvalidUtf8,
        Status::InvalidJson,
        Status::Panic,
        Status::InvalidManifest,
        Status::NodeFailed,
        Status::Closed,
        Status::ResourceExhausted,
    ];
    assert_eq!(variants.len(), all.len());
    for ((_, v, n), s) in variants.iter().zip(all) {
        assert_eq!((*n as i32, v.to_lowercase().as_str()), (s as i32, s.code()));
    }
}

#[test]
fn contract_ts_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../ffi/contract.ts");
    let generated = contract_ts();
    if std::env::var_os("REMOTEMEDIA_WRITE_CONTRACT").is_some() {
        std::fs::write(path, &generated).expect("write ffi/contract.ts");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "ffi/contract.ts is stale: run `make contract` (after `make header`) and commit it"
    );
}
