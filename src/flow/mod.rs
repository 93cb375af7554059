//! Flow layer: the connection table of one worker, client and server roles,
//! and per-direction reassembly.
//!
//! In: [`Segment`]s. Out: per connection, a sequence of [`TcpEvent`]s fed to
//! an [`Observer`] (the analyzers), and a [`ConnRecord`] when the connection
//! ends (FIN both ways, RST, or the end of the capture).

pub mod reassembly;
mod result;
pub mod spill;

use rustc_hash::FxHashMap;

use crate::capture::Timestamp;
use crate::decode::{Segment, TcpFlags};
use crate::limits::{Limit, LimitHits, Limits};
use crate::vocab::{Dir, Endpoint, PerDir};

pub use reassembly::{Budget, HalfStats, HalfStream, Origin, MAX_OOO_PER_CONNECTION};
pub use result::{CaptureResult, Spilled};
pub use spill::{Codec, SpillFile, Stub};

use spill::SpillWriter;

/// What the TCP layer tells the analyzers about one connection, in stream
/// order per direction.
#[derive(Clone, Copy, Debug)]
pub enum TcpEvent<'a> {
    /// Bytes delivered in order; `offset` is their position in the
    /// direction's stream, `frame` the frame that carried them.
    Data {
        /// Direction.
        dir: Dir,
        /// Stream offset of the first byte.
        offset: u64,
        /// The bytes.
        bytes: &'a [u8],
        /// Frame that carried them.
        frame: u64,
        /// Its capture time.
        ts: Timestamp,
    },
    /// Bytes that are known to be missing from the stream.
    Gap {
        /// Direction.
        dir: Dir,
        /// Stream offset where the gap starts.
        offset: u64,
        /// Number of missing bytes.
        len: u64,
        /// Frame at which the gap was noticed.
        frame: u64,
        /// Its capture time.
        ts: Timestamp,
    },
    /// The sender finished its direction (its FIN, in order).
    Fin {
        /// Direction.
        dir: Dir,
        /// The FIN's frame.
        frame: u64,
        /// Its time.
        ts: Timestamp,
    },
    /// The sender reset the connection.
    Rst {
        /// Direction.
        dir: Dir,
        /// The RST's frame.
        frame: u64,
        /// Its time.
        ts: Timestamp,
    },
}

crate::vocab::words! {
    /// How a connection ended.
    EndedBy {
        /// A FIN was seen (and no RST).
        Fin => "fin",
        /// A RST was seen.
        Rst => "rst",
        /// Neither: the capture stopped while the connection was open.
        CaptureEnd => "capture_end",
        /// Neither: the connection was idle when more connections were open
        /// at once than `--max-open-connections` allows, and was closed early
        /// to make room.
        Evicted => "evicted",
    }
}

impl EndedBy {
    /// Whether the connection was still open when it stopped being
    /// followed (the capture ended, or it was evicted).
    pub fn unfinished(self) -> bool {
        matches!(self, EndedBy::CaptureEnd | EndedBy::Evicted)
    }
}

/// Facts about a connection known when it is created.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct ConnMeta {
    /// The side that opened the connection (or is inferred to have).
    pub client: Endpoint,
    /// The other side.
    pub server: Endpoint,
    /// Whether the roles come from a SYN or SYN-ACK rather than a guess.
    pub roles_from_handshake: bool,
}

/// Consumes the events of one connection; the analyze layer implements it.
pub trait Observer {
    /// What it reports when the connection ends.
    type Output: Send;
    /// One event.
    fn event(&mut self, ev: &TcpEvent<'_>);
    /// The connection is over (or the capture ended).
    fn finish(self, end: EndedBy) -> Self::Output;
    /// How its records can be stored on disk until the report is written;
    /// `None` (the default) keeps them in memory.
    fn codec() -> Option<Codec<Self::Output>> {
        None
    }
}

/// Makes an [`Observer`] for each new connection.
pub trait ObserverFactory: Sync {
    /// The observer type.
    type Observer: Observer;
    /// A fresh observer.
    fn create(&self, meta: &ConnMeta) -> Self::Observer;
}

/// An observer that looks at nothing: TCP facts only.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct NoAnalysis;

impl Observer for NoAnalysis {
    type Output = ();
    fn event(&mut self, _ev: &TcpEvent<'_>) {}
    fn finish(self, _end: EndedBy) {}
}

impl ObserverFactory for NoAnalysis {
    type Observer = NoAnalysis;
    fn create(&self, _meta: &ConnMeta) -> NoAnalysis {
        NoAnalysis
    }
}

/// What is reported about a connection.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ConnRecord<T> {
    /// Roles and how they were found.
    pub meta: ConnMeta,
    /// First frame of the connection.
    pub first_frame: u64,
    /// Last frame (trailing ACKs after the close included).
    pub last_frame: u64,
    /// Time of the first frame.
    pub first_seen: Timestamp,
    /// Time of the last frame.
    pub last_seen: Timestamp,
    /// Frames of this connection.
    pub packets: u64,
    /// Per direction, indexed by [`Dir::index`].
    pub stats: PerDir<HalfStats>,
    /// How it ended.
    pub ended_by: EndedBy,
    /// The observer's report.
    pub analysis: T,
}

struct Conn<O> {
    meta: ConnMeta,
    first_frame: u64,
    last_frame: u64,
    first_seen: Timestamp,
    last_seen: Timestamp,
    packets: u64,
    half: PerDir<HalfStream>,
    /// Client's initial sequence number, when its SYN was seen.
    client_isn: Option<u32>,
    /// Last acknowledgment number sent in each direction.
    acked: PerDir<Option<u32>>,
    fin: bool,
    rst: bool,
    /// Roles are a last-resort guess that the first payload may correct.
    tentative: bool,
    observer: O,
}

enum Slot<O> {
    Open(Box<Conn<O>>),
    /// Ended; its record is at this index. Later packets without a new SYN
    /// (the last ACK, retransmitted FINs) still belong to it.
    Closed {
        record: usize,
        client_isn: Option<u32>,
    },
}

/// A connection key that is the same for both directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    lo: Endpoint,
    hi: Endpoint,
}

impl FlowKey {
    /// The key of a segment's connection.
    pub fn of(a: Endpoint, b: Endpoint) -> FlowKey {
        if a <= b {
            FlowKey { lo: a, hi: b }
        } else {
            FlowKey { lo: b, hi: a }
        }
    }
}

/// Ports at or above this are taken as ephemeral (Linux starts its default
/// range here; the IANA range starts at 49152).
const EPHEMERAL_FROM: u16 = 32768;

/// Who speaks first: a request line or a TLS ClientHello comes from the
/// client, a status line or a ServerHello from the server. Returns whether
/// `payload`'s sender is the client, if the payload tells.
fn sender_is_client(payload: &[u8]) -> Option<bool> {
    const METHODS: [&[u8]; 9] = [
        b"GET ",
        b"POST ",
        b"PUT ",
        b"HEAD ",
        b"DELETE ",
        b"OPTIONS ",
        b"PATCH ",
        b"CONNECT ",
        b"TRACE ",
    ];
    // TLS record header: handshake (22), version 3.x, length; then the
    // handshake type: 1 ClientHello, 2 ServerHello (RFC 8446 §5.1, §4).
    let tls_handshake = payload.starts_with(&[0x16, 0x03]);
    if METHODS.iter().any(|m| payload.starts_with(m)) || tls_handshake && payload.get(5) == Some(&1)
    {
        Some(true)
    } else if payload.starts_with(b"HTTP/1.") || tls_handshake && payload.get(5) == Some(&2) {
        Some(false)
    } else {
        websocket_sender_is_client(payload)
    }
}

/// A WebSocket frame header (RFC 6455 §5.2) tells its sender by its MASK
/// bit: clients mask every frame, servers none. Only a header that an
/// endpoint could send counts: RSV2 and RSV3 clear, a defined opcode, a
/// control frame final and at most 125 bytes long.
fn websocket_sender_is_client(payload: &[u8]) -> Option<bool> {
    let (&b0, &b1) = (payload.first()?, payload.get(1)?);
    let opcode = b0 & 0x0f;
    let len = b1 & 0x7f;
    let control = opcode >= 8;
    let defined = matches!(opcode, 0 | 1 | 2 | 8 | 9 | 10);
    let possible = b0 & 0x30 == 0 && defined && (!control || (b0 & 0x80 != 0 && len <= 125));
    possible.then_some(b1 & 0x80 != 0)
}

/// Decide which side of a connection already open when the capture began is
/// the server, from the first segment seen (`src` sent it). The flag says
/// whether the evidence was good (ports or content) rather than a last
/// resort, which the first payload may still overrule.
fn infer_server(src: Endpoint, dst: Endpoint, payload: &[u8]) -> (Endpoint, bool) {
    let well_known = |p: u16| p < 1024;
    let ephemeral = |p: u16| p >= EPHEMERAL_FROM;
    if well_known(src.port) != well_known(dst.port) {
        return (if well_known(src.port) { src } else { dst }, true);
    }
    if ephemeral(src.port) != ephemeral(dst.port) {
        return (if ephemeral(src.port) { dst } else { src }, true);
    }
    match sender_is_client(payload) {
        Some(true) => return (dst, true),
        Some(false) => return (src, true),
        None => {}
    }
    if src.port != dst.port {
        return (if src.port < dst.port { src } else { dst }, false);
    }
    (dst, false)
}

/// Where a table keeps the records of ended connections.
enum Store<T> {
    Memory(Vec<ConnRecord<T>>),
    Disk {
        writer: SpillWriter<T>,
        stubs: Vec<Stub<T>>,
    },
}

impl<T> Store<T> {
    /// Keep `rec`; returns its index.
    fn push(&mut self, rec: ConnRecord<T>) -> usize {
        match self {
            Store::Memory(v) => {
                v.push(rec);
                v.len() - 1
            }
            Store::Disk { writer, stubs } => {
                stubs.push(writer.put(rec));
                stubs.len() - 1
            }
        }
    }

    fn last_frame(&self, i: usize) -> u64 {
        match self {
            Store::Memory(v) => v.get(i).map_or(0, |r| r.last_frame),
            Store::Disk { stubs, .. } => stubs.get(i).map_or(0, Stub::last_frame),
        }
    }

    /// A later packet of an ended connection.
    fn touch(&mut self, i: usize, frame: u64, ts: Timestamp) {
        match self {
            Store::Memory(v) => {
                if let Some(r) = v.get_mut(i) {
                    r.last_frame = frame;
                    r.last_seen = r.last_seen.max(ts);
                    r.packets += 1;
                }
            }
            Store::Disk { stubs, .. } => {
                if let Some(s) = stubs.get_mut(i) {
                    s.touch(frame, ts);
                }
            }
        }
    }
}

/// The records of a table's ended connections, in no particular order.
pub enum Finished<T> {
    /// All in memory.
    Memory(Vec<ConnRecord<T>>),
    /// In a temporary file; the stubs say where.
    Disk {
        /// The file.
        file: SpillFile<T>,
        /// One per connection.
        stubs: Vec<Stub<T>>,
    },
}

/// The connection table of one worker.
pub struct Table<'f, F: ObserverFactory> {
    factory: &'f F,
    slots: FxHashMap<FlowKey, Slot<F::Observer>>,
    store: Store<<F::Observer as Observer>::Output>,
    budget: Budget,
    open: usize,
    peak_open: usize,
    max_open: usize,
    evicted: LimitHits,
}

impl<'f, F: ObserverFactory> Table<'f, F> {
    /// An empty table whose out-of-order stores share `ooo_budget` bytes,
    /// with the default caps otherwise.
    pub fn new(factory: &'f F, ooo_budget: usize) -> Self {
        let limits = Limits {
            ooo_total: ooo_budget,
            ..Limits::default()
        };
        Table::with_limits(factory, &limits)
    }

    /// An empty table with the flow layer's caps from `limits`: open
    /// connections and out-of-order bytes, per connection and in total.
    /// A sharded engine gives each worker its share of the totals.
    pub fn with_limits(factory: &'f F, limits: &Limits) -> Self {
        Table {
            factory,
            slots: FxHashMap::default(),
            store: Store::Memory(Vec::new()),
            budget: Budget::with_caps(limits.ooo_total, limits.ooo_per_connection),
            open: 0,
            peak_open: 0,
            max_open: limits.open_connections.max(1),
            evicted: LimitHits::default(),
        }
    }

    /// Keep the records of ended connections in `file` (a new temporary
    /// file) instead of memory, if the observers' output can be stored
    /// ([`Observer::codec`]). Call before the first segment.
    pub fn spill_to(&mut self, file: std::fs::File) {
        let Some(codec) = F::Observer::codec() else {
            return;
        };
        if let Store::Memory(v) = &self.store {
            if v.is_empty() {
                self.store = Store::Disk {
                    writer: SpillWriter::new(file, codec),
                    stubs: Vec::new(),
                };
            }
        }
    }

    /// Connections open at once, at most, so far.
    pub fn peak_open(&self) -> usize {
        self.peak_open
    }

    /// The caps this table hit so far.
    pub fn limit_hits(&self) -> LimitHits {
        let mut h = self.budget.hits;
        h.merge(&self.evicted);
        h
    }

    /// Make room for a new connection: close the least recently active
    /// eighth of the open ones (at least one), so that the scan this takes
    /// is paid once per many new connections. An evicted connection's
    /// later packets go to its record, unanalysed.
    ///
    /// Ended connections quieter than every one evicted now are forgotten
    /// too (their later packets would start a connection of their own):
    /// otherwise their entries would pile up under a flood, and with them
    /// the memory and the time of every scan, making a flood quadratic.
    fn evict(&mut self, at: Origin) {
        let mut open: Vec<(u64, FlowKey)> = Vec::new();
        let mut ended: Vec<(u64, FlowKey)> = Vec::new();
        for (k, s) in &self.slots {
            match s {
                Slot::Open(c) => open.push((c.last_frame, *k)),
                Slot::Closed { record, .. } => {
                    ended.push((self.store.last_frame(*record), *k));
                }
            }
        }
        let n = (open.len() / 8).max(1).min(open.len());
        if n == 0 {
            return;
        }
        if n < open.len() {
            open.select_nth_unstable_by_key(n - 1, |&(frame, _)| frame);
        }
        let mut victims = open;
        victims.truncate(n);
        // Deterministic order: records are numbered as they close (a
        // frame belongs to one connection, so last frames are distinct).
        victims.sort_unstable_by_key(|&(frame, _)| frame);
        let oldest = victims.first().map_or(0, |&(frame, _)| frame);
        for (last, key) in ended {
            if last < oldest {
                self.slots.remove(&key);
            }
        }
        for (_, key) in victims {
            if let Some(Slot::Open(c)) = self.slots.remove(&key) {
                // Its later packets are counted on its record, as after a
                // close, instead of each starting a connection of its own.
                let client_isn = c.client_isn;
                let record = self.close(c, at, true);
                self.slots.insert(key, Slot::Closed { record, client_isn });
            }
        }
        self.evicted
            .hit_n(Limit::OpenConnections, n as u64, at.frame);
    }

    fn new_conn(&mut self, seg: &Segment<'_>) -> Box<Conn<F::Observer>> {
        if self.open >= self.max_open {
            self.evict(Origin {
                frame: seg.frame,
                ts: seg.ts,
            });
        }
        let syn = seg.flags.has(TcpFlags::SYN);
        let ack = seg.flags.has(TcpFlags::ACK);
        let (client, server, tentative) = if syn && !ack {
            (seg.src, seg.dst, false)
        } else if syn {
            (seg.dst, seg.src, false)
        } else {
            let (server, sure) = infer_server(seg.src, seg.dst, seg.payload);
            let client = if server == seg.src { seg.dst } else { seg.src };
            (client, server, !sure)
        };
        let meta = ConnMeta {
            client,
            server,
            roles_from_handshake: syn,
        };
        self.open += 1;
        self.peak_open = self.peak_open.max(self.open);
        Box::new(Conn {
            meta,
            first_frame: seg.frame,
            last_frame: seg.frame,
            first_seen: seg.ts,
            last_seen: seg.ts,
            packets: 0,
            half: PerDir::new(
                HalfStream::new(Dir::ClientToServer),
                HalfStream::new(Dir::ServerToClient),
            ),
            client_isn: None,
            acked: PerDir::default(),
            fin: false,
            rst: false,
            tentative,
            observer: self.factory.create(&meta),
        })
    }

    fn close(&mut self, mut conn: Box<Conn<F::Observer>>, at: Origin, evicted: bool) -> usize {
        let Conn { half, observer, .. } = &mut *conn;
        for h in half.iter_mut() {
            h.flush(at, &mut self.budget, &mut |ev| observer.event(&ev));
        }
        let ended_by = if conn.rst {
            EndedBy::Rst
        } else if conn.fin {
            EndedBy::Fin
        } else if evicted {
            EndedBy::Evicted
        } else {
            EndedBy::CaptureEnd
        };
        let c = conn;
        self.open -= 1;
        self.store.push(ConnRecord {
            meta: c.meta,
            first_frame: c.first_frame,
            last_frame: c.last_frame,
            first_seen: c.first_seen,
            last_seen: c.last_seen,
            packets: c.packets,
            stats: PerDir::new(
                c.half[Dir::ClientToServer].stats,
                c.half[Dir::ServerToClient].stats,
            ),
            ended_by,
            analysis: c.observer.finish(ended_by),
        })
    }

    /// Process one segment.
    pub fn segment(&mut self, seg: &Segment<'_>) {
        let key = FlowKey::of(seg.src, seg.dst);
        let fresh_syn = seg.flags.has(TcpFlags::SYN) && !seg.flags.has(TcpFlags::ACK);
        let at = Origin {
            frame: seg.frame,
            ts: seg.ts,
        };
        if !fresh_syn {
            // The common case: a packet of an open connection, in place.
            if let Some(Slot::Open(c)) = self.slots.get_mut(&key) {
                if !Self::feed(self.factory, &mut self.budget, c, seg, at) {
                    return;
                }
                if let Some(Slot::Open(c)) = self.slots.remove(&key) {
                    let client_isn = c.client_isn;
                    let record = self.close(c, at, false);
                    self.slots.insert(key, Slot::Closed { record, client_isn });
                }
                return;
            }
        }
        let mut conn = match self.slots.remove(&key) {
            Some(Slot::Open(c)) => {
                // Port reuse: a new SYN (another ISN) after the old
                // connection ended or got under way starts a new one.
                let reused = fresh_syn
                    && c.client_isn != Some(seg.seq)
                    && (c.fin
                        || c.rst
                        || c.half[Dir::ServerToClient].started()
                        || c.client_isn.is_some());
                if reused {
                    self.close(c, at, false);
                    self.new_conn(seg)
                } else {
                    c
                }
            }
            Some(Slot::Closed { record, client_isn }) => {
                if fresh_syn && client_isn != Some(seg.seq) {
                    self.new_conn(seg)
                } else {
                    self.store.touch(record, seg.frame, seg.ts);
                    self.slots.insert(key, Slot::Closed { record, client_isn });
                    return;
                }
            }
            None => self.new_conn(seg),
        };
        let done = Self::feed(self.factory, &mut self.budget, &mut conn, seg, at);
        if done {
            let client_isn = conn.client_isn;
            let record = self.close(conn, at, false);
            self.slots.insert(key, Slot::Closed { record, client_isn });
        } else {
            self.slots.insert(key, Slot::Open(conn));
        }
    }

    /// Feed a segment to its connection; true when the connection is over.
    fn feed(
        factory: &F,
        budget: &mut Budget,
        conn: &mut Conn<F::Observer>,
        seg: &Segment<'_>,
        at: Origin,
    ) -> bool {
        conn.packets += 1;
        conn.last_frame = seg.frame;
        conn.last_seen = conn.last_seen.max(seg.ts);
        if conn.tentative && !seg.payload.is_empty() {
            conn.tentative = false;
            let client_sent = seg.src == conn.meta.client;
            if sender_is_client(seg.payload) == Some(!client_sent)
                && conn.half.iter().all(|h| h.stats.bytes == 0)
            {
                // The guess was wrong and nothing was delivered yet: swap.
                std::mem::swap(&mut conn.meta.client, &mut conn.meta.server);
                conn.half.swap();
                conn.half[Dir::ClientToServer].set_dir(Dir::ClientToServer);
                conn.half[Dir::ServerToClient].set_dir(Dir::ServerToClient);
                conn.acked.swap();
                conn.observer = factory.create(&conn.meta);
                // Bytes already known lost (nothing was delivered, so they
                // start the stream) are told to the new observer too.
                for dir in [Dir::ClientToServer, Dir::ServerToClient] {
                    let len = conn.half[dir].stats.gap_bytes;
                    if len > 0 {
                        conn.observer.event(&TcpEvent::Gap {
                            dir,
                            offset: 0,
                            len,
                            frame: seg.frame,
                            ts: seg.ts,
                        });
                    }
                }
            }
        }
        let dir = if seg.src == conn.meta.client {
            Dir::ClientToServer
        } else {
            Dir::ServerToClient
        };
        let flags = seg.flags;
        let Conn {
            half,
            observer,
            acked,
            ..
        } = conn;
        let mut emit = |ev: TcpEvent<'_>| observer.event(&ev);
        let mut seq = seg.seq;
        if flags.has(TcpFlags::SYN) {
            half[dir].syn(seg.seq);
            if dir == Dir::ClientToServer && !flags.has(TcpFlags::ACK) {
                conn.client_isn = Some(seg.seq);
            }
            seq = seq.wrapping_add(1);
        } else if !half[dir].started() {
            if flags.has(TcpFlags::RST) && seg.wire_len() == 0 {
                // A bare RST carries no stream position worth starting at.
            } else {
                half[dir].pick_up(seq, acked[dir.reverse()], at, &mut emit);
            }
        }
        if flags.has(TcpFlags::ACK) {
            acked[dir] = Some(seg.ack);
        }
        if flags.has(TcpFlags::RST) {
            conn.rst = true;
            if half[dir].started() {
                half[dir].segment(seq, seg.payload, seg.missing, false, at, budget, &mut emit);
            }
            for h in half.iter_mut() {
                h.flush(at, budget, &mut emit);
            }
            emit(TcpEvent::Rst {
                dir,
                frame: seg.frame,
                ts: seg.ts,
            });
            return true;
        }
        let fin = flags.has(TcpFlags::FIN);
        if fin {
            conn.fin = true;
        }
        if half[dir].started() {
            half[dir].segment(seq, seg.payload, seg.missing, fin, at, budget, &mut emit);
        }
        half[Dir::ClientToServer].fin_done() && half[Dir::ServerToClient].fin_done()
    }

    /// The capture ended: close every open connection and return all
    /// records, in no particular order.
    pub fn finish(
        self,
        last: Timestamp,
        last_frame: u64,
    ) -> Vec<ConnRecord<<F::Observer as Observer>::Output>> {
        match self.finish_stored(last, last_frame) {
            Ok(Finished::Memory(v)) => v,
            // Only a table told to spill_to a file has records there.
            Ok(Finished::Disk { .. }) | Err(_) => Vec::new(),
        }
    }

    /// [`Table::finish`], with the records where the table kept them. Fails
    /// when the last records could not be written to the spill file.
    pub fn finish_stored(
        mut self,
        last: Timestamp,
        last_frame: u64,
    ) -> std::io::Result<Finished<<F::Observer as Observer>::Output>> {
        let mut open: Vec<Box<Conn<F::Observer>>> = self
            .slots
            .drain()
            .filter_map(|(_, s)| match s {
                Slot::Open(c) => Some(c),
                Slot::Closed { .. } => None,
            })
            .collect();
        // Deterministic order: observers may keep global state one day.
        open.sort_by_key(|c| c.first_frame);
        let at = Origin {
            frame: last_frame,
            ts: last,
        };
        for c in open {
            self.close(c, at, false);
        }
        Ok(match self.store {
            Store::Memory(v) => Finished::Memory(v),
            Store::Disk { writer, stubs } => Finished::Disk {
                file: writer.finish()?,
                stubs,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_websocket_header_names_its_sender_by_its_mask_bit() {
        // Client: masked binary frame of 838 bytes; server: unmasked text.
        assert_eq!(sender_is_client(&[0x82, 0xfe, 0x03, 0x46]), Some(true));
        assert_eq!(sender_is_client(&[0x81, 0x05, b'h', b'e']), Some(false));
        // Not headers an endpoint sends: RSV2, reserved opcode, a long or
        // fragmented control frame; and TLS application data.
        assert_eq!(sender_is_client(&[0xa1, 0x85]), None);
        assert_eq!(sender_is_client(&[0x83, 0x85]), None);
        assert_eq!(sender_is_client(&[0x88, 0xfe]), None);
        assert_eq!(sender_is_client(&[0x09, 0x80]), None);
        assert_eq!(sender_is_client(&[0x17, 0x03, 0x03, 0x00]), None);
        // Requests and responses still decide first.
        assert_eq!(sender_is_client(b"GET / HTTP/1.1"), Some(true));
        assert_eq!(sender_is_client(b"HTTP/1.1 101"), Some(false));
    }
}
