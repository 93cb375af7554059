//! The parallel engine: one reader streams and decodes a capture's packets,
//! connections are sharded over worker threads by a symmetric hash of their
//! endpoints (each worker owns its own connection table, so no lock is taken
//! per packet), and bounded queues make a slow worker hold the reader back
//! instead of buffering the file. Results are merged in frame order, so the
//! output does not depend on the number of workers.
//!
//! In: a path and an [`ObserverFactory`]. Out: a [`CaptureResult`].

use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;

use crossbeam_channel::{bounded, Receiver, Sender};
use rustc_hash::FxHasher;

use crate::capture::ring::{Break, Stitched};
use crate::capture::{CaptureError, CaptureReader, Timestamp};
use crate::decode::{DecodeStats, Decoder, Segment, TcpFlags};
use crate::flow::{ConnRecord, Finished, FlowKey, Observer, ObserverFactory, Stub, Table};
use crate::limits::{LimitHits, Limits};
use crate::vocab::Endpoint;

pub use crate::flow::{CaptureResult, Spilled};

/// Out-of-order bytes all workers together may hold, unless
/// `--max-ooo-total` says otherwise.
pub const OOO_BUDGET: usize = crate::limits::OOO_TOTAL;

/// Segments per batch handed to a worker.
const BATCH_SEGMENTS: usize = 2048;
/// Payload bytes per batch.
const BATCH_BYTES: usize = 512 << 10;
/// Batches queued per worker before the reader waits.
const QUEUE_DEPTH: usize = 4;

/// How to run the engine.
#[derive(Clone, Copy, Debug)]
pub struct EngineOptions {
    /// Worker threads; 1 runs everything on the calling thread.
    pub jobs: usize,
    /// Caps of the decode and flow layers (the totals are shared out
    /// among the workers).
    pub limits: Limits,
    /// Keep the records of ended connections in temporary files instead
    /// of memory (for observers that can store them, see
    /// [`Observer::codec`]): the result's [`CaptureResult::spilled`].
    pub spill: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            limits: Limits::default(),
            spill: false,
        }
    }
}

impl EngineOptions {
    /// `jobs` workers and the default caps.
    pub fn jobs(jobs: usize) -> Self {
        EngineOptions {
            jobs,
            limits: Limits::default(),
            spill: false,
        }
    }

    /// The caps of one worker's table: its share of the totals.
    fn worker_limits(&self, jobs: usize) -> Limits {
        let share = |n: usize| n.div_ceil(jobs).max(1);
        Limits {
            open_connections: share(self.limits.open_connections),
            ooo_total: self.limits.ooo_total / jobs,
            ..self.limits
        }
    }
}

/// Put the workers' records together in first-frame order: in memory if
/// every worker kept them there, else as a [`Spilled`] index.
fn gather<T>(parts: Vec<Finished<T>>) -> (Vec<ConnRecord<T>>, Option<Spilled<T>>) {
    if parts.iter().all(|p| matches!(p, Finished::Memory(_))) {
        let mut all = Vec::new();
        for p in parts {
            if let Finished::Memory(v) = p {
                all.extend(v);
            }
        }
        all.sort_by_key(|c| c.first_frame);
        return (all, None);
    }
    let mut files = Vec::new();
    let mut index = Vec::new();
    for p in parts {
        match p {
            // Held stubs read nothing from a file: any index will do.
            Finished::Memory(v) => index.extend(v.into_iter().map(|r| (usize::MAX, Stub::held(r)))),
            Finished::Disk { file, stubs } => {
                let f = files.len();
                files.push(file);
                index.extend(stubs.into_iter().map(|s| (f, s)));
            }
        }
    }
    index.sort_by_key(|(_, s)| s.first_frame);
    (Vec::new(), Some(Spilled::new(files, index)))
}

/// A temporary file for a worker's records, if spilling.
fn spill_file(opts: &EngineOptions) -> Option<std::fs::File> {
    // Without one (no writable temporary directory) the records stay in
    // memory: a bigger run, the same result.
    opts.spill.then(|| tempfile::tempfile().ok()).flatten()
}

/// Segment header fields of a batched segment; the payload stays in the
/// reader's buffer chunk (or, for a reassembled IP datagram, in the batch's
/// spill buffer) and is not copied.
#[derive(Clone, Copy)]
struct SegMeta {
    frame: u64,
    ts: Timestamp,
    src: Endpoint,
    dst: Endpoint,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    window: u16,
    /// Index into `chunks`, or `SPILL`.
    chunk: u8,
    start: u32,
    len: u32,
    missing: u32,
}

const SPILL: u8 = u8::MAX;
/// Buffer chunks one batch may keep alive: bounds the memory that queued
/// batches pin (workers x queue depth x this x chunk size).
const MAX_CHUNKS_PER_BATCH: usize = 4;

#[derive(Default)]
struct Batch {
    segs: Vec<SegMeta>,
    chunks: Vec<Arc<Vec<u8>>>,
    spill: Vec<u8>,
}

impl Batch {
    fn push(&mut self, s: &Segment<'_>, chunk: &Arc<Vec<u8>>) {
        let base = chunk.as_ptr() as usize;
        let at = s.payload.as_ptr() as usize;
        let inside = at >= base && at + s.payload.len() <= base + chunk.len();
        let (idx, start) = if inside {
            if !self.chunks.last().is_some_and(|c| Arc::ptr_eq(c, chunk)) {
                self.chunks.push(Arc::clone(chunk));
            }
            ((self.chunks.len() - 1) as u8, (at - base) as u32)
        } else {
            let start = self.spill.len() as u32;
            self.spill.extend_from_slice(s.payload);
            (SPILL, start)
        };
        self.segs.push(SegMeta {
            frame: s.frame,
            ts: s.ts,
            src: s.src,
            dst: s.dst,
            seq: s.seq,
            ack: s.ack,
            flags: s.flags,
            window: s.window,
            chunk: idx,
            start,
            len: s.payload.len() as u32,
            missing: s.missing,
        });
    }

    fn full(&self) -> bool {
        self.segs.len() >= BATCH_SEGMENTS
            || self.spill.len() >= BATCH_BYTES
            || self.chunks.len() >= MAX_CHUNKS_PER_BATCH
    }

    fn clear(&mut self) {
        self.segs.clear();
        self.chunks.clear();
        self.spill.clear();
    }

    fn segments(&self) -> impl Iterator<Item = Segment<'_>> {
        self.segs.iter().map(|m| {
            let buf: &[u8] = if m.chunk == SPILL {
                &self.spill
            } else {
                self.chunks
                    .get(usize::from(m.chunk))
                    .map_or(&[], |c| c.as_slice())
            };
            Segment {
                frame: m.frame,
                ts: m.ts,
                src: m.src,
                dst: m.dst,
                seq: m.seq,
                ack: m.ack,
                flags: m.flags,
                window: m.window,
                payload: buf
                    .get(m.start as usize..(m.start + m.len) as usize)
                    .unwrap_or_default(),
                missing: m.missing,
            }
        })
    }
}

/// The connection a frame's TCP segment belongs to (a hash of its
/// endpoints), unless it opens one (SYN): what tells that a connection
/// crosses from one piece of a ring buffer to the next
/// ([`crate::capture::ring::plan`]).
pub fn flow_going_on(frame: &crate::capture::Frame<'_>) -> Option<u64> {
    let mut decoder = Decoder::with_fragment_cap(0);
    let seg = decoder.decode(frame)?;
    if seg.flags.has(TcpFlags::SYN) {
        return None;
    }
    let mut h = FxHasher::default();
    FlowKey::of(seg.src, seg.dst).hash(&mut h);
    Some(h.finish())
}

fn shard(key: &FlowKey, n: usize) -> usize {
    let mut h = FxHasher::default();
    key.hash(&mut h);
    // The high bits of an Fx hash are the well-mixed ones.
    ((h.finish() >> 32) % n as u64) as usize
}

struct Totals {
    packets: u64,
    bytes: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

/// Read `path` and run every connection in it through observers made by
/// `factory`. Fails only when the file cannot be opened or its header
/// cannot be read; later problems end up in `error` and `warnings`.
pub fn analyze_file<F: ObserverFactory>(
    path: &Path,
    factory: &F,
    opts: EngineOptions,
) -> Result<CaptureResult<<F::Observer as Observer>::Output>, CaptureError> {
    let reader = CaptureReader::open(path)?;
    Ok(analyze_reader(path, reader, factory, opts))
}

/// [`analyze_file`] for a reader already open.
pub fn analyze_reader<F: ObserverFactory>(
    path: &Path,
    reader: CaptureReader,
    factory: &F,
    opts: EngineOptions,
) -> CaptureResult<<F::Observer as Observer>::Output> {
    analyze_stitched(path, &mut Stitched::one(reader), factory, opts)
}

/// [`analyze_file`] for the pieces of a ring buffer read as one capture
/// named `path`: frames are numbered across the pieces. Reading stops
/// where a piece does not continue the stream or cannot be read; the
/// pieces left are in `reader` ([`Stitched::rest`]).
pub fn analyze_stitched<F: ObserverFactory>(
    path: &Path,
    reader: &mut Stitched,
    factory: &F,
    opts: EngineOptions,
) -> CaptureResult<<F::Observer as Observer>::Output> {
    let mut decoder = Decoder::with_fragment_cap(opts.limits.ip_fragments);
    let mut totals = Totals {
        packets: 0,
        bytes: 0,
        first: None,
        last: None,
    };
    let jobs = opts.jobs.max(1);
    if jobs > 1 {
        reader.read_ahead();
    }
    let limits = opts.worker_limits(jobs);
    let (mut error, parts, peak, mut hits) = if jobs == 1 {
        let mut table = Table::with_limits(factory, &limits);
        if let Some(f) = spill_file(&opts) {
            table.spill_to(f);
        }
        let error = read_all(reader, &mut decoder, &mut totals, |seg, _| {
            table.segment(seg)
        });
        let peak = table.peak_open();
        let hits = table.limit_hits();
        let records = table.finish_stored(totals.last.unwrap_or_default(), totals.packets);
        (error, vec![records], peak, hits)
    } else {
        run_sharded(
            reader,
            &mut decoder,
            &mut totals,
            factory,
            jobs,
            &limits,
            opts,
        )
    };
    let mut finished = Vec::with_capacity(parts.len());
    for p in parts {
        match p {
            Ok(f) => finished.push(f),
            // The temporary file could not take the last records (a full
            // disk): the capture counts as not read completely.
            Err(e) => {
                if error.is_none() {
                    error = Some(CaptureError::io(
                        path,
                        std::io::Error::new(
                            e.kind(),
                            format!(
                                "connection records could not be written to a temporary file: {e}"
                            ),
                        ),
                    ));
                }
            }
        }
    }
    let (connections, spilled) = gather(finished);
    let mut warnings = reader.take_warnings();
    decoder.finish();
    hits.merge(decoder.limit_hits());
    warnings.extend(decode_warnings(path, decoder.stats()));
    warnings.extend(reader.broke().map(|b| break_warning(path, b)));
    CaptureResult {
        path: path.to_path_buf(),
        format: Some(reader.format()),
        compression: reader.compression(),
        packets: totals.packets,
        bytes: totals.bytes,
        first_seen: totals.first,
        last_seen: totals.last,
        warnings,
        error,
        decode: decoder.stats().clone(),
        peak_open_connections: peak,
        limits: opts.limits,
        limit_hits: hits,
        connections,
        spilled,
        pieces: reader.pieces().to_vec(),
        broke: reader.broke().cloned(),
    }
}

fn read_all(
    reader: &mut Stitched,
    decoder: &mut Decoder,
    totals: &mut Totals,
    mut on_segment: impl FnMut(&Segment<'_>, &Arc<Vec<u8>>),
) -> Option<CaptureError> {
    loop {
        match reader.next_frame_in_chunk() {
            Ok(Some((frame, chunk))) => {
                totals.packets += 1;
                totals.bytes += frame.data.len() as u64;
                totals.first = Some(totals.first.map_or(frame.ts, |t| t.min(frame.ts)));
                totals.last = Some(totals.last.map_or(frame.ts, |t| t.max(frame.ts)));
                if let Some(seg) = decoder.decode(&frame) {
                    on_segment(&seg, chunk);
                }
            }
            Ok(None) => return None,
            Err(e) => return Some(e),
        }
    }
}

type Parts<T> = Vec<std::io::Result<Finished<T>>>;

fn run_sharded<F: ObserverFactory>(
    reader: &mut Stitched,
    decoder: &mut Decoder,
    totals: &mut Totals,
    factory: &F,
    jobs: usize,
    limits: &Limits,
    opts: EngineOptions,
) -> (
    Option<CaptureError>,
    Parts<<F::Observer as Observer>::Output>,
    usize,
    LimitHits,
) {
    std::thread::scope(|scope| {
        let (recycle_tx, recycle_rx) = bounded::<Batch>(jobs * (QUEUE_DEPTH + 1));
        let mut senders: Vec<Sender<Batch>> = Vec::with_capacity(jobs);
        let mut handles = Vec::with_capacity(jobs);
        // The end of the capture, for closing connections still open;
        // known only once the reader is done, so sent last.
        let (end_txs, end_rxs): (Vec<_>, Vec<_>) =
            (0..jobs).map(|_| bounded::<(Timestamp, u64)>(1)).unzip();
        for end_rx in end_rxs {
            let (tx, rx): (Sender<Batch>, Receiver<Batch>) = bounded(QUEUE_DEPTH);
            senders.push(tx);
            let recycle = recycle_tx.clone();
            let file = spill_file(&opts);
            handles.push(scope.spawn(move || {
                let mut table = Table::with_limits(factory, limits);
                if let Some(f) = file {
                    table.spill_to(f);
                }
                for mut batch in rx.iter() {
                    for seg in batch.segments() {
                        table.segment(&seg);
                    }
                    batch.clear();
                    let _ = recycle.try_send(batch);
                }
                let peak = table.peak_open();
                let hits = table.limit_hits();
                let (ts, frame) = end_rx.recv().unwrap_or_default();
                (table.finish_stored(ts, frame), peak, hits)
            }));
        }
        drop(recycle_tx);
        let mut pending: Vec<Batch> = (0..jobs).map(|_| Batch::default()).collect();
        // `pending` and `senders` have `jobs` entries; shard() is below it.
        let send = |i: usize, pending: &mut Vec<Batch>| {
            let (Some(slot), Some(tx)) = (pending.get_mut(i), senders.get(i)) else {
                return;
            };
            let fresh = recycle_rx.try_recv().unwrap_or_default();
            let full = std::mem::replace(slot, fresh);
            // A worker only stops early by panicking; join reports that.
            let _ = tx.send(full);
        };
        let error = read_all(reader, decoder, totals, |seg, chunk| {
            let i = shard(&FlowKey::of(seg.src, seg.dst), jobs);
            let Some(batch) = pending.get_mut(i) else {
                return;
            };
            batch.push(seg, chunk);
            if batch.full() {
                send(i, &mut pending);
            }
        });
        for i in 0..jobs {
            if pending.get(i).is_some_and(|b| !b.segs.is_empty()) {
                send(i, &mut pending);
            }
        }
        drop(senders);
        let end = (totals.last.unwrap_or_default(), totals.packets);
        for tx in &end_txs {
            let _ = tx.send(end);
        }
        let mut records = Vec::new();
        let mut peak = 0;
        let mut hits = LimitHits::default();
        for h in handles {
            match h.join() {
                Ok((r, p, k)) => {
                    records.push(r);
                    peak += p;
                    hits.merge(&k);
                }
                // invariant: workers run only our own code, which does not
                // panic on any input; if one did, re-raise it rather than
                // report a silently incomplete result.
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        (error, records, peak, hits)
    })
}

/// Why a ring buffer read as `path` ends before its last piece.
fn break_warning(path: &Path, b: &Break) -> String {
    let p = path.display();
    match b {
        Break::NotConsecutive { path: next, first, last } => format!(
            "{p}: {} does not continue this ring buffer (its first packet at {first}, the last one read before it at {last}): it and the pieces after it are read as another capture",
            next.display()
        ),
        Break::Unreadable(piece) => format!(
            "{p}: the ring buffer breaks at {}, which could not be read (further): connections open there end as capture_end, and the pieces after it are read as another capture",
            piece.display()
        ),
    }
}

fn decode_warnings(path: &Path, s: &DecodeStats) -> Vec<String> {
    let p = path.display();
    let mut w = Vec::new();
    for (lt, n) in &s.unsupported_links {
        w.push(format!(
            "{p}: {n} frames of unsupported link type {lt} were not decoded"
        ));
    }
    if s.malformed > 0 {
        w.push(format!(
            "{p}: {} frames had a cut or invalid link, IP or TCP header and were skipped",
            s.malformed
        ));
    }
    if s.cut_by_snaplen > 0 {
        w.push(format!(
            "{p}: the capture's snapshot length ({} bytes per packet) cut {} TCP segments: their missing bytes are gaps, so HTTP headers, TLS handshake messages and frame payloads past the cut could not be read",
            s.snaplen, s.cut_by_snaplen
        ));
    }
    if s.fragments_dropped > 0 {
        w.push(format!(
            "{p}: {} IP fragments could not be reassembled (missing fragments, timeout, or still incomplete when the capture ended)",
            s.fragments_dropped
        ));
    }
    w
}
