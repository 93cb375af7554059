//! Refused and unanswered SYNs, retries and happy eyeballs, on the real
//! captures of samples/ (ws-retry-refused, wss-retry-expired,
//! ws-happy-eyeballs, ws-syn-dropped). `<capture>.retry.json` holds what
//! tshark saw per TCP stream (how the SYN was answered) and which streams
//! are attempts of one client to one server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may panic: that is how they fail

mod common;

use serde_json::Value;

use common::{evidence, sample_report};

fn facts(capture: &str) -> Value {
    let p = format!(
        "{}/samples/{capture}.retry.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Our connection for a tshark stream, by its endpoints.
fn conn<'a>(r: &'a Value, s: &Value) -> &'a Value {
    r["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client"] == s["client"] && c["server"] == s["server"])
        .unwrap_or_else(|| panic!("no connection {} -> {}", s["client"], s["server"]))
}

const CAPTURES: [&str; 4] = [
    "ws-retry-refused.pcap",
    "wss-retry-expired.pcap",
    "ws-happy-eyeballs.pcap",
    "ws-syn-dropped.pcap",
];

#[test]
fn unanswered_and_refused_syns_are_tcp_refused() {
    let mut seen = 0;
    for capture in CAPTURES {
        let (f, r) = (facts(capture), sample_report(capture));
        for s in f["streams"].as_array().unwrap() {
            let c = conn(&r, s);
            let d = &c["disconnect"];
            match s["syn_answer"].as_str().unwrap() {
                "rst" => {
                    assert_eq!(d["category"], "tcp_refused", "{capture}: {d:#}");
                    assert_eq!(d["initiator"], "server", "{capture}");
                    assert_eq!(d["code"], 1006);
                    let ev = evidence(d);
                    let rst = s["syn_answer_frame"].as_u64().unwrap();
                    assert!(
                        ev.iter().any(|l| l.starts_with(&format!("frame {rst} "))),
                        "{ev:?}"
                    );
                    seen += 1;
                }
                "none" => {
                    assert_eq!(d["category"], "tcp_refused", "{capture}: {d:#}");
                    assert_eq!(d["initiator"], "none", "{capture}");
                    let syns = s["syn_frames"].as_array().unwrap().len();
                    assert!(
                        d["summary"]
                            .as_str()
                            .unwrap()
                            .contains(&format!("{syns} SYNs")),
                        "{d:#}"
                    );
                    seen += 1;
                }
                _ => assert_ne!(d["category"], "tcp_refused", "{capture}: {d:#}"),
            }
        }
    }
    assert_eq!(
        seen, 5,
        "3 refused retries, 1 refused IPv6 attempt, 1 dropped SYN"
    );
}

#[test]
fn retries_name_the_attempt_before_and_after() {
    for capture in ["ws-retry-refused.pcap", "wss-retry-expired.pcap"] {
        let (f, r) = (facts(capture), sample_report(capture));
        let streams = f["streams"].as_array().unwrap();
        for group in f["attempts"].as_array().unwrap() {
            let ids: Vec<&Value> = group["streams"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| conn(&r, &streams[i.as_u64().unwrap() as usize]))
                .collect();
            assert!(ids.len() >= 4, "{capture}");
            for pair in ids.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                let (ida, idb) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
                let ea = evidence(&a["disconnect"]);
                let eb = evidence(&b["disconnect"]);
                assert!(
                    ea.iter()
                        .any(|l| l.starts_with(&format!("connection {idb}:"))
                            && l.contains("a retry")),
                    "{capture} {ida}: {ea:?}"
                );
                assert!(
                    eb.iter()
                        .any(|l| l.starts_with(&format!("connection {ida}:"))
                            && l.contains("previous attempt")),
                    "{capture} {idb}: {eb:?}"
                );
            }
        }
    }
    // Every attempt against the expired certificate failed the same way:
    // Python's asyncio client closes without sending the alert.
    let r = sample_report("wss-retry-expired.pcap");
    for c in r["connections"].as_array().unwrap() {
        let d = &c["disconnect"];
        assert_eq!(d["category"], "tls_handshake", "{d:#}");
        assert_eq!(d["initiator"], "client");
        assert_eq!(d["cause"], "closed_without_alert");
    }
}

#[test]
fn happy_eyeballs_links_the_refused_family_to_the_other() {
    let (f, r) = (
        facts("ws-happy-eyeballs.pcap"),
        sample_report("ws-happy-eyeballs.pcap"),
    );
    let streams = f["streams"].as_array().unwrap();
    let (v6, v4) = (conn(&r, &streams[0]), conn(&r, &streams[1]));
    assert!(v6["client"].as_str().unwrap().starts_with('['));
    assert_eq!(v6["disconnect"]["category"], "tcp_refused");
    assert_eq!(v4["disconnect"]["code"], 1000);
    let e6 = evidence(&v6["disconnect"]);
    let e4 = evidence(&v4["disconnect"]);
    let id4 = v4["id"].as_str().unwrap();
    let id6 = v6["id"].as_str().unwrap();
    assert!(
        e6.iter()
            .any(|l| l.starts_with(&format!("connection {id4}:")) && l.contains("happy eyeballs")),
        "{e6:?}"
    );
    assert!(
        e4.iter()
            .any(|l| l.starts_with(&format!("connection {id6}:")) && l.contains("happy eyeballs")),
        "{e4:?}"
    );
    // Two servers on one port, one behind a DROP rule: not the same
    // server, so no link.
    let r = sample_report("ws-syn-dropped.pcap");
    for c in r["connections"].as_array().unwrap() {
        assert!(
            !evidence(&c["disconnect"])
                .iter()
                .any(|l| l.starts_with("connection ")),
            "{c:#}"
        );
    }
}

/// On every sample: a retry link joins two attempts that ask for the same
/// path (where both show one), and never follows a Close that ended its
/// session on purpose (1000, 1001, no status, or an application's code).
/// ws-violations.pcap is one client opening a new path after each 1002:
/// those are tests, not retries.
#[test]
fn retries_repeat_a_failed_attempt_of_the_same_request() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsforensics"))
        .args(["--format", "json"])
        .arg(format!("{}/samples", env!("CARGO_MANIFEST_DIR")))
        .env_remove("SSLKEYLOGFILE")
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let conns = r["connections"].as_array().unwrap();
    let by_id = |id: &str| conns.iter().find(|c| c["id"] == id).unwrap();
    let path = |c: &Value| {
        c["websocket"]["request"]["path"]
            .as_str()
            .map(|p| p.split('?').next().unwrap().to_string())
    };
    let mut links = 0;
    for c in conns {
        let d = &c["disconnect"];
        if d.is_null() {
            continue;
        }
        for line in evidence(d) {
            if !line.contains("(a retry)") {
                continue;
            }
            let id = line["connection ".len()..].split(':').next().unwrap();
            let next = by_id(id);
            if let (Some(a), Some(b)) = (path(c), path(next)) {
                assert_eq!(a, b, "{line}");
            }
            let code = d["code"].as_u64();
            let on_purpose = matches!(code, Some(1000 | 1001 | 1005 | 3000..=4999));
            assert!(d["category"] != "close_frame" || !on_purpose, "{d:#}");
            links += 1;
        }
    }
    assert!(links >= 6, "only {links} retry links");
}
