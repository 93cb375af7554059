//! The per-connection analyzer: finds an HTTP/1.1 WebSocket upgrade by
//! content, follows the frames of both directions after it, and collects
//! the facts the diagnose layer turns into a verdict: the handshake, frame
//! and message counts, every Close frame, RFC 6455 violations, the last
//! data each way, and how TCP ended.

use serde::Serialize;

use crate::capture::Timestamp;
use crate::flow::{ConnMeta, Dir, EndedBy, Observer, ObserverFactory, TcpEvent};

use super::http::{self, Head, Request, Response, MAX_HEAD};
use super::websocket::{FrameHeader, FrameStream, Opcode, StreamItem};

/// Close frames kept per connection (the first decides; the rest are
/// evidence).
const MAX_CLOSES: usize = 4;
/// Findings kept per connection; more are counted.
const MAX_FINDINGS: usize = 16;

/// A point in the capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct At {
    /// Frame number.
    pub frame: u64,
    /// Capture time.
    #[serde(skip)]
    pub ts: Timestamp,
}

/// A Close frame on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// Who sent it.
    pub dir: Dir,
    /// Status code, if the payload had one.
    pub code: Option<u16>,
    /// Reason text (lossy UTF-8).
    pub reason: String,
    /// Whether the reason was valid UTF-8.
    pub reason_utf8: bool,
    /// Payload length (1 is a violation).
    pub len: u64,
    /// Where it was.
    pub at: At,
}

/// An RFC 6455 rule broken on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// The largest message of a direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Largest {
    /// Bytes (on the wire, before any decompression).
    pub size: u64,
    /// Frame that completed it.
    pub frame: u64,
    /// When.
    pub ts: Timestamp,
    /// Text or binary.
    pub opcode: u8,
}

/// Frame statistics of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirFrames {
    /// Frames.
    pub frames: u64,
    /// Complete messages.
    pub messages: u64,
    /// Pings.
    pub pings: u64,
    /// Pongs.
    pub pongs: u64,
    /// Largest complete message.
    pub largest: Largest,
    /// Message in progress: opcode and size so far.
    current: Option<(u8, u64)>,
}

/// What was learned about one connection.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// The upgrade request, if the client sent an HTTP head.
    pub request: Option<Request>,
    /// Where the request head was.
    pub request_at: Option<At>,
    /// The server's response head.
    pub response: Option<Response>,
    /// Where it was.
    pub response_at: Option<At>,
    /// The first bytes from the client looked like a TLS record.
    pub tls: bool,
    /// Per direction.
    pub frames: [DirFrames; 2],
    /// Close frames in order.
    pub closes: Vec<CloseFrame>,
    /// Violations, in order.
    pub findings: Vec<Finding>,
    /// Violations beyond those kept.
    pub more_findings: u64,
    /// Frame parsing stopped (gap on a header, impossible header).
    pub unparsed: [Option<u64>; 2],
    /// Last payload each way.
    pub last_data: [Option<At>; 2],
    /// FIN and RST, in order.
    pub ends: Vec<(Dir, bool, At)>,
    /// Data frames a side sent after its own Close.
    pub data_after_close: Option<(Dir, At)>,
    /// How TCP ended.
    pub ended_by: Option<EndedBy>,
}

impl Facts {
    /// Whether the connection carried, or tried to carry, WebSocket.
    pub fn is_websocket(&self) -> bool {
        self.request.as_ref().is_some_and(|r| r.upgrade)
    }

    /// Whether the upgrade succeeded (101 with a valid accept).
    pub fn upgraded(&self) -> bool {
        self.response
            .as_ref()
            .is_some_and(|r| r.status == 101 && r.accept_valid != Some(false))
    }

    /// Extensions the server accepted include permessage-deflate.
    pub fn deflate(&self) -> bool {
        self.response.as_ref().is_some_and(|r| {
            r.extensions
                .iter()
                .any(|e| e.starts_with("permessage-deflate"))
        })
    }
}

/// Makes a [`Session`] per connection.
#[derive(Clone, Copy, Debug, Default)]
pub struct SessionFactory;

impl ObserverFactory for SessionFactory {
    type Observer = Session;
    fn create(&self, _meta: &ConnMeta) -> Session {
        Session::default()
    }
}

/// The analyzer of one connection.
#[derive(Default)]
pub struct Session {
    t: Tracker,
    head: [Vec<u8>; 2],
    head_done: [bool; 2],
    streams: Option<[FrameStream; 2]>,
}

/// What the frames tell, kept apart from the frame streams so that a
/// stream can hand each frame over as it parses it.
#[derive(Default)]
struct Tracker {
    facts: Facts,
    closed: [bool; 2],
    /// permessage-deflate was accepted, so RSV1 is allowed (RFC 7692);
    /// known once the response is read, checked on every frame.
    deflate: bool,
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

    fn item(&mut self, dir: Dir, it: StreamItem, at: At) {
        let d = dir.index();
        match it {
            StreamItem::Frame {
                header,
                last_frame,
                payload_head,
                ..
            } => {
                let at = At {
                    frame: last_frame,
                    ts: at.ts,
                };
                self.check(dir, &header, at);
                let f = &mut self.facts.frames[d];
                f.frames += 1;
                if self.closed[d] && !header.opcode.is_control() {
                    self.facts.data_after_close.get_or_insert((dir, at));
                }
                match header.opcode {
                    Opcode::TEXT | Opcode::BINARY => {
                        if f.current.is_some() {
                            self.find(
                                dir,
                                at,
                                "a new message started inside a fragmented one".into(),
                                1002,
                            );
                        }
                        self.facts.frames[d].current = Some((header.opcode.0, header.len));
                        if header.fin {
                            self.end_message(d, at);
                        }
                    }
                    Opcode::CONTINUATION => match f.current.as_mut() {
                        Some((_, size)) => {
                            *size += header.len;
                            if header.fin {
                                self.end_message(d, at);
                            }
                        }
                        None => self.find(
                            dir,
                            at,
                            "continuation frame without a message to continue".into(),
                            1002,
                        ),
                    },
                    Opcode::PING => f.pings += 1,
                    Opcode::PONG => f.pongs += 1,
                    Opcode::CLOSE => {
                        let p = payload_head.as_slice();
                        let code = p.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
                        let reason_bytes = p.get(2..).unwrap_or_default();
                        let reason_utf8 = std::str::from_utf8(reason_bytes).is_ok();
                        if header.len == 1 {
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
                        self.closed[d] = true;
                        if self.facts.closes.len() < MAX_CLOSES {
                            self.facts.closes.push(CloseFrame {
                                dir,
                                code,
                                reason: String::from_utf8_lossy(reason_bytes).into_owned(),
                                reason_utf8,
                                len: header.len,
                                at,
                            });
                        }
                    }
                    _ => {}
                }
            }
            StreamItem::Desynchronized { offset } | StreamItem::Malformed { offset, .. } => {
                self.facts.unparsed[d] = Some(offset);
            }
        }
    }

    fn end_message(&mut self, d: usize, at: At) {
        let f = &mut self.facts.frames[d];
        if let Some((op, size)) = f.current.take() {
            f.messages += 1;
            if size >= f.largest.size {
                f.largest = Largest {
                    size,
                    frame: at.frame,
                    ts: at.ts,
                    opcode: op,
                };
            }
        }
    }

    /// RFC 6455 §5 rules that one frame header can break.
    fn check(&mut self, dir: Dir, h: &FrameHeader, at: At) {
        // §5.1: clients mask every frame, servers none.
        match (dir, h.mask.is_some()) {
            (Dir::ClientToServer, false) => {
                self.find(dir, at, "client sent an unmasked frame".into(), 1002)
            }
            (Dir::ServerToClient, true) => {
                self.find(dir, at, "server sent a masked frame".into(), 1002)
            }
            _ => {}
        }
        if h.opcode.is_reserved() {
            self.find(dir, at, format!("reserved opcode {:#x}", h.opcode.0), 1002);
        }
        // §5.2: RSV bits need an extension that defines them; RFC 7692
        // gives RSV1 to permessage-deflate.
        let allowed = if self.deflate { 0b100 } else { 0 };
        if h.rsv & !allowed != 0 {
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

impl Session {
    fn head_bytes(&mut self, dir: Dir, bytes: &[u8], at: At) {
        let d = dir.index();
        let room = MAX_HEAD.saturating_sub(self.head[d].len());
        self.head[d].extend_from_slice(&bytes[..bytes.len().min(room)]);
        let buf = std::mem::take(&mut self.head[d]);
        let consumed = match dir {
            Dir::ClientToServer => match http::parse_request(&buf) {
                Head::Done(req, n) => {
                    if req.upgrade {
                        self.streams =
                            Some([FrameStream::starting_at(n as u64), FrameStream::default()]);
                    }
                    self.t.facts.request = Some(req);
                    self.t.facts.request_at = Some(at);
                    Some(n)
                }
                Head::Partial if buf.len() < MAX_HEAD => None,
                _ => {
                    self.t.facts.tls |= buf.first() == Some(&0x16);
                    Some(buf.len())
                }
            },
            Dir::ServerToClient => {
                let key = self.t.facts.request.as_ref().and_then(|r| r.key.clone());
                match http::parse_response(&buf, key.as_deref()) {
                    Head::Done(resp, n) => {
                        let switching = resp.status == 101;
                        self.t.facts.response = Some(resp);
                        self.t.deflate = self.t.facts.deflate();
                        self.t.facts.response_at = Some(at);
                        if let (true, Some(s)) = (switching, self.streams.as_mut()) {
                            s[1] = FrameStream::starting_at(n as u64);
                        } else if let Some(s) = self.streams.as_mut() {
                            // No WebSocket from the server after a refusal.
                            s[1] = FrameStream::stopped_at(n as u64);
                        }
                        Some(n)
                    }
                    Head::Partial if buf.len() < MAX_HEAD => None,
                    _ => Some(buf.len()),
                }
            }
        };
        match consumed {
            None => self.head[d] = buf,
            Some(n) => {
                self.head_done[d] = true;
                if let Some(rest) = buf.get(n..) {
                    if !rest.is_empty() {
                        self.frames(dir, rest, at);
                    }
                }
            }
        }
    }

    fn frames(&mut self, dir: Dir, bytes: &[u8], at: At) {
        let Session { t, streams, .. } = self;
        let Some(streams) = streams.as_mut() else {
            return;
        };
        streams[dir.index()].data(bytes, at.frame, &mut |it| t.item(dir, it, at));
    }
}

impl Observer for Session {
    type Output = Facts;

    fn event(&mut self, ev: &TcpEvent<'_>) {
        match *ev {
            TcpEvent::Data {
                dir,
                bytes,
                frame,
                ts,
                ..
            } => {
                let at = At { frame, ts };
                self.t.facts.last_data[dir.index()] = Some(at);
                if self.head_done[dir.index()] {
                    self.frames(dir, bytes, at);
                } else {
                    self.head_bytes(dir, bytes, at);
                }
            }
            TcpEvent::Gap {
                dir,
                len,
                frame,
                ts,
                ..
            } => {
                let d = dir.index();
                if !self.head_done[d] {
                    // A hole in the head: it cannot be read.
                    self.head_done[d] = true;
                    self.head[d] = Vec::new();
                    return;
                }
                let Session { t, streams, .. } = self;
                if let Some(streams) = streams.as_mut() {
                    streams[d].gap(len, frame, &mut |it| t.item(dir, it, At { frame, ts }));
                }
            }
            TcpEvent::Fin { dir, frame, ts } => {
                self.t.facts.ends.push((dir, false, At { frame, ts }))
            }
            TcpEvent::Rst { dir, frame, ts } => {
                self.t.facts.ends.push((dir, true, At { frame, ts }))
            }
        }
    }

    fn finish(mut self, end: EndedBy) -> Facts {
        self.t.facts.ended_by = Some(end);
        self.t.facts
    }
}
