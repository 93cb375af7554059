//! WebSocket verdicts on real captures through nginx 1.22.1 and of protocol
//! violations against Python websockets 17.4 (samples/make/ws-proxy.sh).
//! Every expectation comes from what the software itself logged (nginx's
//! error and access logs, websockets' exceptions, the raw client's output)
//! and from tshark 4.0.17 (`-d tcp.port==PORT,http`, `-Y http`, `-Y
//! websocket.opcode==8`), not from what wsforensics printed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may panic: that is how they fail

use serde_json::Value;

mod common;
use common::{closes, evidence, sample_report as report};

fn connections(doc: &Value, sample: &str, n: usize) -> Vec<Value> {
    let conns = doc["connections"].as_array().unwrap().clone();
    assert_eq!(conns.len(), n, "{sample}: connections");
    conns
}

/// The verdict's category, code and initiator.
fn verdict(d: &Value) -> (Option<&str>, Option<u64>, Option<&str>) {
    (
        d["category"].as_str(),
        d["code"].as_u64(),
        d["initiator"].as_str(),
    )
}

/// Asserts that the evidence has a line for each frame ("frame N ...").
fn assert_cites(what: &str, d: &Value, frames: &[u64]) {
    let ev = evidence(d);
    for f in frames {
        let prefix = format!("frame {f} ");
        assert!(
            ev.iter().any(|e| e.starts_with(&prefix)),
            "{what}: evidence cites frame {f}: {ev:?}"
        );
    }
}

fn owned(v: &[(u64, &str, Option<u64>)]) -> Vec<(u64, String, Option<u64>)> {
    v.iter().map(|(f, s, c)| (*f, s.to_string(), *c)).collect()
}

/// Every duration written in `text` as a number followed by "s", "sec" or
/// "second" ("2.995 s", "3s", "3 seconds"), in seconds.
fn durations(text: &str) -> Vec<f64> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit()
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.'))
        {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            let num = text[start..i].trim_end_matches('.');
            let mut j = i;
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
            let unit_end = (j..b.len())
                .find(|&k| !b[k].is_ascii_alphabetic())
                .unwrap_or(b.len());
            let unit = &text[j..unit_end];
            if matches!(unit, "s" | "sec" | "secs" | "second" | "seconds") {
                if let Ok(v) = num.parse::<f64>() {
                    out.push(v);
                }
            }
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn durations_are_read_from_text() {
    assert_eq!(
        durations("idle for 2.995 s; raise proxy_read_timeout above 3s (3 seconds), not 1006"),
        vec![2.995, 3.0, 3.0]
    );
}

/// nginx (proxy_read_timeout 3s) between a websockets client and server,
/// no keepalive pings. tshark: stream 0 is client <-> nginx :8830 (101
/// from nginx in frame 13, "Server: nginx/1.22.1"; last data frame 18, the
/// echo, at +0.007 s); stream 1 is nginx <-> backend :8831 (last data
/// frame 17). nginx's error log: "upstream timed out (110: Connection
/// timed out) while proxying upgraded connection"; it then sends FIN on
/// both legs with no Close frame: frame 21 on the backend leg (nginx is
/// that leg's client), frame 22 on the client leg (+3.002 s, 2.995 s after
/// frame 18). The websockets client logs ConnectionClosedError "no close
/// frame received or sent" after 2.993 s idle and answers FIN (frame 23).
#[test]
fn nginx_read_timeout_closes_both_legs_without_a_close_frame() {
    let sample = "ws-nginx-timeout.pcap";
    let doc = report(sample);
    let conns = connections(&doc, sample, 2);

    // The client's leg: the proxy (its server) hung up.
    let c = &conns[0];
    assert_eq!(c["server"], "127.0.0.1:8830");
    assert_eq!(c["transport"], "ws");
    let ws = &c["websocket"];
    assert_eq!(ws["response"]["status"], 101);
    assert_eq!(ws["response"]["accept_valid"], true);
    assert_eq!(ws["response"]["server"], "nginx/1.22.1");
    assert!(closes(ws).is_empty(), "no Close frame: {}", ws["closes"]);
    assert!(ws["violations"].as_array().unwrap().is_empty());
    let d = &c["disconnect"];
    assert_eq!(
        verdict(d),
        (Some("tcp_abort"), Some(1006), Some("server")),
        "{d}"
    );
    assert_eq!(d["observed"], false);
    assert_cites("client leg", d, &[18, 22]);
    let fix = d["fix"].as_str().unwrap();
    let lower = fix.to_lowercase();
    assert!(
        lower.contains("proxy") && lower.contains("timeout"),
        "the fix names the proxy's timeout (the 101 came from nginx): {fix}"
    );
    assert!(
        durations(fix).iter().any(|s| (2.9..=3.1).contains(s)),
        "the fix gives the idle time (2.995 s) in seconds: {fix}"
    );

    // The backend's leg: nginx, as its client, hung up.
    let c = &conns[1];
    assert_eq!(c["server"], "127.0.0.1:8831");
    assert_eq!(c["transport"], "ws");
    let ws = &c["websocket"];
    assert_eq!(ws["response"]["status"], 101);
    assert_eq!(ws["response"]["accept_valid"], true);
    assert!(closes(ws).is_empty(), "no Close frame: {}", ws["closes"]);
    let d = &c["disconnect"];
    assert_eq!(
        verdict(d),
        (Some("tcp_abort"), Some(1006), Some("client")),
        "{d}"
    );
    assert_cites("backend leg", d, &[17, 21]);

    assert_eq!(doc["summary"]["abnormal"], 2);
}

/// nginx overwrites Sec-WebSocket-Key with RFC 6455's sample nonce. tshark:
/// the client's key XpQB7Y7KiOEvm4DnRJplUQ== (frame 4) becomes
/// dGhlIHNhbXBsZSBub25jZQ== on the backend leg (frame 9); the backend's 101
/// (frame 11) and nginx's copy (frame 13) carry s3pPLMBiTxaQ9kYGzzhZRbK+xOo=,
/// valid for the nonce, not for the client's key. websockets raises
/// InvalidHeaderValue "invalid Sec-WebSocket-Accept header" and the client
/// sends FIN 0.3 ms later (frame 15), no frame; nginx then closes the
/// backend leg (FIN frame 16).
#[test]
fn accept_key_broken_by_the_proxy_is_refused_by_the_client() {
    let sample = "ws-bad-accept.pcap";
    let doc = report(sample);
    let conns = connections(&doc, sample, 2);

    let c = &conns[0];
    assert_eq!(c["server"], "127.0.0.1:8832");
    let ws = &c["websocket"];
    assert_eq!(ws["request"]["key"], "XpQB7Y7KiOEvm4DnRJplUQ==");
    assert_eq!(ws["request_frame"], 4);
    assert_eq!(ws["response"]["status"], 101);
    assert_eq!(ws["response"]["accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_eq!(ws["response"]["accept_valid"], false);
    assert_eq!(ws["response"]["server"], "nginx/1.22.1");
    let d = &c["disconnect"];
    assert_eq!(
        verdict(d),
        (Some("http_upgrade"), Some(1006), Some("client")),
        "{d}"
    );
    assert_eq!(d["observed"], false);
    assert_eq!(d["http_status"], 101);
    assert_cites("client leg", d, &[13, 15]);
    assert!(
        d["fix"].as_str().unwrap().to_lowercase().contains("proxy"),
        "the 101 came from nginx: {}",
        d["fix"]
    );

    // nginx <-> backend: a valid handshake for the nonce, then nginx's FIN.
    let c = &conns[1];
    assert_eq!(c["server"], "127.0.0.1:8833");
    assert_eq!(c["transport"], "ws");
    let ws = &c["websocket"];
    assert_eq!(ws["request"]["key"], "dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(ws["response"]["accept_valid"], true);
    let d = &c["disconnect"];
    assert_eq!(
        verdict(d),
        (Some("tcp_abort"), Some(1006), Some("client")),
        "{d}"
    );
    assert_cites("backend leg", d, &[16]);
}

/// One violation kind per connection of ws-violations.pcap.
struct Violation {
    path: &'static str,
    request_frame: u64,
    /// The client's offending frame.
    frame: u64,
    /// Words the violation's description must contain (any case).
    words: &'static [&'static str],
    closes: &'static [(u64, &'static str, Option<u64>)],
    /// category, code, initiator of the verdict.
    verdict: (&'static str, u64, &'static str),
}

/// ws_raw_peer.py against a websockets echo server on :8834, from
/// websockets' log ("sent 1002 (protocol error) ...; no close frame
/// received") and tshark's Close frames (frame, sender, code, reason).
const VIOLATIONS: &[Violation] = &[
    // Text frame with RSV1 set, no extension negotiated: 1002 "reserved
    // bits must be 0".
    Violation {
        path: "/rsv1",
        request_frame: 4,
        frame: 8,
        words: &["rsv"],
        closes: &[(9, "server", Some(1002))],
        verdict: ("close_frame", 1002, "server"),
    },
    // Reserved opcode 0x3: 1002 "invalid opcode".
    Violation {
        path: "/opcode3",
        request_frame: 17,
        frame: 21,
        words: &["opcode", "3"],
        closes: &[(22, "server", Some(1002))],
        verdict: ("close_frame", 1002, "server"),
    },
    // Ping with a 126-byte payload: 1002 "control frame too long".
    Violation {
        path: "/big-ping",
        request_frame: 30,
        frame: 34,
        words: &["control", "126"],
        closes: &[(35, "server", Some(1002))],
        verdict: ("close_frame", 1002, "server"),
    },
    // Continuation with no message started: 1002 "unexpected continuation
    // frame".
    Violation {
        path: "/continuation",
        request_frame: 43,
        frame: 47,
        words: &["continuation"],
        closes: &[(48, "server", Some(1002))],
        verdict: ("close_frame", 1002, "server"),
    },
    // Close carrying 1005 on the wire (frame 60): the server fails the
    // connection with 1002 "invalid status code" (frame 61). The first
    // Close sent decides (DESIGN.md), and its code is the one on the wire.
    Violation {
        path: "/close-1005",
        request_frame: 56,
        frame: 60,
        words: &["1005"],
        closes: &[(60, "client", Some(1005)), (61, "server", Some(1002))],
        verdict: ("close_frame", 1005, "client"),
    },
    // Close with a 1-byte payload (frame 73), so no code: 1002 "close frame
    // too short" (frame 74). The first Close decides; it had no code: 1005.
    Violation {
        path: "/close-1byte",
        request_frame: 69,
        frame: 73,
        words: &["close", "1-byte"],
        closes: &[(73, "client", None), (74, "server", Some(1002))],
        verdict: ("close_frame", 1005, "client"),
    },
];

#[test]
fn protocol_violations_and_what_websockets_answered() {
    let sample = "ws-violations.pcap";
    let doc = report(sample);
    let conns = connections(&doc, sample, VIOLATIONS.len());
    for (c, v) in conns.iter().zip(VIOLATIONS) {
        let what = v.path;
        assert_eq!(c["transport"], "ws", "{what}");
        let ws = &c["websocket"];
        assert_eq!(ws["request"]["path"], v.path, "{what}");
        assert_eq!(ws["request_frame"], v.request_frame, "{what}");
        assert_eq!(ws["response"]["accept_valid"], true, "{what}");
        assert_eq!(closes(ws), owned(v.closes), "{what}: close frames");

        let found = ws["violations"].as_array().unwrap();
        let hit = found.iter().find(|x| x["frame"] == v.frame);
        let Some(hit) = hit else {
            panic!(
                "{what}: a violation at frame {}: {}",
                v.frame, ws["violations"]
            );
        };
        assert_eq!(hit["sender"], "client", "{what}");
        // websockets failed each of these with 1002.
        assert_eq!(hit["code"], 1002, "{what}");
        let text = hit["what"].as_str().unwrap().to_lowercase();
        for w in v.words {
            assert!(text.contains(w), "{what}: violation names {w:?}: {text}");
        }

        let d = &c["disconnect"];
        let (category, code, initiator) = v.verdict;
        assert_eq!(
            verdict(d),
            (Some(category), Some(code), Some(initiator)),
            "{what}: {d}"
        );
        // The deciding Close frames, and the frame that broke the rule
        // (the fix tells the reader to find it in the evidence).
        let mut frames: Vec<u64> = v.closes.iter().map(|k| k.0).collect();
        frames.push(v.frame);
        assert_cites(what, d, &frames);
    }
    assert_eq!(doc["summary"]["abnormal"], 6);
}

/// ws_raw_peer.py -> nginx :8835, one TCP connection: GET /health with
/// keep-alive (frame 4), nginx's 200 "ok" with "Connection: keep-alive"
/// (frame 6; access log: "GET /health HTTP/1.1" 200), then the upgrade GET
/// /ws (frame 8; access log: 101), 101 (frame 9), "hello" echoed (frames
/// 11, 12), client Close 1000 "bye" (frame 13), server Close 1000 (frame 14).
#[test]
fn upgrade_after_a_keep_alive_request_on_the_same_connection() {
    let sample = "ws-keepalive-upgrade.pcap";
    let doc = report(sample);
    let conns = connections(&doc, sample, 1);
    let c = &conns[0];
    assert_eq!(c["transport"], "ws");
    let ws = &c["websocket"];
    assert_eq!(ws["request"]["path"], "/ws");
    assert_eq!(ws["request_frame"], 8, "the upgrade, not GET /health");
    assert_eq!(ws["response"]["status"], 101);
    assert_eq!(ws["response"]["accept_valid"], true);
    assert_eq!(ws["response_frame"], 9);
    assert_eq!(
        closes(ws),
        owned(&[(13, "client", Some(1000)), (14, "server", Some(1000))])
    );
    assert!(ws["violations"].as_array().unwrap().is_empty());
    for dir in ["client_to_server", "server_to_client"] {
        assert_eq!(ws["frames"][dir]["messages"], 1, "{dir}");
    }
    let d = &c["disconnect"];
    assert_eq!(
        verdict(d),
        (Some("close_frame"), Some(1000), Some("client")),
        "{d}"
    );
    assert_eq!(d["observed"], true);
    assert_cites(sample, d, &[13]);
    assert_eq!(doc["summary"]["abnormal"], 0);
}
