//! Ring buffers read as one capture (samples/make/field-ring.sh): dumpcap
//! `-b` and tcpdump `-C` rings with WebSocket sessions crossing files.
//! The expected verdicts are the endpoints' own logs, recorded with
//! tshark's view of the mergecap'd file in `truth.json`; the merged file
//! to compare with is built here by concatenating the pieces in the order
//! `truth.json` lists them (the order they were written), not by the
//! tool's own ordering.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may panic: that is how they fail

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const RINGS: [&str; 4] = [
    "ring-tcpdump",
    "ring-dumpcap",
    "ring-dumpcap-pcap",
    "ring-dumpcap-wrapped",
];

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn run(args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_wsforensics"))
        .args(["--format", "json"])
        .args(args)
        .env_remove("SSLKEYLOGFILE")
        .output()
        .unwrap();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), doc)
}

fn report(path: &Path) -> Value {
    let (code, doc) = run(&[path.to_str().unwrap()]);
    assert_eq!(code, 0, "{}", path.display());
    doc
}

fn truth(ring: &str) -> Value {
    let p = samples().join(ring).join("truth.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The pieces as written, first to last.
fn written_order(ring: &str) -> Vec<PathBuf> {
    truth(ring)["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| samples().join(ring).join(f["file"].as_str().unwrap()))
        .collect()
}

/// One capture file from the pieces: pcapng sections one after another
/// (each piece repeats its section header and interfaces), or one pcap
/// header and every piece's records.
fn concatenate(pieces: &[PathBuf]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, p) in pieces.iter().enumerate() {
        let bytes = std::fs::read(p).unwrap();
        let pcapng = bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]);
        if pcapng || k == 0 {
            out.extend_from_slice(&bytes);
        } else {
            out.extend_from_slice(&bytes[24..]);
        }
    }
    out
}

/// A connection entry with what differs between a ring and its merged
/// file taken out: the capture's name, and the piece cited in evidence
/// ("frame 121 (x.pcap3#31, +0.001 s)" reads "frame 121 (+0.001 s)").
fn without_file_names(mut c: Value) -> Value {
    c["capture"] = Value::Null;
    if let Some(ev) = c["disconnect"]["evidence"].as_array_mut() {
        for line in ev {
            let s = line.as_str().unwrap().to_string();
            let s = match (s.find(" ("), s.find("#")) {
                (Some(open), Some(hash)) if hash > open => {
                    let comma = s[hash..].find(", ").map(|i| hash + i + 2).unwrap();
                    format!("{}({}", &s[..open + 1], &s[comma..])
                }
                _ => s,
            };
            *line = Value::String(s);
        }
    }
    c
}

#[test]
fn a_ring_buffer_reports_as_its_merged_file_does() {
    let dir = tempfile::tempdir().unwrap();
    for ring in RINGS {
        let pieces = written_order(ring);
        let ext = pieces[0].extension().unwrap().to_str().unwrap().to_string();
        let merged = dir.path().join(format!("{ring}-merged.{ext}"));
        std::fs::write(&merged, concatenate(&pieces)).unwrap();
        let whole = report(&merged);
        let stitched = report(&samples().join(ring));

        let caps = stitched["captures"].as_array().unwrap();
        assert_eq!(caps.len(), 1, "{ring}: one capture, not {}", caps.len());
        let cap = &caps[0];
        for field in ["packets", "bytes", "first_seen", "last_seen", "tcp_packets"] {
            assert_eq!(cap[field], whole["captures"][0][field], "{ring}: {field}");
        }
        // Every piece is listed, in the order it was written, numbered on.
        let listed: Vec<PathBuf> = cap["pieces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| PathBuf::from(p["path"].as_str().unwrap()))
            .collect();
        assert_eq!(listed, pieces, "{ring}: pieces in time order");
        let mut next = 1;
        for p in cap["pieces"].as_array().unwrap() {
            assert_eq!(p["first_frame"], next, "{ring}");
            next += p["packets"].as_u64().unwrap();
        }

        let entries = |doc: &Value| -> Vec<Value> {
            doc["connections"]
                .as_array()
                .unwrap()
                .iter()
                .cloned()
                .map(without_file_names)
                .collect()
        };
        let (a, b) = (entries(&stitched), entries(&whole));
        assert_eq!(a.len(), b.len(), "{ring}: connections");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                x, y,
                "{ring}: entry {} differs from the merged file's",
                x["id"]
            );
        }
        // The summary too, but for the capture's name and the files the
        // ring's directory holds that are no captures (truth.json).
        let mut x = stitched["summary"].clone();
        let mut y = whole["summary"].clone();
        for s in [&mut x, &mut y] {
            s["by_capture"] = Value::Null;
            s["skipped_files"] = Value::Null;
        }
        assert_eq!(x, y, "{ring}: summary");
    }
}

#[test]
fn every_session_gets_the_verdict_its_endpoints_logged() {
    for ring in RINGS {
        let doc = report(&samples().join(ring));
        let t = truth(ring);
        let conns = doc["connections"].as_array().unwrap();
        assert_eq!(
            conns.len(),
            t["connections"].as_array().unwrap().len(),
            "{ring}"
        );
        for want in t["connections"].as_array().unwrap() {
            let got = conns
                .iter()
                .find(|c| c["client"] == want["client"] && c["server"] == want["server"])
                .unwrap_or_else(|| panic!("{ring}: no {}", want["server"]));
            let d = &got["disconnect"];
            let e = &want["expected"];
            assert_eq!(d["code"], e["code"], "{ring} {}", want["server"]);
            assert_eq!(d["category"], e["category"], "{ring} {}", want["server"]);
            assert_eq!(d["initiator"], e["initiator"], "{ring} {}", want["server"]);
            assert_eq!(
                got["websocket"]["response"]["status"], e["http_status"],
                "{ring}"
            );
            assert_eq!(got["first_frame"], want["first_frame"], "{ring}");
            // Evidence of a connection that crosses files names the piece.
            let ev = d["evidence"][0].as_str().unwrap();
            assert!(ev.contains('#'), "{ring}: {ev}");
        }
    }
}

/// Copies of a ring's pieces in a new directory under other names.
fn copy_as(ring: &str, dir: &Path, name: impl Fn(usize, &Path) -> String) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for (k, p) in written_order(ring).iter().enumerate() {
        let to = dir.join(name(k, p));
        std::fs::copy(p, &to).unwrap();
        out.push(to);
    }
    out
}

#[test]
fn pieces_are_recognised_by_content_not_by_name() {
    // Names that say nothing, in an order opposite to time.
    let dir = tempfile::tempdir().unwrap();
    let n = written_order("ring-dumpcap").len();
    copy_as("ring-dumpcap", dir.path(), |k, _| {
        format!(
            "upload-{}.pcapng",
            ["q", "x", "b", "m", "z", "a", "k", "c"][(n - k) % 8].repeat(k + 1)
        )
    });
    let doc = report(dir.path());
    assert_eq!(doc["captures"].as_array().unwrap().len(), 1);
    let want = report(&samples().join("ring-dumpcap"));
    assert_eq!(doc["summary"]["by_code"], want["summary"]["by_code"]);

    // Compressed pieces: their ends cannot be read without reading them,
    // so the reader checks the times as it goes.
    let gz = tempfile::tempdir().unwrap();
    for p in written_order("ring-tcpdump") {
        let name = p.file_name().unwrap().to_str().unwrap();
        let f = std::fs::File::create(gz.path().join(format!("{name}.gz"))).unwrap();
        let mut w = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        std::io::copy(&mut std::fs::File::open(&p).unwrap(), &mut w).unwrap();
        w.finish().unwrap();
    }
    let doc = report(gz.path());
    let want = report(&samples().join("ring-tcpdump"));
    assert_eq!(doc["summary"]["by_code"], want["summary"]["by_code"]);
    assert_eq!(
        doc["summary"]["connections"],
        want["summary"]["connections"]
    );
}

#[test]
fn separate_captures_stay_separate_and_no_stitch_reads_every_file_alone() {
    let all = report(&samples());
    let (_, alone) = run(&["--no-stitch", samples().to_str().unwrap()]);
    let rings: Vec<&Value> = all["captures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.get("pieces").is_some())
        .collect();
    // The four rings, and nothing else, are read from several files.
    assert_eq!(rings.len(), RINGS.len());
    for r in &rings {
        let first = r["pieces"][0]["path"].as_str().unwrap();
        assert!(
            RINGS
                .iter()
                .any(|ring| first.contains(&format!("/{ring}/"))),
            "{first}"
        );
    }
    let files = alone["captures"].as_array().unwrap().len();
    let pieces: usize = rings
        .iter()
        .map(|r| r["pieces"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        all["captures"].as_array().unwrap().len(),
        files - pieces + rings.len()
    );
    // Unstitched, the sessions that cross files come out in pieces.
    assert!(alone["summary"]["connections"].as_u64() > all["summary"]["connections"].as_u64());
}

#[test]
fn shards_keep_a_ring_whole() {
    let all = report(&samples());
    let mut seen = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let (_, doc) = run(&["--shard", &shard, samples().to_str().unwrap()]);
        for c in doc["captures"].as_array().unwrap() {
            seen.push((c["path"].clone(), c["packets"].clone()));
        }
    }
    let mut want: Vec<_> = all["captures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["path"].clone(), c["packets"].clone()))
        .collect();
    let key = |x: &(Value, Value)| x.0.as_str().unwrap().to_string();
    seen.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(seen, want);
}

#[test]
fn an_unreadable_piece_breaks_the_ring_and_the_rest_is_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let pieces = copy_as("ring-tcpdump", dir.path(), |_, p| {
        p.file_name().unwrap().to_str().unwrap().to_string()
    });
    // The eighth piece's second record claims 4 GB: reading stops there.
    let broken = &pieces[7];
    let mut bytes = std::fs::read(broken).unwrap();
    let first_len = u32::from_le_bytes(bytes[32..36].try_into().unwrap()) as usize;
    let second = 24 + 16 + first_len;
    bytes[second + 8..second + 12].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    std::fs::write(broken, bytes).unwrap();

    let (code, doc) = run(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "a capture not read entirely");
    let caps = doc["captures"].as_array().unwrap();
    assert_eq!(caps.len(), 2, "{caps:#?}");
    let before = &caps[0];
    assert!(before["error"].as_str().unwrap().contains("x.pcap7"));
    assert!(before["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("the ring buffer breaks at")));
    assert_eq!(before["pieces"].as_array().unwrap().len(), 8);
    assert_eq!(caps[1]["path"], pieces[8].to_str().unwrap());
    assert!(caps[1]["error"].is_null());
    // The sessions open at the break end there; their Close frames, in the
    // pieces after it, are still read (by their framing).
    let conns = doc["connections"].as_array().unwrap();
    let ends: Vec<(&str, &Value)> = conns
        .iter()
        .map(|c| (c["capture"].as_str().unwrap(), &c["disconnect"]["category"]))
        .collect();
    assert!(ends
        .iter()
        .any(|(cap, cat)| cap.ends_with("/x.pcap") && *cat == "capture_end"));
    assert!(ends
        .iter()
        .any(|(cap, cat)| cap.ends_with("/x.pcap8") && *cat == "close_frame"));
}
