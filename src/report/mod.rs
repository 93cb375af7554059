//! Report layer: the serde model of DESIGN.md's JSON contract, built from
//! engine results, and the writers (text, JSON, NDJSON) that only render it.

pub mod filter;
mod html;
pub mod knowledge_text;
pub mod merge;
pub mod spool;
mod text;
pub mod tls;

use std::collections::BTreeMap;
use std::io::{self, Write};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::analyzers::http::{Request, Response};
use crate::analyzers::session::{Analysis, Facts};
use crate::analyzers::tls::cert::Judgement;
use crate::diagnose::{Category, Disconnect, Judged, Receiver};
use crate::flow::{CaptureResult, ConnRecord, EndedBy, HalfStats};
use crate::limits::{Bytes, Limit, LimitHits, Limits};
use crate::vocab::websocket::CloseCode;
use crate::vocab::{words, Dir, PerDir};

/// What a capture's table of connections shows of one connection: kept
/// until the capture is complete, instead of its whole entry.
pub(crate) struct Row {
    pub id: String,
    pub client: String,
    pub server: String,
    pub transport: Transport,
    pub first_frame: u64,
    pub last_frame: u64,
    pub bytes: PerDirection,
    /// Both directions.
    pub gaps: u64,
    pub ended_by: EndedBy,
    /// Both directions.
    pub retransmissions: u64,
    /// Both directions.
    pub out_of_order: u64,
    /// Code, name and abnormal, when there is a verdict.
    pub verdict: Option<(Option<CloseCode>, String, bool)>,
}

impl Row {
    pub(crate) fn of(c: &ConnectionReport) -> Row {
        let both = |p: &PerDirection| p.client_to_server + p.server_to_client;
        Row {
            id: c.id.clone(),
            client: c.client.clone(),
            server: c.server.clone(),
            transport: c.transport,
            first_frame: c.first_frame,
            last_frame: c.last_frame,
            bytes: c.bytes,
            gaps: both(&c.gaps),
            ended_by: c.ended_by,
            retransmissions: both(&c.tcp.retransmissions),
            out_of_order: both(&c.tcp.out_of_order),
            verdict: c
                .disconnect
                .as_ref()
                .map(|d| (d.code, d.name.clone(), d.abnormal())),
        }
    }
}

/// The wording of a layout for people; `None` for JSON, which the spool
/// writes itself.
fn document(layout: spool::Layout) -> Option<Box<dyn spool::Document + Send>> {
    match layout {
        spool::Layout::Json => None,
        spool::Layout::Text { color } => Some(Box::new(text::Text::new(color))),
        spool::Layout::Html => Some(Box::new(html::Html::default())),
    }
}

/// Version of the JSON document's shape.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Who wrote it.
    pub tool: Tool,
    /// One per input file.
    pub captures: Vec<CaptureReport>,
    /// Every connection of every capture.
    pub connections: Vec<ConnectionReport>,
    /// Totals.
    pub summary: Summary,
    /// Which connections are kept.
    #[serde(skip)]
    pub filter: filter::Filter,
    /// Id of the next connection added.
    #[serde(skip)]
    next_id: u64,
    /// First and last abnormal disconnect per server.
    #[serde(skip)]
    abnormal_span: BTreeMap<String, (String, String)>,
    /// The newest capture has connections still to come (see
    /// [`Report::receive`]).
    #[serde(skip)]
    pub capture_open: bool,
}

/// Name and version of this program.
#[derive(Debug, Serialize)]
pub struct Tool {
    /// "wsforensics".
    pub name: &'static str,
    /// The crate version.
    pub version: &'static str,
}

/// One input file.
#[derive(Debug, Serialize)]
pub struct CaptureReport {
    /// The path as given.
    pub path: String,
    /// "pcap" or "pcapng"; null when the file could not be read at all.
    pub format: Option<&'static str>,
    /// "gzip", "zstd" or null.
    pub compression: Option<&'static str>,
    /// Frames read.
    pub packets: u64,
    /// Captured bytes of those frames.
    pub bytes: u64,
    /// Earliest frame time, RFC 3339 UTC.
    pub first_seen: Option<String>,
    /// Latest frame time.
    pub last_seen: Option<String>,
    /// Frames decoded to TCP segments.
    pub tcp_packets: u64,
    /// Things skipped while reading (reading went on).
    pub warnings: Vec<String>,
    /// Caps on memory that this capture hit: its results are incomplete
    /// where they were.
    pub limits_hit: Vec<LimitHitReport>,
    /// Why the file could not be read (entirely), if so.
    pub error: Option<String>,
    /// The files of a ring buffer read as this one capture, in time
    /// order (frame numbers count across them); left out for a capture
    /// of one file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pieces: Vec<PieceReport>,
}

/// One file of a capture read from a ring buffer's pieces.
#[derive(Debug, Serialize)]
pub struct PieceReport {
    /// The path as found.
    pub path: String,
    /// Capture-wide number of its first frame (its frame N is the
    /// capture's frame `first_frame + N - 1`).
    pub first_frame: u64,
    /// Frames it holds.
    pub packets: u64,
}

/// A cap that a capture hit.
#[derive(Debug, Serialize)]
pub struct LimitHitReport {
    /// Its name: open_connections, ooo_per_connection, ooo_total,
    /// ip_fragments, inflated_message, inflate_memory, http_head or
    /// tls_handshake.
    pub limit: &'static str,
    /// The flag that changes it.
    pub flag: &'static str,
    /// Its value in this run (bytes, or a count).
    pub value: u64,
    /// Times it was hit (for the analyzers' caps: connections that hit it).
    pub times: u64,
    /// The frame where it was first hit (for the analyzers' caps: the first
    /// frame of the first connection that hit it).
    pub first_frame: u64,
    /// What hitting it did.
    pub effect: &'static str,
}

impl LimitHitReport {
    /// The report entries and warnings of the caps hit.
    fn list(hits: &LimitHits, limits: &Limits, path: &str) -> (Vec<LimitHitReport>, Vec<String>) {
        hits.iter()
            .map(|(limit, times, first_frame)| {
                let hit = LimitHitReport {
                    limit: limit.name(),
                    flag: limit.flag(),
                    value: limits.get(limit),
                    times,
                    first_frame,
                    effect: limit.effect(),
                };
                let warning = hit.warning(limit, path);
                (hit, warning)
            })
            .unzip()
    }

    /// The warning a person reads.
    fn warning(&self, limit: Limit, path: &str) -> String {
        let value = if limit.is_bytes() {
            Bytes(self.value).to_string()
        } else {
            self.value.to_string()
        };
        let plural = if self.times == 1 { "" } else { "s" };
        let (flag, n, effect, first) = (self.flag, self.times, self.effect, self.first_frame);
        if limit.per_connection() {
            format!(
                "{path}: {n} connection{plural} hit the limit {flag} {value} (the first one starts at frame {first}): {effect}; raise the limit to see everything"
            )
        } else {
            format!(
                "{path}: frame {first}: the limit {flag} {value} was hit, {n} time{plural} in all: {effect}; raise the limit to see everything"
            )
        }
    }
}

/// Bytes per direction.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct PerDirection {
    /// Client to server.
    pub client_to_server: u64,
    /// Server to client.
    pub server_to_client: u64,
}

impl PerDirection {
    fn of(stats: &PerDir<HalfStats>, f: impl Fn(&HalfStats) -> u64) -> PerDirection {
        let [c, s] = &stats.0;
        PerDirection {
            client_to_server: f(c),
            server_to_client: f(s),
        }
    }
}

words! {
    /// What a connection carried, as far as the capture shows.
    Transport {
        /// A WebSocket in the clear.
        Ws => "ws",
        /// A WebSocket inside TLS (seen with a key log).
        Wss => "wss",
        /// TLS whose content is not known to be a WebSocket.
        Tls => "tls",
        /// HTTP without an upgrade.
        Http => "http",
        /// None of these.
        Tcp => "tcp",
    }
}

words! {
    /// How a connection's client was told from its server.
    Roles {
        /// A SYN or SYN-ACK showed who is client.
        Handshake => "handshake",
        /// Guessed (the connection was already open when the capture
        /// began).
        Inferred => "inferred",
    }
}

/// TCP-level details of a connection.
#[derive(Debug, Serialize, Deserialize)]
pub struct TcpReport {
    /// How the client was told from the server.
    pub roles: Roles,
    /// Segments whose data had all been seen before.
    pub retransmissions: PerDirection,
    /// Segments that arrived ahead of a hole.
    pub out_of_order: PerDirection,
    /// Segments that partly overlapped data already seen.
    pub overlaps: PerDirection,
    /// Overlaps whose bytes differed from the first copy.
    pub conflicting_overlaps: PerDirection,
    /// Holes turned into gaps because the out-of-order store was full.
    pub forced_gaps: PerDirection,
}

/// One connection.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConnectionReport {
    /// Stable within one report.
    pub id: String,
    /// Path of its capture.
    pub capture: String,
    /// `ip:port`, IPv6 in brackets.
    pub client: String,
    /// `ip:port`.
    pub server: String,
    /// RFC 3339 UTC.
    pub first_seen: String,
    /// RFC 3339 UTC.
    pub last_seen: String,
    /// 1-based frame number.
    pub first_frame: u64,
    /// 1-based frame number.
    pub last_frame: u64,
    /// Frames of this connection.
    pub packets: u64,
    /// What it carried, as far as seen.
    pub transport: Transport,
    /// Reassembled payload, each byte once.
    pub bytes: PerDirection,
    /// Bytes known to be missing.
    pub gaps: PerDirection,
    /// How it ended.
    pub ended_by: EndedBy,
    /// TCP details.
    pub tcp: TcpReport,
    /// TLS facts, for connections whose client spoke TLS.
    pub tls: Option<Box<tls::TlsReport>>,
    /// WebSocket facts, for connections that tried an upgrade (boxed: most
    /// connections of a large capture have none).
    pub websocket: Option<Box<WebSocketReport>>,
    /// The verdict, for connections that carried WebSocket or TLS (boxed,
    /// like `websocket`).
    pub disconnect: Option<Box<Disconnect>>,
    /// Caps this connection hit (names as in the capture's `limits_hit`);
    /// left out when none was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits_hit: Vec<Limit>,
}

/// The WebSocket part of a connection.
#[derive(Debug, Serialize, Deserialize)]
pub struct WebSocketReport {
    /// The upgrade request; null when the capture began after the upgrade.
    pub request: Option<RequestReport>,
    /// For a connection picked up after its upgrade: where its WebSocket
    /// framing was recognised; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picked_up: Option<PickedUpReport>,
    /// Its frame.
    pub request_frame: Option<u64>,
    /// The server's answer, if any.
    pub response: Option<ResponseReport>,
    /// Its frame.
    pub response_frame: Option<u64>,
    /// Frames and messages each way.
    pub frames: FramesReport,
    /// Every Close frame, in order.
    pub closes: Vec<CloseReport>,
    /// RFC 6455 violations seen on the wire.
    pub violations: Vec<ViolationReport>,
    /// Where frame parsing stopped, per direction (stream offset), if it did.
    pub unparsed_from: PerDirectionOpt,
}

/// The upgrade request, as the report shows it.
#[derive(Debug, Serialize, Deserialize)]
pub struct RequestReport {
    /// Method.
    pub method: String,
    /// Request target.
    pub path: String,
    /// `Host`.
    pub host: Option<String>,
    /// `Origin`.
    pub origin: Option<String>,
    /// Whether `Upgrade: websocket` and `Connection: upgrade` were there.
    pub upgrade: bool,
    /// `Sec-WebSocket-Version`.
    pub version: Option<String>,
    /// `Sec-WebSocket-Key`.
    pub key: Option<String>,
    /// Offered subprotocols.
    pub protocols: Vec<String>,
    /// Offered extensions, as written.
    pub extensions: Vec<String>,
    /// The first forwarding header with its value: the client is a proxy.
    pub forwarded: Option<String>,
}

impl RequestReport {
    fn of(r: &Request) -> RequestReport {
        RequestReport {
            method: r.method.clone(),
            path: r.path.clone(),
            host: r.host.clone(),
            origin: r.origin.clone(),
            upgrade: r.upgrade,
            version: r.version.clone(),
            key: r.key.clone(),
            protocols: r.protocols.clone(),
            extensions: r.extensions.clone(),
            forwarded: r.forwarded.clone(),
        }
    }
}

/// The server's answer to the upgrade, as the report shows it.
#[derive(Debug, Serialize, Deserialize)]
pub struct ResponseReport {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// `Sec-WebSocket-Accept`.
    pub accept: Option<String>,
    /// Whether `accept` is the hash of the request's key; null when there
    /// was nothing to check.
    pub accept_valid: Option<bool>,
    /// Chosen subprotocol.
    pub protocol: Option<String>,
    /// Accepted extensions.
    pub extensions: Vec<String>,
    /// `Server`.
    pub server: Option<String>,
    /// `Via`, a sign of a proxy.
    pub via: Option<String>,
    /// Start of the body, for refusals.
    pub body: Option<String>,
    /// Whether the response had `Upgrade: websocket` and `Connection: upgrade`.
    pub upgrade: bool,
}

impl ResponseReport {
    fn of(r: &Response) -> ResponseReport {
        ResponseReport {
            status: r.status,
            reason: r.reason.clone(),
            accept: r.accept.clone(),
            accept_valid: r.accept_valid,
            protocol: r.protocol.clone(),
            extensions: r.extensions.clone(),
            server: r.server.clone(),
            via: r.via.clone(),
            body: r.body.clone(),
            upgrade: r.upgrade,
        }
    }
}

/// How a connection seen without its upgrade was recognised.
#[derive(Debug, Serialize, Deserialize)]
pub struct PickedUpReport {
    /// First frame of each direction's recognised WebSocket bytes.
    pub from_frame: PerDirectionOpt,
    /// Frame at which the evidence sufficed.
    pub recognised_at_frame: u64,
    /// Evidence from the framing then, in bits (at least 32; see README).
    pub evidence_bits: u32,
}

/// An optional value per direction.
#[derive(Debug, Serialize, Deserialize)]
pub struct PerDirectionOpt {
    /// Client to server.
    pub client_to_server: Option<u64>,
    /// Server to client.
    pub server_to_client: Option<u64>,
}

/// Frame counts of one direction.
#[derive(Debug, Serialize, Deserialize)]
pub struct DirFramesReport {
    /// Frames.
    pub frames: u64,
    /// Complete messages.
    pub messages: u64,
    /// Pings.
    pub pings: u64,
    /// Pongs.
    pub pongs: u64,
    /// Messages sent compressed (permessage-deflate).
    pub compressed_messages: u64,
    /// Largest complete message in bytes as the application gets it
    /// (inflated when it was compressed).
    pub largest_message: u64,
    /// Its payload bytes on the wire.
    pub largest_message_wire: u64,
    /// Frame that completed it.
    pub largest_message_frame: Option<u64>,
}

/// Frame counts each way.
#[derive(Debug, Serialize, Deserialize)]
pub struct FramesReport {
    /// Client to server.
    pub client_to_server: DirFramesReport,
    /// Server to client.
    pub server_to_client: DirFramesReport,
}

/// A Close frame.
#[derive(Debug, Serialize, Deserialize)]
pub struct CloseReport {
    /// client or server.
    #[serde(with = "crate::vocab::sender")]
    pub sender: Dir,
    /// Status code, if any.
    pub code: Option<CloseCode>,
    /// Reason text.
    pub reason: String,
    /// Frame number.
    pub frame: u64,
    /// RFC 3339 UTC.
    pub time: String,
}

/// A violation.
#[derive(Debug, Serialize, Deserialize)]
pub struct ViolationReport {
    /// client or server.
    #[serde(with = "crate::vocab::sender")]
    pub sender: Dir,
    /// Frame number.
    pub frame: u64,
    /// What rule.
    pub what: String,
    /// The code a compliant peer must answer with.
    pub code: CloseCode,
}

/// Totals.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Captures given.
    pub captures: u64,
    /// Captures that could not be read entirely.
    pub unreadable_captures: u64,
    /// Connections.
    pub connections: u64,
    /// Disconnects per close code.
    pub by_code: BTreeMap<String, u64>,
    /// Disconnects that were not a clean close.
    pub abnormal: u64,
    /// Connections per way they ended.
    pub by_ended_by: BTreeMap<&'static str, u64>,
    /// Files in directories and archive members that are not captures.
    pub skipped_files: u64,
    /// Connections left out by --only, --code, --server, --since, --until.
    pub filtered_out: u64,
    /// Disconnects per server (`ip:port`).
    pub by_server: BTreeMap<String, Tally>,
    /// Disconnects per capture.
    pub by_capture: BTreeMap<String, Tally>,
    /// Disconnects per hour they happened in (UTC, `2026-11-23T10`).
    pub by_hour: BTreeMap<String, Tally>,
    /// The servers with the most abnormal disconnects, most first (at most
    /// [`TOP_SERVERS`]).
    pub top_abnormal_servers: Vec<TopServer>,
    /// TLS connections a key log was given for but that it had no keys
    /// for.
    pub no_keys: u64,
    /// Their client randoms (hex), the first [`NO_KEYS_LISTED`].
    pub no_keys_client_randoms: Vec<String>,
}

/// Client randoms listed in `no_keys_client_randoms`.
pub const NO_KEYS_LISTED: usize = 10;

/// What the summary needs of one connection.
#[derive(Debug)]
pub struct Counted {
    /// `ip:port`.
    pub server: String,
    /// Its capture.
    pub capture: String,
    /// RFC 3339 time of its last frame.
    pub last_seen: String,
    /// How it ended.
    pub ended_by: EndedBy,
    /// The verdict's code and whether it is abnormal, if it has one.
    pub verdict: Option<(Option<CloseCode>, bool)>,
    /// The client random of a TLS connection the key logs had no keys
    /// for.
    pub no_keys: Option<String>,
}

impl Counted {
    /// What the summary needs of `conn`.
    pub fn of(conn: &ConnectionReport) -> Counted {
        Counted {
            server: conn.server.clone(),
            capture: conn.capture.clone(),
            last_seen: conn.last_seen.clone(),
            ended_by: conn.ended_by,
            verdict: conn.disconnect.as_ref().map(|d| (d.code, d.abnormal())),
            no_keys: conn.tls.as_ref().and_then(|t| {
                let missing = t.keys_missing;
                missing.then(|| t.client_hello.as_ref().map(|h| h.client_random.clone()))?
            }),
        }
    }
}

/// Servers listed in `top_abnormal_servers`.
pub const TOP_SERVERS: usize = 10;

/// Disconnects of one server, capture or hour.
#[derive(Debug, Default, Serialize)]
pub struct Tally {
    /// Connections with a verdict.
    pub disconnects: u64,
    /// Of which abnormal.
    pub abnormal: u64,
    /// Per close code (`null` for a connection that ended inside TLS).
    pub by_code: BTreeMap<String, u64>,
    /// The abnormal ones per close code (what `top_abnormal_servers`
    /// lists).
    #[serde(skip)]
    pub abnormal_by_code: BTreeMap<String, u64>,
}

impl Tally {
    fn add(&mut self, code: &str, abnormal: bool) {
        self.disconnects += 1;
        self.abnormal += u64::from(abnormal);
        *self.by_code.entry(code.to_string()).or_insert(0) += 1;
        if abnormal {
            *self.abnormal_by_code.entry(code.to_string()).or_insert(0) += 1;
        }
    }
}

/// A server with abnormal disconnects.
#[derive(Debug, Serialize)]
pub struct TopServer {
    /// `ip:port`.
    pub server: String,
    /// Abnormal disconnects.
    pub abnormal: u64,
    /// Of all its disconnects.
    pub disconnects: u64,
    /// Its abnormal codes, most frequent first.
    pub codes: Vec<String>,
    /// First and last abnormal disconnect (RFC 3339).
    pub first: String,
    /// Last.
    pub last: String,
}

impl Report {
    /// An empty report.
    pub fn new() -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "wsforensics",
                version: env!("CARGO_PKG_VERSION"),
            },
            captures: Vec::new(),
            connections: Vec::new(),
            summary: Summary::default(),
            filter: filter::Filter::default(),
            next_id: 1,
            abnormal_span: BTreeMap::new(),
            capture_open: false,
        }
    }

    /// Add a capture that could not be opened or whose header was unreadable.
    pub fn add_unreadable(&mut self, path: &str, error: String) {
        self.summary.captures += 1;
        self.summary.unreadable_captures += 1;
        self.captures.push(CaptureReport {
            path: path.to_string(),
            format: None,
            compression: None,
            packets: 0,
            bytes: 0,
            first_seen: None,
            last_seen: None,
            tcp_packets: 0,
            warnings: Vec::new(),
            limits_hit: Vec::new(),
            error: Some(error),
            pieces: Vec::new(),
        });
    }

    /// The receiver of a capture's verdicts ([`judge_capture`]): its
    /// entry, then its connections with transport, `websocket`, `tls` and
    /// the `disconnect` verdict filled in. `flush` is called after each
    /// block of [`CONNECTION_BLOCK`] connections is added (and once for a
    /// capture without any), and may write them out and drop them
    /// ([`Report::drop_connections`]), so that a capture's report entries
    /// are never all in memory at once. Until the last block
    /// [`Report::capture_open`] is set: the newest capture has more
    /// connections to come.
    ///
    /// [`judge_capture`]: crate::diagnose::judge_capture
    pub fn receive<'a>(
        &'a mut self,
        path: &'a str,
        r: &'a CaptureResult<Analysis>,
        flush: &'a mut dyn FnMut(&mut Report),
    ) -> Receive<'a> {
        Receive {
            report: self,
            path,
            r,
            flush,
            hits: LimitHits::default(),
            first_id: 0,
            n: 0,
        }
    }

    /// The newest capture's records could not all be read back: say so
    /// in its error, which makes it count as not read completely.
    fn lose(&mut self, e: &str) {
        if let Some(c) = self.captures.last_mut() {
            if c.error.is_none() {
                self.summary.unreadable_captures += 1;
                c.error = Some(format!(
                    "{}: {e}; the connections after it are not reported",
                    c.path
                ));
            }
        }
    }

    /// Drop the connections from `start` on that the filter does not keep
    /// (`recs` holds their records, in the same order), and count the rest
    /// in the summary.
    fn keep_and_count<T>(&mut self, start: usize, recs: &[ConnRecord<T>]) {
        if !self.filter.is_empty() {
            let mut tail = self.connections.split_off(start);
            let mut recs = recs.iter();
            let before = tail.len();
            tail.retain(|c| {
                recs.next()
                    .is_some_and(|rec| self.filter.keeps(c, rec.first_seen, rec.last_seen))
            });
            self.summary.filtered_out += (before - tail.len()) as u64;
            self.connections.append(&mut tail);
        }
        self.count_from(start);
    }

    /// Count the connections from `start` on in the summary.
    fn count_from(&mut self, start: usize) {
        for k in start..self.connections.len() {
            let Some(conn) = self.connections.get(k) else {
                break;
            };
            let counted = Counted::of(conn);
            self.count(counted);
        }
    }

    /// Count one connection in the summary (call [`Report::rank_servers`]
    /// after a batch).
    pub fn count(&mut self, c: Counted) {
        self.summary.connections += 1;
        if let Some(random) = c.no_keys {
            self.summary.no_keys += 1;
            if self.summary.no_keys_client_randoms.len() < NO_KEYS_LISTED {
                self.summary.no_keys_client_randoms.push(random);
            }
        }
        *self
            .summary
            .by_ended_by
            .entry(c.ended_by.as_str())
            .or_insert(0) += 1;
        let Some((code, abnormal)) = c.verdict else {
            return;
        };
        let key = code.map_or("null".to_string(), |c| c.to_string());
        let s = &mut self.summary;
        *s.by_code.entry(key.clone()).or_insert(0) += 1;
        s.abnormal += u64::from(abnormal);
        s.by_server
            .entry(c.server.clone())
            .or_default()
            .add(&key, abnormal);
        s.by_capture
            .entry(c.capture)
            .or_default()
            .add(&key, abnormal);
        // "2026-11-23T10" from "2026-11-23T10:20:53.157597000Z".
        let hour = c.last_seen.get(..13).unwrap_or(&c.last_seen).to_string();
        s.by_hour.entry(hour).or_default().add(&key, abnormal);
        if abnormal {
            let span = self
                .abnormal_span
                .entry(c.server)
                .or_insert_with(|| (c.last_seen.clone(), c.last_seen.clone()));
            if c.last_seen < span.0 {
                span.0 = c.last_seen.clone();
            }
            if c.last_seen > span.1 {
                span.1 = c.last_seen;
            }
        }
    }

    /// Recompute `top_abnormal_servers` from `by_server`.
    pub fn rank_servers(&mut self) {
        let mut top: Vec<TopServer> = self
            .summary
            .by_server
            .iter()
            .filter(|(_, t)| t.abnormal > 0)
            .map(|(server, t)| {
                let mut codes: Vec<(&String, &u64)> = t.abnormal_by_code.iter().collect();
                codes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                let (first, last) = self.abnormal_span.get(server).cloned().unwrap_or_default();
                TopServer {
                    server: server.clone(),
                    abnormal: t.abnormal,
                    disconnects: t.disconnects,
                    codes: codes
                        .into_iter()
                        .map(|(c, n)| format!("{c} x{n}"))
                        .collect(),
                    first,
                    last,
                }
            })
            .collect();
        top.sort_by(|a, b| b.abnormal.cmp(&a.abnormal).then(a.server.cmp(&b.server)));
        top.truncate(TOP_SERVERS);
        self.summary.top_abnormal_servers = top;
    }

    /// Add the capture's entry (without its connections) and count it.
    fn push_capture<T>(&mut self, path: &str, r: &CaptureResult<T>, mut hits: LimitHits) {
        hits.merge(&r.limit_hits);
        let (limits_hit, limit_warnings) = LimitHitReport::list(&hits, &r.limits, path);
        let mut warnings = r.warnings.clone();
        warnings.extend(limit_warnings);
        self.summary.captures += 1;
        if r.error.is_some() {
            self.summary.unreadable_captures += 1;
        }
        self.captures.push(CaptureReport {
            path: path.to_string(),
            format: r.format.map(|f| f.as_str()),
            compression: match r.compression {
                crate::capture::Compression::None => None,
                crate::capture::Compression::Gzip => Some("gzip"),
                crate::capture::Compression::Zstd => Some("zstd"),
            },
            packets: r.packets,
            bytes: r.bytes,
            first_seen: r.first_seen.map(|t| t.to_string()),
            last_seen: r.last_seen.map(|t| t.to_string()),
            tcp_packets: r.decode.tcp,
            warnings,
            limits_hit,
            error: r.error.as_ref().map(|e| e.to_string()),
            pieces: if r.pieces.len() < 2 {
                Vec::new()
            } else {
                r.pieces
                    .iter()
                    .map(|p| PieceReport {
                        path: p.path.display().to_string(),
                        first_frame: p.first_frame,
                        packets: p.frames,
                    })
                    .collect()
            },
        });
    }

    /// Write the report as one JSON document, laid out as
    /// `serde_json::to_writer_pretty` would, with the connections
    /// serialized on all threads of rayon's pool.
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        self.write_as(spool::Layout::Json, out)
    }

    /// Write the report as one self-contained HTML page.
    pub fn write_html(&self, out: &mut dyn Write) -> io::Result<()> {
        self.write_as(spool::Layout::Html, out)
    }

    /// Write the whole report, held in memory, in `layout`.
    fn write_as(&self, layout: spool::Layout, out: &mut dyn Write) -> io::Result<()> {
        let mut s = spool::Spool::new(layout);
        s.take(self)?;
        s.finish(self, out)
    }

    /// Write one connection object per line, and nothing else.
    pub fn write_ndjson(&self, out: &mut dyn Write) -> io::Result<()> {
        ndjson_lines(&self.connections, out)
    }

    /// Write the connections added so far as NDJSON and drop them from the
    /// report (the summary keeps counting them): a batch streams its
    /// connections capture by capture and holds only one capture's.
    pub fn stream_ndjson(&mut self, out: &mut dyn Write) -> io::Result<()> {
        ndjson_lines(&self.connections, out)?;
        self.drop_connections();
        Ok(())
    }

    /// Drop the connections added so far (after they were written or
    /// spooled); the summary keeps counting them.
    pub fn drop_connections(&mut self) {
        self.connections.clear();
        self.connections.shrink_to(WRITE_BLOCK);
    }

    /// Write the report for a person.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        self.write_as(spool::Layout::Text { color: false }, out)
    }

    /// [`Report::write_text`] with ANSI colours (abnormal groups in red,
    /// fixes in green, warnings in yellow), for a terminal.
    pub fn write_text_in_color(&self, out: &mut dyn Write) -> io::Result<()> {
        self.write_as(spool::Layout::Text { color: true }, out)
    }
}

/// One compact JSON object per connection and line, serialized on all
/// threads of rayon's pool a block at a time.
fn ndjson_lines(conns: &[ConnectionReport], out: &mut dyn Write) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    for block in conns.chunks(WRITE_BLOCK) {
        let lines = block
            .par_iter()
            .map(|c| {
                serde_json::to_vec(c).map(|mut v| {
                    v.push(b'\n');
                    v
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        for l in lines {
            out.write_all(&l)?;
        }
    }
    out.flush()
}

/// Connections serialized at once: bounds the text held in memory.
const WRITE_BLOCK: usize = 1024;

/// Connections of one capture whose report entries are built at once
/// before they are handed on ([`Report::receive`]).
pub const CONNECTION_BLOCK: usize = 4 * WRITE_BLOCK;

/// `"key": value` at the first level of a pretty document.
fn pretty_field(out: &mut impl Write, key: &str, value: &impl Serialize) -> io::Result<()> {
    write!(out, "  \"{key}\": ")?;
    out.write_all(&pretty_at(value, 1)?)
}

/// `value` laid out as serde_json's pretty printer lays it out `level`
/// levels deep (two spaces a level), without indenting its first line.
fn pretty_at(value: &impl Serialize, level: usize) -> io::Result<Vec<u8>> {
    let mut v = Vec::with_capacity(4096);
    let mut ser = serde_json::Serializer::with_formatter(
        &mut v,
        Pretty {
            level,
            has_value: false,
        },
    );
    value.serialize(&mut ser)?;
    Ok(v)
}

/// serde_json's `PrettyFormatter` with a starting depth, so that parts of
/// one document can be serialized apart (in parallel) and joined.
struct Pretty {
    level: usize,
    has_value: bool,
}

impl Pretty {
    fn newline<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        const SPACES: &[u8] = b"                                                                ";
        w.write_all(b"\n")?;
        let mut n = self.level * 2;
        while n > 0 {
            let k = n.min(SPACES.len());
            w.write_all(SPACES.get(..k).unwrap_or_default())?;
            n -= k;
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            self.newline(w)?;
        }
        w.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            self.newline(w)?;
        }
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// The id of connection `index` of a capture whose connection 0 has id
/// `first`: ids count up across the report's captures.
fn connection_id(first: u64, index: usize) -> String {
    (first + index as u64).to_string()
}

/// A capture's verdicts on their way into a [`Report`]
/// ([`Report::receive`]).
pub struct Receive<'a> {
    report: &'a mut Report,
    path: &'a str,
    r: &'a CaptureResult<Analysis>,
    flush: &'a mut dyn FnMut(&mut Report),
    /// Caps the capture's connections hit, gathered in pass one.
    hits: LimitHits,
    /// Id of the capture's connection 0.
    first_id: u64,
    /// Connections handed over.
    n: usize,
}

impl Receiver for Receive<'_> {
    fn block_len(&self) -> usize {
        CONNECTION_BLOCK
    }

    fn surveyed(&mut self, _start: usize, recs: &[ConnRecord<Analysis>]) {
        for rec in recs {
            for limit in rec.analysis.limits_hit.iter() {
                self.hits.hit(limit, rec.first_frame);
            }
        }
    }

    fn begin(&mut self, n: usize, lost: Option<&str>) {
        let hits = std::mem::take(&mut self.hits);
        self.report.push_capture(self.path, self.r, hits);
        if let Some(e) = lost {
            self.report.lose(e);
        }
        self.n = n;
        self.first_id = self.report.next_id;
        self.report.next_id += n as u64;
    }

    fn id(&self, index: usize) -> String {
        connection_id(self.first_id, index)
    }

    fn judged(
        &mut self,
        start: usize,
        recs: &[ConnRecord<Analysis>],
        judged: Vec<Judged>,
        more: bool,
    ) {
        let (first_id, path) = (self.first_id, self.path);
        let report = &mut *self.report;
        let first = report.connections.len();
        report
            .connections
            .par_extend(recs.par_iter().zip(judged.into_par_iter()).enumerate().map(
                |(j, (rec, v))| {
                    let id = connection_id(first_id, start + j);
                    analyzed_entry(&id, path, rec, v.chain.as_ref(), v.verdict)
                },
            ));
        report.keep_and_count(first, recs);
        report.capture_open = more;
        (self.flush)(report);
    }

    fn lost(&mut self, e: &str) {
        self.report.lose(e);
        self.report.capture_open = false;
        (self.flush)(self.report);
    }

    fn end(&mut self) {
        if self.n == 0 {
            (self.flush)(self.report);
        }
        self.report.capture_open = false;
        self.report.rank_servers();
    }
}

impl Default for Report {
    fn default() -> Self {
        Report::new()
    }
}

fn dir_frames(f: &crate::analyzers::session::DirFrames) -> DirFramesReport {
    DirFramesReport {
        frames: f.frames,
        messages: f.messages,
        pings: f.pings,
        pongs: f.pongs,
        compressed_messages: f.compressed,
        largest_message: f.largest.size,
        largest_message_wire: f.largest.wire,
        largest_message_frame: (f.messages > 0).then_some(f.largest.frame),
    }
}

fn websocket(f: &Facts) -> Option<WebSocketReport> {
    let request = f
        .request
        .as_ref()
        .filter(|r| r.upgrade)
        .map(RequestReport::of);
    if request.is_none() && f.picked_up.is_none() {
        return None;
    }
    Some(WebSocketReport {
        request,
        picked_up: f.picked_up.map(|p| PickedUpReport {
            from_frame: PerDirectionOpt {
                client_to_server: p.from[Dir::ClientToServer].map(|a| a.frame),
                server_to_client: p.from[Dir::ServerToClient].map(|a| a.frame),
            },
            recognised_at_frame: p.at.frame,
            evidence_bits: p.bits,
        }),
        request_frame: f.request_at.map(|a| a.frame),
        response: f.response.as_ref().map(ResponseReport::of),
        response_frame: f.response_at.map(|a| a.frame),
        frames: FramesReport {
            client_to_server: dir_frames(&f.frames[Dir::ClientToServer]),
            server_to_client: dir_frames(&f.frames[Dir::ServerToClient]),
        },
        closes: f
            .closes
            .iter()
            .map(|c| CloseReport {
                sender: c.dir,
                code: c.code,
                reason: c.reason.clone(),
                frame: c.at.frame,
                time: c.at.ts.to_string(),
            })
            .collect(),
        violations: f
            .findings
            .iter()
            .map(|v| ViolationReport {
                sender: v.dir,
                frame: v.at.frame,
                what: v.what.clone(),
                code: v.code,
            })
            .collect(),
        unparsed_from: PerDirectionOpt {
            client_to_server: f.unparsed[Dir::ClientToServer],
            server_to_client: f.unparsed[Dir::ServerToClient],
        },
    })
}

/// The entry of an analyzed connection: [`connection`] plus transport,
/// `websocket`, `tls` and its verdict (already linked to its neighbours).
fn analyzed_entry(
    id: &str,
    capture: &str,
    rec: &ConnRecord<Analysis>,
    judged: Option<&(Judgement, i64)>,
    verdict: Option<Box<Disconnect>>,
) -> ConnectionReport {
    let mut conn = connection(id.to_string(), capture, rec);
    let f = &rec.analysis;
    conn.limits_hit.extend(f.limits_hit.iter());
    let inside_tls = f.tls.is_some();
    conn.transport = if f.upgraded() && inside_tls {
        Transport::Wss
    } else if f.upgraded() {
        Transport::Ws
    } else if f.request.is_some() && !inside_tls {
        Transport::Http
    } else if inside_tls {
        Transport::Tls
    } else {
        Transport::Tcp
    };
    conn.websocket = websocket(f).map(Box::new);
    conn.disconnect = verdict;
    if let Some(t) = &f.tls {
        let failed = conn
            .disconnect
            .as_ref()
            .is_some_and(|d| d.category == Category::TlsHandshake);
        conn.tls = Some(Box::new(tls::report(t, judged, failed)));
    }
    conn
}

fn connection<T>(id: String, capture: &str, c: &ConnRecord<T>) -> ConnectionReport {
    let s = &c.stats;
    ConnectionReport {
        id,
        capture: capture.to_string(),
        client: c.meta.client.to_string(),
        server: c.meta.server.to_string(),
        first_seen: c.first_seen.to_string(),
        last_seen: c.last_seen.to_string(),
        first_frame: c.first_frame,
        last_frame: c.last_frame,
        packets: c.packets,
        transport: Transport::Tcp,
        bytes: PerDirection::of(s, |h| h.bytes),
        gaps: PerDirection::of(s, |h| h.gap_bytes),
        ended_by: c.ended_by,
        tcp: TcpReport {
            roles: if c.meta.roles_from_handshake {
                Roles::Handshake
            } else {
                Roles::Inferred
            },
            retransmissions: PerDirection::of(s, |h| h.retransmitted_segments),
            out_of_order: PerDirection::of(s, |h| h.out_of_order_segments),
            overlaps: PerDirection::of(s, |h| h.overlaps),
            conflicting_overlaps: PerDirection::of(s, |h| h.conflicting_overlaps),
            forced_gaps: PerDirection::of(s, |h| h.forced_gaps),
        },
        tls: None,
        websocket: None,
        disconnect: None,
        limits_hit: if c.ended_by == EndedBy::Evicted {
            vec![Limit::OpenConnections]
        } else {
            Vec::new()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzers::session::SessionFactory;
    use crate::analyzers::tls::cert::TrustStore;
    use crate::diagnose::judge_capture;
    use crate::engine::{analyze_file, EngineOptions};
    use std::path::Path;

    fn sample_report(names: &[&str]) -> Report {
        let mut report = Report::new();
        for name in names {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("samples")
                .join(name);
            let r = analyze_file(&path, &SessionFactory::default(), EngineOptions::jobs(2))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let trust = TrustStore::default();
            judge_capture(&r, &trust, &mut report.receive(name, &r, &mut |_| {}));
        }
        report
    }

    #[test]
    fn json_is_serde_pretty_layout() {
        // Several connections, nested objects and arrays, null fields, and a
        // capture warning (the truncated sample).
        for names in [
            &[
                "ws-loopback.pcap",
                "ws-killed-server.pcap",
                "ws-truncated.pcap",
            ][..],
            &[][..],
        ] {
            let report = sample_report(names);
            let mut ours = Vec::new();
            report.write_json(&mut ours).unwrap();
            let mut want = serde_json::to_vec_pretty(&report).unwrap();
            want.push(b'\n');
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }

    #[test]
    fn ndjson_is_one_compact_object_per_line() {
        let report = sample_report(&["ws-loopback.pcap", "ws-403.pcap"]);
        assert!(report.connections.len() >= 2);
        let mut ours = Vec::new();
        report.write_ndjson(&mut ours).unwrap();
        let mut want = Vec::new();
        for c in &report.connections {
            serde_json::to_writer(&mut want, c).unwrap();
            want.push(b'\n');
        }
        assert_eq!(ours, want);
    }

    #[test]
    fn ids_follow_connection_order_across_captures() {
        let report = sample_report(&["ws-1008.pcap", "ws-1009.pcap"]);
        let ids: Vec<String> = report.connections.iter().map(|c| c.id.clone()).collect();
        let want: Vec<String> = (1..=ids.len()).map(|i| i.to_string()).collect();
        assert_eq!(ids, want);
        assert_eq!(report.summary.connections, ids.len() as u64);
    }
}
