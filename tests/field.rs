//! Verdicts on field-shaped captures (samples/make/field-*.sh): tcpdump and
//! dumpcap started after the WebSocket sessions were open, and sessions
//! captured with `-s 96` and `-s 128`. Each expectation is the endpoints'
//! own logged view, recorded with tshark's in `<capture>.truth.json`, not
//! what wsforensics prints.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may panic: that is how they fail

use serde_json::Value;

mod common;
use common::{evidence, sample_report as report};

fn truth(sample: &str) -> Value {
    let p = format!("{}/samples/{sample}.truth.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The connection a truth entry describes (same client and server).
fn connection<'a>(doc: &'a Value, t: &Value) -> &'a Value {
    doc["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client"] == t["client"] && c["server"] == t["server"])
        .unwrap_or_else(|| panic!("no connection {} -> {}", t["client"], t["server"]))
}

/// Close frames as (frame, code).
fn frame_codes(closes: &Value) -> Vec<(u64, u64)> {
    closes
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["frame"].as_u64().unwrap(), x["code"].as_u64().unwrap()))
        .collect()
}

/// Every connection gets the verdict its endpoints logged: code,
/// category, initiator; returns the verdicts by server port.
fn agrees(sample: &str) -> Vec<(String, Value)> {
    let doc = report(sample);
    let want = truth(sample);
    let mut out = Vec::new();
    for t in want["connections"].as_array().unwrap() {
        let c = connection(&doc, t);
        let e = &t["expected"];
        let d = &c["disconnect"];
        let ctx = format!("{sample} {} ({})", t["server"], t["scenario"]);
        assert_eq!(d["code"], e["code"], "{ctx}: {d:#}");
        assert_eq!(d["category"], e["category"], "{ctx}");
        assert_eq!(d["initiator"], e["initiator"], "{ctx}");
        out.push((t["server"].as_str().unwrap().to_string(), c.clone()));
    }
    out
}

#[test]
fn sessions_picked_up_after_their_upgrade_get_their_verdicts() {
    for sample in ["midstream-ws.pcap", "midstream-ws.pcapng"] {
        let want = truth(sample);
        for (server, c) in agrees(sample) {
            let t = want["connections"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["server"] == server.as_str())
                .unwrap();
            let ws = &c["websocket"];
            assert!(ws["request"].is_null(), "{sample} {server}");
            // Recognised where the framing starts, in both directions.
            let first = &t["first_ws_header_frame"];
            let from = &ws["picked_up"]["from_frame"];
            for dir in ["client_to_server", "server_to_client"] {
                assert_eq!(from[dir], first[dir], "{sample} {server} {dir}");
            }
            let d = &c["disconnect"];
            assert_eq!(d["confidence"], "likely", "{sample} {server}");
            let line = format!(
                "the capture began after the upgrade: WebSocket recognised from frame {} by its framing",
                from["client_to_server"]
                    .as_u64()
                    .min(from["server_to_client"].as_u64())
                    .unwrap()
            );
            assert!(
                evidence(d).iter().any(|e| e.ends_with(&line)),
                "{sample} {server}: {:#?}",
                evidence(d)
            );
            // Every Close frame the endpoints sent, at tshark's frame.
            let closes = frame_codes(&ws["closes"]);
            let want_closes = frame_codes(&t["close_frames"]);
            assert_eq!(closes, want_closes, "{sample} {server}");
        }
    }
}

#[test]
fn a_compressed_session_picked_up_counts_compressed_messages_by_wire_size() {
    let doc = report("midstream-ws.pcap");
    let c = doc["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["server"] == "127.0.0.1:8905")
        .unwrap();
    let f = &c["websocket"]["frames"];
    assert!(
        f["client_to_server"]["compressed_messages"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(c["websocket"]["violations"].as_array().unwrap().is_empty());
}

#[test]
fn snapshot_length_cuts_keep_the_verdicts_the_first_bytes_show() {
    for sample in ["snap-ws-96.pcap", "snap-ws-128.pcap"] {
        let doc = report(sample);
        let want = truth(sample);
        let warnings = doc["captures"][0]["warnings"].to_string();
        assert!(warnings.contains("snapshot length"), "{sample}: {warnings}");
        for t in want["connections"].as_array().unwrap() {
            let c = connection(&doc, t);
            let e = &t["expected"];
            let d = &c["disconnect"];
            let ctx = format!("{sample} {}", t["server"]);
            if e["category"] == "http_upgrade" && c["transport"] == "http" {
                // A refusal whose request lost its Upgrade header to the
                // cut: not claimed as a WebSocket attempt (see the issue
                // note); nothing is invented either.
                assert!(d.is_null(), "{ctx}: {d:#}");
                continue;
            }
            assert_eq!(d["code"], e["code"], "{ctx}: {d:#}");
            assert_eq!(d["category"], e["category"], "{ctx}");
            assert_eq!(d["initiator"], e["initiator"], "{ctx}");
            // The handshake was seen (cut), so nothing says it was not.
            assert!(c["websocket"]["picked_up"].is_null(), "{ctx}");
            assert_eq!(c["websocket"]["response"]["status"], 101, "{ctx}");
            assert!(
                c["websocket"]["response"]["accept_valid"].is_null(),
                "{ctx}"
            );
        }
    }
}

#[test]
fn a_cut_tls_handshake_keeps_its_visible_alert_and_claims_nothing_else() {
    for sample in ["snap-wss-96.pcap", "snap-wss-128.pcap"] {
        let doc = report(sample);
        for t in truth(sample)["connections"].as_array().unwrap() {
            let c = connection(&doc, t);
            let (d, e) = (&c["disconnect"], &t["expected"]);
            let ctx = format!("{sample} {}", t["server"]);
            assert_ne!(d["cause"], "server_not_tls", "{ctx}: {d:#}");
            if e["alert"].is_string() {
                // The alert survives the cut (7 bytes): it decides.
                assert_eq!(d["code"], e["code"], "{ctx}: {d:#}");
                assert_eq!(d["category"], e["category"], "{ctx}");
                assert_eq!(d["initiator"], e["initiator"], "{ctx}");
                assert_eq!(d["cause"], e["alert"], "{ctx}");
            } else {
                // The Close frames are inside TLS and no key log is given.
                assert_eq!(d["category"], "encrypted", "{ctx}: {d:#}");
                assert_ne!(d["confidence"], "certain", "{ctx}");
            }
        }
    }
}

/// The records of a little-endian pcap after its first `skip` frames, as
/// if the capture had started there.
fn started_late(pcap: &[u8], skip: usize) -> Vec<u8> {
    let mut out = pcap[..24].to_vec();
    let mut at = 24;
    let mut k = 0;
    while at + 16 <= pcap.len() {
        let len = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
        let end = (at + 16 + len).min(pcap.len());
        if k >= skip {
            out.extend_from_slice(&pcap[at..end]);
        }
        at = end;
        k += 1;
    }
    out
}

/// No false positives: every sample, started late at several points, so
/// that TLS records, HTTP keep-alive requests and refusals, and cut
/// WebSocket sessions all reach the mid-stream recogniser. Only
/// connections that are plain WebSocket in the full capture may be
/// recognised as WebSocket by their framing.
#[test]
fn nothing_but_websocket_is_recognised_mid_stream() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let tmp = tempfile::tempdir().unwrap();
    let (mut tried, mut recognised) = (0, 0);
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    names.sort();
    for path in names {
        let bytes = std::fs::read(&path).unwrap();
        // Little-endian pcap (micro- or nanoseconds) only: the others are
        // copies of these in other containers.
        if !matches!(
            bytes.get(..4),
            Some([0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1])
        ) {
            continue;
        }
        let full = report(path.file_name().unwrap().to_str().unwrap());
        let kind = |c: &Value| {
            full["connections"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["client"] == c["client"] && f["server"] == c["server"])
                .map(|f| f["transport"].as_str().unwrap().to_string())
        };
        for skip in [3, 5, 8, 13, 21] {
            let late = tmp.path().join(format!("late-{skip}.pcap"));
            std::fs::write(&late, started_late(&bytes, skip)).unwrap();
            let doc = common::json_report(late.to_str().unwrap());
            for c in doc["connections"].as_array().unwrap() {
                tried += 1;
                if c["websocket"]["picked_up"].is_null() {
                    continue;
                }
                recognised += 1;
                let was = kind(c);
                assert_eq!(
                    was.as_deref(),
                    Some("ws"),
                    "{} from frame {skip}: {} -> {} called WebSocket by its framing",
                    path.display(),
                    c["client"],
                    c["server"]
                );
            }
        }
    }
    // The recogniser was exercised, on both sides of the line.
    eprintln!("{tried} connections tried, {recognised} recognised");
    assert!(tried > 400, "{tried} connections tried");
    assert!(recognised > 20, "{recognised} recognised");
}

/// Each record of a little-endian Ethernet pcap (after its header), with
/// TCP port `from` rewritten to `to` and the bytes cut to `snap`.
fn records_cut(pcap: &[u8], from: u16, to: u16, snap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let len = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
        let mut data = pcap[at + 16..at + 16 + len].to_vec();
        // Ethernet, then IPv4 with its header length.
        let tcp = 14 + usize::from(data[14] & 0x0f) * 4;
        for p in [tcp, tcp + 2] {
            if u16::from_be_bytes([data[p], data[p + 1]]) == from {
                data[p..p + 2].copy_from_slice(&to.to_be_bytes());
            }
        }
        data.truncate(snap);
        out.extend_from_slice(&pcap[at..at + 8]);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&pcap[at + 12..at + 16]);
        out.extend_from_slice(&data);
        at += 16 + len;
    }
    out
}

/// A refusal whose Upgrade header a snapshot length cut (`-s 96` keeps
/// the request line, not the headers) is taken for a refused upgrade only
/// where its server port carries WebSocket elsewhere in the capture: here
/// ws-403.pcap's refusal after ws-1009.pcap's session moved to its port.
#[test]
fn a_cut_refusal_on_a_websocket_port_is_a_refused_upgrade() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let ws = std::fs::read(dir.join("ws-1009.pcap")).unwrap();
    let refused = std::fs::read(dir.join("ws-403.pcap")).unwrap();
    let mut header = refused[..24].to_vec();
    header[16..20].copy_from_slice(&96u32.to_le_bytes());
    let tmp = tempfile::tempdir().unwrap();

    let alone = tmp.path().join("refused-96.pcap");
    let mut bytes = header.clone();
    bytes.extend(records_cut(&refused, 0, 0, 96));
    std::fs::write(&alone, &bytes).unwrap();
    let doc = common::json_report(alone.to_str().unwrap());
    let c = &doc["connections"][0];
    assert_eq!(c["transport"], "http");
    assert!(c["disconnect"].is_null(), "no WebSocket anywhere: {c:#}");

    let both = tmp.path().join("ws-then-refused-96.pcap");
    let mut bytes = header;
    bytes.extend(records_cut(&ws, 8780, 8786, 96));
    bytes.extend(records_cut(&refused, 0, 0, 96));
    std::fs::write(&both, &bytes).unwrap();
    let doc = common::json_report(both.to_str().unwrap());
    let conns = doc["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 2);
    assert_eq!(conns[0]["disconnect"]["code"], 1009);
    let d = &conns[1]["disconnect"];
    assert_eq!(d["category"], "http_upgrade", "{d:#}");
    assert_eq!(d["http_status"], 403);
    assert_eq!(d["initiator"], "server");
    assert_eq!(d["confidence"], "likely");
    let ev = evidence(d);
    assert!(ev.iter().any(|l| l.contains("not visible")), "{ev:#?}");
    assert!(
        ev.iter().any(|l| l.contains("port 8786 carries WebSocket")),
        "{ev:#?}"
    );
}

/// A wss session picked up after its TLS handshake (the first bytes each
/// way are application_data records, whichever side speaks first) is
/// `encrypted`, says the handshake was before the capture, and does not
/// send the reader after a key log that cannot open it.
#[test]
fn a_tls_session_picked_up_after_its_handshake_says_so() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let bytes = std::fs::read(dir.join("wss-clean.pcap")).unwrap();
    let keys = dir.join("wss-clean.keys");
    let tmp = tempfile::tempdir().unwrap();
    // Frame 9 is the server's first record after the handshake; 12 the
    // client's.
    for skip in [8, 11, 12] {
        let late = tmp.path().join(format!("late-{skip}.pcap"));
        std::fs::write(&late, started_late(&bytes, skip)).unwrap();
        let p = late.to_str().unwrap();
        for doc in [common::json_report(p), {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsforensics"))
                .args(["--format", "json", "--keylog", keys.to_str().unwrap(), p])
                .output()
                .unwrap();
            serde_json::from_slice(&out.stdout).unwrap()
        }] {
            let c = &doc["connections"][0];
            let d = &c["disconnect"];
            assert_eq!(c["transport"], "tls", "from frame {}", skip + 1);
            assert_eq!(d["category"], "encrypted", "{d:#}");
            assert_eq!(d["initiator"], "server");
            assert_eq!(d["confidence"], "likely");
            assert!(evidence(d)
                .iter()
                .any(|l| l.contains("the capture began after the TLS handshake")));
            assert!(d["fix"].as_str().unwrap().contains("even with a key log"));
        }
    }
}
