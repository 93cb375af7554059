//! Criterion benchmarks of each stage of the pipeline, on input made from
//! the bundled captures in `samples/` (read once at start, replicated in
//! memory to a few MB where one pass over the samples is too short to
//! time), through the public API only:
//!
//! | group | what one iteration does | throughput |
//! | --- | --- | --- |
//! | `capture_read` | `CaptureReader` over a pcap / pcapng image in memory, every record to a `Frame` | file bytes |
//! | `decode` | `Decoder::decode` of every frame (all link types of the samples) | frame bytes |
//! | `reassembly` | `flow::Table` over the decoded segments, with `NoAnalysis`, then with the real analyzers (`SessionFactory`) | TCP payload bytes |
//! | `websocket` | `FrameStream` over the reassembled post-upgrade streams (headers, payload delivery, unmasking); a whole `Session` (upgrade, frames, messages, permessage-deflate) on plain and compressed connections | stream bytes |
//! | `tls` | `TlsSession` on the reassembled TLS connections (records, handshake messages, certificates, alerts); with the key logs, decryption | stream bytes |
//! | `verdicts` | `diagnose` of every analysed connection; `judge_capture` into `Report::receive` (verdicts, TLS chain judgement, retry and proxy linking, summary) | connections |
//! | `json` | `Report::write_json` / `write_ndjson` of a report of a few thousand connections | connections |
//!
//! `cargo bench --bench stages` (add `-- --quick` for a short run).

use std::error::Error;
use std::hint::black_box;
use std::io::Cursor;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, Throughput};

use wsforensics::analyzers::session::{Analysis, Session, SessionFactory};
use wsforensics::analyzers::tls::cert::{Judgement, TrustStore};
use wsforensics::analyzers::tls::keylog::KeyLog;
use wsforensics::analyzers::tls::{looks_like_tls, TlsSession};
use wsforensics::analyzers::websocket::{
    unmask_into, FrameHeader, FrameSink, FrameStream, StreamItem,
};
use wsforensics::capture::{CaptureReader, Compression, Frame, LinkType, Timestamp};
use wsforensics::decode::{Decoder, Segment, TcpFlags};
use wsforensics::diagnose::{diagnose, judge_capture, tls_judgement};
use wsforensics::engine::{analyze_file, CaptureResult, EngineOptions, OOO_BUDGET};
use wsforensics::flow::{
    ConnMeta, ConnRecord, EndedBy, NoAnalysis, Observer, ObserverFactory, Table, TcpEvent,
};
use wsforensics::limits::Limits;
use wsforensics::report::Report;
use wsforensics::vocab::{At, Dir, Endpoint, PerDir};

/// Inputs are replicated up to about this many bytes.
const TARGET: usize = 4 << 20;
/// Connections in the report that the JSON writers render.
const JSON_CONNECTIONS: usize = 2000;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

// ---------------------------------------------------------------------
// Input, from the samples

struct OwnedFrame {
    ts: Timestamp,
    linktype: LinkType,
    orig_len: u32,
    data: Vec<u8>,
}

impl OwnedFrame {
    /// The frame as the decoder takes it; `i` is its 0-based position.
    fn frame(&self, i: usize) -> Frame<'_> {
        Frame {
            number: i as u64 + 1,
            ts: self.ts,
            linktype: self.linktype,
            orig_len: self.orig_len,
            data: &self.data,
        }
    }
}

struct Sample {
    name: String,
    path: PathBuf,
    frames: Vec<OwnedFrame>,
    keylog: Option<Arc<KeyLog>>,
}

/// Every plain pcap / pcapng of `samples/` (the .gz / .zst copies are
/// the same packets), with its key log when it has one.
fn load_samples() -> Result<Vec<Sample>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            )
        })
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let mut r = CaptureReader::open(&path)?;
        let mut frames = Vec::new();
        while let Some(f) = r.next_frame()? {
            frames.push(OwnedFrame {
                ts: f.ts,
                linktype: f.linktype,
                orig_len: f.orig_len,
                data: f.data.to_vec(),
            });
        }
        let keys = path.with_extension("keys");
        let keylog = if keys.exists() {
            let mut k = KeyLog::new();
            k.load(&keys)?;
            Some(Arc::new(k))
        } else {
            None
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(Sample {
            name,
            path,
            frames,
            keylog,
        });
    }
    if out.is_empty() {
        return Err(format!("no captures in {}", dir.display()).into());
    }
    Ok(out)
}

/// How many copies of `one` bytes reach [`TARGET`].
fn copies_for(one: usize) -> usize {
    TARGET.div_ceil(one.max(1)).max(1)
}

/// Seconds between copies: longer than all the samples together span.
fn copy_step(samples: &[Sample]) -> i64 {
    let ts = samples.iter().flat_map(|s| s.frames.iter().map(|f| f.ts.0));
    let (lo, hi) = ts.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    (hi.saturating_sub(lo) / 1_000_000_000).max(0) + 1
}

/// A pcap (little-endian, microseconds, Ethernet) image of the Ethernet
/// frames of every sample, `copies` times, each copy later in time.
fn pcap_image(samples: &[Sample], copies: usize, step_s: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(TARGET + (1 << 20));
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&262_144u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for k in 0..copies {
        for f in ethernet(samples) {
            let us = f.ts.0 / 1000 + k as i64 * step_s * 1_000_000;
            out.extend_from_slice(&((us / 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
            out.extend_from_slice(&f.orig_len.to_le_bytes());
            out.extend_from_slice(&f.data);
        }
    }
    out
}

/// The same frames as [`pcap_image`], as pcapng: one section, one
/// Ethernet interface (microseconds), Enhanced Packet Blocks.
fn pcapng_image(samples: &[Sample], copies: usize, step_s: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(TARGET + (1 << 20));
    // Section Header Block, length unknown.
    for w in [0x0A0D_0D0Au32, 28, 0x1A2B_3C4D] {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(-1i64).to_le_bytes());
    out.extend_from_slice(&28u32.to_le_bytes());
    // Interface Description Block: Ethernet, no options (microseconds).
    for w in [1u32, 20] {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    for w in [262_144u32, 20] {
        out.extend_from_slice(&w.to_le_bytes());
    }
    for k in 0..copies {
        for f in ethernet(samples) {
            let us = (f.ts.0 / 1000 + k as i64 * step_s * 1_000_000) as u64;
            let padded = f.data.len().div_ceil(4) * 4;
            let len = (32 + padded) as u32;
            for w in [6u32, len, 0, (us >> 32) as u32, us as u32] {
                out.extend_from_slice(&w.to_le_bytes());
            }
            out.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
            out.extend_from_slice(&f.orig_len.to_le_bytes());
            out.extend_from_slice(&f.data);
            out.resize(out.len() + padded - f.data.len(), 0);
            out.extend_from_slice(&len.to_le_bytes());
        }
    }
    out
}

fn ethernet(samples: &[Sample]) -> impl Iterator<Item = &OwnedFrame> {
    samples
        .iter()
        .flat_map(|s| s.frames.iter())
        .filter(|f| f.linktype == LinkType::ETHERNET)
}

/// A decoded TCP segment that owns its payload.
#[derive(Clone)]
struct OwnedSeg {
    frame: u64,
    ts: Timestamp,
    src: Endpoint,
    dst: Endpoint,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    window: u16,
    payload: Vec<u8>,
    missing: u32,
}

impl OwnedSeg {
    fn view(&self) -> Segment<'_> {
        Segment {
            frame: self.frame,
            ts: self.ts,
            src: self.src,
            dst: self.dst,
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            payload: &self.payload,
            missing: self.missing,
        }
    }
}

fn decode_sample(s: &Sample) -> Vec<OwnedSeg> {
    let mut d = Decoder::new();
    let mut out = Vec::new();
    for (i, f) in s.frames.iter().enumerate() {
        if let Some(seg) = d.decode(&f.frame(i)) {
            out.push(OwnedSeg {
                frame: seg.frame,
                ts: seg.ts,
                src: seg.src,
                dst: seg.dst,
                seq: seg.seq,
                ack: seg.ack,
                flags: seg.flags,
                window: seg.window,
                payload: seg.payload.to_vec(),
                missing: seg.missing,
            });
        }
    }
    out
}

/// `ip` moved to copy `k`'s addresses (octets 2-3 of IPv4, the fourth
/// group of IPv6), so that the copies' connections are distinct.
fn moved(ip: IpAddr, k: usize) -> IpAddr {
    let [hi, lo] = (k as u16).to_be_bytes();
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            IpAddr::from([o[0], o[1] ^ hi, o[2] ^ lo, o[3]])
        }
        IpAddr::V6(a) => {
            let mut s = a.segments();
            s[3] ^= k as u16;
            IpAddr::from(s)
        }
    }
}

/// Every sample's segments, `copies` times: each copy on its own
/// addresses and later in time, frame numbers counting on.
fn segments(samples: &[Sample], copies: usize, step_s: i64) -> Vec<OwnedSeg> {
    let per_sample: Vec<Vec<OwnedSeg>> = samples.iter().map(decode_sample).collect();
    let mut out = Vec::new();
    let mut frame = 0u64;
    for k in 0..copies {
        for segs in &per_sample {
            let base = frame;
            for s in segs {
                let mut s = s.clone();
                s.frame += base;
                frame = frame.max(s.frame);
                s.ts = Timestamp(s.ts.0 + k as i64 * step_s * 1_000_000_000);
                s.src.ip = moved(s.src.ip, k);
                s.dst.ip = moved(s.dst.ip, k);
                out.push(s);
            }
        }
    }
    out
}

/// One TCP event, owned.
enum Ev {
    Data {
        dir: Dir,
        offset: u64,
        bytes: Vec<u8>,
        frame: u64,
        ts: Timestamp,
    },
    Gap {
        dir: Dir,
        offset: u64,
        len: u64,
        frame: u64,
        ts: Timestamp,
    },
    Fin {
        dir: Dir,
        frame: u64,
        ts: Timestamp,
    },
    Rst {
        dir: Dir,
        frame: u64,
        ts: Timestamp,
    },
}

impl Ev {
    fn view(&self) -> TcpEvent<'_> {
        match *self {
            Ev::Data {
                dir,
                offset,
                ref bytes,
                frame,
                ts,
            } => TcpEvent::Data {
                dir,
                offset,
                bytes,
                frame,
                ts,
            },
            Ev::Gap {
                dir,
                offset,
                len,
                frame,
                ts,
            } => TcpEvent::Gap {
                dir,
                offset,
                len,
                frame,
                ts,
            },
            Ev::Fin { dir, frame, ts } => TcpEvent::Fin { dir, frame, ts },
            Ev::Rst { dir, frame, ts } => TcpEvent::Rst { dir, frame, ts },
        }
    }
}

/// Records what the flow layer hands to the analyzers.
#[derive(Default)]
struct Recorder(Vec<Ev>);

impl Observer for Recorder {
    type Output = Vec<Ev>;
    fn event(&mut self, ev: &TcpEvent<'_>) {
        self.0.push(match *ev {
            TcpEvent::Data {
                dir,
                offset,
                bytes,
                frame,
                ts,
            } => Ev::Data {
                dir,
                offset,
                bytes: bytes.to_vec(),
                frame,
                ts,
            },
            TcpEvent::Gap {
                dir,
                offset,
                len,
                frame,
                ts,
            } => Ev::Gap {
                dir,
                offset,
                len,
                frame,
                ts,
            },
            TcpEvent::Fin { dir, frame, ts } => Ev::Fin { dir, frame, ts },
            TcpEvent::Rst { dir, frame, ts } => Ev::Rst { dir, frame, ts },
        });
    }
    fn finish(self, _end: EndedBy) -> Vec<Ev> {
        self.0
    }
}

struct Recording;

impl ObserverFactory for Recording {
    type Observer = Recorder;
    fn create(&self, _meta: &ConnMeta) -> Recorder {
        Recorder::default()
    }
}

/// A reassembled connection: its events as the analyzers get them.
struct Conn {
    sample: String,
    keylog: Option<Arc<KeyLog>>,
    ended_by: EndedBy,
    events: Vec<Ev>,
}

impl Conn {
    fn data_bytes(&self) -> u64 {
        self.events
            .iter()
            .map(|e| match e {
                Ev::Data { bytes, .. } => bytes.len() as u64,
                _ => 0,
            })
            .sum()
    }

    /// The first bytes `dir` carried.
    fn first_bytes(&self, want: Dir) -> &[u8] {
        self.events
            .iter()
            .find_map(|e| match e {
                Ev::Data { dir, bytes, .. } if *dir == want => Some(&bytes[..]),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Whether the server's first answer switched to WebSocket.
    fn upgraded(&self) -> bool {
        self.first_bytes(Dir::ServerToClient)
            .starts_with(b"HTTP/1.1 101")
    }
}

fn connections(samples: &[Sample]) -> Vec<Conn> {
    let mut out = Vec::new();
    for s in samples {
        let segs = decode_sample(s);
        let mut t = Table::new(&Recording, OOO_BUDGET);
        for seg in &segs {
            t.segment(&seg.view());
        }
        let end = s.frames.last().map_or(Timestamp(0), |f| f.ts);
        for rec in t.finish(end, s.frames.len() as u64) {
            out.push(Conn {
                sample: s.name.clone(),
                keylog: s.keylog.clone(),
                ended_by: rec.ended_by,
                events: rec.analysis,
            });
        }
    }
    out
}

/// Where the WebSocket frames of a direction start: after the HTTP head.
fn ws_start(c: &Conn, dir: Dir) -> Option<u64> {
    let mut head = Vec::new();
    for e in &c.events {
        if let Ev::Data { dir: d, bytes, .. } = e {
            if *d == dir {
                head.extend_from_slice(bytes);
                if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                    return Some(i as u64 + 4);
                }
                if head.len() > 64 << 10 {
                    return None;
                }
            }
        }
    }
    None
}

/// Counts frames and unmasks the payloads, as the WebSocket analyzer does
/// before it looks at messages.
#[derive(Default)]
struct Unmasking {
    frames: u64,
    plain: Vec<u8>,
}

impl FrameSink for Unmasking {
    fn item(&mut self, item: StreamItem) {
        if matches!(item, StreamItem::Frame { .. }) {
            self.frames += 1;
        }
    }
    fn wants_payload(&mut self, _header: &FrameHeader, _offset: u64) -> bool {
        true
    }
    fn payload(&mut self, header: &FrameHeader, _offset: u64, at: u64, bytes: &[u8]) {
        self.plain.clear();
        match header.mask {
            Some(m) => unmask_into(&mut self.plain, bytes, m, at),
            None => self.plain.extend_from_slice(bytes),
        }
        black_box(&self.plain);
    }
}

/// The post-upgrade bytes of both directions of `c`, as (dir, stream
/// offset where frames start, pieces in delivery order).
struct WsStreams {
    start: [u64; 2],
    pieces: Vec<(Dir, u64, Vec<u8>)>,
    bytes: u64,
}

fn ws_streams(c: &Conn) -> Option<WsStreams> {
    let start = PerDir::from([
        ws_start(c, Dir::ClientToServer)?,
        ws_start(c, Dir::ServerToClient)?,
    ]);
    let mut pieces = Vec::new();
    let mut bytes = 0;
    for e in &c.events {
        if let Ev::Data {
            dir,
            offset,
            bytes: b,
            frame,
            ..
        } = e
        {
            let s = start[*dir];
            let end = offset + b.len() as u64;
            if end > s {
                let from = s.saturating_sub(*offset) as usize;
                let part = b.get(from..).unwrap_or_default().to_vec();
                bytes += part.len() as u64;
                pieces.push((*dir, *frame, part));
            }
        }
    }
    Some(WsStreams {
        start: start.0,
        pieces,
        bytes,
    })
}

fn replay<O: Observer>(mut o: O, c: &Conn) -> O::Output {
    for e in &c.events {
        o.event(&e.view());
    }
    o.finish(c.ended_by)
}

fn tls_replay(c: &Conn, keylog: Option<Arc<KeyLog>>) -> (u64, TlsSession) {
    let mut t = TlsSession::with_keylog(keylog);
    let mut plain = 0u64;
    let mut sink = |_dir: Dir, b: &[u8], _at: At| plain += b.len() as u64;
    for e in &c.events {
        match *e {
            Ev::Data {
                dir,
                ref bytes,
                frame,
                ts,
                ..
            } => t.data(dir, bytes, At { frame, ts }, &mut sink),
            Ev::Gap { dir, frame, ts, .. } => t.gap(dir, At { frame, ts }),
            Ev::Fin { .. } | Ev::Rst { .. } => {}
        }
    }
    (plain, t)
}

/// Every sample analysed as the command line does (one worker).
fn analysed(samples: &[Sample]) -> Result<Vec<(String, CaptureResult<Analysis>)>> {
    let mut out = Vec::new();
    for s in samples {
        let factory = SessionFactory::new(s.keylog.clone(), Limits::default());
        let r = analyze_file(&s.path, &factory, EngineOptions::jobs(1))?;
        out.push((s.name.clone(), r));
    }
    Ok(out)
}

// ---------------------------------------------------------------------
// The stages

/// What a group's input is, so that its figures can be read.
fn note(group: &str, text: std::fmt::Arguments<'_>) {
    eprintln!("stages: {group}: {text}");
}

fn configure(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    g.sample_size(20);
}

fn capture_read(c: &mut Criterion, samples: &[Sample]) {
    let one: usize = ethernet(samples).map(|f| f.data.len() + 16).sum();
    let copies = copies_for(one);
    let step = copy_step(samples);
    let images: [(&str, &'static [u8]); 2] = [
        ("pcap", pcap_image(samples, copies, step).leak()),
        ("pcapng", pcapng_image(samples, copies, step).leak()),
    ];
    note(
        "capture_read",
        format_args!(
            "the Ethernet frames of the samples x {copies}: {} records; pcap {} bytes, pcapng {} bytes",
            ethernet(samples).count() * copies,
            images[0].1.len(),
            images[1].1.len()
        ),
    );
    let mut g = c.benchmark_group("capture_read");
    configure(&mut g);
    for (name, image) in images {
        g.throughput(Throughput::Bytes(image.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let Ok(mut r) = CaptureReader::from_reader(
                    Path::new(name),
                    Box::new(Cursor::new(image)),
                    Compression::None,
                ) else {
                    return 0;
                };
                let mut n = 0usize;
                while let Ok(Some(f)) = r.next_frame() {
                    n += f.data.len();
                }
                black_box(n)
            })
        });
    }
    g.finish();
}

fn decode(c: &mut Criterion, samples: &[Sample]) {
    let one: usize = samples
        .iter()
        .flat_map(|s| s.frames.iter())
        .map(|f| f.data.len())
        .sum();
    let copies = copies_for(one);
    let frames: Vec<&OwnedFrame> = (0..copies)
        .flat_map(|_| samples.iter().flat_map(|s| s.frames.iter()))
        .collect();
    let bytes: usize = frames.iter().map(|f| f.data.len()).sum();
    note(
        "decode",
        format_args!(
            "every frame of the {} samples x {copies}: {} frames, {bytes} bytes",
            samples.len(),
            frames.len()
        ),
    );
    let mut g = c.benchmark_group("decode");
    configure(&mut g);
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("all_link_types", |b| {
        b.iter(|| {
            let mut d = Decoder::new();
            let mut n = 0usize;
            for (i, f) in frames.iter().enumerate() {
                if let Some(s) = d.decode(&f.frame(i)) {
                    n += s.payload.len();
                }
            }
            d.finish();
            black_box(n)
        })
    });
    g.finish();
}

fn reassembly(c: &mut Criterion, samples: &[Sample]) {
    let one: usize = samples
        .iter()
        .flat_map(decode_sample)
        .map(|s| s.payload.len())
        .sum();
    let segs = segments(samples, copies_for(one), copy_step(samples));
    let bytes: u64 = segs.iter().map(|s| s.payload.len() as u64).sum();
    let end = segs.last().map_or(Timestamp(0), |s| s.ts);
    let frames = segs.last().map_or(0, |s| s.frame);
    note(
        "reassembly",
        format_args!(
            "the samples' TCP segments x {}, each copy on its own addresses: {} segments, {bytes} payload bytes",
            copies_for(one),
            segs.len()
        ),
    );
    let mut g = c.benchmark_group("reassembly");
    configure(&mut g);
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("table_no_analysis", |b| {
        b.iter(|| {
            let mut t = Table::new(&NoAnalysis, OOO_BUDGET);
            for s in &segs {
                t.segment(&s.view());
            }
            black_box(t.finish(end, frames).len())
        })
    });
    // The same with the analyzers (HTTP, WebSocket, TLS) behind it, as
    // one worker of the engine runs them.
    let factory = SessionFactory::default();
    g.bench_function("table_with_sessions", |b| {
        b.iter(|| {
            let mut t = Table::new(&factory, OOO_BUDGET);
            for s in &segs {
                t.segment(&s.view());
            }
            black_box(t.finish(end, frames).len())
        })
    });
    g.finish();
}

fn websocket(c: &mut Criterion, conns: &[Conn]) {
    let ws: Vec<&Conn> = conns
        .iter()
        .filter(|c| c.sample.starts_with("ws-") && c.upgraded())
        .collect();
    let mut g = c.benchmark_group("websocket");
    configure(&mut g);
    // The frame parser alone, on every WebSocket connection's
    // post-upgrade bytes in the order and pieces the flow layer gave them.
    let streams: Vec<WsStreams> = ws.iter().filter_map(|c| ws_streams(c)).collect();
    let bytes: u64 = streams.iter().map(|s| s.bytes).sum();
    let facts: Vec<Analysis> = ws.iter().map(|c| replay(Session::default(), c)).collect();
    let count = |f: fn(&Analysis) -> u64| facts.iter().map(f).sum::<u64>();
    note(
        "websocket",
        format_args!(
            "{} upgraded connections of the ws-* samples: {bytes} bytes after the upgrades, {} frames, {} messages ({} compressed)",
            ws.len(),
            count(|a| a.frames.iter().map(|d| d.frames).sum()),
            count(|a| a.frames.iter().map(|d| d.messages).sum()),
            count(|a| a.frames.iter().map(|d| d.compressed).sum()),
        ),
    );
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("frame_stream_unmask/all_ws_samples", |b| {
        b.iter(|| {
            let mut frames = 0;
            for s in &streams {
                let mut fs = PerDir::from([
                    FrameStream::starting_at(s.start[0]),
                    FrameStream::starting_at(s.start[1]),
                ]);
                let mut sink = Unmasking::default();
                for (dir, frame, bytes) in &s.pieces {
                    fs[*dir].data(bytes, *frame, &mut sink);
                }
                frames += sink.frames;
            }
            black_box(frames)
        })
    });
    // The whole WebSocket analyzer (HTTP upgrade, frames, messages,
    // UTF-8, permessage-deflate, close handshake) on every connection.
    let all: u64 = ws.iter().map(|c| c.data_bytes()).sum();
    g.throughput(Throughput::Bytes(all));
    g.bench_function("session/all_ws_samples", |b| {
        b.iter(|| {
            for c in &ws {
                black_box(replay(Session::default(), c));
            }
        })
    });
    // One large plain connection, and the compressed ones.
    for name in ["ws-lossy.pcap", "ws-deflate.pcap", "ws-1009-deflate.pcap"] {
        let Some(conn) = ws.iter().find(|c| c.sample == name) else {
            continue;
        };
        let a = replay(Session::default(), conn);
        note(
            "websocket",
            format_args!(
                "{name}: {} bytes, {} messages, {} compressed, largest {} bytes",
                conn.data_bytes(),
                a.frames.iter().map(|d| d.messages).sum::<u64>(),
                a.frames.iter().map(|d| d.compressed).sum::<u64>(),
                a.frames.iter().map(|d| d.largest.size).max().unwrap_or(0),
            ),
        );
        g.throughput(Throughput::Bytes(conn.data_bytes()));
        g.bench_function(format!("session/{}", name.trim_end_matches(".pcap")), |b| {
            b.iter(|| black_box(replay(Session::default(), conn)))
        });
    }
    g.finish();
}

fn tls(c: &mut Criterion, conns: &[Conn]) {
    let tls: Vec<&Conn> = conns
        .iter()
        .filter(|c| looks_like_tls(c.first_bytes(Dir::ClientToServer)))
        .collect();
    let mut g = c.benchmark_group("tls");
    configure(&mut g);
    // Handshakes in the clear (the tls-* and wss-* samples): record layer,
    // hellos, certificates, alerts, the encrypted part told by its shape.
    let clear: Vec<&Conn> = tls.iter().copied().filter(|c| c.keylog.is_none()).collect();
    let keyed: Vec<&Conn> = tls.iter().copied().filter(|c| c.keylog.is_some()).collect();
    note(
        "tls",
        format_args!(
            "{} TLS connections without key log, {} bytes; {} with, {} bytes, {} bytes decrypted",
            clear.len(),
            clear.iter().map(|c| c.data_bytes()).sum::<u64>(),
            keyed.len(),
            keyed.iter().map(|c| c.data_bytes()).sum::<u64>(),
            keyed
                .iter()
                .map(|c| tls_replay(c, c.keylog.clone()).0)
                .sum::<u64>(),
        ),
    );
    g.throughput(Throughput::Bytes(
        clear.iter().map(|c| c.data_bytes()).sum(),
    ));
    g.bench_function("session/handshakes_no_keys", |b| {
        b.iter(|| {
            for c in &clear {
                black_box(tls_replay(c, None).1.finish());
            }
        })
    });
    // The decrypt-* samples with their key logs: key derivation and
    // AES-GCM / ChaCha20-Poly1305 opening of every record.
    if !keyed.is_empty() {
        g.throughput(Throughput::Bytes(
            keyed.iter().map(|c| c.data_bytes()).sum(),
        ));
        g.bench_function("session/decrypt_with_keylog", |b| {
            b.iter(|| {
                let mut plain = 0;
                for c in &keyed {
                    let (n, t) = tls_replay(c, c.keylog.clone());
                    plain += n;
                    black_box(t.finish());
                }
                black_box(plain)
            })
        });
    }
    g.finish();
}

/// A connection and its server's chain, judged.
type Judged<'a> = (&'a ConnRecord<Analysis>, Option<(Judgement, i64)>);

fn verdicts(c: &mut Criterion, results: &[(String, CaptureResult<Analysis>)]) {
    let trust = TrustStore::default();
    let recs: Vec<Judged<'_>> = results
        .iter()
        .flat_map(|(_, r)| r.connections.iter())
        .map(|rec| {
            let judged = rec
                .analysis
                .tls
                .as_ref()
                .and_then(|t| tls_judgement(t, &trust));
            (rec, judged)
        })
        .collect();
    note(
        "verdicts",
        format_args!(
            "{} connections of {} samples, analysed as the command line does",
            recs.len(),
            results.len()
        ),
    );
    let mut g = c.benchmark_group("verdicts");
    configure(&mut g);
    g.throughput(Throughput::Elements(recs.len() as u64));
    g.bench_function("diagnose", |b| {
        b.iter(|| {
            for (rec, judged) in &recs {
                black_box(diagnose(rec, judged.as_ref(), &Default::default()));
            }
        })
    });
    g.bench_function("judge_and_report", |b| {
        b.iter(|| {
            let mut report = Report::new();
            for (name, r) in results {
                judge_capture(r, &trust, &mut report.receive(name, r, &mut |_| {}));
            }
            black_box(report.summary.connections)
        })
    });
    g.finish();
}

fn json(c: &mut Criterion, results: &[(String, CaptureResult<Analysis>)]) {
    let trust = TrustStore::default();
    let per_pass: usize = results.iter().map(|(_, r)| r.connections.len()).sum();
    let passes = JSON_CONNECTIONS.div_ceil(per_pass.max(1));
    let mut report = Report::new();
    for k in 0..passes {
        for (name, r) in results {
            let name = format!("{k}/{name}");
            judge_capture(r, &trust, &mut report.receive(&name, r, &mut |_| {}));
        }
    }
    let n = report.connections.len() as u64;
    let mut out = Vec::with_capacity(64 << 20);
    let _ = report.write_json(&mut out);
    note(
        "json",
        format_args!(
            "the samples' report x {passes}: {n} connections, {} bytes of JSON",
            out.len()
        ),
    );
    let mut g = c.benchmark_group("json");
    configure(&mut g);
    g.throughput(Throughput::Elements(n));
    g.bench_function("write_json", |b| {
        b.iter(|| {
            out.clear();
            let _ = report.write_json(&mut out);
            black_box(out.len())
        })
    });
    g.bench_function("write_ndjson", |b| {
        b.iter(|| {
            out.clear();
            let _ = report.write_ndjson(&mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

fn stages(c: &mut Criterion) {
    let setup = || -> Result<_> {
        let samples = load_samples()?;
        let conns = connections(&samples);
        let results = analysed(&samples)?;
        Ok((samples, conns, results))
    };
    let (samples, conns, results) = match setup() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("stages: cannot build the input from samples/: {e}");
            std::process::exit(1);
        }
    };
    capture_read(c, &samples);
    decode(c, &samples);
    reassembly(c, &samples);
    websocket(c, &conns);
    tls(c, &conns);
    verdicts(c, &results);
    json(c, &results);
}

// What `criterion_group!` and `criterion_main!` expand to, written out so
// that no undocumented public function is generated.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    stages(&mut c);
    c.final_summary();
}
