//! TLS decryption with a key log: the same two-stream input as
//! `tls_records`, read through analyzers::tls::TlsSession with a key log
//! that has secrets for the ClientHello's own client random (secrets taken
//! from the input, in both the TLS 1.2 and the TLS 1.3 labels). Records
//! then go through key derivation, AEAD opening (which fails on fuzzed
//! bytes unless the fuzzer finds a tag, so the failure paths are what is
//! covered), the fallback to reading by shape, and the stop on gaps.
//! Oracle: no panic; whatever was decrypted has a problem or a key log
//! line named; facts stay within their caps.
#![no_main]

#[path = "../common.rs"]
mod common;

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use wsforensics::analyzers::tls::keylog::KeyLog;
use wsforensics::analyzers::tls::{hello, hex, TlsSession};
use wsforensics::vocab::At;

fuzz_target!(|data: &[u8]| {
    let Some(s) = common::split(data) else { return };
    // The client random of the first record's ClientHello, if it parses.
    let Some(ch) = s
        .client
        .get(5..)
        .and_then(|b| hello::client_hello(b, At::default()))
    else {
        return;
    };
    let random = hex(&ch.random);
    // Secrets from the tail of the server stream (any bytes will do).
    let tail = s
        .server
        .get(s.server.len().saturating_sub(48)..)
        .unwrap_or_default();
    let mut secret = tail.to_vec();
    secret.resize(48, 0x5a);
    let s48 = hex(&secret);
    let s32 = hex(&secret[..32]);
    let mut text = format!("CLIENT_RANDOM {random} {s48}\n");
    for label in [
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
    ] {
        let sec = if s.mode & 1 == 0 { &s32 } else { &s48 };
        text.push_str(&format!("{label} {random} {sec}\n"));
    }
    let mut keys = KeyLog::new();
    keys.parse("fuzz.keys", &text);
    let mut t = TlsSession::with_keylog(Some(Arc::new(keys)));
    let mut plain = 0u64;
    let mut sink = |_d: wsforensics::vocab::Dir, b: &[u8], _at: At| plain += b.len() as u64;
    common::feed_tls(&mut t, &common::pieces(&s), &mut sink);
    let f = t.finish();
    assert!(f.alerts.len() <= 8);
    assert!(f.certificates.len() <= 10);
    if let Some(x) = &f.decryption {
        assert_eq!(x.plaintext.iter().sum::<u64>(), plain);
        assert!(x.keylog.is_some() || x.problem.is_some());
    } else {
        assert_eq!(plain, 0);
    }
});
