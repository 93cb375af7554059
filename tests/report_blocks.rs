//! A capture with more connections than one report block
//! (`CONNECTION_BLOCK`): the program hands them to the output a block at a
//! time, and every format must come out exactly as if the whole capture
//! had been written at once, links across block boundaries included.
//! The program also keeps the records on disk until the report is written
//! (`EngineOptions::spill`), the library run here keeps them in memory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may panic: that is how they fail

mod common;

use common::*;
use wsforensics::analyzers::session::SessionFactory;
use wsforensics::analyzers::tls::cert::TrustStore;
use wsforensics::diagnose::judge_capture;
use wsforensics::engine::{analyze_file, EngineOptions};
use wsforensics::limits::Limits;
use wsforensics::report::{Report, CONNECTION_BLOCK};

const UPGRADE: &[u8] = b"GET /feed HTTP/1.1\r\nHost: blocks.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
const ACCEPT: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

/// `n` WebSocket sessions of one client to one server, one after the
/// other, 10 ms apart: odd ones (0-based) are reset by the server right
/// after the upgrade (1006, and the next session is their retry); even
/// ones end with a Close 1000 handshake and FINs.
fn sessions(n: usize) -> Vec<(i64, Vec<u8>, u32)> {
    let s = ([10, 0, 0, 2], 80);
    let mut out = Vec::new();
    for i in 0..n {
        let c = ([10, 0, 0, 1], 20000 + i as u16);
        let (ci, si) = (1000u32, 5000u32);
        let (q, a) = (UPGRADE.len() as u32, ACCEPT.len() as u32);
        let mut pkts = vec![
            ip_tcp(c, s, ci, 0, SYN, b""),
            ip_tcp(s, c, si, ci + 1, SYN | ACK, b""),
            ip_tcp(c, s, ci + 1, si + 1, ACK, b""),
            ip_tcp(c, s, ci + 1, si + 1, ACK, UPGRADE),
            ip_tcp(s, c, si + 1, ci + 1 + q, ACK, ACCEPT),
        ];
        let (cd, sd) = (ci + 1 + q, si + 1 + a);
        if i % 2 == 1 {
            pkts.push(ip_tcp(s, c, sd, cd, RST | ACK, b""));
        } else {
            // Server Close 1000 (unmasked), client echo (masked, key 0).
            let close = [0x88, 0x02, 0x03, 0xe8];
            let echo = [0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8];
            pkts.extend([
                ip_tcp(s, c, sd, cd, ACK, &close),
                ip_tcp(c, s, cd, sd + 4, ACK, &echo),
                ip_tcp(s, c, sd + 4, cd + 8, FIN | ACK, b""),
                ip_tcp(c, s, cd + 8, sd + 5, FIN | ACK, b""),
                ip_tcp(s, c, sd + 5, cd + 9, ACK, b""),
            ]);
        }
        let start = 1_700_000_000_000_000_000 + i as i64 * 10_000_000;
        for (k, p) in pkts.into_iter().enumerate() {
            let len = p.len() as u32;
            out.push((start + k as i64 * 100_000, p, len));
        }
    }
    out
}

fn wsf(args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsforensics"))
        .args(args)
        .env_remove("SSLKEYLOGFILE")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    out.stdout
}

#[test]
fn a_capture_written_in_blocks_equals_one_written_at_once() {
    let n = 2 * CONNECTION_BLOCK + 808;
    let file = temp_capture("wsf-blocks", &pcap(101, &sessions(n), false, true));
    let path = file.to_str().unwrap();

    // All at once, in memory, through the library.
    let r = analyze_file(
        &file,
        &SessionFactory::new(None, Limits::default()),
        EngineOptions::jobs(2),
    )
    .unwrap();
    assert_eq!(r.connections.len(), n);
    let mut whole = Report::new();
    let trust = TrustStore::default();
    judge_capture(&r, &trust, &mut whole.receive(path, &r, &mut |_| {}));
    let mut want = Vec::new();
    whole.write_json(&mut want).unwrap();

    // The program: block by block.
    let got = wsf(&["--format", "json", path]);
    assert!(
        got == want,
        "the JSON report differs when written in blocks"
    );
    let mut want_text = Vec::new();
    whole.write_text(&mut want_text).unwrap();
    let got_text = wsf(&["--format", "text", "--color", "never", path]);
    assert!(
        got_text == want_text,
        "the text report differs when written in blocks"
    );
    let mut want_html = Vec::new();
    whole.write_html(&mut want_html).unwrap();
    assert!(wsf(&["--format", "html", path]) == want_html);
    let mut want_nd = Vec::new();
    whole.write_ndjson(&mut want_nd).unwrap();
    assert!(wsf(&["--format", "ndjson", path]) == want_nd);

    // And what it says is right: every connection once, in order, and the
    // retry link that crosses the first block boundary is there.
    let v: serde_json::Value = serde_json::from_slice(&got).unwrap();
    let conns = v["connections"].as_array().unwrap();
    assert_eq!(conns.len(), n);
    for (i, c) in conns.iter().enumerate() {
        assert_eq!(c["id"], (i + 1).to_string());
        let code = c["disconnect"]["code"].as_u64();
        assert_eq!(code, Some(if i % 2 == 1 { 1006 } else { 1000 }), "{i}");
    }
    let last_of_first = &conns[CONNECTION_BLOCK - 1];
    assert_eq!(last_of_first["disconnect"]["code"], 1006);
    let next = (CONNECTION_BLOCK + 1).to_string();
    assert!(
        evidence(&last_of_first["disconnect"])
            .iter()
            .any(|l| l.contains(&format!("connection {next}:")) && l.contains("retry")),
        "{:#}",
        last_of_first["disconnect"]
    );
    assert!(evidence(&conns[CONNECTION_BLOCK]["disconnect"])
        .iter()
        .any(|l| l.contains(&format!("connection {CONNECTION_BLOCK}:"))));
    let text = String::from_utf8(got_text).unwrap();
    let rows = text
        .lines()
        .filter(|l| {
            let mut w = l.split_whitespace();
            w.next().is_some_and(|id| id.parse::<usize>().is_ok())
                && w.next().is_some_and(|c| c.starts_with("10.0.0.1:"))
                && w.next() == Some("->")
        })
        .count();
    assert_eq!(rows, n, "one table row per connection");
}
