//! The JSON report against its checked-in schema (schema/report.schema.json):
//! every sample's report and NDJSON lines validate, and every field the
//! report writes is declared there, so a renamed or undeclared field fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may panic: that is how they fail

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn schema() -> Value {
    let text = std::fs::read_to_string(root().join("schema/report.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("samples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            p.is_file()
                && !name.ends_with(".json")
                && !name.ends_with(".md")
                && name.contains(".pcap")
        })
        .collect();
    v.sort();
    assert!(v.len() >= 20, "samples missing: {v:?}");
    v
}

/// The key log made with a sample (`x.pcap` -> `x.keys`), if there is one.
fn keys_of(capture: &std::path::Path) -> Option<String> {
    let keys = capture.with_extension("keys");
    keys.is_file().then(|| keys.to_string_lossy().into_owned())
}

/// The JSON report of a capture, without and (when it has a key log) with
/// its key log.
fn reports(path: &std::path::Path) -> Vec<Value> {
    let p = path.to_str().unwrap();
    let mut docs = vec![serde_json::from_slice(&run(&["--format", "json", p])).unwrap()];
    if let Some(k) = keys_of(path) {
        let doc = serde_json::from_slice(&run(&["--format", "json", "--keylog", &k, p])).unwrap();
        docs.push(doc);
    }
    docs
}

fn run(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_wsforensics"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{args:?}");
    out.stdout
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[test]
fn every_sample_report_validates() {
    let schema = schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let conn_schema = serde_json::json!({
        "$schema": schema["$schema"],
        "$defs": schema["$defs"],
        "$ref": "#/$defs/connection",
    });
    let conn_validator = jsonschema::validator_for(&conn_schema).unwrap();
    for path in captures() {
        let p = path.to_str().unwrap();
        for doc in reports(&path) {
            assert_eq!(errors(&validator, &doc), Vec::<String>::new(), "{p}");
        }
        let nd = run(&["--format", "ndjson", p]);
        for line in nd.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let c: Value = serde_json::from_slice(line).unwrap();
            assert_eq!(errors(&conn_validator, &c), Vec::<String>::new(), "{p}");
        }
    }
    // A ring buffer read as one capture (its `pieces`), and the whole
    // samples directory at once.
    for dir in ["samples/ring-dumpcap", "samples"] {
        let p = root().join(dir);
        let doc: Value =
            serde_json::from_slice(&run(&["--format", "json", p.to_str().unwrap()])).unwrap();
        assert!(doc["captures"][0]["pieces"].is_array() || dir == "samples");
        assert_eq!(errors(&validator, &doc), Vec::<String>::new(), "{dir}");
    }
    // A report with an unreadable input validates too.
    let cargo_toml = root().join("Cargo.toml");
    let doc: Value =
        serde_json::from_slice(&run(&["--format", "json", cargo_toml.to_str().unwrap()])).unwrap();
    assert_eq!(errors(&validator, &doc), Vec::<String>::new());
    // And the schema rejects what it should: a verdict without a category.
    let mut broken: Value = serde_json::from_slice(&run(&[
        "--format",
        "json",
        root().join("samples/ws-1009.pcap").to_str().unwrap(),
    ]))
    .unwrap();
    broken["connections"][0]["disconnect"]
        .as_object_mut()
        .unwrap()
        .remove("category");
    assert!(!validator.is_valid(&broken));
}

/// Declared property paths of the schema, with `[]` for array items and
/// `$defs` references followed.
fn declared(schema: &Value, node: &Value, path: &str, out: &mut BTreeSet<String>, depth: usize) {
    assert!(depth < 20, "schema too deep at {path}");
    if let Some(r) = node.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        declared(schema, &schema["$defs"][name], path, out, depth + 1);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = node.get(key).and_then(Value::as_array) {
            for a in alts {
                declared(schema, a, path, out, depth + 1);
            }
        }
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            let p = format!("{path}.{k}");
            out.insert(p.clone());
            declared(schema, v, &p, out, depth + 1);
        }
    }
    if let Some(items) = node.get("items") {
        declared(schema, items, &format!("{path}[]"), out, depth + 1);
    }
    if let Some(values) = node.get("additionalProperties").filter(|v| v.is_object()) {
        declared(schema, values, &format!("{path}.*"), out, depth + 1);
    }
}

/// Property paths present in a report; maps keyed by data (summary counts)
/// are not walked.
fn present(node: &Value, path: &str, out: &mut BTreeSet<String>) {
    match node {
        Value::Object(m) => {
            if path == ".summary.by_code"
                || path == ".summary.by_ended_by"
                || path.ends_with(".by_code")
            {
                return;
            }
            // Keyed by server, capture or hour: the values are checked as
            // `.*`.
            if matches!(
                path,
                ".summary.by_server" | ".summary.by_capture" | ".summary.by_hour"
            ) {
                for v in m.values() {
                    present(v, &format!("{path}.*"), out);
                }
                return;
            }
            for (k, v) in m {
                let p = format!("{path}.{k}");
                out.insert(p.clone());
                present(v, &p, out);
            }
        }
        Value::Array(a) => {
            for v in a {
                present(v, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_field_written_is_declared_and_the_contract_fields_are_pinned() {
    let schema = schema();
    let mut decl = BTreeSet::new();
    declared(&schema, &schema, "", &mut decl, 0);
    let mut seen = BTreeSet::new();
    for path in captures() {
        for doc in reports(&path) {
            present(&doc, "", &mut seen);
        }
    }
    let undeclared: Vec<&String> = seen.difference(&decl).collect();
    assert!(
        undeclared.is_empty(),
        "fields missing from the schema: {undeclared:?}"
    );
    // DESIGN.md's contract, by name.
    for field in [
        ".schema_version",
        ".tool.name",
        ".tool.version",
        ".captures[].path",
        ".captures[].format",
        ".captures[].packets",
        ".captures[].bytes",
        ".captures[].first_seen",
        ".captures[].last_seen",
        ".captures[].warnings",
        ".connections[].id",
        ".connections[].capture",
        ".connections[].client",
        ".connections[].server",
        ".connections[].first_seen",
        ".connections[].last_seen",
        ".connections[].first_frame",
        ".connections[].last_frame",
        ".connections[].transport",
        ".connections[].bytes.client_to_server",
        ".connections[].bytes.server_to_client",
        ".connections[].gaps.client_to_server",
        ".connections[].ended_by",
        ".connections[].tls",
        ".connections[].tls.client_hello.sni",
        ".connections[].tls.client_hello.alpn",
        ".connections[].tls.client_hello.offered_versions",
        ".connections[].tls.client_hello.cipher_count",
        ".connections[].tls.server_hello.version",
        ".connections[].tls.server_hello.cipher",
        ".connections[].tls.server_hello.alpn",
        ".connections[].tls.certificates[].subject",
        ".connections[].tls.certificates[].issuer",
        ".connections[].tls.certificates[].sans",
        ".connections[].tls.certificates[].not_before",
        ".connections[].tls.certificates[].not_after",
        ".connections[].tls.certificates[].expired",
        ".connections[].tls.certificates[].not_yet_valid",
        ".connections[].tls.alerts[].sender",
        ".connections[].tls.alerts[].level",
        ".connections[].tls.alerts[].code",
        ".connections[].tls.alerts[].name",
        ".connections[].tls.alerts[].frame",
        ".connections[].websocket.request.path",
        ".connections[].websocket.request.host",
        ".connections[].websocket.request.version",
        ".connections[].websocket.request.protocols",
        ".connections[].websocket.request.extensions",
        ".connections[].websocket.response.status",
        ".connections[].websocket.response.accept_valid",
        ".connections[].websocket.frames.client_to_server.messages",
        ".connections[].websocket.frames.server_to_client.largest_message",
        ".connections[].websocket.closes[].sender",
        ".connections[].websocket.closes[].code",
        ".connections[].websocket.closes[].reason",
        ".connections[].websocket.closes[].frame",
        ".connections[].disconnect.code",
        ".connections[].disconnect.name",
        ".connections[].disconnect.category",
        ".connections[].disconnect.initiator",
        ".connections[].disconnect.observed",
        ".connections[].disconnect.reason",
        ".connections[].disconnect.summary",
        ".connections[].disconnect.evidence",
        ".connections[].disconnect.fix",
        ".summary.connections",
        ".summary.by_code",
        ".summary.abnormal",
    ] {
        assert!(decl.contains(field), "schema lacks {field}");
        assert!(seen.contains(field), "no sample report has {field}");
    }
}
