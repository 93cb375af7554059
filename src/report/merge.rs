//! `wsforensics merge`: the NDJSON outputs of several runs (`--shard K/N`
//! on several hosts) combined into one report, with the summary counted
//! again over every connection. Connection ids are renumbered in input
//! order, and the evidence lines that name another connection of the same
//! input ("connection 12: ...") follow.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::path::Path;

use serde_json::{json, Value};

use super::{Counted, Report};
use crate::diagnose::{is_abnormal, Category};

/// The ways merging fails: a file that cannot be read, or a line that is
/// not a connection object.
pub fn merge(inputs: &[&Path], out: &mut dyn Write, ndjson: bool) -> Result<(), String> {
    let mut report = Report::new();
    let mut all = Vec::new();
    for path in inputs {
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut conns = Vec::new();
        for (n, line) in io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| format!("{}: line {}: {e}", path.display(), n + 1))?;
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(&line)
                .map_err(|e| format!("{}: line {}: not JSON ({e})", path.display(), n + 1))?;
            if !v.is_object() || v.get("id").is_none() || v.get("server").is_none() {
                return Err(format!(
                    "{}: line {}: not a connection of a wsforensics --format ndjson output",
                    path.display(),
                    n + 1
                ));
            }
            conns.push(v);
        }
        // New ids, and the references between this input's connections.
        let first = all.len() as u64 + 1;
        let ids: HashMap<String, String> = conns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                Some((
                    c.get("id")?.as_str()?.to_string(),
                    (first + i as u64).to_string(),
                ))
            })
            .collect();
        for mut c in conns {
            if let Some(id) = c.get_mut("id") {
                if let Some(new) = id.as_str().and_then(|old| ids.get(old)).cloned() {
                    *id = Value::String(new);
                }
            }
            if let Some(ev) = c
                .get_mut("disconnect")
                .and_then(|d| d.get_mut("evidence"))
                .and_then(Value::as_array_mut)
            {
                for line in ev.iter_mut() {
                    let Some(text) = line.as_str() else { continue };
                    let Some(rest) = text.strip_prefix("connection ") else {
                        continue;
                    };
                    let Some((old, tail)) = rest.split_once(':') else {
                        continue;
                    };
                    if let Some(new) = ids.get(old) {
                        *line = Value::String(format!("connection {new}:{tail}"));
                    }
                }
            }
            report.count(counted(&c));
            all.push(c);
        }
    }
    report.rank_servers();
    let w = |e: io::Error| e.to_string();
    if ndjson {
        for c in &all {
            serde_json::to_writer(&mut *out, c).map_err(|e| e.to_string())?;
            out.write_all(b"\n").map_err(w)?;
        }
    } else {
        let doc = json!({
            "schema_version": report.schema_version,
            "tool": report.tool,
            "captures": [],
            "connections": all,
            "summary": report.summary,
        });
        serde_json::to_writer_pretty(&mut *out, &doc).map_err(|e| e.to_string())?;
        out.write_all(b"\n").map_err(w)?;
    }
    out.flush().map_err(w)
}

/// What the summary needs, read from a connection object.
fn counted(c: &Value) -> Counted {
    fn str_at<'v>(v: &'v Value, k: &str) -> Option<&'v str> {
        v.get(k).and_then(Value::as_str)
    }
    let s = |k: &str| str_at(c, k).unwrap_or_default().to_string();
    let verdict = c.get("disconnect").filter(|d| d.is_object()).map(|d| {
        let code = d
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok());
        // A word this version does not know counts as abnormal.
        let category = str_at(d, "category").and_then(Category::from_word);
        (code, category.is_none_or(|c| is_abnormal(c, code)))
    });
    Counted {
        server: s("server"),
        capture: s("capture"),
        last_seen: s("last_seen"),
        ended_by: match str_at(c, "ended_by") {
            Some("fin") => "fin",
            Some("rst") => "rst",
            Some("evicted") => "evicted",
            _ => "capture_end",
        },
        verdict,
        no_keys: c
            .pointer("/tls/decryption_problem")
            .and_then(Value::as_str)
            .filter(|p| p.starts_with(crate::diagnose::NO_KEYS))
            .and_then(|_| c.pointer("/tls/client_hello/client_random"))
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}
