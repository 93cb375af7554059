//! Decryption with a key log, against the real captures
//! `samples/decrypt-*.pcap`: each comes with the client's key log
//! (`.keys`) and `<capture>.decrypt.json`, what tshark read with that key
//! log and what the client and server libraries logged. With the key log,
//! every session must get the verdict the software logged, with the Close
//! frames tshark saw; without it, the same sessions are `encrypted`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may panic: that is how they fail

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// capture, category, code, initiator, as the libraries logged it (see
/// each `.decrypt.json`'s `logged`): the side that sent the first Close
/// frame, or for the killed server the side whose process went away.
const EXPECTED: &[(&str, &str, Option<u64>, &str)] = &[
    (
        "decrypt-12-aes128-mixed.pcap",
        "close_frame",
        Some(4001),
        "client",
    ),
    (
        "decrypt-12-aes256-py.pcap",
        "close_frame",
        Some(1000),
        "server",
    ),
    (
        "decrypt-12-chacha-node.pcap",
        "close_frame",
        Some(1000),
        "client",
    ),
    (
        "decrypt-12-rsa-kx.pcap",
        "close_frame",
        Some(1000),
        "client",
    ),
    (
        "decrypt-13-aes128-py.pcap",
        "close_frame",
        Some(1000),
        "client",
    ),
    (
        "decrypt-13-aes256-node.pcap",
        "close_frame",
        Some(1001),
        "server",
    ),
    (
        "decrypt-13-chacha-mixed.pcap",
        "close_frame",
        Some(1011),
        "server",
    ),
    (
        "decrypt-13-expired.pcap",
        "tls_handshake",
        Some(1015),
        "client",
    ),
    (
        "decrypt-13-keyupdate.pcap",
        "close_frame",
        Some(1000),
        "client",
    ),
    ("decrypt-13-killed.pcap", "tcp_abort", Some(1006), "server"),
];

fn run(args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wsforensics"))
        .args(args)
        .env_remove("SSLKEYLOGFILE")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn report(capture: &Path, keys: Option<&Path>) -> Value {
    let mut args = vec!["--format", "json"];
    if let Some(k) = keys {
        args.extend(["--keylog", k.to_str().unwrap()]);
    }
    args.push(capture.to_str().unwrap());
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{capture:?}: {err}");
    serde_json::from_slice(&out).unwrap()
}

fn samples() -> Vec<(PathBuf, PathBuf, Value)> {
    let dir = root().join("samples");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with("decrypt-") && n.ends_with(".pcap")
        })
        .map(|p| {
            let facts = p.with_file_name(format!(
                "{}.decrypt.json",
                p.file_name().unwrap().to_string_lossy()
            ));
            let facts: Value = serde_json::from_slice(&std::fs::read(&facts).unwrap()).unwrap();
            (p.clone(), p.with_extension("keys"), facts)
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(v.len(), EXPECTED.len(), "a sample without an EXPECTED row");
    v
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn with_the_key_log_every_session_gets_the_logged_verdict() {
    for ((capture, keys, facts), expected) in samples().iter().zip(EXPECTED) {
        let n = name(capture);
        assert_eq!(n, expected.0);
        let doc = report(capture, Some(keys));
        let conns = doc["connections"].as_array().unwrap();
        let want = facts["connections"].as_array().unwrap();
        assert_eq!(conns.len(), want.len(), "{n}");
        for (c, f) in conns.iter().zip(want) {
            assert_eq!(c["client"], f["client"], "{n}");
            let d = &c["disconnect"];
            assert_eq!(
                (
                    d["category"].as_str().unwrap(),
                    d["code"].as_u64(),
                    d["initiator"].as_str().unwrap()
                ),
                (expected.1, expected.2, expected.3),
                "{n}: {d:#}"
            );
            let tls = &c["tls"];
            assert_eq!(tls["version"], f["tls"]["version"], "{n}");
            assert_eq!(
                tls["server_hello"]["cipher_id"].as_str().unwrap(),
                f["tls"]["cipher_suite"]["number"].as_str().unwrap(),
                "{n}"
            );
            assert_eq!(
                tls["client_hello"]["client_random"], f["tls"]["client_random"],
                "{n}"
            );
            assert_eq!(tls["decrypted"], true, "{n}");
            assert_eq!(
                tls["decryption_problem"],
                Value::Null,
                "{n}: every record opened"
            );
            // The key log line named is one of this session's lines.
            let line = tls["keylog"].as_str().unwrap();
            let (file, no) = line.rsplit_once(':').unwrap();
            assert_eq!(Path::new(file), keys.as_path());
            let text = std::fs::read_to_string(keys).unwrap();
            let at = text.lines().nth(no.parse::<usize>().unwrap() - 1).unwrap();
            assert!(
                at.contains(f["tls"]["client_random"].as_str().unwrap()),
                "{n}: {at}"
            );

            // The Close frames tshark read with the same key log.
            let closes: Vec<(String, Option<u64>, String, u64)> = f["close_frames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| {
                    (
                        x["from"].as_str().unwrap().to_string(),
                        x["code"].as_u64(),
                        x["reason"].as_str().unwrap_or_default().to_string(),
                        x["frame"].as_u64().unwrap(),
                    )
                })
                .collect();
            if f["upgrade"].is_object() {
                assert_eq!(c["transport"], "wss", "{n}");
                let ws = &c["websocket"];
                assert_eq!(ws["request_frame"], f["upgrade"]["request_frame"], "{n}");
                assert_eq!(ws["response_frame"], f["upgrade"]["response_frame"], "{n}");
                let got: Vec<(String, Option<u64>, String, u64)> = ws["closes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| {
                        (
                            x["sender"].as_str().unwrap().to_string(),
                            x["code"].as_u64(),
                            x["reason"].as_str().unwrap().to_string(),
                            x["frame"].as_u64().unwrap(),
                        )
                    })
                    .collect();
                assert_eq!(got, closes, "{n}");
                for (dir, key) in [
                    ("client_to_server", "client_to_server"),
                    ("server_to_client", "server_to_client"),
                ] {
                    assert_eq!(
                        ws["frames"][dir]["messages"], f["messages"][key],
                        "{n}: messages {dir}"
                    );
                }
                let ev = d["evidence"].as_array().unwrap();
                assert!(
                    ev.iter().any(|e| e
                        .as_str()
                        .unwrap()
                        .contains(&format!("decrypted with key log line {line}"))),
                    "{n}: {ev:?}"
                );
            }
            if let Some(first) = closes.first() {
                assert_eq!(d["code"].as_u64(), first.1, "{n}: the first Close decides");
            }
        }
    }
}

/// TLS 1.3 hides the server's certificate; the key log shows it, so the
/// expired certificate is found and named even though the client sent no
/// alert (Python's asyncio drops it).
#[test]
fn the_encrypted_certificate_of_tls13_is_read() {
    let capture = root().join("samples/decrypt-13-expired.pcap");
    let with = report(&capture, Some(&capture.with_extension("keys")));
    let c = &with["connections"][0];
    assert_eq!(c["tls"]["certificates"].as_array().unwrap().len(), 2);
    assert_eq!(c["tls"]["certificates"][0]["expired"], true);
    assert_eq!(c["disconnect"]["cause"], "certificate_expired");
    let without = report(&capture, None);
    let c = &without["connections"][0];
    assert!(c["tls"]["certificates"].as_array().unwrap().is_empty());
    assert_ne!(c["disconnect"]["cause"], "certificate_expired");
}

#[test]
fn without_the_key_log_the_same_sessions_are_encrypted() {
    for ((capture, _, _), expected) in samples().iter().zip(EXPECTED) {
        let doc = report(capture, None);
        for c in doc["connections"].as_array().unwrap() {
            let d = &c["disconnect"];
            assert_eq!(c["tls"]["decrypted"], false);
            assert!(c["websocket"].is_null());
            if expected.1 == "tls_handshake" {
                assert_eq!(d["category"], "tls_handshake");
            } else {
                assert_eq!(d["category"], "encrypted", "{}", expected.0);
                assert_eq!(d["code"], Value::Null);
            }
        }
    }
}

/// A key log of other sessions: the connection is reported as encrypted,
/// named by its client random in the JSON and in the text summary.
#[test]
fn missing_keys_are_named() {
    let capture = root().join("samples/decrypt-13-aes128-py.pcap");
    let other = root().join("samples/decrypt-12-aes256-py.keys");
    let doc = report(&capture, Some(&other));
    let c = &doc["connections"][0];
    let random = c["tls"]["client_hello"]["client_random"].as_str().unwrap();
    assert_eq!(c["disconnect"]["category"], "encrypted");
    assert_eq!(
        c["tls"]["decryption_problem"].as_str().unwrap(),
        format!("no key log line for client random {random}")
    );
    assert_eq!(doc["summary"]["no_keys"], 1);
    assert_eq!(doc["summary"]["no_keys_client_randoms"][0], random);
    let (code, text, _) = run(&[
        "--keylog",
        other.to_str().unwrap(),
        capture.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains(&format!("1 TLS connection(s) could not be read: no keys for these client randoms in the key log(s): {random}")),
        "{text}"
    );
}

/// A key log whose secrets were altered: records fail authentication,
/// which is a finding on the connection, never a crash; the rest is still
/// reported as without keys. SSLKEYLOGFILE is read like --keylog.
#[test]
fn wrong_secrets_are_a_finding_and_sslkeylogfile_is_read() {
    let capture = root().join("samples/decrypt-12-aes256-py.pcap");
    let keys = std::fs::read_to_string(capture.with_extension("keys")).unwrap();
    let bad: String = keys
        .lines()
        .map(|l| {
            if l.starts_with("CLIENT_RANDOM ") {
                // Flip the last hex digit of the master secret.
                let mut s = l.to_string();
                let last = s.pop().unwrap();
                s.push(if last == '0' { '1' } else { '0' });
                s
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let dir = tempfile::tempdir().unwrap();
    let bad_path = dir.path().join("bad.keys");
    std::fs::write(&bad_path, bad).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wsforensics"))
        .args(["--format", "json", capture.to_str().unwrap()])
        .env("SSLKEYLOGFILE", &bad_path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &doc["connections"][0];
    let problem = c["tls"]["decryption_problem"].as_str().unwrap();
    assert!(
        problem.contains("did not decrypt (authentication failed)"),
        "{problem}"
    );
    assert_eq!(c["tls"]["decrypted"], false);
    assert_eq!(c["disconnect"]["category"], "encrypted");
    assert!(c["disconnect"]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e.as_str().unwrap().contains("the key log did not open it")));
    // The good key log through SSLKEYLOGFILE decrypts.
    let out = Command::new(env!("CARGO_BIN_EXE_wsforensics"))
        .args(["--format", "json", capture.to_str().unwrap()])
        .env("SSLKEYLOGFILE", capture.with_extension("keys"))
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["connections"][0]["disconnect"]["code"], 1000);
}

/// A key log that cannot be read is a usage error naming it.
#[test]
fn unreadable_key_log_is_named() {
    let capture = root().join("samples/decrypt-12-aes256-py.pcap");
    let (code, _, err) = run(&[
        "--keylog",
        "/nonexistent/keys.log",
        capture.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent/keys.log"), "{err}");
}

/// wss-clean.keys was written by the server (Python's ssl): a server's key
/// log opens the session as well as a client's.
#[test]
fn a_servers_key_log_works_too() {
    let capture = root().join("samples/wss-clean.pcap");
    let doc = report(&capture, Some(&capture.with_extension("keys")));
    let c = &doc["connections"][0];
    assert_eq!(c["transport"], "wss");
    let d = &c["disconnect"];
    assert_eq!(
        (d["code"].as_u64(), d["initiator"].as_str()),
        (Some(1000), Some("client"))
    );
    assert_eq!(c["websocket"]["closes"][0]["frame"], 16);
    assert_eq!(c["websocket"]["closes"][0]["reason"], "bye");
}

/// Hostile bytes inside sessions that are being decrypted: mutated
/// copies of every sample, read with their key logs, never crash the
/// program (exit 0, or 1 when the capture framing itself broke).
#[test]
fn mutated_captures_with_keys_never_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (capture, keys, _) in samples() {
        let bytes = std::fs::read(&capture).unwrap();
        for round in 0..8 {
            let mut m = bytes.clone();
            for _ in 0..1 + round * 3 {
                // Past the file header, so most damage lands in packets.
                let at = 24 + (next() as usize) % (m.len() - 24);
                m[at] ^= (next() as u8) | 1;
            }
            let path = dir.path().join(format!("{}-{round}.pcap", name(&capture)));
            std::fs::write(&path, &m).unwrap();
            let (code, out, err) = run(&[
                "--format",
                "json",
                "--keylog",
                keys.to_str().unwrap(),
                path.to_str().unwrap(),
            ]);
            assert!(code == 0 || code == 1, "{path:?}: exit {code}: {err}");
            assert!(!err.contains("panicked"), "{path:?}: {err}");
            let _: Value = serde_json::from_slice(&out).unwrap();
        }
    }
}

/// A gap in a decrypted stream: frame 16 (1448 bytes of the client's
/// 20 KB message) is cut out of decrypt-12-chacha-node. The client's
/// direction cannot be decrypted past the hole, which is a finding on the
/// connection; the server's direction still is, so its Close (frame 35,
/// 34 once the frame is gone) is read.
#[test]
fn a_gap_stops_one_direction_and_is_named() {
    let capture = root().join("samples/decrypt-12-chacha-node.pcap");
    let bytes = std::fs::read(&capture).unwrap();
    let mut out = bytes[..24].to_vec();
    let mut at = 24;
    let mut frame = 0;
    while at + 16 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        frame += 1;
        if frame != 16 {
            out.extend_from_slice(&bytes[at..at + 16 + len]);
        }
        at += 16 + len;
    }
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, out).unwrap();
    let doc = report(&cut, Some(&capture.with_extension("keys")));
    let c = &doc["connections"][0];
    let problem = c["tls"]["decryption_problem"].as_str().unwrap();
    assert!(
        problem.contains("a gap in the capture in the client's TLS stream"),
        "{problem}"
    );
    assert_eq!(c["tls"]["decrypted"], true);
    let closes = c["websocket"]["closes"].as_array().unwrap();
    assert_eq!(closes.len(), 1, "{closes:?}");
    assert_eq!(closes[0]["sender"], "server");
    assert_eq!(closes[0]["code"], 1000);
    assert_eq!(closes[0]["frame"], 34);
    assert!(c["gaps"]["client_to_server"].as_u64().unwrap() >= 1448);
}

/// `tls12-late-close.pcap`: the client completes a TLS 1.2 handshake,
/// stays silent 1.5 s and closes TCP; the server answers with an alert.
/// The client ended it, whatever the server's alert says; read with the
/// server's key log and a trusted chain, the session is known to have
/// carried no upgrade (not `encrypted`); with the chain untrusted, a
/// rejection of the certificate is named, with less confidence than
/// within a second.
#[test]
fn a_silent_tls_session_closed_late_by_the_client() {
    let pcap = root().join("samples/tls12-late-close.pcap");
    let keys = root().join("samples/tls12-late-close.keys");
    let ca = root().join("samples/tls12-late-close.root.pem");
    let verdict = |extra: &[&str]| {
        let mut args = vec!["--format", "json"];
        args.extend_from_slice(extra);
        args.push(pcap.to_str().unwrap());
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        let doc: Value = serde_json::from_slice(&out).unwrap();
        let c = &doc["connections"][0];
        assert_eq!(c["transport"], "tls", "{c}");
        c["disconnect"].clone()
    };
    let (keys, ca) = (keys.to_str().unwrap(), ca.to_str().unwrap());
    for extra in [vec![], vec!["--keylog", keys]] {
        let d = verdict(&extra);
        assert_eq!(d["category"], "tls_handshake", "{d}");
        assert_eq!(d["initiator"], "client", "{d}");
        assert_eq!(
            d["confidence"], "unclear",
            "1.5 s leaves room for idling: {d}"
        );
        assert!(d["summary"].as_str().unwrap().contains("1.500 s"), "{d}");
    }
    let d = verdict(&["--ca-file", ca]);
    assert_eq!(d["category"], "encrypted", "{d}");
    assert_eq!(
        d["initiator"], "client",
        "the FIN came before the alert: {d}"
    );
    let d = verdict(&["--ca-file", ca, "--keylog", keys]);
    assert_eq!(d["category"], "tcp_abort", "{d}");
    assert_eq!(d["code"], 1006, "{d}");
    assert_eq!(d["initiator"], "client", "{d}");
    assert!(
        d["summary"]
            .as_str()
            .unwrap()
            .contains("no WebSocket upgrade"),
        "{d}"
    );
    assert!(!d["fix"].as_str().unwrap().contains("--keylog"), "{d}");
}
