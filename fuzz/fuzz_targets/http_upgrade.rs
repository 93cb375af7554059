//! The HTTP/1.1 side of a WebSocket upgrade: analyzers::http
//! parse_request / parse_response / accept_for / split_host_port on the
//! raw streams, then the same streams through analyzers::session::Session
//! (keep-alive heads, bodies skipped by length, 1xx responses, the
//! upgrade, and whatever frames follow), and the diagnose layer on the
//! facts.
//!
//! Input: the two-stream layout of `common.rs`; mode bits 0-1 say how the
//! connection ended.
#![no_main]

#[path = "../common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use wsforensics::analyzers::http::{self, Head};
use wsforensics::analyzers::session::Session;
use wsforensics::flow::Observer;

fuzz_target!(|data: &[u8]| {
    let Some(s) = common::split(data) else { return };

    // The parsers alone, on the start of each stream.
    let mut key = None;
    match http::parse_request(s.client) {
        Head::Done(req, n) => {
            assert!(n <= s.client.len());
            if let Some(h) = &req.host {
                let (host, _port) = http::split_host_port(h);
                assert!(h.contains(host));
            }
            key = req.key.clone();
        }
        Head::Partial | Head::NotHttp => {}
    }
    match http::parse_response(s.server, key.as_deref()) {
        Head::Done(resp, n) => {
            assert!(n <= s.server.len());
            if let (Some(k), Some(a)) = (&key, &resp.accept) {
                assert_eq!(resp.accept_valid, Some(http::accept_for(k) == *a));
            }
            if let Some(b) = &resp.body {
                assert!(b.chars().count() <= 200);
            }
        }
        Head::Partial | Head::NotHttp => {}
    }

    // The whole connection through the per-connection analyzer.
    let pieces = common::pieces(&s);
    let mut session = Session::default();
    common::feed_observer(&mut session, &pieces);
    let facts = session.finish(common::ended_by(s.mode));
    let _ = (
        facts.is_websocket(),
        facts.upgraded(),
        facts.deflate_params(),
    );
    let rec = common::record(facts, common::ended_by(s.mode), pieces.len() as u64);
    if let Some(d) =
        wsforensics::diagnose::diagnose(&rec, None, &wsforensics::diagnose::CaptureView::default())
    {
        let _ = d.abnormal();
    }
});
