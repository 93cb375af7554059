//! The per-connection analyzer: finds an HTTP/1.1 WebSocket upgrade by
//! content, follows the frames of both directions after it, and collects
//! the facts the diagnose layer turns into a verdict: the handshake, frame
//! and message counts, every Close frame, RFC 6455 violations, the last
//! data each way, and how TCP ended.

use std::sync::Arc;

use crate::capture::Timestamp;
use crate::flow::{ConnMeta, EndedBy, Observer, ObserverFactory, TcpEvent};
use crate::limits::{Limit, LimitSet, Limits};
use crate::vocab::{At, Dir, PerDir};

use super::http::{self, BodyLen, Head, Request, Response};
use super::tls::{self, keylog::KeyLog, TlsFacts, TlsSession};
use super::websocket::midstream::{self, DirProbe, Kept};
use super::websocket::{
    unmask_into, FrameHeader, FrameProblem, FrameSink, FrameStream, Inflated, Inflater, Opcode,
    StreamItem, Utf8Check,
};

/// Close frames kept per connection (the first decides; the rest are
/// evidence).
const MAX_CLOSES: usize = 4;
/// Findings kept per connection; more are counted.
const MAX_FINDINGS: usize = 16;

/// A FIN or RST one side sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TcpEnd {
    /// Its sender's direction.
    pub dir: Dir,
    /// RST rather than FIN.
    pub rst: bool,
    /// Where.
    pub at: At,
}

/// A Close frame on the wire.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CloseFrame {
    /// Who sent it.
    pub dir: Dir,
    /// Status code, if the payload had one.
    pub code: Option<u16>,
    /// Reason text (lossy UTF-8).
    pub reason: String,
    /// Whether the reason was valid UTF-8.
    pub reason_utf8: bool,
    /// The peer's message in progress when this Close was sent, else its
    /// last complete one (for 1009: the message that crossed the limit).
    pub peer_message: Option<Message>,
    /// Payload length (1 is a violation).
    pub len: u64,
    /// Where it was.
    pub at: At,
}

/// An RFC 6455 rule broken on the wire.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    /// Who broke it.
    pub dir: Dir,
    /// Where.
    pub at: At,
    /// What, in a few words.
    pub what: String,
    /// The close code a compliant peer must answer with (§7.4.1).
    pub code: u16,
}

/// A message as the receiving application sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    /// Bytes the application gets (inflated when compressed); so far, if
    /// the message is not complete; a lower bound if `capped`.
    pub size: u64,
    /// Payload bytes on the wire.
    pub wire: u64,
    /// The last frame of it seen.
    pub frame: u64,
    /// When.
    pub ts: Timestamp,
    /// Text (1) or binary (2).
    pub opcode: u8,
    /// Sent compressed (permessage-deflate, RSV1).
    pub compressed: bool,
    /// Its last fragment was seen.
    pub complete: bool,
    /// `size` is exact (false when a compressed message could not be
    /// inflated: then it is the wire size).
    pub exact: bool,
    /// Inflation stopped at the cap; `size` is a lower bound.
    pub capped: bool,
    /// Sizes come from a frame header whose payload had not all gone by:
    /// what the sender announced, not what was seen.
    pub announced: bool,
}

impl Message {
    /// "text" or "binary".
    pub fn kind(&self) -> &'static str {
        if self.opcode == 1 {
            "text"
        } else {
            "binary"
        }
    }
}

/// Payload decoding state of one direction.
#[derive(Default)]
struct Decode {
    /// Stream offset of the frame whose payload is being fed.
    frame_off: Option<u64>,
    /// Payload position expected next.
    next: u64,
    text: bool,
    compressed: bool,
    utf8: Utf8Check,
    /// Bytes of the message were lost to a gap.
    lost: bool,
    /// A finding was made about this message already.
    reported: bool,
    /// permessage-deflate decoder, once negotiated.
    inflater: Option<Inflater>,
    /// A data frame whose header went by and whose payload has not all
    /// arrived: the message it belongs to, with the sizes its header
    /// announces.
    in_flight: Option<Message>,
}

thread_local! {
    /// Unmasked payload bytes, per worker thread.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Frame statistics of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DirFrames {
    /// Frames.
    pub frames: u64,
    /// Complete messages.
    pub messages: u64,
    /// Pings.
    pub pings: u64,
    /// Pongs.
    pub pongs: u64,
    /// Messages sent compressed.
    pub compressed: u64,
    /// Largest complete message (by application size).
    pub largest: Message,
    /// Message in progress.
    pub current: Option<Message>,
    /// The last complete message.
    pub last: Option<Message>,
}

/// What was learned about one connection.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Facts {
    /// The upgrade request, if the client sent an HTTP head.
    pub request: Option<Request>,
    /// Where the request head was.
    pub request_at: Option<At>,
    /// Keep-alive requests on the connection before the upgrade request.
    pub earlier_requests: u32,
    /// The server's response head.
    pub response: Option<Response>,
    /// Where it was.
    pub response_at: Option<At>,
    /// The client's first bytes were a TLS handshake record: what TLS
    /// told.
    pub tls: Option<Box<TlsFacts>>,
    /// Per direction.
    pub frames: PerDir<DirFrames>,
    /// Close frames in order.
    pub closes: Vec<CloseFrame>,
    /// Violations, in order.
    pub findings: Vec<Finding>,
    /// Violations beyond those kept.
    pub more_findings: u64,
    /// Frame parsing stopped (gap on a header, impossible header).
    pub unparsed: PerDir<Option<u64>>,
    /// Last payload each way.
    pub last_data: PerDir<Option<At>>,
    /// FIN and RST, in order.
    pub ends: Vec<TcpEnd>,
    /// Data frames a side sent after its own Close.
    pub data_after_close: Option<(Dir, At)>,
    /// How TCP ended.
    pub ended_by: Option<EndedBy>,
    /// Caps of the analyzers this connection hit.
    pub limits_hit: LimitSet,
    /// The connection was picked up after its upgrade and recognised as
    /// WebSocket by its framing alone.
    pub picked_up: Option<PickedUp>,
    /// A head each way cut short by a gap (a snapshot length): what of it
    /// was visible is in `request` / `response`.
    pub heads_cut: PerDir<bool>,
    /// Where frames were followed again after a gap hit a header or cut
    /// the HTTP head, each way.
    pub resumed: PerDir<Option<At>>,
}

/// How a connection seen without its upgrade was recognised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PickedUp {
    /// Where each direction's recognised frames begin.
    pub from: PerDir<Option<At>>,
    /// Evidence the framing gave when the connection was recognised, in
    /// bits (see [`midstream`]).
    pub bits: u32,
    /// Where it was recognised.
    pub at: At,
}

impl PickedUp {
    /// The first frame of the recognised WebSocket bytes.
    pub fn first(&self) -> Option<At> {
        self.from.iter().flatten().min_by_key(|a| a.frame).copied()
    }
}

/// What a connection's analysis found: [`Facts`], boxed only for
/// connections that carried something (payload, FIN or RST). A SYN flood's
/// connections then cost 8 bytes here instead of a kilobyte; reading an
/// empty one gives the default facts.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Analysis(Option<Box<Facts>>);

impl Analysis {
    /// The facts of a connection that saw these events.
    pub fn new(facts: Facts) -> Analysis {
        Analysis(Some(Box::new(facts)))
    }
}

impl std::ops::Deref for Analysis {
    type Target = Facts;
    fn deref(&self) -> &Facts {
        static EMPTY: std::sync::OnceLock<Facts> = std::sync::OnceLock::new();
        self.0
            .as_deref()
            .unwrap_or_else(|| EMPTY.get_or_init(Facts::default))
    }
}

impl Facts {
    /// Whether the connection carried, or tried to carry, WebSocket.
    pub fn is_websocket(&self) -> bool {
        self.request.as_ref().is_some_and(|r| r.upgrade) || self.picked_up.is_some()
    }

    /// Whether the upgrade succeeded (101 with a valid accept), or the
    /// connection was picked up carrying WebSocket frames.
    pub fn upgraded(&self) -> bool {
        self.picked_up.is_some()
            || self
                .response
                .as_ref()
                .is_some_and(|r| r.status == 101 && r.accept_valid != Some(false))
    }

    /// The permessage-deflate parameters the server accepted (RFC 7692
    /// §7.1), if it accepted the extension.
    pub fn deflate_params(&self) -> Option<Vec<String>> {
        let r = self.response.as_ref()?;
        let ext = r.extensions.iter().find(|e| {
            e.split(';')
                .next()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case("permessage-deflate"))
        })?;
        Some(
            ext.split(';')
                .skip(1)
                .map(|p| p.trim().to_ascii_lowercase())
                .collect(),
        )
    }
}

/// What every session of a run shares.
#[derive(Debug, Default)]
pub struct Settings {
    /// Secrets to decrypt TLS with, if a key log was given.
    pub keylog: Option<Arc<KeyLog>>,
    /// The analyzers' caps (HTTP head, inflation, TLS handshake message).
    pub limits: Limits,
}

/// Makes a [`Session`] per connection.
#[derive(Clone, Debug, Default)]
pub struct SessionFactory {
    settings: Arc<Settings>,
}

impl SessionFactory {
    /// Sessions that decrypt with `keylog` (when given) and keep to `limits`.
    pub fn new(keylog: Option<Arc<KeyLog>>, limits: Limits) -> SessionFactory {
        SessionFactory {
            settings: Arc::new(Settings { keylog, limits }),
        }
    }

    /// The settings its sessions get.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

impl ObserverFactory for SessionFactory {
    type Observer = Session;
    fn create(&self, _meta: &ConnMeta) -> Session {
        Session {
            plain: None,
            probed: false,
            tls: None,
            settings: Arc::clone(&self.settings),
            decrypted: PerDir::default(),
        }
    }
}

/// The analyzer of one connection.
#[derive(Default)]
pub struct Session {
    /// HTTP and WebSocket, on the TCP bytes or on what TLS decrypted;
    /// made at the connection's first event (payload, FIN or RST), so
    /// that connections that never carry anything stay small.
    plain: Option<Box<Plain>>,
    /// The connection's first bytes were looked at for TLS.
    probed: bool,
    /// The connection is TLS.
    tls: Option<Box<TlsSession>>,
    settings: Arc<Settings>,
    /// Decrypted bytes handed to `plain` so far each way: the offsets of
    /// the decrypted streams.
    decrypted: PerDir<u64>,
}

/// HTTP heads and WebSocket frames of a connection's two byte streams.
struct Plain {
    t: Tracker,
    head: PerDir<Vec<u8>>,
    head_done: PerDir<bool>,
    /// Stream offset of `head[dir][0]`.
    head_at: PerDir<u64>,
    /// Body bytes of an earlier keep-alive request or response still to
    /// skip before the next head.
    skip: PerDir<u64>,
    /// Heads read so far each way (keep-alive requests before an upgrade).
    heads: PerDir<u32>,
    /// Which request (0-based) asked for the upgrade.
    upgrade_index: Option<u32>,
    /// The method of each request before the upgrade, for bodies of
    /// responses to HEAD (none).
    head_methods: u64,
    streams: Option<PerDir<FrameStream>>,
    /// Bytes of one HTTP head kept, at most.
    max_head: usize,
    /// Looking for WebSocket framing in a connection that showed no HTTP.
    probe: Option<Box<Probe>>,
}

/// Where the search for WebSocket framing stands in one direction.
#[derive(Default)]
enum Looking {
    /// Not started: the direction has not shown that it is not HTTP.
    #[default]
    Idle,
    /// Following candidate chains.
    At(DirProbe),
    /// A chain was recognised: the frame stream took over.
    Found,
    /// Nothing was found.
    Gone,
}

/// The search for WebSocket framing in a connection seen without its
/// upgrade (see [`midstream`]).
#[derive(Default)]
struct Probe {
    dirs: PerDir<Looking>,
    /// The connection was recognised as WebSocket.
    accepted: bool,
}

/// Bits added when both directions' chains hold a Close with the same
/// code: a Close answered by its echo (RFC 6455 §5.5.1).
const ECHO_BITS: u32 = 8;

/// What the frames tell, kept apart from the frame streams so that a
/// stream can hand each frame over as it parses it.
struct Tracker {
    facts: Facts,
    closed: PerDir<bool>,
    dec: PerDir<Decode>,
    /// permessage-deflate was accepted, so RSV1 is allowed (RFC 7692);
    /// known once the response is read, checked on every frame.
    deflate: bool,
    /// Caps of inflation: bytes per message, inflater memory.
    max_inflated: u64,
    inflate_memory: usize,
    /// The connection was picked up after its upgrade: the extensions are
    /// unknown, so RSV1 on a message's first frame is taken as
    /// permessage-deflate (counted, never inflated), and a direction's
    /// first frames may continue a message begun before the capture.
    midstream: bool,
    /// A direction sent the first frame of a message.
    started: PerDir<bool>,
}

impl Tracker {
    fn find(&mut self, dir: Dir, at: At, what: String, code: u16) {
        if self.facts.findings.len() < MAX_FINDINGS {
            self.facts.findings.push(Finding {
                dir,
                at,
                what,
                code,
            });
        } else {
            self.facts.more_findings += 1;
        }
    }

    /// permessage-deflate was accepted: one inflater per direction, reset
    /// after each message where the parameters say so.
    fn negotiated(&mut self) {
        let Some(params) = self.facts.deflate_params() else {
            return;
        };
        self.deflate = true;
        let has = |p: &str| params.iter().any(|x| x == p);
        let inflater = |p: &str| {
            Some(Inflater::with_caps(
                has(p),
                self.max_inflated,
                self.inflate_memory,
            ))
        };
        self.dec[Dir::ClientToServer].inflater = inflater("client_no_context_takeover");
        self.dec[Dir::ServerToClient].inflater = inflater("server_no_context_takeover");
    }

    /// A data frame that opens a message: reset the decoding state.
    fn start_message(&mut self, dir: Dir, h: &FrameHeader, offset: u64) {
        let dec = &mut self.dec[dir];
        dec.text = h.opcode == Opcode::TEXT;
        dec.compressed = (self.deflate || self.midstream) && h.rsv & 0b100 != 0;
        dec.utf8 = Utf8Check::default();
        dec.lost = false;
        dec.reported = false;
        dec.frame_off = Some(offset);
        dec.next = 0;
    }

    fn wants_payload(&mut self, dir: Dir, h: &FrameHeader, offset: u64, at: At) -> bool {
        let before = match h.opcode {
            Opcode::TEXT | Opcode::BINARY => {
                self.start_message(dir, h, offset);
                Message {
                    opcode: h.opcode.0,
                    compressed: self.dec[dir].compressed,
                    ..Message::default()
                }
            }
            Opcode::CONTINUATION => match self.facts.frames[dir].current {
                Some(m) => {
                    self.dec[dir].frame_off = Some(offset);
                    self.dec[dir].next = 0;
                    m
                }
                None => return false,
            },
            _ => return false,
        };
        let dec = &mut self.dec[dir];
        // Lengths come from frame headers (up to 2^63 each): saturate.
        let wire = before.wire.saturating_add(h.len);
        dec.in_flight = Some(Message {
            wire,
            size: if before.compressed { before.size } else { wire },
            frame: at.frame,
            ts: at.ts,
            complete: false,
            exact: !before.compressed,
            announced: true,
            ..before
        });
        dec.text || dec.compressed
    }

    fn payload(&mut self, dir: Dir, h: &FrameHeader, at: u64, bytes: &[u8]) {
        let dec = &mut self.dec[dir];
        if at != dec.next {
            dec.lost = true;
        }
        dec.next = at + bytes.len() as u64;
        if dec.lost {
            if let Some(inf) = dec.inflater.as_mut() {
                inf.lose();
            }
            return;
        }
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let plain: &[u8] = match h.mask {
                Some(m) => {
                    scratch.clear();
                    unmask_into(&mut scratch, bytes, m, at);
                    &scratch
                }
                None => bytes,
            };
            let Decode {
                text,
                compressed,
                utf8,
                inflater,
                ..
            } = dec;
            if *compressed {
                if let Some(inf) = inflater.as_mut() {
                    inf.feed(plain, &mut |out| {
                        if *text {
                            utf8.feed(out)
                        }
                    });
                }
            } else if *text {
                utf8.feed(plain);
            }
        });
    }

    fn item(&mut self, dir: Dir, it: StreamItem, at: At) {
        match it {
            StreamItem::Frame {
                header,
                offset,
                last_frame,
                payload_head,
                payload_lost,
                ..
            } => {
                let at = At {
                    frame: last_frame,
                    ts: at.ts,
                };
                self.check(dir, &header, at);
                self.facts.frames[dir].frames += 1;
                if self.closed[dir] && !header.opcode.is_control() {
                    self.facts.data_after_close.get_or_insert((dir, at));
                }
                match header.opcode {
                    Opcode::TEXT | Opcode::BINARY => {
                        if self.facts.frames[dir].current.is_some() {
                            self.find(
                                dir,
                                at,
                                "a new message started inside a fragmented one".into(),
                                1002,
                            );
                        }
                        self.started[dir] = true;
                        if self.dec[dir].frame_off != Some(offset) {
                            self.start_message(dir, &header, offset);
                        }
                        let compressed = self.dec[dir].compressed;
                        let f = &mut self.facts.frames[dir];
                        if compressed {
                            f.compressed += 1;
                        }
                        f.current = Some(Message {
                            opcode: header.opcode.0,
                            compressed,
                            ..Message::default()
                        });
                        self.data_frame(dir, &header, payload_lost, at);
                    }
                    Opcode::CONTINUATION => {
                        if self.facts.frames[dir].current.is_some() {
                            self.data_frame(dir, &header, payload_lost, at);
                        } else if self.midstream && !self.started[dir] {
                            // The rest of a message sent before the
                            // capture began: a frame, not a message.
                        } else {
                            self.find(
                                dir,
                                at,
                                "continuation frame without a message to continue".into(),
                                1002,
                            );
                        }
                    }
                    Opcode::PING => self.facts.frames[dir].pings += 1,
                    Opcode::PONG => self.facts.frames[dir].pongs += 1,
                    Opcode::CLOSE => self.close(dir, &header, &payload_head, at),
                    _ => {}
                }
            }
            StreamItem::Desynchronized { offset } => {
                self.facts.unparsed[dir] = Some(offset);
            }
            StreamItem::Malformed { offset, problem } => {
                self.facts.unparsed[dir] = Some(offset);
                let what = match problem {
                    FrameProblem::LengthHighBit => {
                        "a 64-bit payload length with its most significant bit set (RFC 6455 §5.2 requires 0)"
                    }
                };
                self.find(dir, at, what.to_string(), 1002);
            }
        }
    }

    /// A frame of the message in progress went by: count it, check its
    /// text, and end the message on its last fragment.
    fn data_frame(&mut self, dir: Dir, h: &FrameHeader, lost: u64, at: At) {
        self.dec[dir].in_flight = None;
        if lost > 0 {
            self.dec[dir].lost = true;
            if let Some(inf) = self.dec[dir].inflater.as_mut() {
                inf.lose();
            }
        }
        let mut done = None;
        if h.fin {
            let dec = &mut self.dec[dir];
            if dec.compressed {
                let Decode {
                    text,
                    utf8,
                    inflater,
                    ..
                } = dec;
                done = inflater.as_mut().map(|inf| {
                    inf.finish(&mut |out| {
                        if *text {
                            utf8.feed(out)
                        }
                    })
                });
            }
        }
        let (so_far, exact) = match (self.dec[dir].compressed, &self.dec[dir].inflater) {
            (true, Some(inf)) => (inf.so_far(), inf.inflating()),
            _ => (0, true),
        };
        let dec_compressed = self.dec[dir].compressed;
        let Some(m) = self.facts.frames[dir].current.as_mut() else {
            return;
        };
        m.wire = m.wire.saturating_add(h.len);
        m.frame = at.frame;
        m.ts = at.ts;
        if dec_compressed && self.dec[dir].inflater.is_none() {
            // Compressed without a negotiation seen: the wire size, not
            // what the application got.
            m.size = m.wire;
            m.exact = false;
        } else if dec_compressed {
            m.size = so_far;
            m.exact = exact;
        } else {
            m.size = m.wire;
            m.exact = true;
        }
        if let Some(r) = done {
            match r {
                Inflated::Bytes(n) => {
                    m.size = n;
                    m.exact = true;
                }
                Inflated::MoreThan(n) => {
                    m.size = n;
                    m.exact = true;
                    m.capped = true;
                    self.facts.limits_hit.insert(Limit::InflatedMessage);
                }
                Inflated::Corrupt | Inflated::Unknown => {
                    m.size = m.wire;
                    m.exact = false;
                }
            }
            if r == Inflated::Corrupt {
                self.dec[dir].reported = true;
                self.find(
                    dir,
                    at,
                    "compressed message does not inflate (permessage-deflate)".into(),
                    1007,
                );
            }
        }
        let dec = &self.dec[dir];
        let checkable = dec.text && !dec.lost && !dec.reported;
        let readable = !dec.compressed || matches!(done, Some(Inflated::Bytes(_)));
        let bad_text = checkable && (dec.utf8.failed() || (h.fin && readable && !dec.utf8.valid()));
        if bad_text {
            self.dec[dir].reported = true;
            self.find(dir, at, "text message is not valid UTF-8".into(), 1007);
        }
        if h.fin {
            self.end_message(dir);
        }
    }

    fn close(
        &mut self,
        dir: Dir,
        h: &FrameHeader,
        payload: &super::websocket::PayloadHead,
        at: At,
    ) {
        let p = payload.as_slice();
        let (code, reason_bytes) = match p {
            [a, b, reason @ ..] => (Some(u16::from_be_bytes([*a, *b])), reason),
            _ => (None, &[][..]),
        };
        let reason_utf8 = std::str::from_utf8(reason_bytes).is_ok();
        if h.len == 1 {
            self.find(dir, at, "Close frame with a 1-byte payload".into(), 1002);
        }
        if let Some(c) = code {
            // RFC 6455 §7.4.1-2: codes an endpoint may send.
            let valid = matches!(c, 1000..=1003 | 1007..=1014 | 3000..=4999);
            if !valid {
                self.find(
                    dir,
                    at,
                    format!("Close frame carries code {c}, which may not be sent"),
                    1002,
                );
            }
        }
        if !reason_utf8 {
            self.find(dir, at, "Close reason is not valid UTF-8".into(), 1007);
        }
        self.closed[dir] = true;
        let peer = &self.facts.frames[dir.reverse()];
        let peer_message = self.dec[dir.reverse()]
            .in_flight
            .or(peer.current)
            .or(peer.last);
        if self.facts.closes.len() < MAX_CLOSES {
            self.facts.closes.push(CloseFrame {
                dir,
                code,
                reason: String::from_utf8_lossy(reason_bytes).into_owned(),
                reason_utf8,
                peer_message,
                len: h.len,
                at,
            });
        }
    }

    fn end_message(&mut self, dir: Dir) {
        let f = &mut self.facts.frames[dir];
        if let Some(mut m) = f.current.take() {
            m.complete = true;
            f.messages += 1;
            if m.size >= f.largest.size {
                f.largest = m;
            }
            f.last = Some(m);
        }
        self.dec[dir].frame_off = None;
    }

    /// RFC 6455 §5 rules that one frame header can break.
    fn check(&mut self, dir: Dir, h: &FrameHeader, at: At) {
        // §5.1: clients mask every frame, servers none.
        match (dir, h.mask.is_some()) {
            (Dir::ClientToServer, false) => self.find(
                dir,
                at,
                "unmasked frame (clients must mask every frame)".into(),
                1002,
            ),
            (Dir::ServerToClient, true) => {
                self.find(dir, at, "masked frame (servers must not mask)".into(), 1002)
            }
            _ => {}
        }
        if h.opcode.is_reserved() {
            self.find(dir, at, format!("reserved opcode {:#x}", h.opcode.0), 1002);
        }
        // §5.2: RSV bits need an extension that defines them; RFC 7692
        // gives RSV1 to permessage-deflate.
        let extension = self.deflate || self.midstream;
        let allowed = if extension { 0b100 } else { 0 };
        if extension
            && h.rsv & 0b100 != 0
            && (h.opcode.is_control() || h.opcode == Opcode::CONTINUATION)
        {
            // RFC 7692 §6.1: RSV1 marks the first frame of a compressed
            // message, nothing else.
            self.find(
                dir,
                at,
                format!("RSV1 set on a {} frame", h.opcode.name()),
                1002,
            );
        } else if h.rsv & !allowed != 0 {
            self.find(
                dir,
                at,
                format!(
                    "RSV bits {:03b} set without an extension that defines them",
                    h.rsv
                ),
                1002,
            );
        }
        // §5.5: control frames are at most 125 bytes and never fragmented.
        if h.opcode.is_control() && (h.len > 125 || !h.fin) {
            let what = if h.len > 125 {
                format!(
                    "{} frame of {} bytes (control frames are at most 125)",
                    h.opcode.name(),
                    h.len
                )
            } else {
                format!("fragmented {} frame", h.opcode.name())
            };
            self.find(dir, at, what, 1002);
        }
    }
}

/// Heads read per direction before giving up on finding an upgrade.
const MAX_HEADS: u32 = 64;

/// What reading one head led to.
enum Step {
    /// Not all of the head is here yet.
    NeedMore,
    /// The last head of the direction: WebSocket bytes (or nothing we
    /// follow) come after its `n` bytes.
    Done(usize),
    /// A keep-alive head of `n` bytes with a body of this many bytes;
    /// another head follows.
    Skip(usize, u64),
    /// Nothing more to read as HTTP.
    GiveUp,
}

/// Hands a direction's frames and payload bytes to the tracker.
struct Sink<'a> {
    t: &'a mut Tracker,
    dir: Dir,
    at: At,
}

impl FrameSink for Sink<'_> {
    fn item(&mut self, item: StreamItem) {
        self.t.item(self.dir, item, self.at);
    }

    fn wants_payload(&mut self, header: &FrameHeader, offset: u64) -> bool {
        self.t.wants_payload(self.dir, header, offset, self.at)
    }

    fn payload(&mut self, header: &FrameHeader, _offset: u64, at: u64, bytes: &[u8]) {
        self.t.payload(self.dir, header, at, bytes);
    }
}

impl Plain {
    fn new(limits: &Limits) -> Plain {
        Plain {
            t: Tracker {
                facts: Facts::default(),
                closed: PerDir::default(),
                dec: Default::default(),
                deflate: false,
                max_inflated: limits.inflated_message,
                inflate_memory: limits.inflate_memory,
                midstream: false,
                started: PerDir::default(),
            },
            head: Default::default(),
            head_done: PerDir::default(),
            head_at: PerDir::default(),
            skip: PerDir::default(),
            heads: PerDir::default(),
            upgrade_index: None,
            head_methods: 0,
            streams: None,
            max_head: limits.http_head,
            probe: None,
        }
    }

    /// The frame streams, made stopped both ways if there were none (a
    /// direction starts when the search hands it a chain).
    fn frame_streams(&mut self) -> &mut PerDir<FrameStream> {
        self.streams.get_or_insert_with(|| {
            PerDir::new(FrameStream::stopped_at(0), FrameStream::stopped_at(0))
        })
    }

    /// Whether a direction's bytes go to the framing search.
    fn probing(&self, dir: Dir) -> bool {
        self.probe
            .as_ref()
            .is_some_and(|p| matches!(p.dirs[dir], Looking::At(_)))
    }

    /// Start the framing search in a direction, if the connection showed
    /// no HTTP head either way and the direction was not searched yet.
    fn start_probe(&mut self, dir: Dir) -> bool {
        let no_http = self.t.facts.request.is_none()
            && self.t.facts.response.is_none()
            && self.heads.iter().all(|&n| n == 0);
        if !no_http {
            return false;
        }
        let probe = self.probe.get_or_insert_with(Box::default);
        if !matches!(probe.dirs[dir], Looking::Idle) {
            return false;
        }
        probe.dirs[dir] = Looking::At(DirProbe::new(dir == Dir::ClientToServer));
        self.head_done[dir] = true;
        self.head[dir] = Vec::new();
        true
    }

    /// Bytes of a direction being searched.
    fn probe_data(&mut self, dir: Dir, offset: u64, bytes: &[u8], at: At) {
        if let Some(Looking::At(p)) = self.probe.as_mut().map(|p| &mut p.dirs[dir]) {
            p.data(offset, bytes, at.frame, at.ts);
        }
        self.settle(at);
    }

    /// A hole in a direction being searched.
    fn probe_gap(&mut self, dir: Dir, len: u64, at: At) {
        if let Some(Looking::At(p)) = self.probe.as_mut().map(|p| &mut p.dirs[dir]) {
            p.gap(len, at.frame, at.ts);
        }
        self.settle(at);
    }

    /// Decide what the search found so far: the connection once its
    /// chains hold [`midstream::ACCEPT_BITS`] together (with
    /// [`ECHO_BITS`] for a Close echoed with its code), then each
    /// direction whose chain holds [`midstream::DIRECTION_BITS`] or echoes
    /// the other's Close.
    fn settle(&mut self, at: At) {
        let Some(probe) = self.probe.as_mut() else {
            return;
        };
        fn best(l: &Looking) -> Option<&midstream::Chain> {
            match l {
                Looking::At(p) => p.best(),
                _ => None,
            }
        }
        let code = |d: Dir| best(&probe.dirs[d]).and_then(|c| c.close_code());
        let echoed = code(Dir::ClientToServer).is_some()
            && code(Dir::ClientToServer) == code(Dir::ServerToClient);
        if !probe.accepted {
            let bits: u32 = probe
                .dirs
                .iter()
                .filter_map(best)
                .map(|c| c.bits())
                .sum::<u32>()
                + if echoed { ECHO_BITS } else { 0 };
            if bits < midstream::ACCEPT_BITS {
                for l in probe.dirs.iter_mut() {
                    if matches!(l, Looking::At(p) if p.exhausted()) {
                        *l = Looking::Gone;
                    }
                }
                return;
            }
            probe.accepted = true;
            self.t.midstream = true;
            if self.t.facts.request.is_none() {
                self.t.facts.picked_up = Some(PickedUp {
                    from: PerDir::default(),
                    bits,
                    at,
                });
            }
            self.frame_streams();
        }
        let mut adopted = Vec::new();
        for dir in [Dir::ClientToServer, Dir::ServerToClient] {
            let Some(probe) = self.probe.as_mut() else {
                return;
            };
            let take = match &probe.dirs[dir] {
                Looking::At(p) => match p.best() {
                    Some(c) => c.bits() >= midstream::DIRECTION_BITS || (echoed && c.closed()),
                    None => false,
                },
                _ => false,
            };
            if take {
                if let Looking::At(p) = std::mem::replace(&mut probe.dirs[dir], Looking::Found) {
                    if let Some(chain) = p.take_best() {
                        adopted.push((dir, chain));
                    }
                }
            } else if matches!(&probe.dirs[dir], Looking::At(p) if p.exhausted()) {
                probe.dirs[dir] = Looking::Gone;
            }
        }
        if !adopted.is_empty() {
            self.adopt(adopted);
        }
    }

    /// Recognised chains become their directions' frame streams; the
    /// frames they parsed are told to the tracker in capture order, both
    /// directions merged (who closed first depends on it).
    fn adopt(&mut self, chains: Vec<(Dir, midstream::Chain)>) {
        let mut told: Vec<(Dir, Kept)> = Vec::new();
        for (dir, chain) in chains {
            let from = At {
                frame: chain.start_frame,
                ts: chain.start_ts,
            };
            match self.t.facts.picked_up.as_mut() {
                Some(p) => p.from[dir] = Some(from),
                None => {
                    self.t.facts.resumed[dir] = Some(from);
                    self.t.facts.unparsed[dir] = None;
                }
            }
            let (stream, kept) = chain.into_parts();
            told.extend(kept.into_iter().map(|k| (dir, k)));
            self.frame_streams()[dir] = stream;
        }
        let frame_of = |k: &Kept| match &k.item {
            StreamItem::Frame { last_frame, .. } => *last_frame,
            _ => 0,
        };
        // Stable: frames of one segment keep their order.
        told.sort_by_key(|(_, k)| frame_of(k));
        for (dir, k) in told {
            let frame = frame_of(&k);
            self.t.item(dir, k.item, At { frame, ts: k.ts });
        }
    }

    /// In-order bytes of a direction at stream offset `offset`.
    fn data(&mut self, dir: Dir, offset: u64, bytes: &[u8], at: At) {
        if self.probing(dir) {
            self.probe_data(dir, offset, bytes, at);
        } else if self.head_done[dir] {
            self.frames(dir, bytes, at);
        } else {
            if self.head[dir].is_empty() && self.skip[dir] == 0 {
                self.head_at[dir] = offset;
            }
            self.head_bytes(dir, bytes, at);
        }
    }

    /// A hole of `len` bytes in a direction.
    fn gap(&mut self, dir: Dir, len: u64, at: At) {
        if self.probing(dir) {
            self.probe_gap(dir, len, at);
            return;
        }
        if !self.head_done[dir] {
            // A hole in the head: it cannot be read. Before any HTTP was
            // seen, what follows may be WebSocket picked up mid-stream.
            self.head_done[dir] = true;
            let cut = std::mem::take(&mut self.head[dir]);
            if self.cut_head(dir, &cut, at) {
                return;
            }
            if self.start_probe(dir) {
                self.probe_gap(dir, len, at);
            }
            return;
        }
        let Plain { t, streams, .. } = self;
        if let Some(streams) = streams.as_mut() {
            let was = streams[dir].stopped();
            streams[dir].gap(len, at.frame, &mut Sink { t, dir, at });
            if !was && streams[dir].stopped() {
                // The gap hit a header: look for the next frame from the
                // next segment on.
                self.resume(dir, true);
            }
        }
    }

    /// Look for frames again in a direction of a connection known to carry
    /// WebSocket, from its next segment.
    fn resume(&mut self, dir: Dir, known: bool) {
        let probe = self.probe.get_or_insert_with(Box::default);
        probe.accepted |= known;
        probe.dirs[dir] = Looking::At(DirProbe::new(dir == Dir::ClientToServer));
        self.head_done[dir] = true;
        self.frame_streams();
    }

    /// The first head of a direction was cut by a gap (a snapshot length):
    /// keep what its visible lines say, and when they show an upgrade
    /// answered by 101, follow frames from the next segment that starts
    /// one. Returns whether the head was HTTP.
    fn cut_head(&mut self, dir: Dir, cut: &[u8], at: At) -> bool {
        if self.heads[dir] > 0 || cut.is_empty() {
            return false;
        }
        match dir {
            Dir::ClientToServer => {
                let Some(req) = http::parse_request_cut(cut) else {
                    return false;
                };
                self.heads[dir] = 1;
                self.t.facts.heads_cut[dir] = true;
                self.t.facts.request_at = Some(at);
                self.upgrade_index = Some(0);
                let known = req.upgrade;
                self.t.facts.request = Some(req);
                self.resume(dir, known);
                true
            }
            Dir::ServerToClient => {
                let Some(resp) = http::parse_response_cut(cut) else {
                    return false;
                };
                self.heads[dir] = 1;
                self.t.facts.heads_cut[dir] = true;
                let switching = resp.status == 101;
                if let Some(r) = self.t.facts.request.as_mut() {
                    // A 101 (or a 426 asking for the upgrade) says the
                    // request the cut hid asked for WebSocket.
                    r.upgrade |= switching || resp.status == 426;
                }
                self.t.facts.response = Some(resp);
                self.t.facts.response_at = Some(at);
                if switching {
                    // The extensions the cut hid are unknown.
                    self.t.midstream = true;
                    if let Some(p) = self.probe.as_mut() {
                        p.accepted = true;
                    }
                    self.resume(dir, true);
                } else if let Some(p) = self.probe.as_mut() {
                    p.dirs[Dir::ClientToServer] = Looking::Gone;
                }
                true
            }
        }
    }

    /// The rest of a direction is lost, from stream offset `offset` (a
    /// decrypted stream whose records could no longer be read).
    fn lost(&mut self, dir: Dir, offset: u64) {
        if !self.head_done[dir] {
            self.head_done[dir] = true;
            self.head[dir] = Vec::new();
            return;
        }
        if let Some(streams) = self.streams.as_mut() {
            if !streams[dir].stopped() {
                streams[dir] = FrameStream::stopped_at(offset);
                self.t.facts.unparsed[dir].get_or_insert(offset);
            }
        }
    }

    /// Bytes of a direction still in its HTTP part: heads of keep-alive
    /// requests and responses (and their bodies, skipped by length) until
    /// the upgrade request and its answer; what follows goes to the frames.
    fn head_bytes(&mut self, dir: Dir, mut bytes: &[u8], at: At) {
        loop {
            if self.skip[dir] > 0 {
                let k = self.skip[dir].min(bytes.len() as u64);
                self.skip[dir] -= k;
                self.head_at[dir] += k;
                bytes = bytes.get(k as usize..).unwrap_or_default();
            }
            if bytes.is_empty() && self.head[dir].is_empty() {
                return;
            }
            let room = self.max_head.saturating_sub(self.head[dir].len());
            let take = bytes.len().min(room);
            let (taken, extra) = bytes.split_at_checked(take).unwrap_or((bytes, &[]));
            self.head[dir].extend_from_slice(taken);
            let buf = std::mem::take(&mut self.head[dir]);
            match self.head(dir, &buf, at) {
                Step::NeedMore if buf.len() < self.max_head => {
                    self.head[dir] = buf;
                    return;
                }
                Step::NeedMore => {
                    self.t.facts.limits_hit.insert(Limit::HttpHead);
                    self.head_done[dir] = true;
                    // A request cut by the cap still says what it asked
                    // for (it never ended, so no answer or frame follows).
                    let first = self.heads[dir] == 0 && dir == Dir::ClientToServer;
                    if let Some(req) = http::parse_request_cut(&buf).filter(|_| first) {
                        self.t.facts.request = Some(req);
                        self.t.facts.request_at = Some(at);
                    }
                    return;
                }
                Step::GiveUp => {
                    self.head_done[dir] = true;
                    if self.start_probe(dir) {
                        // Not HTTP: perhaps WebSocket picked up after its
                        // upgrade. The bytes kept as a head are the first.
                        let mut first = buf;
                        first.extend_from_slice(extra);
                        let offset = self.head_at[dir];
                        self.probe_data(dir, offset, &first, at);
                    }
                    return;
                }
                Step::Done(n) => {
                    self.head_done[dir] = true;
                    let rest = buf.get(n..).unwrap_or_default();
                    if !rest.is_empty() {
                        self.frames(dir, rest, at);
                    }
                    if !extra.is_empty() {
                        self.frames(dir, extra, at);
                    }
                    return;
                }
                Step::Skip(n, body) => {
                    // An earlier keep-alive exchange: skip its body and
                    // read the next head from what is left.
                    self.head_at[dir] += n as u64;
                    self.skip[dir] = body;
                    let rest = buf.get(n..).unwrap_or_default();
                    let k = (body.min(rest.len() as u64)) as usize;
                    self.skip[dir] -= k as u64;
                    self.head_at[dir] += k as u64;
                    self.head[dir] = rest.get(k..).unwrap_or_default().to_vec();
                    if extra.is_empty() && self.head[dir].is_empty() {
                        return;
                    }
                    bytes = extra;
                }
            }
        }
    }

    /// Read one head at the start of `buf`.
    fn head(&mut self, dir: Dir, buf: &[u8], at: At) -> Step {
        if self.heads[dir] >= MAX_HEADS {
            return Step::GiveUp;
        }
        match dir {
            Dir::ClientToServer => match http::parse_request(buf) {
                Head::Done(req, n) => {
                    let index = self.heads[Dir::ClientToServer];
                    self.heads[Dir::ClientToServer] += 1;
                    if req.upgrade {
                        self.upgrade_index = Some(index);
                        let start = self.head_at[Dir::ClientToServer] + n as u64;
                        self.streams = Some(PerDir::new(
                            FrameStream::starting_at(start),
                            FrameStream::default(),
                        ));
                        self.t.facts.request = Some(req);
                        self.t.facts.request_at = Some(at);
                        self.t.facts.earlier_requests = index;
                        return Step::Done(n);
                    }
                    if index < 64 && req.method.eq_ignore_ascii_case("HEAD") {
                        self.head_methods |= 1 << index;
                    }
                    let body = req.body;
                    self.t.facts.request = Some(req);
                    self.t.facts.request_at = Some(at);
                    match body {
                        BodyLen::None => Step::Skip(n, 0),
                        BodyLen::Bytes(b) => Step::Skip(n, b),
                        // The next request cannot be found: what the
                        // connection did is told by its first request.
                        BodyLen::Unknown => Step::GiveUp,
                    }
                }
                Head::Partial => Step::NeedMore,
                Head::NotHttp => Step::GiveUp,
            },
            Dir::ServerToClient => {
                let key = self.t.facts.request.as_ref().and_then(|r| r.key.clone());
                match http::parse_response(buf, key.as_deref()) {
                    Head::Done(resp, n) => {
                        // An interim 1xx other than 101 answers nothing.
                        if resp.status / 100 == 1 && resp.status != 101 {
                            return Step::Skip(n, 0);
                        }
                        let index = self.heads[Dir::ServerToClient];
                        self.heads[Dir::ServerToClient] += 1;
                        let answers_upgrade = match self.upgrade_index {
                            Some(u) => index >= u,
                            None => resp.status == 101,
                        };
                        if !answers_upgrade {
                            let head_req = index < 64 && self.head_methods & (1 << index) != 0;
                            return match resp.body_len {
                                _ if head_req => Step::Skip(n, 0),
                                BodyLen::None => Step::Skip(n, 0),
                                BodyLen::Bytes(b) => Step::Skip(n, b),
                                BodyLen::Unknown => Step::GiveUp,
                            };
                        }
                        let switching = resp.status == 101;
                        self.t.facts.response = Some(resp);
                        if switching {
                            self.t.negotiated();
                        }
                        self.t.facts.response_at = Some(at);
                        let start = self.head_at[Dir::ServerToClient] + n as u64;
                        if let (true, Some(s)) = (switching, self.streams.as_mut()) {
                            s[Dir::ServerToClient] = FrameStream::starting_at(start);
                        } else if let Some(s) = self.streams.as_mut() {
                            // No WebSocket from the server after a refusal.
                            s[Dir::ServerToClient] = FrameStream::stopped_at(start);
                        }
                        Step::Done(n)
                    }
                    Head::Partial => Step::NeedMore,
                    Head::NotHttp => Step::GiveUp,
                }
            }
        }
    }

    fn frames(&mut self, dir: Dir, bytes: &[u8], at: At) {
        let Plain { t, streams, .. } = self;
        let Some(streams) = streams.as_mut() else {
            return;
        };
        streams[dir].data(bytes, at.frame, &mut Sink { t, dir, at });
    }
}

impl Observer for Session {
    type Output = Analysis;

    fn codec() -> Option<crate::flow::Codec<Analysis>> {
        Some(crate::flow::Codec::postcard())
    }

    fn event(&mut self, ev: &TcpEvent<'_>) {
        let limits = &self.settings.limits;
        let plain = self
            .plain
            .get_or_insert_with(|| Box::new(Plain::new(limits)));
        match *ev {
            TcpEvent::Data {
                dir,
                offset,
                bytes,
                frame,
                ts,
            } => {
                let at = At { frame, ts };
                // Inside decrypted TLS, the last data is the last
                // application data, not the last record (a close_notify).
                if !self.tls.as_ref().is_some_and(|t| t.decrypting()) {
                    plain.t.facts.last_data[dir] = Some(at);
                }
                if !self.probed {
                    self.probed = true;
                    let tls_start = match dir {
                        Dir::ClientToServer => tls::looks_like_tls(bytes),
                        Dir::ServerToClient => tls::looks_like_tls_from_server(bytes),
                    };
                    if tls_start {
                        let keylog = self.settings.keylog.clone();
                        let tls = TlsSession::with_keylog(keylog)
                            .max_handshake(self.settings.limits.tls_handshake);
                        self.tls = Some(Box::new(tls));
                    }
                }
                let Session { tls, decrypted, .. } = self;
                match tls.as_mut() {
                    Some(tls) => tls.data(dir, bytes, at, &mut |dir, text, at| {
                        plain.t.facts.last_data[dir] = Some(at);
                        let off = &mut decrypted[dir];
                        plain.data(dir, *off, text, at);
                        *off += text.len() as u64;
                    }),
                    None => plain.data(dir, offset, bytes, at),
                }
            }
            TcpEvent::Gap {
                dir,
                len,
                frame,
                ts,
                ..
            } => {
                let at = At { frame, ts };
                match self.tls.as_mut() {
                    Some(tls) => {
                        tls.gap(dir, at);
                        let off = self.decrypted[dir];
                        if off > 0 {
                            plain.lost(dir, off);
                        }
                    }
                    None => plain.gap(dir, len, at),
                }
            }
            TcpEvent::Fin { dir, frame, ts } => plain.t.facts.ends.push(TcpEnd {
                dir,
                rst: false,
                at: At { frame, ts },
            }),
            TcpEvent::Rst { dir, frame, ts } => plain.t.facts.ends.push(TcpEnd {
                dir,
                rst: true,
                at: At { frame, ts },
            }),
        }
    }

    fn finish(self, end: EndedBy) -> Analysis {
        let Some(plain) = self.plain else {
            return Analysis::default();
        };
        let starved = plain
            .t
            .dec
            .iter()
            .any(|d| d.inflater.as_ref().is_some_and(|i| i.starved));
        let mut facts = plain.t.facts;
        // The facts are kept until the capture's report is written: give
        // back what the lists reserved while growing.
        facts.closes.shrink_to_fit();
        facts.findings.shrink_to_fit();
        facts.ends.shrink_to_fit();
        // How the bodies after the heads were delimited only mattered for
        // finding the next head; the record (which may be stored on disk,
        // see Observer::codec) does not keep it.
        if let Some(r) = &mut facts.request {
            r.body = Default::default();
        }
        if let Some(r) = &mut facts.response {
            r.body_len = Default::default();
        }
        facts.ended_by = Some(end);
        facts.tls = self.tls.map(|t| Box::new(t.finish()));
        if starved {
            facts.limits_hit.insert(Limit::InflateMemory);
        }
        if facts.tls.as_ref().is_some_and(|t| t.skipped > 0) {
            facts.limits_hit.insert(Limit::TlsHandshake);
        }
        Analysis::new(facts)
    }
}
