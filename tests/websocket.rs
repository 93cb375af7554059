//! WebSocket verdicts on the real samples: the Close frames found (frame,
//! sender, code) and the disconnect each connection gets. The Close frames
//! were cross-checked with tshark 4.0.17 (`-d tcp.port==PORT,http -Y
//! websocket.opcode==8`), except in ws-reorder.pcap, where tshark's
//! WebSocket dissector loses track under reordering and samples/make/
//! pcapcheck.py's own decoder confirms a 1000 from each side.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may panic: that is how they fail

use serde_json::Value;

mod common;
use common::{json_report, sample_report as report};

/// A Close frame: frame number, sender, code.
type Close = (u64, &'static str, u16);
/// One connection: its Close frames, then the verdict's initiator and code.
type Conn = (&'static [Close], &'static str, u16);

/// Per sample, its connections in report order.
const EXPECTED: &[(&str, &[Conn])] = &[
    (
        "ws-loopback.pcap",
        &[(
            &[(20, "client", 1000), (21, "server", 1000)],
            "client",
            1000,
        )],
    ),
    (
        "ws-loopback-be.pcap",
        &[(
            &[(20, "client", 1000), (21, "server", 1000)],
            "client",
            1000,
        )],
    ),
    (
        "ws-loopback.pcap.gz",
        &[(
            &[(20, "client", 1000), (21, "server", 1000)],
            "client",
            1000,
        )],
    ),
    (
        "ws-truncated.pcap",
        &[(
            &[(20, "client", 1000), (21, "server", 1000)],
            "client",
            1000,
        )],
    ),
    (
        "ws-ipv6.pcap",
        &[(
            &[(16, "client", 1000), (17, "server", 1000)],
            "client",
            1000,
        )],
    ),
    (
        "ws-nano.pcap",
        &[(
            &[(16, "client", 1001), (17, "server", 1001)],
            "client",
            1001,
        )],
    ),
    (
        "ws-sll.pcap",
        &[(
            &[(16, "client", 1000), (17, "server", 1000)],
            "client",
            1000,
        )],
    ),
    (
        "ws-sll2.pcap",
        &[(
            &[(16, "client", 1000), (17, "server", 1000)],
            "client",
            1000,
        )],
    ),
    (
        "ws-lossy.pcap",
        &[(
            &[(545, "client", 1000), (546, "server", 1000)],
            "client",
            1000,
        )],
    ),
    (
        "ws-reorder.pcap",
        &[(
            &[(151, "client", 1000), (152, "server", 1000)],
            "client",
            1000,
        )],
    ),
    (
        "ws-vlan.pcap",
        &[(
            &[(18, "client", 4001), (19, "server", 4001)],
            "client",
            4001,
        )],
    ),
    (
        "ws-node.pcap",
        &[(
            &[(13, "server", 1001), (14, "client", 1001)],
            "server",
            1001,
        )],
    ),
    (
        "ws-1008.pcap",
        &[(&[(9, "server", 1008), (10, "client", 1008)], "server", 1008)],
    ),
    (
        "ws-1009.pcap",
        &[(&[(9, "server", 1009), (11, "client", 1009)], "server", 1009)],
    ),
    (
        "ws-1011.pcap",
        &[(&[(9, "server", 1011), (10, "client", 1011)], "server", 1011)],
    ),
    (
        "ws-1012.pcap",
        &[(&[(9, "server", 1012), (10, "client", 1012)], "server", 1012)],
    ),
    (
        "ws-4403.pcap",
        &[(
            &[(10, "client", 4403), (11, "server", 4403)],
            "client",
            4403,
        )],
    ),
    (
        "ws-two-interfaces.pcapng",
        &[
            (
                &[(16, "client", 1000), (17, "server", 1000)],
                "client",
                1000,
            ),
            (
                &[(40, "client", 1001), (41, "server", 1001)],
                "client",
                1001,
            ),
        ],
    ),
];

#[test]
fn every_sample_gets_the_close_frames_and_verdict_the_software_logged() {
    for (sample, conns) in EXPECTED {
        let doc = report(sample);
        let got = doc["connections"].as_array().unwrap();
        assert_eq!(got.len(), conns.len(), "{sample}");
        for (c, (closes, initiator, code)) in got.iter().zip(conns.iter()) {
            assert_eq!(c["transport"], "ws", "{sample}");
            let ws = &c["websocket"];
            assert_eq!(ws["response"]["status"], 101, "{sample}");
            assert_eq!(ws["response"]["accept_valid"], true, "{sample}");
            let found = common::closes(ws);
            let want: Vec<(u64, String, Option<u64>)> = closes
                .iter()
                .map(|(f, s, c)| (*f, s.to_string(), Some(u64::from(*c))))
                .collect();
            assert_eq!(found, want, "{sample}: close frames");
            assert!(
                ws["violations"].as_array().unwrap().is_empty(),
                "{sample}: {}",
                ws["violations"]
            );
            let d = &c["disconnect"];
            assert_eq!(d["category"], "close_frame", "{sample}");
            assert_eq!(d["initiator"], *initiator, "{sample}");
            assert_eq!(d["code"], u64::from(*code), "{sample}");
            assert_eq!(d["observed"], true, "{sample}");
            let first = format!("frame {} ", closes[0].0);
            assert!(
                d["evidence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e.as_str().unwrap().starts_with(&first)),
                "{sample}: evidence cites the deciding Close frame: {}",
                d["evidence"]
            );
        }
        let abnormal = conns.iter().filter(|c| !matches!(c.2, 1000 | 1001)).count();
        assert_eq!(doc["summary"]["abnormal"], abnormal as u64, "{sample}");
    }
}

#[test]
fn message_sizes_and_counts_on_the_lossy_link() {
    // 10 text and 10 binary 12000-byte messages each way, then Close.
    let doc = report("ws-lossy.pcap");
    let f = &doc["connections"][0]["websocket"]["frames"];
    for dir in ["client_to_server", "server_to_client"] {
        assert_eq!(f[dir]["messages"], 20, "{dir}");
        assert_eq!(f[dir]["frames"], 21, "{dir}");
        assert_eq!(f[dir]["largest_message"], 12000, "{dir}");
    }
}

fn synthetic_report(request: &[u8], response: &[u8]) -> Value {
    let frames: Vec<_> = common::simple_conversation(request, response)
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            (
                1_700_000_000_000_000_000 + i as i64 * 1_000_000,
                p.clone(),
                p.len() as u32,
            )
        })
        .collect();
    let file = common::temp_capture("wsf-ws", &common::pcap(101, &frames, false, false));
    json_report(file.to_str().unwrap())
}

const UPGRADE: &[u8] = b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

#[test]
fn refused_upgrade_is_an_http_upgrade_verdict_with_a_fix_for_the_status() {
    let doc = synthetic_report(
        UPGRADE,
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 13\r\n\r\norigin denied",
    );
    let c = &doc["connections"][0];
    assert_eq!(c["transport"], "http");
    let d = &c["disconnect"];
    assert_eq!(d["category"], "http_upgrade");
    assert_eq!(d["code"], 1006);
    assert_eq!(d["http_status"], 403);
    assert_eq!(d["initiator"], "server");
    assert_eq!(d["observed"], false);
    assert!(
        d["fix"].as_str().unwrap().contains("Origin"),
        "{}",
        d["fix"]
    );
    assert!(d["evidence"].as_array().unwrap().iter().any(|e| e
        .as_str()
        .unwrap()
        .starts_with("frame 5 ")
        && e.as_str().unwrap().contains("403")));
}

#[test]
fn bad_accept_key_is_refused_by_the_client() {
    let doc = synthetic_report(
        UPGRADE,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSByaWdodCBrZXk=\r\n\r\n",
    );
    let d = &doc["connections"][0]["disconnect"];
    assert_eq!(d["category"], "http_upgrade");
    assert_eq!(d["initiator"], "client");
    assert_eq!(
        doc["connections"][0]["websocket"]["response"]["accept_valid"],
        false
    );
}

#[test]
fn unmasked_client_frame_without_close_is_a_protocol_violation() {
    // The upgrade, then (in the same segment) an unmasked text frame "hi".
    let mut req = UPGRADE.to_vec();
    req.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
    let doc = synthetic_report(
        &req,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    );
    let c = &doc["connections"][0];
    assert_eq!(c["transport"], "ws");
    assert_eq!(
        c["websocket"]["violations"][0]["what"],
        "unmasked frame (clients must mask every frame)"
    );
    let d = &c["disconnect"];
    assert_eq!(d["category"], "protocol_violation");
    assert_eq!(d["code"], 1002);
    assert_eq!(d["initiator"], "client");
    assert_eq!(d["observed"], false);
}

#[test]
fn fin_without_close_after_upgrade_is_a_tcp_abort() {
    let doc = synthetic_report(
        UPGRADE,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    );
    let d = &doc["connections"][0]["disconnect"];
    assert_eq!(d["category"], "tcp_abort");
    assert_eq!(d["code"], 1006);
    // simple_conversation's client sends the first FIN (frame 6).
    assert_eq!(d["initiator"], "client");
    assert!(d["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e.as_str().unwrap().starts_with("frame 6 ")));
}

#[test]
fn the_1009_verdict_names_the_size_that_crossed_the_limit() {
    // websockets' server had max_size 1024; the client sent 4000 bytes.
    let doc = report("ws-1009.pcap");
    let d = &doc["connections"][0]["disconnect"];
    let ev: Vec<&str> = d["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        ev.iter()
            .any(|e| e.starts_with("frame 8 ") && e.contains("4000-byte text message")),
        "{ev:?}"
    );
    assert!(
        d["fix"].as_str().unwrap().contains("above 4000 bytes"),
        "{}",
        d["fix"]
    );
    let frames: Vec<u64> = ev
        .iter()
        .filter_map(|e| e.strip_prefix("frame ")?.split(' ').next()?.parse().ok())
        .collect();
    assert!(
        frames.windows(2).all(|w| w[0] <= w[1]),
        "evidence in frame order: {ev:?}"
    );
}

#[test]
fn killed_server_and_refused_upgrades_from_real_software() {
    // Python websockets server killed with SIGKILL after one echo: the
    // kernel closes its socket (FIN), no Close frame.
    let doc = report("ws-killed-server.pcap");
    let d = &doc["connections"][0]["disconnect"];
    assert_eq!(
        (
            d["category"].as_str(),
            d["code"].as_u64(),
            d["initiator"].as_str()
        ),
        (Some("tcp_abort"), Some(1006), Some("server"))
    );
    assert!(
        d["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().starts_with("frame 11 ")),
        "{}",
        d["evidence"]
    );
    // process_request refusing with 403 and 404.
    for (sample, status) in [("ws-403.pcap", 403), ("ws-404.pcap", 404)] {
        let doc = report(sample);
        let c = &doc["connections"][0];
        assert_eq!(c["transport"], "http");
        let d = &c["disconnect"];
        assert_eq!(d["category"], "http_upgrade", "{sample}");
        assert_eq!(d["http_status"], status, "{sample}");
        assert_eq!(d["initiator"], "server", "{sample}");
        assert!(
            d["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e.as_str().unwrap().starts_with("frame 6 ")),
            "{sample}: {}",
            d["evidence"]
        );
    }
}

#[test]
fn upgrade_after_keep_alive_requests_on_the_same_connection() {
    // A health check with a body, a HEAD request, then the upgrade, all on
    // one connection; the server answers each (200 with a body, 200 to
    // HEAD with a Content-Length but no body, then 101) and closes with
    // 1000.
    let mut request =
        b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nGET /".to_vec();
    request.extend_from_slice(b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n");
    request.extend_from_slice(UPGRADE);
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n".to_vec();
    response.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n");
    response.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
    response.extend_from_slice(&[0x88, 0x02, 0x03, 0xe8]);
    let doc = synthetic_report(&request, &response);
    let c = &doc["connections"][0];
    assert_eq!(c["transport"], "ws", "{c}");
    let ws = &c["websocket"];
    assert_eq!(ws["request"]["path"], "/chat");
    assert_eq!(ws["response"]["status"], 101);
    assert_eq!(ws["response"]["accept_valid"], true);
    assert_eq!(ws["closes"][0]["code"], 1000);
    assert_eq!(ws["closes"][0]["sender"], "server");
    assert_eq!(c["disconnect"]["category"], "close_frame");
    assert!(ws["violations"].as_array().unwrap().is_empty(), "{ws}");
}

#[test]
fn chunked_keep_alive_body_stops_the_search_without_inventing_an_upgrade() {
    let mut request =
        b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            .to_vec();
    request.extend_from_slice(UPGRADE);
    let doc = synthetic_report(&request, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let c = &doc["connections"][0];
    assert_eq!(c["transport"], "http");
    assert!(c["websocket"].is_null());
    assert!(c["disconnect"].is_null());
}
