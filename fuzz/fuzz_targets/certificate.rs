//! Certificates: analyzers::tls::cert::describe on DER bytes, and
//! cert::judge of chains made of them (leaf alone, leaf + the samples'
//! real intermediate, leaf twice), against Mozilla's roots plus the
//! samples' test root (TrustStore::with_ca_file), for a name and a time
//! picked by the input.
//!
//! Input: one DER certificate (the seeds are the samples' tls-pki
//! certificates and those sent in the sample captures).
//!
//! Oracle: describe never panics; a judgement describes exactly the
//! certificates that describe() can read, and a chain judged twice (the
//! second time from the cache) gives the same result.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use wsforensics::analyzers::tls::cert::{describe, judge, TrustStore};

fn pem_der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("sample PEM")
}

fn intermediate() -> &'static Vec<u8> {
    static I: OnceLock<Vec<u8>> = OnceLock::new();
    I.get_or_init(|| pem_der(include_str!("../../samples/tls-pki/intermediate.pem")))
}

fn root_file() -> &'static PathBuf {
    static R: OnceLock<PathBuf> = OnceLock::new();
    R.get_or_init(|| {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../samples/tls-pki/root.pem"
        ))
    })
}

const NAMES: [Option<&str>; 6] = [
    Some("localhost"),
    Some("ws.test"),
    Some("127.0.0.1"),
    Some("other.test"),
    None,
    Some("*.example.com"),
];

/// 2020-01-01, 2027-06-01, 2040-01-01.
const TIMES: [i64; 3] = [1_577_836_800, 1_811_808_000, 2_208_988_800];

fuzz_target!(|data: &[u8]| {
    let info = describe(data);
    if let Some(c) = &info {
        assert_eq!(c.sha256.len(), 64);
        let _ = (c.not_before <= c.not_after, c.is_ca, c.self_signed);
    }
    // Choices from the last byte, so that seeds stay plain DER.
    let pick = data.last().copied().unwrap_or(0);
    let sni = NAMES[usize::from(pick) % NAMES.len()];
    let at = TIMES[usize::from(pick / 8) % TIMES.len()];
    let store = if pick & 0x80 != 0 {
        TrustStore::default()
    } else {
        TrustStore::with_ca_file(root_file()).expect("samples root")
    };
    let der = data.to_vec();
    let chains = [
        vec![der.clone()],
        vec![der.clone(), intermediate().clone()],
        vec![der.clone(), der],
    ];
    for chain in &chains {
        let j = judge(chain, sni, at, &store);
        let readable = chain.iter().filter(|d| describe(d).is_some()).count();
        assert_eq!(j.certs.len(), readable);
        let again = judge(chain, sni, at, &store);
        assert_eq!(j, again, "cached judgement differs");
        for p in &j.problems {
            let _ = wsforensics::diagnose::problem_text(p, &j, at);
        }
    }
});
