//! `wsforensics merge`: the NDJSON outputs of several runs (`--shard K/N`
//! on several hosts) combined into one report, with the summary counted
//! again over every connection. Connection ids are renumbered in input
//! order, and the evidence lines that name another connection of the same
//! input ("connection 12: ...") follow. Each line is read back into the
//! report model and written by the writers of a single run, so a merged
//! report is laid out exactly as one run's is.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use super::{ConnectionReport, Counted, Report};

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
    /// It is JSON, but not a connection object of this version's report.
    #[error("not a connection of a wsforensics --format ndjson output ({0})")]
    NotAConnection(#[source] serde_json::Error),
}

/// Merge the NDJSON files `inputs` into `out`, as NDJSON or as one JSON
/// document. Fails on an input that cannot be read, a line that is not a
/// connection object, or a failed write.
pub fn merge(inputs: &[&Path], out: &mut dyn Write, ndjson: bool) -> Result<(), MergeError> {
    let mut report = Report::new();
    for path in inputs {
        let conns = read(path)?;
        // New ids, and the references between this input's connections.
        let first = report.connections.len() + 1;
        let ids: HashMap<String, String> = conns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), (first + i).to_string()))
            .collect();
        for mut c in conns {
            if let Some(new) = ids.get(&c.id) {
                c.id = new.clone();
            }
            for line in c.disconnect.iter_mut().flat_map(|d| d.evidence.iter_mut()) {
                let Some((old, tail)) = line
                    .text
                    .strip_prefix("connection ")
                    .and_then(|rest| rest.split_once(':'))
                else {
                    continue;
                };
                if let Some(new) = ids.get(old) {
                    line.text = format!("connection {new}:{tail}");
                }
            }
            report.count(Counted::of(&c));
            report.connections.push(c);
        }
    }
    report.rank_servers();
    if ndjson {
        report.write_ndjson(out)
    } else {
        report.write_json(out)
    }
    .map_err(MergeError::Write)
}

/// The connections of one NDJSON input.
fn read(path: &Path) -> Result<Vec<ConnectionReport>, MergeError> {
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
        let mut c: ConnectionReport = serde_json::from_str(&line).map_err(|e| {
            bad(match e.classify() {
                serde_json::error::Category::Data => BadLine::NotAConnection(e),
                _ => BadLine::NotJson(e),
            })
        })?;
        if let Some(t) = c.tls.as_deref_mut() {
            // The JSON says it in words only (see `TlsReport::keys_missing`).
            t.keys_missing = t
                .decryption_problem
                .as_deref()
                .is_some_and(|p| p.starts_with(crate::diagnose::NO_KEYS));
        }
        conns.push(c);
    }
    Ok(conns)
}
