//! The records of ended connections can wait for the report in a temporary
//! file (`EngineOptions::spill`, what the program uses) instead of memory:
//! the records read back, and the report built from them, must be exactly
//! those of a run that kept everything in memory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may panic: that is how they fail

mod common;

use std::path::{Path, PathBuf};

use common::*;
use wsforensics::analyzers::session::SessionFactory;
use wsforensics::analyzers::tls::cert::TrustStore;
use wsforensics::diagnose::judge_capture;
use wsforensics::engine::{analyze_file, CaptureResult, EngineOptions};
use wsforensics::limits::Limits;
use wsforensics::report::Report;

fn samples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            [".pcap", ".pcapng", ".pcap.gz", ".pcap.zst"]
                .iter()
                .any(|x| name.ends_with(x))
        })
        .collect();
    v.sort();
    v
}

fn run(
    path: &Path,
    jobs: usize,
    spill: bool,
) -> CaptureResult<wsforensics::analyzers::session::Analysis> {
    let opts = EngineOptions {
        spill,
        ..EngineOptions::jobs(jobs)
    };
    analyze_file(path, &SessionFactory::new(None, Limits::default()), opts).unwrap()
}

fn json(path: &Path, r: &CaptureResult<wsforensics::analyzers::session::Analysis>) -> Vec<u8> {
    let mut report = Report::new();
    let shown = path.display().to_string();
    let mut flush = |_: &mut Report| {};
    let lost = judge_capture(
        r,
        &TrustStore::default(),
        &mut report.receive(&shown, r, &mut flush),
    );
    assert_eq!(lost, None);
    let mut out = Vec::new();
    report.write_json(&mut out).unwrap();
    out
}

#[test]
fn spilled_records_and_reports_equal_those_kept_in_memory() {
    let all = samples();
    assert!(all.len() > 50, "the samples are there");
    let mut spilled_some = 0;
    for path in &all {
        for jobs in [1, 2] {
            let kept = run(path, jobs, false);
            let spilled = run(path, jobs, true);
            assert!(kept.spilled.is_none());
            let n = kept.connections.len();
            assert_eq!(spilled.connection_count(), n, "{}", path.display());
            if n > 0 {
                let s = spilled.spilled.as_ref().expect("records on disk");
                assert!(spilled.connections.is_empty());
                let back = s.read(0..n).unwrap();
                // Debug shows every field, the analysis included.
                assert_eq!(
                    format!("{:?}", back),
                    format!("{:?}", kept.connections),
                    "{} --jobs {jobs}",
                    path.display()
                );
                spilled_some += 1;
            }
            assert!(
                json(path, &spilled) == json(path, &kept),
                "report of {} --jobs {jobs}",
                path.display()
            );
        }
    }
    assert!(spilled_some > 50);
}

/// Packets of a connection after it ended (a retransmitted FIN, the last
/// ACK again) land on its record while it is on disk.
#[test]
fn later_packets_reach_a_spilled_record() {
    let mut pkts = simple_conversation(
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    );
    let last = pkts.last().unwrap().clone();
    let fin = pkts[pkts.len() - 2].clone();
    pkts.extend([fin, last.clone(), last]);
    let frames: Vec<(i64, Vec<u8>, u32)> = pkts
        .into_iter()
        .enumerate()
        .map(|(k, p)| {
            let len = p.len() as u32;
            (1_700_000_000_000_000_000 + k as i64 * 1_000_000, p, len)
        })
        .collect();
    let total = frames.len() as u64;
    let file = temp_capture("wsf-spill-late", &pcap(101, &frames, false, true));
    let r = run(&file, 1, true);
    let back = r.spilled.as_ref().unwrap().read(0..1).unwrap();
    assert_eq!(r.connection_count(), 1);
    assert_eq!(back[0].last_frame, total);
    assert_eq!(back[0].packets, total);
    assert_eq!(
        format!("{:?}", back),
        format!("{:?}", run(&file, 1, false).connections)
    );
}
