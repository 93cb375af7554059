//! Every real capture in `samples/` against the facts recorded next to it
//! (cross-checked with tshark when the sample was made; see
//! samples/README.md): connections, roles, first and last frames, packet
//! counts, and each direction's reassembled bytes, by length and SHA-256.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may panic: that is how they fail

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;
use wsforensics::engine::{analyze_file, EngineOptions};

fn samples() -> Vec<(PathBuf, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).expect("samples/ exists") {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if let Some(capture) = name.strip_suffix(".facts.json") {
            let facts: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            out.push((dir.join(capture), facts));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        out.len() >= 8,
        "expected the sample set, found {}",
        out.len()
    );
    out
}

#[test]
fn every_sample_matches_its_recorded_facts() {
    for (path, facts) in samples() {
        for jobs in [1, 2] {
            check(&path, &facts, jobs);
        }
    }
}

fn check(path: &Path, facts: &Value, jobs: usize) {
    let name = path.display();
    let r =
        analyze_file(path, &Collect, EngineOptions::jobs(jobs)).unwrap_or_else(|e| panic!("{e}"));
    assert!(r.error.is_none(), "{name}: {:?}", r.error);
    assert_eq!(
        r.packets,
        facts["packets"].as_u64().unwrap(),
        "{name}: packets"
    );
    assert_eq!(
        Some(facts["format"].as_str().unwrap()),
        r.format.map(|f| f.as_str()),
        "{name}"
    );
    if let Some(off) = facts.get("truncated_at_offset").and_then(Value::as_u64) {
        assert_eq!(r.warnings.len(), 1, "{name}: {:?}", r.warnings);
        assert!(
            r.warnings[0].contains(&format!("offset {off}:")),
            "{name}: {:?}",
            r.warnings
        );
    }
    let want = facts["connections"].as_array().unwrap();
    assert!(
        !want.is_empty(),
        "{name}: a sample without connections tests nothing"
    );
    assert_eq!(r.connections.len(), want.len(), "{name}: connection count");
    for (got, want) in r.connections.iter().zip(want) {
        let ctx = format!("{name} stream {} (jobs {jobs})", want["stream"]);
        assert_eq!(
            got.meta.client.to_string(),
            want["client"].as_str().unwrap(),
            "{ctx}: client"
        );
        assert_eq!(
            got.meta.server.to_string(),
            want["server"].as_str().unwrap(),
            "{ctx}: server"
        );
        assert_eq!(
            got.first_frame,
            want["first_frame"].as_u64().unwrap(),
            "{ctx}: first frame"
        );
        assert_eq!(
            got.last_frame,
            want["last_frame"].as_u64().unwrap(),
            "{ctx}: last frame"
        );
        assert_eq!(
            got.packets,
            want["packets"].as_u64().unwrap(),
            "{ctx}: packets"
        );
        assert_eq!(
            got.ended_by.as_str(),
            want["ended_by"].as_str().unwrap(),
            "{ctx}: ended by"
        );
        for (d, key) in [(0, "client_to_server"), (1, "server_to_client")] {
            let s = &got.analysis;
            assert_eq!(s.gaps[d], 0, "{ctx}: {key} has gaps");
            assert_eq!(
                s.data[d].len() as u64,
                want[format!("bytes_{key}")].as_u64().unwrap(),
                "{ctx}: {key} bytes"
            );
            assert_eq!(
                s.sha256(d),
                want[format!("sha256_{key}")].as_str().unwrap(),
                "{ctx}: {key} sha256"
            );
        }
    }
}
