//! The whole pipeline on a capture file's bytes, as the command line runs
//! it on one file with one worker: capture::CaptureReader::from_stream
//! (gzip / zstd sniffing), engine::analyze_reader with the WebSocket/TLS
//! SessionFactory (decode, flow table, reassembly, analyzers),
//! report::Report::add_analyzed (diagnose, TLS chain judgement, proxy legs
//! and retry linking), then every report format.
#![no_main]

use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wsforensics::analyzers::session::SessionFactory;
use wsforensics::analyzers::tls::cert::TrustStore;
use wsforensics::capture::CaptureReader;
use wsforensics::engine::{analyze_reader, EngineOptions};
use wsforensics::report::Report;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.pcap");
    let reader = match CaptureReader::from_stream(path, Box::new(Cursor::new(data.to_vec()))) {
        Ok(r) => r,
        Err(e) => {
            let mut report = Report::new();
            report.add_unreadable("fuzz.pcap", e.to_string());
            let _ = report.write_json(&mut std::io::sink());
            return;
        }
    };
    let result = analyze_reader(
        path,
        reader,
        &SessionFactory::default(),
        EngineOptions::jobs(1),
    );
    assert!(result
        .connections
        .windows(2)
        .all(|w| w[0].first_frame <= w[1].first_frame));
    let trust = TrustStore::default();
    let mut report = Report::new();
    report.add_analyzed("fuzz.pcap", &result, &trust);
    let mut out = Vec::new();
    report.write_json(&mut out).expect("json to memory");
    // The JSON report is valid JSON.
    let _: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
    out.clear();
    report.write_ndjson(&mut out).expect("ndjson to memory");
    out.clear();
    report.write_text(&mut out).expect("text to memory");
    out.clear();
    report
        .write_text_in_color(&mut out)
        .expect("color text to memory");
    out.clear();
    report.write_html(&mut out).expect("html to memory");
});
