//! `wsforensics merge`: the NDJSON outputs of several runs (`--shard K/N`
//! on several hosts) combined into one report, with the summary counted
//! again over every connection. Connection ids are renumbered in input
//! order, and the evidence lines that name another connection of the same
//! input ("connection 12: ...") follow.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{Counted, Report};
use crate::diagnose::{is_abnormal, Category};

/// Why a merge stopped.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// An input that cannot be opened.
    #[error("{}: {source}", path.display())]
    Read {
        /// The input.
        path: PathBuf,
        /// What opening it said.
        #[source]
        source: io::Error,
    },
    /// A line of an input that is not a connection.
    #[error("{}: line {line}: {why}", path.display())]
    BadLine {
        /// The input.
        path: PathBuf,
        /// Its line number, from 1.
        line: usize,
        /// What is wrong with it.
        #[source]
        why: BadLine,
    },
    /// The merged report could not be written.
    #[error("{0}")]
    Write(#[source] io::Error),
}

/// What is wrong with a line of a merge input.
#[derive(Debug, thiserror::Error)]
pub enum BadLine {
    /// It could not be read (not UTF-8, or an I/O error).
    #[error("{0}")]
    Unreadable(#[source] io::Error),
    /// It is not JSON.
    #[error("not JSON ({0})")]
    NotJson(#[source] serde_json::Error),
    /// It is JSON, but not a connection object with an id and a server.
    #[error("not a connection of a wsforensics --format ndjson output")]
    NotAConnection,
}

/// Merge the NDJSON files `inputs` into `out`, as NDJSON or as one JSON
/// document. Fails on an input that cannot be read, a line that is not a
/// connection object, or a failed write.
pub fn merge(inputs: &[&Path], out: &mut dyn Write, ndjson: bool) -> Result<(), MergeError> {
    let mut report = Report::new();
    let mut all = Vec::new();
    for path in inputs {
        let file = std::fs::File::open(path).map_err(|source| MergeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut conns = Vec::new();
        for (n, line) in io::BufReader::new(file).lines().enumerate() {
            let bad = |why| MergeError::BadLine {
                path: path.to_path_buf(),
                line: n + 1,
                why,
            };
            let line = line.map_err(|e| bad(BadLine::Unreadable(e)))?;
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(&line).map_err(|e| bad(BadLine::NotJson(e)))?;
            if !v.is_object() || v.get("id").is_none() || v.get("server").is_none() {
                return Err(bad(BadLine::NotAConnection));
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
    write(out, &all, &report, ndjson).map_err(MergeError::Write)
}

/// The merged connections as NDJSON, or as one document with the summary.
fn write(out: &mut dyn Write, all: &[Value], report: &Report, ndjson: bool) -> io::Result<()> {
    // serde_json hands an I/O error back as it was (its kind kept).
    if ndjson {
        for c in all {
            serde_json::to_writer(&mut *out, c)?;
            out.write_all(b"\n")?;
        }
    } else {
        let doc = json!({
            "schema_version": report.schema_version,
            "tool": report.tool,
            "captures": [],
            "connections": all,
            "summary": report.summary,
        });
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        out.write_all(b"\n")?;
    }
    out.flush()
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
