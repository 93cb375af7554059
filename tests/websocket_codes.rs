//! WebSocket verdicts on the second set of close-code samples
//! (samples/make/ws-more-codes.sh): real Node `ws` 8.23.0, Python
//! `websockets` 17.4 and tornado 6.6.1 peers, and two raw-socket clients
//! that send what no library sends (an unmasked frame, invalid UTF-8).
//!
//! Every expectation is what the software did, as its own log and tshark
//! 4.0.17 saw it (`tshark -d tcp.port==PORT,http -Y websocket.opcode==8`,
//! which also inflates the permessage-deflate messages), not what
//! wsforensics happens to print: the Close frames (frame, sender, code,
//! reason), the HTTP status of a refused upgrade, the frame that broke a
//! rule, and the message sizes before and after compression.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may panic: that is how they fail

use serde_json::Value;

mod common;
use common::{evidence, sample_report as report};

fn cites(d: &Value, frame: u64) -> bool {
    let p = format!("frame {frame} ");
    evidence(d).iter().any(|e| e.starts_with(&p))
}

/// A Close frame as tshark decoded it: frame, sender, code (None for an
/// empty payload), reason.
type Close = (u64, &'static str, Option<u16>, &'static str);

/// What one sample's only connection must show.
struct Want {
    sample: &'static str,
    closes: &'static [Close],
    /// disconnect.code, category, initiator, observed.
    code: u16,
    category: &'static str,
    initiator: &'static str,
    observed: bool,
    /// The frame that decides the verdict (the first Close frame, or the
    /// refusing HTTP response); the evidence must cite it.
    deciding: u64,
    /// RFC 6455 violations on the wire: frame, sender, the code a
    /// compliant peer answers with.
    violations: &'static [(u64, &'static str, u16)],
}

fn check(w: &Want) -> Value {
    let s = w.sample;
    let doc = report(s);
    let conns = doc["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 1, "{s}");
    let c = &conns[0];
    let ws = &c["websocket"];
    if w.category == "http_upgrade" {
        assert_eq!(c["transport"], "http", "{s}");
    } else {
        assert_eq!(c["transport"], "ws", "{s}");
        assert_eq!(ws["response"]["status"], 101, "{s}");
        assert_eq!(ws["response"]["accept_valid"], true, "{s}");
    }
    let found: Vec<(u64, String, Option<u64>, String)> = ws["closes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["frame"].as_u64().unwrap(),
                k["sender"].as_str().unwrap().to_string(),
                k["code"].as_u64(),
                k["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(u64, String, Option<u64>, String)> = w
        .closes
        .iter()
        .map(|(f, who, code, reason)| {
            (*f, who.to_string(), code.map(u64::from), reason.to_string())
        })
        .collect();
    assert_eq!(found, want, "{s}: close frames");
    let violations: Vec<(u64, String, u64)> = ws["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["frame"].as_u64().unwrap(),
                v["sender"].as_str().unwrap().to_string(),
                v["code"].as_u64().unwrap(),
            )
        })
        .collect();
    let want_v: Vec<(u64, String, u64)> = w
        .violations
        .iter()
        .map(|(f, who, code)| (*f, who.to_string(), u64::from(*code)))
        .collect();
    assert_eq!(violations, want_v, "{s}: violations {}", ws["violations"]);
    let d = &c["disconnect"];
    assert_eq!(d["code"], u64::from(w.code), "{s}: code");
    assert_eq!(d["category"], w.category, "{s}: category");
    assert_eq!(d["initiator"], w.initiator, "{s}: initiator");
    assert_eq!(d["observed"], w.observed, "{s}: observed");
    assert!(
        cites(d, w.deciding),
        "{s}: evidence cites frame {}: {:?}",
        w.deciding,
        evidence(d)
    );
    let abnormal = !(w.category == "close_frame" && matches!(w.code, 1000 | 1001));
    assert_eq!(
        doc["summary"]["abnormal"],
        u64::from(abnormal),
        "{s}: abnormal"
    );
    doc
}

#[test]
fn node_ws_client_going_away_1001() {
    // Node ws client: ws.close(1001, 'page unloaded'); websockets echoes it.
    check(&Want {
        sample: "ws-1001-client.pcap",
        closes: &[
            (10, "client", Some(1001), "page unloaded"),
            (11, "server", Some(1001), "page unloaded"),
        ],
        code: 1001,
        category: "close_frame",
        initiator: "client",
        observed: true,
        deciding: 10,
        violations: &[],
    });
}

#[test]
fn unmasked_client_frame_gets_1002_from_websockets() {
    // Frame 10 is the raw client's unmasked text frame; websockets fails
    // the connection (Close 1002, then FIN) and the client never answers.
    check(&Want {
        sample: "ws-1002.pcap",
        closes: &[(11, "server", Some(1002), "incorrect masking")],
        code: 1002,
        category: "close_frame",
        initiator: "server",
        observed: true,
        deciding: 11,
        violations: &[(10, "client", 1002)],
    });
}

#[test]
fn node_ws_text_only_server_closes_1003_on_binary() {
    // Frame 10: the client's 4-byte binary message.
    check(&Want {
        sample: "ws-1003.pcap",
        closes: &[
            (
                11,
                "server",
                Some(1003),
                "binary messages are not supported",
            ),
            (
                12,
                "client",
                Some(1003),
                "binary messages are not supported",
            ),
        ],
        code: 1003,
        category: "close_frame",
        initiator: "server",
        observed: true,
        deciding: 11,
        violations: &[],
    });
}

#[test]
fn invalid_utf8_text_gets_1007_from_websockets() {
    // Frame 10: a masked text frame with payload ff fe "hello".
    check(&Want {
        sample: "ws-1007.pcap",
        closes: &[(11, "server", Some(1007), "invalid start byte at position 0")],
        code: 1007,
        category: "close_frame",
        initiator: "server",
        observed: true,
        deciding: 11,
        violations: &[(10, "client", 1007)],
    });
}

#[test]
fn the_verdict_cites_the_frame_that_broke_the_rule() {
    // The Close alone says what the server objected to; the evidence must
    // also point at the client's frame that caused it (frame 10 in both).
    let missing: Vec<String> = ["ws-1002.pcap", "ws-1007.pcap"]
        .iter()
        .filter_map(|sample| {
            let doc = report(sample);
            let d = &doc["connections"][0]["disconnect"];
            (!cites(d, 10)).then(|| format!("{sample}: {:?}", evidence(d)))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "evidence does not cite the offending frame 10: {missing:#?}"
    );
}

#[test]
fn fragmented_message_crossing_max_size_1009() {
    // 5 x 300-byte fragments (frames 8-12) and an empty final continuation
    // (frame 13): one 1500-byte text message; websockets' max_size is 1024
    // and its reason names the fragment that crossed it (the 4th).
    let doc = check(&Want {
        sample: "ws-1009-fragmented.pcap",
        closes: &[
            (
                15,
                "server",
                Some(1009),
                "frame with 300 bytes after reading 900 bytes exceeds limit of 1024 bytes",
            ),
            (
                16,
                "client",
                Some(1009),
                "frame with 300 bytes after reading 900 bytes exceeds limit of 1024 bytes",
            ),
        ],
        code: 1009,
        category: "close_frame",
        initiator: "server",
        observed: true,
        deciding: 15,
        violations: &[],
    });
    let f = &doc["connections"][0]["websocket"]["frames"]["client_to_server"];
    assert_eq!(f["frames"], 7, "6 data frames and the Close");
    assert_eq!(f["messages"], 1);
    assert_eq!(f["largest_message"], 1500);
    assert_eq!(f["largest_message_frame"], 13);
}

#[test]
fn deflated_message_over_max_size_1009_names_the_inflated_size() {
    // 204800 bytes of text, 668 bytes compressed on the wire (frame 8);
    // websockets (max_size 65536) closes with 1009.
    let doc = check(&Want {
        sample: "ws-1009-deflate.pcap",
        closes: &[
            (
                9,
                "server",
                Some(1009),
                "frame exceeds limit of 65536 bytes",
            ),
            (
                11,
                "client",
                Some(1009),
                "frame exceeds limit of 65536 bytes",
            ),
        ],
        code: 1009,
        category: "close_frame",
        initiator: "server",
        observed: true,
        deciding: 9,
        violations: &[],
    });
    let c = &doc["connections"][0];
    let ext = c["websocket"]["response"]["extensions"].to_string();
    assert!(ext.contains("permessage-deflate"), "{ext}");
    let f = &c["websocket"]["frames"]["client_to_server"];
    assert_eq!(f["compressed_messages"], 1);
    assert_eq!(f["largest_message"], 204800);
    assert_eq!(f["largest_message_wire"], 668);
    assert_eq!(f["largest_message_frame"], 8);
    let ev = evidence(&c["disconnect"]);
    assert!(
        ev.iter().any(|e| e.contains("204800-byte")),
        "the evidence names the inflated size: {ev:?}"
    );
    assert!(
        ev.iter()
            .any(|e| e.starts_with("frame 8 ") && e.contains("204800") && e.contains("668")),
        "the evidence gives frame 8's inflated and wire sizes: {ev:?}"
    );
}

#[test]
fn permessage_deflate_session_with_context_takeover() {
    // Text messages of 1990, 1990 (same text) and 330 bytes: 155, 26 and 28
    // bytes on the wire each way; the client closes with 1000.
    let doc = check(&Want {
        sample: "ws-deflate.pcap",
        closes: &[
            (14, "client", Some(1000), "done"),
            (15, "server", Some(1000), "done"),
        ],
        code: 1000,
        category: "close_frame",
        initiator: "client",
        observed: true,
        deciding: 14,
        violations: &[],
    });
    let ws = &doc["connections"][0]["websocket"];
    let ext = ws["response"]["extensions"].to_string();
    assert!(ext.contains("permessage-deflate"), "{ext}");
    for dir in ["client_to_server", "server_to_client"] {
        let f = &ws["frames"][dir];
        assert_eq!(f["frames"], 4, "{dir}");
        assert_eq!(f["messages"], 3, "{dir}");
        assert_eq!(f["compressed_messages"], 3, "{dir}");
        assert_eq!(f["largest_message"], 1990, "{dir}");
    }
}

#[test]
fn server_at_capacity_1013() {
    check(&Want {
        sample: "ws-1013.pcap",
        closes: &[
            (
                9,
                "server",
                Some(1013),
                "server at capacity, try again later",
            ),
            (
                10,
                "client",
                Some(1013),
                "server at capacity, try again later",
            ),
        ],
        code: 1013,
        category: "close_frame",
        initiator: "server",
        observed: true,
        deciding: 9,
        violations: &[],
    });
}

#[test]
fn relay_with_its_upstream_down_1014() {
    check(&Want {
        sample: "ws-1014.pcap",
        closes: &[
            (9, "server", Some(1014), "upstream unavailable"),
            (10, "client", Some(1014), "upstream unavailable"),
        ],
        code: 1014,
        category: "close_frame",
        initiator: "server",
        observed: true,
        deciding: 9,
        violations: &[],
    });
}

#[test]
fn empty_close_frame_is_1005() {
    // Node ws's ws.close() sends a Close with a 0-byte payload (frame 10);
    // websockets answers with an empty Close (frame 11). Both libraries
    // report 1005; no code was on the wire, so it is not "observed".
    check(&Want {
        sample: "ws-empty-close.pcap",
        closes: &[(10, "client", None, ""), (11, "server", None, "")],
        code: 1005,
        category: "close_frame",
        initiator: "client",
        observed: false,
        deciding: 10,
        violations: &[],
    });
}

#[test]
fn tornado_refuses_version_8_with_426() {
    // Node ws client with protocolVersion 8; tornado answers 426 Upgrade
    // Required with Sec-WebSocket-Version: 13 (frame 6); ws aborts and its
    // FIN comes first (frame 8). The client library reports 1006.
    let doc = check(&Want {
        sample: "ws-426.pcap",
        closes: &[],
        code: 1006,
        category: "http_upgrade",
        initiator: "server",
        observed: false,
        deciding: 6,
        violations: &[],
    });
    let c = &doc["connections"][0];
    assert_eq!(c["websocket"]["request"]["version"], "8");
    assert_eq!(c["websocket"]["response"]["status"], 426);
    let d = &c["disconnect"];
    assert_eq!(d["http_status"], 426);
    assert!(
        evidence(d)
            .iter()
            .any(|e| e.starts_with("frame 6 ") && e.contains("426")),
        "{:?}",
        evidence(d)
    );
    assert!(cites(d, 8), "the client's FIN: {:?}", evidence(d));
}
