//! Hostile input, end to end: each case runs the binary on a capture built
//! to hurt it and checks that it did not panic, finished in bounded time,
//! stayed under 256 MB of peak memory, named the file and the offset or
//! frame of what it could not read, exited as DESIGN.md says (0 all read,
//! 1 some input could not be read), and still reported the legitimate
//! WebSocket session that shares the file (or the command line) with the
//! hostile part, with its verdict.
//!
//! The legitimate session is `samples/ws-loopback.pcap`: 127.0.0.1:52038 to
//! 127.0.0.1:8765, closed by the client with 1000. Its packets are copied
//! into each hostile capture, before, between and after the hostile ones.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may panic: that is how they fail

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// A run that takes longer than this is killed and fails its test.
const TIME_LIMIT: Duration = Duration::from_secs(20);
/// Peak resident memory allowed, in KiB.
const MEMORY_LIMIT_KB: u64 = 256 * 1024;

/// Connections kept whole per server address when a report is read; the
/// rest are only counted (a flood's report is hundreds of megabytes).
const KEPT_PER_SERVER: u64 = 50;

/// What one run of the binary did.
struct Outcome {
    code: i32,
    /// The report, with at most [`KEPT_PER_SERVER`] connections per server.
    doc: Value,
    /// Connections in the report, per server address.
    per_server: BTreeMap<String, u64>,
    stderr: String,
}

/// The parts of the JSON report the tests read.
#[derive(serde::Deserialize)]
struct Doc {
    captures: Value,
    summary: Value,
    connections: Conns,
}

/// The report's connections, read one at a time.
#[derive(Default)]
struct Conns {
    kept: Vec<Value>,
    per_server: BTreeMap<String, u64>,
}

impl<'de> serde::Deserialize<'de> for Conns {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Conns, D::Error> {
        struct Each;
        impl<'de> serde::de::Visitor<'de> for Each {
            type Value = Conns;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of connections")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Conns, A::Error> {
                let mut out = Conns::default();
                while let Some(c) = seq.next_element::<Value>()? {
                    let server = c["server"].as_str().unwrap_or_default().to_string();
                    let n = out.per_server.entry(server).or_insert(0);
                    *n += 1;
                    if *n <= KEPT_PER_SERVER {
                        out.kept.push(c);
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Each)
    }
}

/// Peak resident set size of a live process (VmHWM), in KiB.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Run `wsforensics --format json ARGS`, reading its peak memory (VmHWM)
/// every 5 ms (every 1 ms for the first 200 ms, so that short runs are
/// seen too) and killing it past [`TIME_LIMIT`]. Fails on a panic
/// message, a peak over [`MEMORY_LIMIT_KB`], an exit status other than 0
/// or 1, or stdout that is not one JSON document.
fn hostile(case: &str, args: &[&str]) -> Outcome {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsforensics"))
        .args(["--format", "json"])
        .args(args)
        .env_remove("SSLKEYLOGFILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let pid = child.id();
    // Read both pipes on their own threads so that a large report never
    // blocks the child; the report is parsed as it comes.
    let out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut r = std::io::BufReader::with_capacity(1 << 20, out);
        let doc = serde_json::from_reader::<_, Doc>(&mut r);
        // Whatever is left (after a parse error) is drained.
        let _ = std::io::copy(&mut r, &mut std::io::sink());
        doc
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        err.read_to_end(&mut v).map(|_| v)
    });
    let mut peak_kb = 0;
    let status = loop {
        // VmHWM only grows; once the process has exited it is gone, so the
        // last value read is the peak.
        if let Some(kb) = vm_hwm(pid) {
            peak_kb = kb;
        }
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{case}: still running after {TIME_LIMIT:?} (peak {peak_kb} KiB so far): killed"
            );
        }
        let pause = if started.elapsed() < Duration::from_millis(200) {
            1
        } else {
            5
        };
        std::thread::sleep(Duration::from_millis(pause));
    };
    let took = started.elapsed();
    let doc = out.join().unwrap();
    let stderr =
        String::from_utf8_lossy(&err.join().unwrap().expect("stderr readable")).into_owned();
    let code = status.code().unwrap_or(-1);
    eprintln!(
        "[hostile] {case}: exit {code}, {:.2} s, peak RSS {peak_kb} KiB ({:.1} MiB)",
        took.as_secs_f64(),
        peak_kb as f64 / 1024.0,
    );
    assert!(
        !stderr.contains("panicked"),
        "{case}: the binary panicked:\n{stderr}"
    );
    assert!(
        code == 0 || code == 1,
        "{case}: exit status {code} ({status}); stderr:\n{stderr}"
    );
    assert!(
        peak_kb < MEMORY_LIMIT_KB,
        "{case}: peak memory {peak_kb} KiB is over the {MEMORY_LIMIT_KB} KiB limit"
    );
    let doc = doc.unwrap_or_else(|e| {
        panic!("{case}: stdout is not one JSON report ({e}); stderr:\n{stderr}")
    });
    Outcome {
        code,
        doc: serde_json::json!({
            "captures": doc.captures,
            "summary": doc.summary,
            "connections": doc.connections.kept,
        }),
        per_server: doc.connections.per_server,
        stderr,
    }
}

// ---------------------------------------------------------------------------
// The legitimate session.

/// A pcap record: (time in ns, captured bytes, original length).
type Rec = (i64, Vec<u8>, u32);

fn sample(name: &str) -> String {
    format!("{}/samples/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The records of a little-endian, microsecond pcap file.
fn read_pcap(bytes: &[u8]) -> (u32, Vec<Rec>) {
    let u32le = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!(u32le(0), 0xa1b2_c3d4, "a little-endian microsecond pcap");
    let linktype = u32le(20);
    let mut recs = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let ts = i64::from(u32le(at)) * 1_000_000_000 + i64::from(u32le(at + 4)) * 1000;
        let caplen = u32le(at + 8) as usize;
        let orig = u32le(at + 12);
        recs.push((ts, bytes[at + 16..at + 16 + caplen].to_vec(), orig));
        at += 16 + caplen;
    }
    assert_eq!(at, bytes.len(), "whole records");
    (linktype, recs)
}

/// The 24 Ethernet frames of `samples/ws-loopback.pcap`.
fn legit() -> Vec<Rec> {
    let (linktype, recs) = read_pcap(&std::fs::read(sample("ws-loopback.pcap")).unwrap());
    assert_eq!(linktype, 1);
    assert_eq!(recs.len(), 24);
    recs
}

const LEGIT_SERVER: &str = "127.0.0.1:8765";
const LEGIT_CLIENT: &str = "127.0.0.1:52038";

/// The legitimate session is in the report once, from `capture` (a path
/// or `ARCHIVE:MEMBER`) when given, with its verdict: the client closed
/// with 1000.
fn assert_legit(doc: &Value, capture: Option<&str>) {
    let conns = doc["connections"].as_array().expect("connections");
    let found: Vec<&Value> = conns
        .iter()
        .filter(|c| c["server"] == LEGIT_SERVER && c["client"] == LEGIT_CLIENT)
        .filter(|c| capture.is_none_or(|p| c["capture"] == p))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "the legitimate session {LEGIT_CLIENT} -> {LEGIT_SERVER} is reported once; {} connections: {}",
        conns.len(),
        conns
            .iter()
            .take(20)
            .map(|c| format!("{} -> {}", c["client"], c["server"]))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let c = found[0];
    if let Some(p) = capture {
        assert_eq!(c["capture"], p, "{c}");
    }
    assert_eq!(c["transport"], "ws", "{c}");
    let d = &c["disconnect"];
    assert_eq!(d["code"], 1000, "{d}");
    assert_eq!(d["category"], "close_frame", "{d}");
    assert_eq!(d["initiator"], "client", "{d}");
    assert_eq!(d["observed"], true, "{d}");
    assert_eq!(c["bytes"]["client_to_server"], 637, "{c}");
    assert_eq!(c["bytes"]["server_to_client"], 614, "{c}");
    assert_eq!(c["ended_by"], "fin", "{c}");
}

/// The connection with this server address (exactly one).
fn conn<'a>(doc: &'a Value, server: &str) -> &'a Value {
    let found: Vec<&Value> = doc["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["server"] == server)
        .collect();
    assert_eq!(found.len(), 1, "one connection to {server}");
    found[0]
}

/// A connection to this server (the first of those kept).
fn conn_kept<'a>(doc: &'a Value, server: &str) -> &'a Value {
    doc["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["server"] == server)
        .unwrap_or_else(|| panic!("no connection to {server}"))
}

/// The one capture entry of a report.
fn capture(doc: &Value, i: usize) -> &Value {
    &doc["captures"][i]
}

/// The entry of `limits_hit` for `limit` in a capture's report, checked
/// against the contract: the flag, a frame, a count, and a warning that
/// names the flag.
fn limit_hit<'a>(cap: &'a Value, limit: &str) -> Option<&'a Value> {
    let hit = cap["limits_hit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["limit"] == limit)?;
    let flag = hit["flag"].as_str().unwrap();
    assert_eq!(flag, format!("--max-{}", limit.replace('_', "-")), "{hit}");
    assert!(hit["times"].as_u64().unwrap() >= 1, "{hit}");
    assert!(hit["first_frame"].as_u64().unwrap() >= 1, "{hit}");
    assert!(
        warnings(cap).iter().any(|w| w.contains(flag)),
        "no warning names {flag}: {cap}"
    );
    Some(hit)
}

fn warnings(cap: &Value) -> Vec<String> {
    cap["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect()
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name().unwrap().to_str().unwrap().to_string()
}

// ---------------------------------------------------------------------------
// Building captures.

/// An Ethernet frame around an IPv4 or IPv6 packet.
fn eth(ip: &[u8]) -> Vec<u8> {
    let mut v = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    v.extend_from_slice(if ip[0] >> 4 == 6 {
        &[0x86, 0xdd]
    } else {
        &[0x08, 0x00]
    });
    v.extend_from_slice(ip);
    v
}

/// Ethernet records of raw IP packets (times are set by [`mix`]).
fn eth_recs(ips: impl IntoIterator<Item = Vec<u8>>) -> Vec<Rec> {
    ips.into_iter()
        .map(|ip| {
            let e = eth(&ip);
            let n = e.len() as u32;
            (0, e, n)
        })
        .collect()
}

/// The legitimate session's packets spread evenly through `hostile`
/// (its first packet before everything, its last after everything), all
/// restamped 1 µs apart from the session's own start.
fn mix(hostile: Vec<Rec>) -> Vec<Rec> {
    let good = legit();
    let base = good[0].0;
    let n = hostile.len();
    let gaps = good.len() - 1;
    let mut out = Vec::with_capacity(n + good.len());
    let mut h = hostile.into_iter();
    for (i, g) in good.into_iter().enumerate() {
        out.push(g);
        if i < gaps {
            let count = n * (i + 1) / gaps - n * i / gaps;
            out.extend(h.by_ref().take(count));
        }
    }
    assert!(h.next().is_none());
    for (i, r) in out.iter_mut().enumerate() {
        r.0 = base + i as i64 * 1000;
    }
    out
}

/// An Ethernet pcap of the legitimate session mixed with `hostile`.
fn mixed_pcap(hostile: Vec<Rec>) -> Vec<u8> {
    pcap(1, &mix(hostile), false, false)
}

type Ep = ([u8; 4], u16);

/// A TCP conversation built packet by packet: handshake, data each way
/// (cut at 1400 bytes), FIN both ways.
struct Conv {
    c: Ep,
    s: Ep,
    /// Next sequence number of the client and of the server.
    cn: u32,
    sn: u32,
    pkts: Vec<Vec<u8>>,
}

impl Conv {
    fn open(c: Ep, s: Ep) -> Conv {
        let (ci, si) = (0x1000_0000u32, 0x7000_0000u32);
        Conv {
            c,
            s,
            cn: ci + 1,
            sn: si + 1,
            pkts: vec![
                ip_tcp(c, s, ci, 0, SYN, b""),
                ip_tcp(s, c, si, ci + 1, SYN | ACK, b""),
                ip_tcp(c, s, ci + 1, si + 1, ACK, b""),
            ],
        }
    }

    fn client(&mut self, data: &[u8]) -> &mut Self {
        for part in data.chunks(1400) {
            self.pkts
                .push(ip_tcp(self.c, self.s, self.cn, self.sn, ACK, part));
            self.cn = self.cn.wrapping_add(part.len() as u32);
        }
        self
    }

    fn server(&mut self, data: &[u8]) -> &mut Self {
        for part in data.chunks(1400) {
            self.pkts
                .push(ip_tcp(self.s, self.c, self.sn, self.cn, ACK, part));
            self.sn = self.sn.wrapping_add(part.len() as u32);
        }
        self
    }

    /// FIN from the client, FIN from the server, the last ACK.
    fn close(&mut self) -> Vec<Vec<u8>> {
        let (c, s) = (self.c, self.s);
        self.pkts
            .push(ip_tcp(c, s, self.cn, self.sn, FIN | ACK, b""));
        self.cn = self.cn.wrapping_add(1);
        self.pkts
            .push(ip_tcp(s, c, self.sn, self.cn, FIN | ACK, b""));
        self.sn = self.sn.wrapping_add(1);
        self.pkts.push(ip_tcp(c, s, self.cn, self.sn, ACK, b""));
        std::mem::take(&mut self.pkts)
    }
}

const UPGRADE: &[u8] = b"GET /chat HTTP/1.1\r\nHost: hostile.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
const UPGRADE_DEFLATE: &[u8] = b"GET /chat HTTP/1.1\r\nHost: hostile.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
const SWITCHING: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
const SWITCHING_DEFLATE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n";

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A WebSocket frame header: first byte, payload length (encoded in the
/// shortest form unless `force64`), mask.
fn ws_header(b0: u8, len: u64, mask: Option<[u8; 4]>, force64: bool) -> Vec<u8> {
    let m = if mask.is_some() { 0x80 } else { 0 };
    let mut v = vec![b0];
    if len < 126 && !force64 {
        v.push(m | len as u8);
    } else if len <= 0xffff && !force64 {
        v.push(m | 126);
        v.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        v.push(m | 127);
        v.extend_from_slice(&len.to_be_bytes());
    }
    if let Some(k) = mask {
        v.extend_from_slice(&k);
    }
    v
}

/// A whole frame; the client's are masked.
fn ws_frame(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut v = ws_header(b0, payload.len() as u64, mask, false);
    match mask {
        Some(k) => v.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4])),
        None => v.extend_from_slice(payload),
    }
    v
}

fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut v = code.to_be_bytes().to_vec();
    v.extend_from_slice(reason.as_bytes());
    v
}

/// xorshift64*: deterministic "random" bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}

/// A file in a directory of its own (removed with it).
fn write_in(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

// ---------------------------------------------------------------------------
// Files that are not captures, or barely.

/// An empty file, 1 MB of random bytes, a cut capture header and a `.zst`
/// that is not zstd, each on the command line before a good capture: each
/// bad file is named with offset 0, the good one is reported, exit 1.
#[test]
fn not_captures_are_named_and_the_good_file_is_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut random = rng.bytes(1 << 20);
    // Not a magic number of anything this tool reads.
    random[..4].copy_from_slice(b"\x13\x37\xc0\xde");
    let cases: Vec<(String, &str)> = vec![
        (write_in(&dir, "empty.pcap", b""), "offset 0: empty file"),
        (
            write_in(&dir, "random.pcap", &random),
            "offset 0: not a pcap or pcapng capture",
        ),
        (
            write_in(&dir, "header-cut.pcap", &pcap(1, &[], false, false)[..13]),
            "offset 0: file ends inside the capture header",
        ),
        (
            write_in(&dir, "text.pcap.zst", b"this is a capture, honest\n"),
            "offset 0: not a pcap or pcapng capture",
        ),
    ];
    let good = sample("ws-loopback.pcap");
    let mut args: Vec<&str> = cases.iter().map(|(p, _)| p.as_str()).collect();
    args.push(&good);
    let o = hostile("not captures", &args);
    assert_eq!(o.code, 1, "{}", o.stderr);
    for (i, (path, msg)) in cases.iter().enumerate() {
        let cap = capture(&o.doc, i);
        assert_eq!(cap["path"], path.as_str());
        let e = cap["error"].as_str().unwrap_or_default();
        assert!(e.contains(path.as_str()) && e.contains(msg), "{path}: {e}");
        let name = file_name(std::path::Path::new(path));
        assert!(
            o.stderr.contains(&name),
            "stderr lacks {name}:\n{}",
            o.stderr
        );
        assert_eq!(cap["packets"], 0);
    }
    assert!(capture(&o.doc, 4)["error"].is_null());
    assert_eq!(o.doc["summary"]["unreadable_captures"], 4);
    assert_legit(&o.doc, Some(&good));
}

/// A `.zst` that starts with the zstd magic and then is garbage, and a
/// valid zstd frame of a capture cut in its middle: the decompression
/// problem is named with the file and an offset; the good file is read.
#[test]
fn broken_zstd_is_named_and_the_good_file_is_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut garbage = vec![0x28, 0xb5, 0x2f, 0xfd];
    garbage.extend(Rng(7).bytes(64 << 10));
    let bad = write_in(&dir, "garbage.pcap.zst", &garbage);
    let good_bytes = std::fs::read(sample("ws-loopback.pcap")).unwrap();
    let z = zstd::encode_all(&good_bytes[..], 3).unwrap();
    let cut = write_in(&dir, "cut.pcap.zst", &z[..z.len() * 2 / 3]);
    let good = sample("ws-loopback.pcap");
    let o = hostile("broken zstd", &[&bad, &cut, &good]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    for (i, p) in [&bad, &cut].into_iter().enumerate() {
        let cap = capture(&o.doc, i);
        let problem = cap["error"]
            .as_str()
            .map(str::to_string)
            .or_else(|| warnings(cap).into_iter().next())
            .unwrap_or_else(|| panic!("{p}: no error or warning: {cap}"));
        assert!(problem.contains(p.as_str()), "{problem}");
        assert!(problem.contains("offset "), "{problem}");
        assert!(o.stderr.contains(p.as_str()), "{}", o.stderr);
    }
    let e = capture(&o.doc, 0)["error"].as_str().unwrap_or_default();
    assert!(e.contains("decompression failed"), "{e}");
    assert_legit(&o.doc, Some(&good));
}

/// A pcap and a pcapng that are only their file header (valid, empty),
/// next to a good capture: all read, nothing reported for the empty ones,
/// exit 0.
#[test]
fn header_only_captures_are_empty_not_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_in(&dir, "header-only.pcap", &pcap(1, &[], false, false));
    let n = write_in(&dir, "header-only.pcapng", &pcapng(&[], &[]));
    let good = sample("ws-loopback.pcap");
    let o = hostile("header only", &[&p, &n, &good]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    for i in 0..2 {
        let cap = capture(&o.doc, i);
        assert!(cap["error"].is_null(), "{cap}");
        assert_eq!(cap["packets"], 0);
    }
    assert_eq!(capture(&o.doc, 0)["format"], "pcap");
    assert_eq!(capture(&o.doc, 1)["format"], "pcapng");
    assert_eq!(o.doc["connections"].as_array().unwrap().len(), 1);
    assert_legit(&o.doc, Some(&good));
}

// ---------------------------------------------------------------------------
// Broken pcap records.

/// The legitimate session, then a record cut inside its header, or inside
/// its data: every complete packet is read, one warning names the offset
/// of the cut record, exit 0 (a cut last record is what a killed tcpdump
/// leaves, not an unreadable input).
#[test]
fn record_cut_mid_way_keeps_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let whole = pcap(1, &legit(), false, false);
    let tail = ip_tcp(([10, 9, 9, 9], 5555), ([10, 9, 9, 8], 80), 1, 0, SYN, b"");
    let mut extra = pcap(1, &eth_recs([tail]), false, false)[24..].to_vec();
    extra.truncate(16 + 20);
    let mut in_data = whole.clone();
    in_data.extend_from_slice(&extra);
    let mut in_header = whole.clone();
    in_header.extend_from_slice(&extra[..9]);
    let a = write_in(&dir, "cut-in-data.pcap", &in_data);
    let b = write_in(&dir, "cut-in-header.pcap", &in_header);
    for (p, what) in [(&a, "a packet record"), (&b, "a record header")] {
        let o = hostile(&format!("cut {what}"), &[p]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        let cap = capture(&o.doc, 0);
        assert!(cap["error"].is_null(), "{cap}");
        assert_eq!(cap["packets"], 24);
        let w = warnings(cap);
        assert_eq!(w.len(), 1, "{w:?}");
        let want = format!("{p}: offset {}: file ends inside {what}", whole.len());
        assert!(w[0].contains(&want), "{w:?} lacks {want}");
        assert_legit(&o.doc, Some(p));
    }
}

/// The legitimate session, then a record whose captured length claims
/// 4 GB: nothing is allocated for it, the error names the offset, the
/// session is reported, exit 1. The same record in the middle of the file
/// (the session's second half after it) stops reading there: the first
/// half is still analysed.
#[test]
fn record_claiming_4_gb() {
    let dir = tempfile::tempdir().unwrap();
    let recs = legit();
    let header = |caplen: u32| {
        let mut h = Vec::new();
        h.extend_from_slice(&1_800_000_000u32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&caplen.to_le_bytes());
        h.extend_from_slice(&caplen.to_le_bytes());
        h
    };
    let mut at_end = pcap(1, &recs, false, false);
    let offset = at_end.len();
    at_end.extend(header(u32::MAX));
    at_end.extend(Rng(3).bytes(4096));
    let p = write_in(&dir, "4gb-at-end.pcap", &at_end);
    let o = hostile("record claiming 4 GB at the end", &[&p]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let cap = capture(&o.doc, 0);
    let e = cap["error"].as_str().unwrap_or_default();
    assert!(
        e.contains(&format!(
            "{p}: offset {offset}: record claims 4294967295 bytes"
        )),
        "{e}"
    );
    assert!(o.stderr.contains(&p), "{}", o.stderr);
    assert_eq!(cap["packets"], 24);
    assert_legit(&o.doc, Some(&p));

    // In the middle, after the session's Close frames (frames 20 and 21).
    let mut middle = pcap(1, &recs[..21], false, false);
    let offset = middle.len();
    middle.extend(header(0xffff_fff0));
    middle.extend_from_slice(&pcap(1, &recs[21..], false, false)[24..]);
    let p = write_in(&dir, "4gb-in-middle.pcap", &middle);
    let o = hostile("record claiming 4 GB in the middle", &[&p]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let cap = capture(&o.doc, 0);
    let e = cap["error"].as_str().unwrap_or_default();
    assert!(
        e.contains(&format!(
            "{p}: offset {offset}: record claims 4294967280 bytes"
        )),
        "{e}"
    );
    assert_eq!(cap["packets"], 21);
    let c = conn(&o.doc, LEGIT_SERVER);
    assert_eq!(c["disconnect"]["code"], 1000, "{c}");
    assert_eq!(c["disconnect"]["initiator"], "client", "{c}");
    assert_eq!(c["ended_by"], "capture_end", "{c}");
}

/// Random bytes after the legitimate session, read as records: whatever
/// the walk meets first (a record over the size limit, or the end of the
/// file inside a record) is reported at its offset, as the pcap format
/// says it is; the session is reported.
#[test]
fn random_bytes_after_a_valid_header() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = pcap(1, &legit(), false, false);
    let start = bytes.len();
    bytes.extend(Rng(0xdead_beef).bytes(1 << 20));
    // Walk the records as the format defines them, to know where and how
    // reading must stop.
    let mut at = start;
    let mut records = 24;
    let (offset, fatal) = loop {
        if at + 16 > bytes.len() {
            break (at, false);
        }
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        if caplen > 16 << 20 {
            break (at, true);
        }
        if at + 16 + caplen > bytes.len() {
            break (at, false);
        }
        at += 16 + caplen;
        records += 1;
    };
    let p = write_in(&dir, "random-records.pcap", &bytes);
    let o = hostile("random records", &[&p]);
    let cap = capture(&o.doc, 0);
    assert_eq!(cap["packets"], records);
    let problem = if fatal {
        assert_eq!(o.code, 1);
        assert!(o.stderr.contains(&p), "{}", o.stderr);
        cap["error"].as_str().unwrap_or_default().to_string()
    } else {
        assert_eq!(o.code, 0);
        warnings(cap).join("\n")
    };
    assert!(
        problem.contains(&format!("{p}: offset {offset}: ")),
        "{problem}"
    );
    assert_legit(&o.doc, Some(&p));
}

/// A pcap of an unknown link type next to a good capture: its frames are
/// counted in one warning, not decoded; exit 0. In a pcapng, an interface
/// of an unknown link type next to an Ethernet one: the Ethernet frames
/// (the legitimate session) are still analysed.
#[test]
fn unknown_link_type() {
    let dir = tempfile::tempdir().unwrap();
    let recs = legit();
    let alone = write_in(
        &dir,
        "linktype-65000.pcap",
        &pcap(65000, &recs, false, false),
    );
    let mut rng = Rng(11);
    let mut packets = Vec::new();
    for (i, (ts, data, _)) in recs.iter().enumerate() {
        let us = (*ts / 1000) as u64;
        packets.push((0u32, us, data.clone()));
        // A frame of the unknown interface after each good one.
        packets.push((1u32, us + 1, rng.bytes(40 + i * 7)));
    }
    let mixed = write_in(
        &dir,
        "two-interfaces.pcapng",
        &pcapng(&[(1, 6), (65000, 6)], &packets),
    );
    let o = hostile("unknown link type", &[&alone, &mixed]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let w = warnings(capture(&o.doc, 0));
    assert!(
        w.iter()
            .any(|w| w.contains(&alone) && w.contains("24 frames of unsupported link type 65000")),
        "{w:?}"
    );
    let w = warnings(capture(&o.doc, 1));
    assert!(
        w.iter()
            .any(|w| w.contains(&mixed) && w.contains("24 frames of unsupported link type 65000")),
        "{w:?}"
    );
    assert_eq!(capture(&o.doc, 1)["packets"], 48);
    assert_eq!(o.doc["connections"].as_array().unwrap().len(), 1);
    assert_legit(&o.doc, Some(&mixed));
}

// ---------------------------------------------------------------------------
// Broken pcapng blocks.

/// A pcapng of the legitimate session (one Ethernet interface, µs).
fn legit_pcapng(recs: &[Rec]) -> Vec<u8> {
    let packets: Vec<(u32, u64, Vec<u8>)> = recs
        .iter()
        .map(|(ts, d, _)| (0, (*ts / 1000) as u64, d.clone()))
        .collect();
    pcapng(&[(1, 6)], &packets)
}

/// An Enhanced Packet Block whose leading total length is `len` and whose
/// trailing one is `trail` (both normally the block's size).
fn epb(data: &[u8], len: u32, trail: u32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0u32.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(data);
    while body.len() % 4 != 0 {
        body.push(0);
    }
    let mut v = 6u32.to_le_bytes().to_vec();
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(&body);
    v.extend_from_slice(&trail.to_le_bytes());
    v
}

/// Blocks whose total length is too small, not a multiple of 4, or
/// claims 4 GB, after the legitimate session's packets: reading stops
/// there with an error naming the offset (exit 1), what came before is
/// reported.
#[test]
fn pcapng_block_lengths_too_small_or_impossible() {
    let dir = tempfile::tempdir().unwrap();
    let recs = legit();
    let good = legit_pcapng(&recs);
    let junk = b"0123456789abcdef0123456789abcdef";
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "len-8",
            epb(junk, 8, 8),
            "pcapng block with impossible length 8".to_string(),
        ),
        (
            "len-0",
            epb(junk, 0, 0),
            "pcapng block with impossible length 0".to_string(),
        ),
        (
            "len-odd",
            epb(junk, 63, 63),
            "pcapng block with impossible length 63".to_string(),
        ),
        (
            "len-4gb",
            epb(junk, 0xffff_fffc, 0xffff_fffc),
            "record claims 4294967292 bytes".to_string(),
        ),
    ];
    for (name, block, msg) in cases {
        let mut bytes = good.clone();
        let offset = bytes.len();
        bytes.extend_from_slice(&block);
        // More good blocks after the bad one: they cannot be found again.
        bytes.extend_from_slice(&epb(junk, 64, 64));
        let p = write_in(&dir, &format!("{name}.pcapng"), &bytes);
        let o = hostile(&format!("pcapng {name}"), &[&p]);
        assert_eq!(o.code, 1, "{name}: {}", o.stderr);
        let cap = capture(&o.doc, 0);
        let e = cap["error"].as_str().unwrap_or_default();
        assert!(
            e.contains(&format!("{p}: offset {offset}: {msg}")),
            "{name}: {e}"
        );
        assert!(o.stderr.contains(&p), "{}", o.stderr);
        assert_eq!(cap["packets"], 24, "{name}");
        assert_legit(&o.doc, Some(&p));
    }
}

/// A block that claims more bytes than the file has left (but under the
/// size limit): the file ends inside it, one warning names its offset,
/// exit 0, the packets before it are reported.
#[test]
fn pcapng_block_longer_than_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = legit_pcapng(&legit());
    let offset = bytes.len();
    bytes.extend_from_slice(&epb(&[0x55; 100], 1 << 20, 1 << 20));
    let p = write_in(&dir, "block-past-end.pcapng", &bytes);
    let o = hostile("pcapng block past the end", &[&p]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let cap = capture(&o.doc, 0);
    assert!(cap["error"].is_null(), "{cap}");
    assert_eq!(cap["packets"], 24);
    let w = warnings(cap);
    assert!(
        w.iter()
            .any(|w| w.contains(&format!("{p}: offset {offset}: file ends inside a block"))),
        "{w:?}"
    );
    assert_legit(&o.doc, Some(&p));
}

/// A packet block whose trailing length differs from its leading one, in
/// the middle of the legitimate session: the block is reported at its
/// offset and skipped (its frame number is still taken, as Wireshark
/// counts it), and reading goes on with the next block, so the whole
/// session is there.
#[test]
fn pcapng_block_with_inconsistent_trailing_length() {
    let dir = tempfile::tempdir().unwrap();
    let recs = legit();
    let mut bytes = legit_pcapng(&recs[..10]);
    let offset = bytes.len();
    let bad = epb(b"not a packet anyone should read", 64, 0x0bad_0bad);
    assert_eq!(bad.len(), 64);
    bytes.extend_from_slice(&bad);
    // The rest of the session, as blocks of the same section.
    let rest = legit_pcapng(&recs[10..]);
    let first_epb = 28 + 32; // SHB (28 bytes), IDB (32 bytes)
    bytes.extend_from_slice(&rest[first_epb..]);
    let p = write_in(&dir, "trailing-length.pcapng", &bytes);
    let o = hostile("pcapng inconsistent trailing length", &[&p]);
    let cap = capture(&o.doc, 0);
    let problems: Vec<String> = warnings(cap)
        .into_iter()
        .chain(cap["error"].as_str().map(str::to_string))
        .collect();
    assert!(
        problems
            .iter()
            .any(|w| w.contains(&format!("{p}: offset {offset}: "))),
        "the bad block is named at offset {offset}: {problems:?}"
    );
    assert_eq!(o.code, 0, "a skipped block is a warning: {}", o.stderr);
    assert_eq!(cap["packets"], 24, "the 24 good packets are read");
    assert_legit(&o.doc, Some(&p));
    // The bad block took frame number 11, as in Wireshark: the session's
    // frames after it are 12 to 25.
    let k = conn(&o.doc, LEGIT_SERVER);
    assert_eq!(
        (k["first_frame"].as_u64(), k["last_frame"].as_u64()),
        (Some(1), Some(25)),
        "{k}"
    );
}

// ---------------------------------------------------------------------------
// TCP.

/// `n` SYNs from distinct addresses and ports to 10.0.0.2:80, never
/// answered, around the legitimate session; checks that every attempt is
/// a connection and the session keeps its verdict.
fn syn_flood(case: &str, n: u32) {
    let dir = tempfile::tempdir().unwrap();
    let syns = (0..n).map(|i| {
        let src = [10, 100 + (i >> 16) as u8, (i >> 8) as u8, i as u8];
        let port = 1024 + (i % 60_000) as u16;
        ip_tcp(
            (src, port),
            ([10, 0, 0, 2], 80),
            i.wrapping_mul(2_654_435_761),
            0,
            SYN,
            b"",
        )
    });
    let p = write_in(&dir, "syn-flood.pcap", &mixed_pcap(eth_recs(syns)));
    let o = hostile(case, &[&p]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let cap = capture(&o.doc, 0);
    assert_eq!(cap["packets"], u64::from(n) + 24);
    assert_eq!(o.doc["summary"]["connections"], u64::from(n) + 1);
    assert_legit(&o.doc, Some(&p));
    assert_eq!(o.per_server.get("10.0.0.2:80").copied(), Some(u64::from(n)));
    let one = conn_kept(&o.doc, "10.0.0.2:80");
    assert_eq!(one["ended_by"], "capture_end", "{one}");
    assert_eq!(one["bytes"]["client_to_server"], 0, "{one}");
    assert_eq!(cap["limits_hit"], serde_json::json!([]), "below every cap");
}

/// 5,000 half-open SYNs with room for 1,000 open connections: the least
/// recently active are evicted (reported, ended_by "evicted"), the cap is
/// reported with its flag, and the legitimate session, active all along,
/// keeps its verdict.
#[test]
fn open_connections_cap_evicts_the_idle_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    const N: u32 = 5_000;
    const CAP: u64 = 1_000;
    let syns = (0..N).map(|i| {
        let src = [10, 101, (i >> 8) as u8, i as u8];
        ip_tcp((src, 2000), ([10, 0, 0, 3], 80), i * 7919, 0, SYN, b"")
    });
    let p = write_in(&dir, "syn-cap.pcap", &mixed_pcap(eth_recs(syns)));
    let o = hostile(
        "open connections cap",
        &[&p, "--max-open-connections", "1000"],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_legit(&o.doc, Some(&p));
    assert_eq!(o.doc["summary"]["connections"], u64::from(N) + 1);
    let cap = capture(&o.doc, 0);
    let hit = limit_hit(cap, "open_connections").expect("the cap was hit");
    assert_eq!(hit["value"], CAP, "{hit}");
    let evicted = hit["times"].as_u64().unwrap();
    assert!(
        (u64::from(N) - CAP..=u64::from(N)).contains(&evicted),
        "{evicted} evicted of {N} with room for {CAP}"
    );
    assert_eq!(
        o.doc["summary"]["by_ended_by"]["evicted"], evicted,
        "{}",
        o.doc["summary"]
    );
    let one = conn_kept(&o.doc, "10.0.0.3:80");
    assert_eq!(
        one["ended_by"], "evicted",
        "the first SYNs went first: {one}"
    );
    assert_eq!(one["limits_hit"], serde_json::json!(["open_connections"]));
}

/// 200,000 half-open SYNs: memory stays under 256 MB, the run finishes,
/// every attempt is a connection, the session keeps its verdict.
#[test]
fn two_hundred_thousand_half_open_syns() {
    syn_flood("200,000 half-open SYNs", 200_000);
}

/// One connection where, behind a one-byte hole, 50,000 segments overlap
/// each other with different bytes: first single bytes every other
/// position, then the same range over and over, each copy different.
/// Each byte is counted once, the conflicts are counted, the run stays
/// fast and small; the legitimate session is untouched.
#[test]
fn fifty_thousand_overlapping_segments_with_conflicting_data() {
    let dir = tempfile::tempdir().unwrap();
    let c = ([10, 1, 1, 1], 40001);
    let s = ([10, 1, 1, 2], 9000);
    let mut conv = Conv::open(c, s);
    let base = conv.cn; // sequence number of stream byte 0
    let sn = conv.sn;
    const SPAN: u32 = 600;
    const SINGLES: u32 = SPAN / 2;
    const N: u32 = 50_000;
    // Byte 0 is held back; single bytes at 2, 4, ... leave holes between.
    for i in 0..SINGLES {
        let off = 2 + 2 * i;
        conv.pkts
            .push(ip_tcp(c, s, base + off, sn, ACK, &[(i % 251) as u8]));
    }
    // Then the same span 1..=SPAN again and again, different every time.
    for i in SINGLES..N {
        let fill = vec![(i % 253) as u8 ^ 0x5a; SPAN as usize];
        conv.pkts.push(ip_tcp(c, s, base + 1, sn, ACK, &fill));
    }
    // The hole is filled; the stream is SPAN + 1 bytes long.
    conv.pkts.push(ip_tcp(c, s, base, sn, ACK, b"!"));
    conv.cn = base + 1 + SPAN;
    let pkts = conv.close();
    let p = write_in(&dir, "overlaps.pcap", &mixed_pcap(eth_recs(pkts)));
    let o = hostile("50,000 overlapping segments", &[&p]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let k = conn(&o.doc, "10.1.1.2:9000");
    assert_eq!(k["bytes"]["client_to_server"], u64::from(SPAN) + 1, "{k}");
    assert_eq!(k["gaps"]["client_to_server"], 0, "{k}");
    assert_eq!(k["ended_by"], "fin", "{k}");
    let conflicts = k["tcp"]["conflicting_overlaps"]["client_to_server"]
        .as_u64()
        .unwrap();
    // One per segment that overlapped differently, however many stored
    // pieces it covered.
    assert!(
        (u64::from(N - SINGLES - 1)..=u64::from(N)).contains(&conflicts),
        "{k}"
    );
    assert_legit(&o.doc, Some(&p));
}

/// A WebSocket connection into which a segment 2^31 ahead of the stream
/// is injected (as far ahead as behind: neither is plausible), and one
/// whose sequence numbers jump by 2^31 - 1 for good: no panic, no
/// runaway memory, the first connection keeps its verdict.
#[test]
fn sequence_jump_of_two_to_the_31() {
    let dir = tempfile::tempdir().unwrap();
    let c = ([10, 2, 2, 1], 40002);
    let s = ([10, 2, 2, 2], 9002);
    let mut conv = Conv::open(c, s);
    conv.client(UPGRADE).server(SWITCHING);
    conv.client(&ws_frame(0x81, b"before the jump", Some(MASK)));
    let injected = ws_frame(0x88, &close_payload(4999, "injected"), Some(MASK));
    conv.pkts.push(ip_tcp(
        c,
        s,
        conv.cn.wrapping_add(1 << 31),
        conv.sn,
        ACK,
        &injected,
    ));
    conv.server(&ws_frame(0x81, b"still here", None));
    conv.client(&ws_frame(0x88, &close_payload(1000, "bye"), Some(MASK)));
    conv.server(&ws_frame(0x88, &close_payload(1000, "bye"), None));
    let mut pkts = conv.close();

    // A second connection whose client jumps 2^31 - 1 ahead and stays
    // there.
    let c2 = ([10, 2, 2, 3], 40003);
    let s2 = ([10, 2, 2, 4], 9003);
    let mut jump = Conv::open(c2, s2);
    jump.client(UPGRADE).server(SWITCHING);
    jump.cn = jump.cn.wrapping_add((1 << 31) - 1);
    for _ in 0..100 {
        jump.client(&ws_frame(0x82, &[7; 1000], Some(MASK)));
    }
    pkts.extend(jump.close());

    let p = write_in(&dir, "seq-jump.pcap", &mixed_pcap(eth_recs(pkts)));
    let o = hostile("sequence jump of 2^31", &[&p]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let k = conn(&o.doc, "10.2.2.2:9002");
    let d = &k["disconnect"];
    assert_eq!(d["category"], "close_frame", "{k}");
    assert_eq!(d["code"], 1000, "{k}");
    assert_eq!(d["initiator"], "client", "{k}");
    assert_eq!(
        k["websocket"]["frames"]["client_to_server"]["frames"], 2,
        "{k}"
    );
    let k2 = conn(&o.doc, "10.2.2.4:9003");
    assert_eq!(k2["transport"], "ws", "{k2}");
    assert!(k2["disconnect"].is_object(), "{k2}");
    assert_legit(&o.doc, Some(&p));
}

// ---------------------------------------------------------------------------
// WebSocket.

/// Stream offset (after the upgrade request) of the bad frame header in
/// [`ws_2_63_capture`]'s first connection.
const BAD_HEADER_AT: usize = UPGRADE.len() + 6 + 5;

/// Two WebSocket connections: on 10.3.3.2:9003 the client sends a frame
/// whose 64-bit length has its top bit set (2^63 bytes: RFC 6455 §5.2
/// says that bit MUST be 0) and then closes TCP; on 10.3.3.4:9004 the
/// client starts a frame announcing 2^63 - 1 bytes that never come and
/// the server closes with 1009.
fn ws_2_63_capture(dir: &tempfile::TempDir) -> String {
    let c = ([10, 3, 3, 1], 40003);
    let s = ([10, 3, 3, 2], 9003);
    let mut conv = Conv::open(c, s);
    conv.client(UPGRADE).server(SWITCHING);
    conv.client(&ws_frame(0x81, b"hello", Some(MASK)));
    conv.server(&ws_frame(0x81, b"hello", None));
    let mut bad = ws_header(0x82, 1 << 63, Some(MASK), true);
    bad.extend(Rng(5).bytes(3000));
    conv.client(&bad);
    let mut pkts = conv.close();

    let c2 = ([10, 3, 3, 3], 40004);
    let s2 = ([10, 3, 3, 4], 9004);
    let mut huge = Conv::open(c2, s2);
    huge.client(UPGRADE).server(SWITCHING);
    let mut big = ws_header(0x82, (1 << 63) - 1, Some(MASK), true);
    big.extend(Rng(6).bytes(20_000));
    huge.client(&big);
    huge.server(&ws_frame(0x88, &close_payload(1009, "too big"), None));
    pkts.extend(huge.close());
    write_in(dir, "ws-2-63.pcap", &mixed_pcap(eth_recs(pkts)))
}

/// The frames of [`ws_2_63_capture`]: parsing stops at the bad header
/// (its stream offset is reported, the frames before it are counted),
/// nothing is allocated for either payload, the announced 2^63 - 1 bytes
/// are what the 1009 verdict tells, the legitimate session is reported.
#[test]
fn websocket_frame_announcing_two_to_the_63_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let p = ws_2_63_capture(&dir);
    let o = hostile("WebSocket frame of 2^63 bytes", &[&p]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let k = conn(&o.doc, "10.3.3.2:9003");
    assert_eq!(k["transport"], "ws", "{k}");
    let ws = &k["websocket"];
    assert_eq!(ws["frames"]["client_to_server"]["frames"], 1, "{ws}");
    assert_eq!(ws["frames"]["server_to_client"]["frames"], 1, "{ws}");
    assert_eq!(
        ws["unparsed_from"]["client_to_server"], BAD_HEADER_AT,
        "{ws}"
    );
    assert!(k["disconnect"].is_object(), "{k}");

    let k2 = conn(&o.doc, "10.3.3.4:9004");
    let d = &k2["disconnect"];
    assert_eq!(d["category"], "close_frame", "{k2}");
    assert_eq!(d["code"], 1009, "{k2}");
    assert_eq!(d["initiator"], "server", "{k2}");
    let evidence = d["evidence"].to_string();
    assert!(
        evidence.contains(&((1u64 << 63) - 1).to_string()),
        "the announced size is told: {evidence}"
    );
    assert_legit(&o.doc, Some(&p));
}

/// The 2^63-byte frame of [`ws_2_63_capture`] breaks RFC 6455 §5.2 and no
/// Close follows it: DESIGN.md's `protocol_violation` (1002, inferred),
/// with the violation listed, not a plain `tcp_abort`.
#[test]

fn frame_length_with_the_top_bit_set_is_a_protocol_violation() {
    let dir = tempfile::tempdir().unwrap();
    let p = ws_2_63_capture(&dir);
    let o = hostile("WebSocket frame of 2^63 bytes: the verdict", &[&p]);
    let k = conn(&o.doc, "10.3.3.2:9003");
    let ws = &k["websocket"];
    assert!(
        ws["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["sender"] == "client" && v["code"] == 1002),
        "no violation listed: {ws}"
    );
    let d = &k["disconnect"];
    assert_eq!(d["category"], "protocol_violation", "{d}");
    assert_eq!(d["code"], 1002, "{d}");
    assert_eq!(d["initiator"], "client", "{d}");
    assert_eq!(d["observed"], false, "{d}");
}

/// A client Close frame with a 1-byte payload (RFC 6455 §5.5.1: a body is
/// either empty or starts with a 2-byte code), answered by the server's
/// 1002: a violation is reported with the code a compliant peer answers
/// (1002); the verdict is the first Close, which carried no code (1005),
/// with the server's 1002 as evidence.
#[test]
fn close_frame_with_a_one_byte_payload() {
    let dir = tempfile::tempdir().unwrap();
    let c = ([10, 4, 4, 1], 40004);
    let s = ([10, 4, 4, 2], 9004);
    let mut conv = Conv::open(c, s);
    conv.client(UPGRADE).server(SWITCHING);
    conv.client(&ws_frame(0x81, b"hi", Some(MASK)));
    conv.client(&ws_frame(0x88, &[0x03], Some(MASK)));
    conv.server(&ws_frame(
        0x88,
        &close_payload(1002, "protocol error"),
        None,
    ));
    let pkts = conv.close();
    let p = write_in(&dir, "close-1-byte.pcap", &mixed_pcap(eth_recs(pkts)));
    let o = hostile("1-byte Close payload", &[&p]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let k = conn(&o.doc, "10.4.4.2:9004");
    let ws = &k["websocket"];
    let violations = ws["violations"].as_array().unwrap();
    assert!(
        violations.iter().any(|v| v["sender"] == "client"
            && v["code"] == 1002
            && v["what"].as_str().unwrap().contains("1-byte")),
        "{ws}"
    );
    let closes = closes(ws);
    assert_eq!(closes.len(), 2, "{ws}");
    assert_eq!(closes[0].1, "client");
    assert_eq!(closes[0].2, None, "a 1-byte body has no code");
    assert_eq!(closes[1].1, "server");
    assert_eq!(closes[1].2, Some(1002));
    // DESIGN.md: the first Close decides; 1005 when it had no code.
    let d = &k["disconnect"];
    assert_eq!(d["category"], "close_frame", "{d}");
    assert_eq!(d["code"], 1005, "{d}");
    assert_eq!(d["observed"], false, "{d}");
    assert_eq!(d["initiator"], "client", "{d}");
    assert!(
        d["evidence"]
            .to_string()
            .contains("server answered with Close 1002"),
        "{d}"
    );
    // The verdict names what was wrong with the client's own Close.
    assert!(
        d["evidence"]
            .to_string()
            .contains("client's Close itself broke RFC 6455"),
        "{d}"
    );
    assert!(
        d["fix"]
            .as_str()
            .unwrap()
            .contains("Close frame was malformed"),
        "{d}"
    );
    assert_legit(&o.doc, Some(&p));
}

/// A deflate bomb on a permessage-deflate connection: one masked binary
/// message whose 256 KB on the wire inflate to 256 MB of zeros. The
/// inflated size is reported as a lower bound (the cap), memory stays
/// low, and the server's 1009 is the verdict.
#[test]
fn deflate_bomb_on_a_compressed_connection() {
    let dir = tempfile::tempdir().unwrap();
    // Raw deflate of 256 MiB of zeros, ended by a sync flush as RFC 7692
    // §7.2.1 has a sender end each message.
    let zeros = vec![0u8; 1 << 20];
    let mut z = flate2::Compress::new(flate2::Compression::default(), false);
    let mut bomb: Vec<u8> = Vec::with_capacity(1 << 20);
    let total = 256usize << 20;
    let mut fed = 0usize;
    while fed < total {
        if bomb.capacity() - bomb.len() < 64 << 10 {
            bomb.reserve(1 << 20);
        }
        let before = z.total_in();
        let left = (total - fed).min(zeros.len());
        z.compress_vec(&zeros[..left], &mut bomb, flate2::FlushCompress::None)
            .unwrap();
        fed += (z.total_in() - before) as usize;
    }
    // One sync flush (each call would add another empty block).
    bomb.reserve(1 << 20);
    z.compress_vec(&[], &mut bomb, flate2::FlushCompress::Sync)
        .unwrap();
    assert!(
        bomb.ends_with(&[0, 0, 0xff, 0xff]),
        "a sync flush ends the stream"
    );
    bomb.truncate(bomb.len() - 4);
    assert!(bomb.len() < 1 << 20, "{} bytes compressed", bomb.len());

    let c = ([10, 5, 5, 1], 40005);
    let s = ([10, 5, 5, 2], 9005);
    let mut conv = Conv::open(c, s);
    conv.client(UPGRADE_DEFLATE).server(SWITCHING_DEFLATE);
    // RSV1 (0x40) marks a compressed message.
    conv.client(&ws_frame(0xc2, &bomb, Some(MASK)));
    conv.server(&ws_frame(
        0x88,
        &close_payload(1009, "message too big"),
        None,
    ));
    conv.client(&ws_frame(0x88, &close_payload(1009, ""), Some(MASK)));
    let pkts = conv.close();
    let p = write_in(&dir, "deflate-bomb.pcap", &mixed_pcap(eth_recs(pkts)));
    let o = hostile("deflate bomb", &[&p]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let k = conn(&o.doc, "10.5.5.2:9005");
    let f = &k["websocket"]["frames"]["client_to_server"];
    assert_eq!(f["compressed_messages"], 1, "{f}");
    assert_eq!(f["messages"], 1, "{f}");
    assert_eq!(f["largest_message_wire"], bomb.len() as u64, "{f}");
    let size = f["largest_message"].as_u64().unwrap();
    assert!(
        ((1 << 20)..(256 << 20)).contains(&size),
        "the inflated size stops at a cap: {f}"
    );
    let d = &k["disconnect"];
    assert_eq!(d["code"], 1009, "{d}");
    assert_eq!(d["initiator"], "server", "{d}");
    let text = format!("{}{}", d["evidence"], d["fix"]);
    assert!(
        text.contains(&format!("more than {size} bytes"))
            || text.contains(&format!("at least {size} bytes")),
        "the size is a lower bound: {d}"
    );
    let hit = limit_hit(capture(&o.doc, 0), "inflated_message").expect("reported");
    assert_eq!(hit["value"], size, "the size shown is the cap: {hit}");
    assert_eq!(
        k["limits_hit"],
        serde_json::json!(["inflated_message"]),
        "{k}"
    );
    assert_legit(&o.doc, Some(&p));
}

/// An upgrade request whose head goes on for 10 MB without ever ending:
/// the head buffer is bounded, every byte is still counted, the run is
/// small and fast, the legitimate session is reported.
#[test]
fn ten_megabyte_http_head_without_an_end() {
    let dir = tempfile::tempdir().unwrap();
    let c = ([10, 6, 6, 1], 40006);
    let s = ([10, 6, 6, 2], 9006);
    let mut head = b"GET /chat HTTP/1.1\r\nHost: hostile.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Pad: ".to_vec();
    head.resize(10 << 20, b'a');
    let mut conv = Conv::open(c, s);
    conv.client(&head);
    let pkts = conv.close();
    let p = write_in(&dir, "endless-head.pcap", &mixed_pcap(eth_recs(pkts)));
    let o = hostile("10 MB HTTP head", &[&p]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let k = conn(&o.doc, "10.6.6.2:9006");
    assert_eq!(k["bytes"]["client_to_server"], 10u64 << 20, "{k}");
    assert_eq!(k["ended_by"], "fin", "{k}");
    assert_ne!(k["transport"], "ws", "no upgrade was completed: {k}");
    // What the request asked for before the cut is still reported, and the
    // attempt gets its verdict.
    assert_eq!(k["transport"], "http", "{k}");
    assert_eq!(k["websocket"]["request"]["path"], "/chat", "{k}");
    assert_eq!(k["websocket"]["request"]["host"], "hostile.test", "{k}");
    let d = &k["disconnect"];
    assert_eq!(d["category"], "http_upgrade", "{d}");
    assert_eq!(d["code"], 1006, "{d}");
    assert!(d["evidence"].to_string().contains("--max-http-head"), "{d}");
    assert!(d["fix"].as_str().unwrap().contains("too long"), "{d}");
    let hit = limit_hit(capture(&o.doc, 0), "http_head").expect("reported");
    assert_eq!(hit["value"], 16 << 10, "{hit}");
    assert_eq!(hit["times"], 1, "{hit}");
    assert_eq!(k["limits_hit"], serde_json::json!(["http_head"]), "{k}");
    assert_legit(&o.doc, Some(&p));
}

/// A hole at the start of a stream and 300 KB behind it, with room for
/// 64 KiB of out-of-order bytes per connection: the hole becomes a gap
/// early, every byte behind it is still delivered, and the cap is named.
#[test]
fn out_of_order_cap_declares_the_hole_a_gap_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let c = ([10, 7, 7, 1], 40007);
    let s = ([10, 7, 7, 2], 9007);
    let mut conv = Conv::open(c, s);
    let base = conv.cn;
    let sn = conv.sn;
    // Byte 0..100 never arrives; 300 KB follow in order behind it.
    let mut off = 100u32;
    while off < 300_100 {
        conv.pkts
            .push(ip_tcp(c, s, base + off, sn, ACK, &[b'x'; 1000]));
        off += 1000;
    }
    conv.cn = base + off;
    let pkts = conv.close();
    let p = write_in(&dir, "ooo-cap.pcap", &mixed_pcap(eth_recs(pkts)));
    let o = hostile("out-of-order cap", &[&p, "--max-ooo-per-connection", "64K"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let k = conn(&o.doc, "10.7.7.2:9007");
    assert_eq!(k["gaps"]["client_to_server"], 100, "{k}");
    assert_eq!(k["bytes"]["client_to_server"], 300_000, "{k}");
    let hit = limit_hit(capture(&o.doc, 0), "ooo_per_connection").expect("reported");
    assert_eq!(hit["value"], 64 << 10, "{hit}");
    assert_legit(&o.doc, Some(&p));
    // With the default cap (4 MiB) the same capture hits nothing.
    let o = hostile("out-of-order default", &[&p]);
    assert_eq!(capture(&o.doc, 0)["limits_hit"], serde_json::json!([]));
}

// ---------------------------------------------------------------------------
// TLS.

fn tls_record(ctype: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![ctype, 3, 3];
    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// Handshake messages in as many records as they need (2^14 bytes each).
fn tls_handshake_records(msgs: &[u8]) -> Vec<u8> {
    msgs.chunks(1 << 14)
        .flat_map(|c| tls_record(22, c))
        .collect()
}

fn hs(htype: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![htype];
    v.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

/// A TLS 1.2 ClientHello body with SNI `hostile.test`; `ext_len` replaces
/// the extensions block's length when given.
fn client_hello(ext_len: Option<u16>, sni_len: Option<u16>) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[0x11; 32]);
    b.push(0);
    b.extend_from_slice(&[0, 2, 0xc0, 0x2f]);
    b.extend_from_slice(&[1, 0]);
    let name = b"hostile.test";
    let mut sni = Vec::new();
    sni.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);
    let mut ext = vec![0, 0];
    ext.extend_from_slice(&sni_len.unwrap_or(sni.len() as u16).to_be_bytes());
    ext.extend_from_slice(&sni);
    b.extend_from_slice(&ext_len.unwrap_or(ext.len() as u16).to_be_bytes());
    b.extend_from_slice(&ext);
    b
}

fn server_hello() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[0x22; 32]);
    b.push(0);
    b.extend_from_slice(&[0xc0, 0x2f, 0]);
    b.extend_from_slice(&[0, 0]);
    b
}

fn certificate_msg(certs: &[Vec<u8>]) -> Vec<u8> {
    let mut list = Vec::new();
    for c in certs {
        list.extend_from_slice(&(c.len() as u32).to_be_bytes()[1..]);
        list.extend_from_slice(c);
    }
    let mut b = (list.len() as u32).to_be_bytes()[1..].to_vec();
    b.extend_from_slice(&list);
    b
}

/// `depth` SEQUENCEs, each holding the next, around a NULL.
fn nested_der(depth: usize) -> Vec<u8> {
    let mut v = vec![0x05, 0x00];
    for _ in 0..depth {
        let mut outer = vec![0x30, 0x82];
        outer.extend_from_slice(&(v.len() as u16).to_be_bytes());
        outer.extend_from_slice(&v);
        v = outer;
    }
    v
}

/// A TLS 1.2 handshake to `s` where the server's flight carries
/// `certs`, and the client answers with a fatal alert `alert`.
fn tls_with_certificate(c: Ep, s: Ep, certs: &[Vec<u8>], alert: u8) -> Vec<Vec<u8>> {
    let mut conv = Conv::open(c, s);
    conv.client(&tls_record(22, &hs(1, &client_hello(None, None))));
    let mut flight = hs(2, &server_hello());
    flight.extend(hs(11, &certificate_msg(certs)));
    flight.extend(hs(14, &[]));
    conv.server(&tls_handshake_records(&flight));
    conv.client(&tls_record(21, &[2, alert]));
    conv.close()
}

/// The alerts of a TLS connection: (sender, code).
fn alerts(k: &Value) -> Vec<(String, u64)> {
    k["tls"]["alerts"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|a| {
            (
                a["sender"].as_str().unwrap_or_default().to_string(),
                a["code"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// ClientHellos whose extension lengths overflow the message (the block
/// claims 65,000 bytes; an extension claims more than the block), each
/// answered by the server's decode_error alert: the connection is TLS,
/// the handshake failed with that alert, nothing crashed.
#[test]
fn client_hello_with_overflowing_extension_lengths() {
    let dir = tempfile::tempdir().unwrap();
    let mut pkts = Vec::new();
    let hellos = [
        client_hello(Some(65_000), None),
        client_hello(None, Some(0xffff)),
        client_hello(Some(0xffff), Some(0xfff0)),
    ];
    for (i, hello) in hellos.iter().enumerate() {
        let c = ([10, 7, 7, 1], 40100 + i as u16);
        let s = ([10, 7, 7, 2 + i as u8], 443);
        let mut conv = Conv::open(c, s);
        conv.client(&tls_record(22, &hs(1, hello)));
        conv.server(&tls_record(21, &[2, 50]));
        pkts.extend(conv.close());
    }
    let p = write_in(
        &dir,
        "client-hello-overflow.pcap",
        &mixed_pcap(eth_recs(pkts)),
    );
    let o = hostile("ClientHello extension overflow", &[&p]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    for i in 0..hellos.len() {
        let k = conn(&o.doc, &format!("10.7.7.{}:443", 2 + i));
        assert_eq!(k["transport"], "tls", "{k}");
        let d = &k["disconnect"];
        assert_eq!(d["category"], "tls_handshake", "{k}");
        assert_eq!(d["code"], 1015, "{k}");
        assert!(
            alerts(k).contains(&("server".to_string(), 50)),
            "{}",
            k["tls"]
        );
        // What could be read of the hello is kept.
        let hello = &k["tls"]["client_hello"];
        assert_eq!(hello["client_random"], "11".repeat(32), "{hello}");
        assert_eq!(hello["cipher_count"], 1, "{hello}");
    }
    assert_legit(&o.doc, Some(&p));
}

/// A server that answers a good ClientHello with a record claiming
/// 65,535 bytes (over the 2^14 + 2048 the protocol allows), then sends
/// that much junk: the record layer is given up for that direction, the
/// connection is still TLS with a verdict.
#[test]
fn oversized_tls_record() {
    let dir = tempfile::tempdir().unwrap();
    let c = ([10, 8, 8, 1], 40008);
    let s = ([10, 8, 8, 2], 443);
    let mut conv = Conv::open(c, s);
    conv.client(&tls_record(22, &hs(1, &client_hello(None, None))));
    let mut big = vec![22, 3, 3, 0xff, 0xff];
    big.extend(Rng(8).bytes(0xffff));
    conv.server(&big);
    let pkts = conv.close();
    let p = write_in(&dir, "tls-oversized.pcap", &mixed_pcap(eth_recs(pkts)));
    let o = hostile("oversized TLS record", &[&p]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let k = conn(&o.doc, "10.8.8.2:443");
    assert_eq!(k["transport"], "tls", "{k}");
    assert_eq!(k["bytes"]["server_to_client"], 0xffff + 5, "{k}");
    let tls = &k["tls"];
    assert_eq!(tls["client_hello"]["sni"], "hostile.test", "{tls}");
    assert!(tls["server_hello"].is_null(), "{tls}");
    assert_ne!(tls["handshake"], "complete", "{tls}");
    assert!(k["disconnect"].is_object(), "{k}");
    assert_legit(&o.doc, Some(&p));
}

/// Certificates that are random bytes, and one that is 10,000 nested
/// SEQUENCEs (40 KB, over three records): each is read without a crash or
/// a stack overflow, the handshake's failure (the client's fatal
/// bad_certificate alert) is the verdict.
#[test]
fn garbage_and_deeply_nested_der_in_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5eed);
    let garbage = rng.bytes(2000);
    let mut garbage_seq = vec![0x30, 0x82, 0x07, 0xcc];
    garbage_seq.extend(rng.bytes(1996));
    let deep = nested_der(10_000);
    assert!(deep.len() > 40_000);
    let chains = [
        vec![garbage],
        vec![garbage_seq],
        vec![deep.clone()],
        vec![deep.clone(), nested_der(300)],
    ];
    let mut pkts = Vec::new();
    for (i, chain) in chains.iter().enumerate() {
        let c = ([10, 9, 9, 1], 40200 + i as u16);
        let s = ([10, 9, 9, 2 + i as u8], 443);
        pkts.extend(tls_with_certificate(c, s, chain, 42));
    }
    let p = write_in(&dir, "bad-certificates.pcap", &mixed_pcap(eth_recs(pkts)));
    let o = hostile("garbage and nested DER certificates", &[&p]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    for i in 0..chains.len() {
        let k = conn(&o.doc, &format!("10.9.9.{}:443", 2 + i));
        assert_eq!(k["transport"], "tls", "{k}");
        let tls = &k["tls"];
        assert_eq!(tls["server_hello"]["cipher_id"], "0xc02f", "{tls}");
        let d = &k["disconnect"];
        assert_eq!(d["category"], "tls_handshake", "{k}");
        assert_eq!(d["code"], 1015, "{k}");
        assert!(alerts(k).contains(&("client".to_string(), 42)), "{tls}");
        // The certificates are told to be unreadable, not described.
        assert_eq!(
            tls["certificates"].as_array().map(Vec::len),
            Some(0),
            "{tls}"
        );
        assert_eq!(tls["chain"]["valid"], false, "{tls}");
        assert!(d["evidence"].to_string().contains("unreadable"), "{d}");
    }
    assert_legit(&o.doc, Some(&p));
}

/// A real TLS 1.2 handshake (an expired certificate) read with room for 256-byte
/// handshake messages: the Certificate is skipped, not read, and the report
/// says which cap did it.
#[test]
fn tls_handshake_cap_skips_the_certificate_and_says_so() {
    let p = sample("tls12-expired.pcap");
    let full = hostile("TLS handshake default", &[&p]);
    let tls = &full.doc["connections"][0]["tls"];
    assert!(!tls["certificates"].as_array().unwrap().is_empty(), "{tls}");
    assert_eq!(capture(&full.doc, 0)["limits_hit"], serde_json::json!([]));
    let o = hostile("TLS handshake cap", &[&p, "--max-tls-handshake", "256"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let k = &o.doc["connections"][0];
    assert_eq!(k["tls"]["certificates"], serde_json::json!([]), "{k}");
    assert_eq!(k["tls"]["server_hello"], tls["server_hello"], "{k}");
    let hit = limit_hit(capture(&o.doc, 0), "tls_handshake").expect("reported");
    assert_eq!(hit["value"], 256, "{hit}");
    assert_eq!(k["limits_hit"], serde_json::json!(["tls_handshake"]), "{k}");
}

// ---------------------------------------------------------------------------
// IP.

/// An IPv4 header (no options) with a fragment field.
fn ipv4_fragment(id: u16, offset8: u16, more: bool, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    let flags = if more { 0x2000 } else { 0 };
    h.extend_from_slice(&(flags | (offset8 & 0x1fff)).to_be_bytes());
    h.extend_from_slice(&[64, 6, 0, 0]);
    h.extend_from_slice(&[10, 11, 11, 1]);
    h.extend_from_slice(&[10, 11, 11, 2]);
    let mut sum = 0u32;
    for w in h.chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    h[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    h.extend_from_slice(payload);
    h
}

const FRAGMENTS: u32 = 100_000;

/// 100,000 IPv4 fragments of one datagram (same addresses and id), at
/// overlapping offsets all over the 64 KB range with different bytes,
/// none of them the last, mixed with the legitimate session.
fn fragments_capture(dir: &tempfile::TempDir) -> String {
    let mut rng = Rng(0xf7a9);
    let frags = (0..FRAGMENTS).map(|i| {
        // Offsets in 8-byte units, 24 bytes each: neighbours overlap.
        let off = ((u64::from(i) * 7919) % 8000) as u16;
        let fill = rng.bytes(24);
        ipv4_fragment(0x4242, off, true, &fill)
    });
    write_in(dir, "fragments.pcap", &mixed_pcap(eth_recs(frags)))
}

/// The 100,000 fragments that never complete: the datagram is never
/// handed on, the pool stays bounded, every frame is counted, the
/// legitimate session is reported.
#[test]
fn hundred_thousand_overlapping_fragments_that_never_complete() {
    let dir = tempfile::tempdir().unwrap();
    let p = fragments_capture(&dir);
    let o = hostile("100,000 overlapping IPv4 fragments", &[&p]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let cap = capture(&o.doc, 0);
    assert_eq!(cap["packets"], u64::from(FRAGMENTS) + 24);
    assert_eq!(cap["tcp_packets"], 24, "no fragment became a segment");
    assert_eq!(o.doc["connections"].as_array().unwrap().len(), 1);
    assert_legit(&o.doc, Some(&p));
}

/// The same capture: the 100,000 fragments that were never reassembled
/// are a problem the report names, with the file, as it does for
/// fragments dropped from a full pool or on a timeout.
#[test]
fn fragments_never_reassembled_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = fragments_capture(&dir);
    let o = hostile("100,000 fragments: the warning", &[&p]);
    let w = warnings(capture(&o.doc, 0));
    assert!(
        w.iter()
            .any(|w| w.contains(&p) && w.contains("IP fragments could not be reassembled")),
        "no warning about the fragments: {w:?}"
    );
}

/// 1,000 datagrams whose first fragments arrive and whose last never do,
/// with room for 100 waiting at once: the pool stays at its cap, the
/// datagrams pushed out are counted and the cap is named.
#[test]
fn ip_fragment_cap_drops_the_oldest_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let frags = (0..1000u16).map(|id| ipv4_fragment(id, 0, true, &[0u8; 24]));
    let p = write_in(&dir, "frag-cap.pcap", &mixed_pcap(eth_recs(frags)));
    let o = hostile("IP fragment cap", &[&p, "--max-ip-fragments", "100"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let hit = limit_hit(capture(&o.doc, 0), "ip_fragments").expect("reported");
    assert_eq!(hit["value"], 100, "{hit}");
    assert_eq!(hit["times"], 900, "{hit}");
    assert_legit(&o.doc, Some(&p));
}

/// An IPv6 TCP conversation where every packet has 200 extension headers
/// (a hop-by-hop options header, then 199 destination options headers)
/// before TCP: no crash, no hang, every frame is accounted for, the
/// legitimate session is reported.
#[test]
fn ipv6_chain_of_two_hundred_extension_headers() {
    let dir = tempfile::tempdir().unwrap();
    let src = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let dst = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    // The IPv4 conversation's TCP segments, carried over IPv6 instead.
    let mut conv = Conv::open(([10, 0, 0, 1], 40010), ([10, 0, 0, 2], 9010));
    conv.client(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    conv.server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let v4 = conv.close();
    let v6: Vec<Vec<u8>> = v4
        .iter()
        .map(|ip| {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let mut tcp = ip[ihl..].to_vec();
            let from_client = ip[12..16] == [10, 0, 0, 1];
            let (s, d) = if from_client { (src, dst) } else { (dst, src) };
            // TCP checksum over the IPv6 pseudo-header.
            tcp[16] = 0;
            tcp[17] = 0;
            let mut sum = 0u32;
            let mut add = |b: &[u8]| {
                for w in b.chunks(2) {
                    let hi = u32::from(w[0]) << 8;
                    sum += hi | u32::from(*w.get(1).unwrap_or(&0));
                }
            };
            add(&s);
            add(&d);
            add(&(tcp.len() as u32).to_be_bytes());
            add(&[0, 0, 0, 6]);
            add(&tcp);
            while sum > 0xffff {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            tcp[16..18].copy_from_slice(&(!(sum as u16)).to_be_bytes());
            let mut ext = Vec::new();
            for k in 0..200 {
                let next = if k == 199 { 6 } else { 60 };
                // Next header, length 0 (8 bytes), PadN of 4 bytes.
                ext.extend_from_slice(&[next, 0, 1, 4, 0, 0, 0, 0]);
            }
            let mut v = vec![0x60, 0, 0, 0];
            v.extend_from_slice(&((ext.len() + tcp.len()) as u16).to_be_bytes());
            v.extend_from_slice(&[0, 64]); // hop-by-hop first
            v.extend_from_slice(&s);
            v.extend_from_slice(&d);
            v.extend_from_slice(&ext);
            v.extend_from_slice(&tcp);
            v
        })
        .collect();
    let n = v6.len() as u64;
    let p = write_in(&dir, "ipv6-200-ext.pcap", &mixed_pcap(eth_recs(v6)));
    let o = hostile("IPv6 with 200 extension headers", &[&p]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let cap = capture(&o.doc, 0);
    assert_eq!(cap["packets"], n + 24);
    let tcp = cap["tcp_packets"].as_u64().unwrap();
    let v6conn = o.doc["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["server"] == "[2001:db8::2]:9010");
    match v6conn {
        // Decoded: the whole conversation, each byte once.
        Some(k) => {
            assert_eq!(tcp, n + 24);
            assert_eq!(k["bytes"]["client_to_server"], 27, "{k}");
            assert_eq!(k["ended_by"], "fin", "{k}");
        }
        // Not decoded: then none of it became a segment.
        None => assert_eq!(tcp, 24, "{cap}"),
    }
    assert_legit(&o.doc, Some(&p));
}

// ---------------------------------------------------------------------------
// Archives.

fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, *bytes).unwrap();
    }
    tar.into_inner().unwrap()
}

/// A tar archive of a good capture and a corrupt one (a valid header, then
/// record lengths of 2 GB): the good member's session is reported as
/// `ARCHIVE:member` with its verdict, the corrupt member is named with its
/// offset, exit 1. Then the same archive cut inside its second member, and
/// with a third member after it: the first is still read.
#[test]
fn tar_with_a_good_and_a_corrupt_member() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(sample("ws-loopback.pcap")).unwrap();
    let mut corrupt = pcap(1, &[], false, false);
    for _ in 0..4 {
        corrupt.extend_from_slice(&[0, 0, 0, 0x70, 0, 0, 0, 0]);
        corrupt.extend_from_slice(&0x8000_0000u32.to_le_bytes());
        corrupt.extend_from_slice(&0x8000_0000u32.to_le_bytes());
    }
    let archive = tar_of(&[("a/good.pcap", &good), ("a/corrupt.pcap", &corrupt)]);
    let t = write_in(&dir, "captures.tar", &archive);
    let o = hostile("tar with a corrupt member", &[&t]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let caps = o.doc["captures"].as_array().unwrap();
    let good_name = format!("{t}:a/good.pcap");
    let bad_name = format!("{t}:a/corrupt.pcap");
    assert_eq!(caps.len(), 2, "{caps:?}");
    assert_eq!(caps[0]["path"], good_name.as_str());
    assert!(caps[0]["error"].is_null(), "{}", caps[0]);
    assert_eq!(caps[1]["path"], bad_name.as_str());
    let e = caps[1]["error"].as_str().unwrap_or_default();
    assert!(
        e.contains(&format!(
            "{bad_name}: offset 24: record claims 2147483648 bytes"
        )),
        "{e}"
    );
    assert!(o.stderr.contains(&bad_name), "{}", o.stderr);
    assert_legit(&o.doc, Some(&good_name));

    // The archive cut inside the corrupt member's data: tar itself is
    // broken there; the good member is still reported.
    let third = tar_of(&[
        ("a/good.pcap", &good),
        ("a/corrupt.pcap", &corrupt),
        ("a/also-good.pcap", &good),
    ]);
    let second_data = 512 + good.len().div_ceil(512) * 512 + 512;
    let cut = write_in(&dir, "cut.tar", &third[..second_data + 40]);
    let whole = write_in(&dir, "three.tar", &third);
    let o = hostile("tar cut inside a member", &[&cut, &whole]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains(&cut), "{}", o.stderr);
    assert_legit(&o.doc, Some(&format!("{cut}:a/good.pcap")));
    let from_whole: Vec<&Value> = o.doc["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["capture"]
                .as_str()
                .unwrap_or_default()
                .starts_with(&whole)
        })
        .collect();
    assert_eq!(
        from_whole.len(),
        2,
        "both good members of the whole archive"
    );
    assert!(from_whole
        .iter()
        .any(|c| c["capture"] == format!("{whole}:a/also-good.pcap")));
}

/// Two broken archives whose first member is ws-loopback.pcap: one cut
/// 40 bytes into its second member's data, one whose second member
/// header has a wrong checksum. Returns their paths.
fn broken_tars(dir: &tempfile::TempDir) -> [String; 2] {
    let good = std::fs::read(sample("ws-loopback.pcap")).unwrap();
    let other = std::fs::read(sample("ws-1011.pcap")).unwrap();
    let archive = tar_of(&[("a/good.pcap", &good), ("a/other.pcap", &other)]);
    let second_header = 512 + good.len().div_ceil(512) * 512;
    let cut = write_in(dir, "cut-archive.tar", &archive[..second_header + 512 + 40]);
    let mut badsum = archive.clone();
    badsum[second_header + 148..second_header + 156].copy_from_slice(b"0000001\0");
    let badsum = write_in(dir, "bad-checksum.tar", &badsum);
    [cut, badsum]
}

/// An archive broken in its second member (cut short, or a header with a
/// wrong checksum): the first member's session is reported as
/// `ARCHIVE:member`, the archive is named as not entirely read, exit 1.
#[test]
fn tar_archive_broken_after_a_good_member() {
    let dir = tempfile::tempdir().unwrap();
    for t in broken_tars(&dir) {
        let o = hostile(&format!("broken archive {}", file_name(t.as_ref())), &[&t]);
        assert_eq!(o.code, 1, "{}", o.stderr);
        assert_legit(&o.doc, Some(&format!("{t}:a/good.pcap")));
        let caps = o.doc["captures"].as_array().unwrap();
        assert!(
            caps.iter().any(|c| c["error"]
                .as_str()
                .is_some_and(|e| e.starts_with(t.as_str()))),
            "the archive is named: {caps:?}"
        );
        assert!(o.stderr.contains(&t), "{}", o.stderr);
    }
}

/// The broken archives' messages say where in the archive reading
/// stopped, as every other unreadable input's message does.
#[test]
fn tar_archive_errors_name_an_offset() {
    let dir = tempfile::tempdir().unwrap();
    for t in broken_tars(&dir) {
        let o = hostile(
            &format!("broken archive {}: offset", file_name(t.as_ref())),
            &[&t],
        );
        let errors: Vec<&str> = o.doc["captures"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["error"].as_str())
            .collect();
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with(&format!("{t}: offset "))),
            "no offset in {errors:?}"
        );
    }
}
