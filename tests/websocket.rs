//! WebSocket verdicts on the real samples: the Close frames found (frame,
//! sender, code) and the disconnect each connection gets. The Close frames
//! were cross-checked with tshark 4.0.17 (`-d tcp.port==PORT,http -Y
//! websocket.opcode==8`), except in ws-reorder.pcap, where tshark's
//! WebSocket dissector loses track under reordering and samples/make/
//! pcapcheck.py's own decoder confirms a 1000 from each side.

use std::process::Command;

use serde_json::Value;

fn report(sample: &str) -> Value {
    let path = format!("{}/samples/{sample}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_wsforensics"))
        .args(["--format", "json", &path])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{sample}");
    serde_json::from_slice(&out.stdout).unwrap()
}

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
            let found: Vec<(u64, String, u64)> = ws["closes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| {
                    (
                        k["frame"].as_u64().unwrap(),
                        k["sender"].as_str().unwrap().to_string(),
                        k["code"].as_u64().unwrap(),
                    )
                })
                .collect();
            let want: Vec<(u64, String, u64)> = closes
                .iter()
                .map(|(f, s, c)| (*f, s.to_string(), u64::from(*c)))
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
