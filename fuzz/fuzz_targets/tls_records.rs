//! TLS by content: analyzers::tls::TlsSession (record layer of both
//! directions across segments, handshake messages across records,
//! ClientHello / ServerHello / Certificate / alerts, the encrypted part
//! told apart by shape), the JA3 / JA4 fingerprints, hello::client_hello
//! and hello::server_hello on the first record, the chain judgement of
//! the diagnose layer when certificates were sent in the clear, and the
//! report's `tls` object; or, in session mode, the same streams through
//! analyzers::session::Session (which detects TLS by content) and the
//! diagnose layer.
//!
//! Input: the two-stream layout of `common.rs`. Mode bits: 0 session
//! mode; 1-2 how the connection ended.
#![no_main]

#[path = "../common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use wsforensics::analyzers::session::Session;
use wsforensics::analyzers::tls::cert::TrustStore;
use wsforensics::analyzers::tls::{self, hello, TlsSession};
use wsforensics::flow::Observer;
use wsforensics::vocab::At;

fn check_facts(f: &tls::TlsFacts) {
    assert!(f.alerts.len() <= 8);
    assert!(f.certificates.len() <= 10);
    let _ = (f.version(), f.tls13(), f.first_fatal());
    if let Some(ch) = &f.client_hello {
        let _ = (ch.ja3(), ch.ja3_full(), ch.ja4(), ch.max_version());
        let v = ch.offered_versions();
        assert!(!v.is_empty());
    }
    if let Some(sh) = &f.server_hello {
        let _ = sh.version();
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(s) = common::split(data) else { return };
    let at = At::default();
    // The hello parsers alone, on the body of the first record.
    if let Some(body) = s.client.get(5..) {
        if let Some(ch) = hello::client_hello(body, at) {
            let _ = (ch.ja3(), ch.ja4(), ch.offered_versions());
        }
    }
    if let Some(body) = s.server.get(5..) {
        let _ = hello::server_hello(body, at);
    }
    let _ = tls::looks_like_tls(s.client);

    let pieces = common::pieces(&s);
    let end = common::ended_by(s.mode >> 1);
    if s.mode & 1 == 0 {
        let mut t = TlsSession::default();
        // Decrypted application data (none without a key log).
        let mut plain = 0usize;
        let mut sink = |_dir: wsforensics::vocab::Dir, b: &[u8], _at: At| plain += b.len();
        common::feed_tls(&mut t, &pieces, &mut sink);
        assert!(!t.decrypting());
        let f = t.finish();
        assert_eq!(plain, 0, "decrypted without a key log");
        check_facts(&f);
        let trust = TrustStore::default();
        let judged = wsforensics::diagnose::tls_judgement(&f, &trust);
        if let Some((j, when)) = &judged {
            for p in &j.problems {
                let _ = wsforensics::diagnose::problem_text(p, j, *when);
            }
        }
        let _ = wsforensics::report::tls::report(&f, judged.as_ref(), s.mode & 2 != 0);
    } else {
        let mut session = Session::default();
        common::feed_observer(&mut session, &pieces);
        let facts = session.finish(end);
        if let Some(t) = &facts.tls {
            check_facts(t);
        }
        let trust = TrustStore::default();
        let judged = facts
            .tls
            .as_ref()
            .and_then(|t| wsforensics::diagnose::tls_judgement(t, &trust));
        let rec = common::record(facts, end, pieces.len() as u64);
        let _ = wsforensics::diagnose::diagnose(
            &rec,
            judged.as_ref(),
            &wsforensics::diagnose::CaptureView::default(),
        );
    }
});
