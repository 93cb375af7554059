//! TLS analysis against the real captures of samples/ (tls-*.pcap,
//! wss-*.pcap): for each, `<capture>.tls.json` holds what tshark and the
//! programs that made it said (hellos, JA3/JA4, certificates, alerts,
//! who closed), and `samples/tls-pki/certs.json` what `openssl x509` says
//! of every certificate. The verdict each capture must get is in
//! [`EXPECTED`]: it follows what the failing software logged, as far as
//! the wire shows it without keys.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may panic: that is how they fail

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// capture, category, code, initiator, cause.
///
/// Without a key log, the TLS 1.3 captures whose alert is encrypted
/// (tls13-expired-gnutls: bad_certificate; tls13-client-cert-required:
/// certificate_required) get `encrypted_alert`: the wire shows an
/// alert-sized record, not which alert. curl (OpenSSL) in tls13-expired
/// sends its certificate_expired in the clear: it fails before switching
/// its own keys. Node closes without an alert (tls-name-mismatch*,
/// wss-asyncio-reject); in TLS 1.2 the certificate is visible and its
/// name mismatch is the cause, in TLS 1.3 it is not.
type Expected = (
    &'static str,
    &'static str,
    Option<u64>,
    &'static str,
    Option<&'static str>,
);

const EXPECTED: &[Expected] = &[
    (
        "tls-client-cert-required.pcap",
        "tls_handshake",
        Some(1015),
        "server",
        Some("client_certificate_required"),
    ),
    ("tls-curl-nginx-ok.pcap", "encrypted", None, "client", None),
    (
        "tls-name-mismatch-13.pcap",
        "tls_handshake",
        Some(1015),
        "client",
        Some("closed_without_alert"),
    ),
    (
        "tls-name-mismatch.pcap",
        "tls_handshake",
        Some(1015),
        "client",
        Some("name_mismatch"),
    ),
    (
        "tls-nginx-no-client-cert.pcap",
        "encrypted",
        None,
        "server",
        None,
    ),
    (
        "tls-no-shared-cipher.pcap",
        "tls_handshake",
        Some(1015),
        "server",
        Some("no_shared_cipher"),
    ),
    (
        "tls-unknown-ca.pcap",
        "tls_handshake",
        Some(1015),
        "client",
        Some("unknown_ca"),
    ),
    (
        "tls12-expired.pcap",
        "tls_handshake",
        Some(1015),
        "client",
        Some("certificate_expired"),
    ),
    (
        "tls12-only-client.pcap",
        "tls_handshake",
        Some(1015),
        "server",
        Some("protocol_version"),
    ),
    (
        "tls13-client-cert-required.pcap",
        "tls_handshake",
        Some(1015),
        "server",
        Some("encrypted_alert"),
    ),
    (
        "tls13-expired-gnutls.pcap",
        "tls_handshake",
        Some(1015),
        "client",
        Some("encrypted_alert"),
    ),
    ("tls13-hello-retry.pcap", "encrypted", None, "server", None),
    (
        "tls13-expired.pcap",
        "tls_handshake",
        Some(1015),
        "client",
        Some("certificate_expired"),
    ),
    (
        "tls13-only-client.pcap",
        "tls_handshake",
        Some(1015),
        "server",
        Some("protocol_version"),
    ),
    (
        "wss-asyncio-reject.pcap",
        "tls_handshake",
        Some(1015),
        "client",
        Some("closed_without_alert"),
    ),
    ("wss-clean.pcap", "encrypted", None, "server", None),
];

fn facts_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("samples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".tls.json"))
        .collect();
    v.sort();
    v
}

fn load(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn report_with(env: &[(&str, &str)], capture: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_wsforensics"))
        .envs(env.iter().copied())
        .args([
            "--ca-file",
            root().join("samples/tls-pki/root.pem").to_str().unwrap(),
            "--format",
            "json",
            root().join("samples").join(capture).to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{capture}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn report(capture: &str) -> Value {
    report_with(&[], capture)
}

fn hex(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// "O=a, CN=b" and "CN=b,O=a" name the same thing.
fn rdns(dn: &str) -> BTreeSet<String> {
    dn.split(',')
        .map(|p| p.trim().replace(" = ", "="))
        .collect()
}

fn conn<'a>(r: &'a Value, fc: &Value) -> &'a Value {
    r["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client"] == fc["client"] && c["server"] == fc["server"])
        .unwrap_or_else(|| panic!("no connection {} -> {}", fc["client"], fc["server"]))
}

#[test]
fn every_tls_sample_is_expected() {
    let files = facts_files();
    assert!(files.len() >= 12, "TLS samples missing: {files:?}");
    for f in &files {
        let name = load(f)["capture"].as_str().unwrap().to_string();
        assert!(
            EXPECTED.iter().any(|e| e.0 == name),
            "{name}: add its expected verdict to EXPECTED"
        );
    }
}

#[test]
fn verdicts_match_what_the_software_logged() {
    for &(capture, category, code, initiator, cause) in EXPECTED {
        let r = report(capture);
        let conns = r["connections"].as_array().unwrap();
        assert_eq!(conns.len(), 1, "{capture}");
        let c = &conns[0];
        assert_eq!(c["transport"], "tls", "{capture}");
        let d = &c["disconnect"];
        assert_eq!(d["category"], category, "{capture}: {d:#}");
        assert_eq!(d["code"].as_u64(), code, "{capture}: {d:#}");
        assert_eq!(d["initiator"], initiator, "{capture}: {d:#}");
        assert_eq!(d["cause"].as_str(), cause, "{capture}: {d:#}");
        // A plaintext alert makes the cause certain; shapes and silences
        // make it at most likely.
        let plain_alert = c["tls"]["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| !a["encrypted"].as_bool().unwrap() && a["code"] != 0);
        let want = match (cause, plain_alert) {
            (None, _) => None,
            (Some(_), true) => Some("certain"),
            (Some(_), false) => Some("likely"),
        };
        assert_eq!(d["confidence"].as_str(), want, "{capture}: {d:#}");
        assert_eq!(d["observed"], false, "{capture}");
        assert!(!d["fix"].as_str().unwrap().is_empty());
    }
}

#[test]
fn handshake_facts_match_tshark() {
    for f in facts_files() {
        let facts = load(&f);
        let capture = facts["capture"].as_str().unwrap();
        let r = report(capture);
        for fc in facts["connections"].as_array().unwrap() {
            let c = conn(&r, fc);
            let t = &c["tls"];
            let ch = &t["client_hello"];
            let fch = &fc["client_hello"];
            assert_eq!(ch["frame"], fch["frame"], "{capture}");
            assert_eq!(ch["sni"], fch["sni"], "{capture}");
            assert_eq!(ch["alpn"], fch["alpn"], "{capture}");
            assert_eq!(ch["cipher_count"], fch["cipher_count"], "{capture}");
            assert_eq!(ch["ja3"], fch["ja3"], "{capture}");
            assert_eq!(ch["ja3_full"], fch["ja3_full"], "{capture}");
            assert_eq!(ch["ja4"], fch["ja4"], "{capture}");
            let exts: Vec<u64> = ch["extensions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect();
            let want: Vec<u64> = fch["extensions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect();
            assert_eq!(exts, want, "{capture}");
            // Offered versions: supported_versions without GREASE.
            let offered = ch["offered_versions"].as_array().unwrap().len();
            let sv = fch["supported_versions"].as_array().unwrap();
            if !sv.is_empty() {
                let non_grease = sv.iter().filter(|v| hex(v) & 0x0f0f != 0x0a0a).count();
                assert_eq!(offered, non_grease, "{capture}");
            }
            match fc["hello_retry_request"].as_object() {
                Some(hrr) => {
                    assert_eq!(t["hello_retry_request"]["frame"], hrr["frame"], "{capture}")
                }
                None => assert!(t["hello_retry_request"].is_null(), "{capture}"),
            }
            let sh = &t["server_hello"];
            match fc["server_hello"].as_object() {
                Some(fsh) => {
                    assert_eq!(sh["frame"], fsh["frame"], "{capture}");
                    assert_eq!(hex(&sh["cipher_id"]), hex(&fsh["cipher"]), "{capture}");
                    assert_eq!(sh["cipher"], fsh["cipher_name"], "{capture}");
                    let v = hex(&fsh["version"]);
                    let name = match v {
                        0x0304 => "TLS 1.3",
                        0x0303 => "TLS 1.2",
                        _ => "other",
                    };
                    assert_eq!(sh["version"], name, "{capture}");
                }
                None => assert!(sh.is_null(), "{capture}"),
            }
            // Certificates in the clear, by DER fingerprint, in order.
            let ours: Vec<&str> = t["certificates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["sha256"].as_str().unwrap())
                .collect();
            let theirs: Vec<&str> = fc["certificates_sha256"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            assert_eq!(ours, theirs, "{capture}");
            assert_eq!(
                t["certificates_frame"], fc["certificates_frame"],
                "{capture}"
            );
            assert_eq!(
                t["client_certificate_requested_frame"], fc["certificate_request_frame"],
                "{capture}"
            );
            // Alerts: frame, sender, encrypted or not, and the code when
            // it was in the clear.
            let ours: Vec<(u64, String, bool, Option<u64>)> = t["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    (
                        a["frame"].as_u64().unwrap(),
                        a["sender"].as_str().unwrap().to_string(),
                        a["encrypted"].as_bool().unwrap(),
                        a["code"].as_u64(),
                    )
                })
                .collect();
            let theirs: Vec<(u64, String, bool, Option<u64>)> = fc["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    let enc = a["encrypted"].as_bool().unwrap();
                    (
                        a["frame"].as_u64().unwrap(),
                        a["sender"].as_str().unwrap().to_string(),
                        enc,
                        if enc { None } else { a["code"].as_u64() },
                    )
                })
                .collect();
            assert_eq!(ours, theirs, "{capture}");
        }
    }
}

#[test]
fn certificate_facts_match_openssl() {
    let pki = load(&root().join("samples/tls-pki/certs.json"));
    let by_sha: Vec<&Value> = pki["certificates"].as_array().unwrap().iter().collect();
    let mut checked = 0;
    for f in facts_files() {
        let capture = load(&f)["capture"].as_str().unwrap().to_string();
        let r = report(&capture);
        for c in r["connections"].as_array().unwrap() {
            for cert in c["tls"]["certificates"].as_array().unwrap() {
                let Some(want) = by_sha.iter().find(|w| w["sha256"] == cert["sha256"]) else {
                    panic!(
                        "{capture}: certificate {} not in certs.json",
                        cert["sha256"]
                    );
                };
                assert_eq!(
                    rdns(cert["subject"].as_str().unwrap()),
                    rdns(want["subject"].as_str().unwrap()),
                    "{capture}"
                );
                assert_eq!(
                    rdns(cert["issuer"].as_str().unwrap()),
                    rdns(want["issuer"].as_str().unwrap()),
                    "{capture}"
                );
                let serial = cert["serial"].as_str().unwrap().replace(':', "");
                assert_eq!(
                    serial.trim_start_matches("00"),
                    want["serial"]
                        .as_str()
                        .unwrap()
                        .to_lowercase()
                        .trim_start_matches("00"),
                    "{capture}"
                );
                assert_eq!(cert["not_before"], want["not_before"], "{capture}");
                assert_eq!(cert["not_after"], want["not_after"], "{capture}");
                assert_eq!(cert["sans"], want["subject_alt_names"], "{capture}");
                let kt = cert["key_type"].as_str().unwrap();
                let key = if kt.starts_with("EC ") {
                    kt.to_string()
                } else {
                    format!("{kt} {}", cert["key_bits"])
                };
                assert_eq!(key, want["public_key"].as_str().unwrap(), "{capture}");
                assert_eq!(
                    cert["signature_algorithm"], want["signature_algorithm"],
                    "{capture}"
                );
                assert_eq!(cert["is_ca"], want["is_ca"], "{capture}");
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 6,
        "only {checked} certificates seen in the clear"
    );
}

/// An expired leaf does not hide a second problem: without the test root
/// (no --ca-file), the same chain is also reported as untrusted, while the
/// verdict still follows the alert on the wire.
#[test]
fn expired_leaf_does_not_hide_an_untrusted_chain() {
    let out = Command::new(env!("CARGO_BIN_EXE_wsforensics"))
        .args([
            "--format",
            "json",
            root().join("samples/tls12-expired.pcap").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &r["connections"][0];
    let chain = &c["tls"]["chain"];
    assert_eq!(chain["trusted"], false, "{chain:#}");
    let problems: Vec<&str> = chain["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].contains("expired on 2025-01-01T00:00:00Z"),
        "{problems:?}"
    );
    assert!(
        problems[1].contains("wsforensics Test Root CA")
            && problems[1].contains("not among the trusted roots"),
        "{problems:?}"
    );
    assert_eq!(c["disconnect"]["cause"], "certificate_expired");
    // With the test root the chain itself is fine; only the date is not.
    let r = report("tls12-expired.pcap");
    let chain = &r["connections"][0]["tls"]["chain"];
    assert_eq!(chain["problems"].as_array().unwrap().len(), 1, "{chain:#}");
}

/// The verdict depends on the capture's time, never the machine's clock:
/// the expired-certificate sample analysed with the clock moved to 1990
/// and to 2100 (libfaketime, installed by .ci/run) reads the same.
#[test]
fn verdict_ignores_the_system_clock() {
    let lib = [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .expect("libfaketime is needed (apt-get install faketime; .ci/run does it)");
    let baseline = report("tls12-expired.pcap");
    for when in ["@1990-01-01 00:00:00", "@2100-06-01 12:00:00"] {
        let env = [
            ("LD_PRELOAD", lib),
            ("FAKETIME", when),
            ("FAKETIME_DONT_RESET", "1"),
        ];
        // The fake clock really is in effect for a child process.
        let year = Command::new("date").envs(env).arg("+%Y").output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&year.stdout).trim(),
            &when[1..5],
            "libfaketime did not move the clock"
        );
        let r = report_with(&env, "tls12-expired.pcap");
        let (a, b) = (&baseline["connections"][0], &r["connections"][0]);
        assert_eq!(a["disconnect"], b["disconnect"], "clock {when}");
        assert_eq!(
            a["tls"]["certificates"], b["tls"]["certificates"],
            "clock {when}"
        );
        assert_eq!(a["tls"]["chain"], b["tls"]["chain"], "clock {when}");
        assert_eq!(b["disconnect"]["cause"], "certificate_expired");
        assert_eq!(b["tls"]["certificates"][0]["expired"], true);
    }
}
