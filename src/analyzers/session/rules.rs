//! The WebSocket side of a session: follows the frames of both directions
//! after the upgrade (messages, inflation, Close frames) and checks each
//! frame against RFC 6455 (and RFC 7692 for permessage-deflate), recording
//! a finding with the code a compliant peer must close with.
//! In: frame headers and payload bytes. Out: the connection's [`Facts`].

use crate::analyzers::websocket::{
    unmask_into, FrameHeader, FrameProblem, FrameSink, Inflated, Inflater, Opcode, StreamItem,
    Utf8Check,
};
use crate::limits::{Limit, Limits};
use crate::vocab::websocket::CloseCode;
use crate::vocab::{At, Dir, PerDir};

use super::facts::{CloseFrame, Facts, Finding, Message};

/// Payload decoding state of one direction.
#[derive(Default)]
pub(super) struct Decode {
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
    pub(super) inflater: Option<Inflater>,
    /// A data frame whose header went by and whose payload has not all
    /// arrived: the message it belongs to, with the sizes its header
    /// announces.
    in_flight: Option<Message>,
}

thread_local! {
    /// Unmasked payload bytes, per worker thread.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Close frames kept per connection (the first decides; the rest are
/// evidence).
pub(super) const MAX_CLOSES: usize = 4;
/// Findings kept per connection; more are counted.
pub(super) const MAX_FINDINGS: usize = 16;

/// What the frames tell, kept apart from the frame streams so that a
/// stream can hand each frame over as it parses it.
pub(super) struct Tracker {
    pub(super) facts: Facts,
    pub(super) closed: PerDir<bool>,
    pub(super) dec: PerDir<Decode>,
    /// permessage-deflate was accepted, so RSV1 is allowed (RFC 7692);
    /// known once the response is read, checked on every frame.
    pub(super) deflate: bool,
    /// Caps of inflation: bytes per message, inflater memory.
    pub(super) max_inflated: u64,
    pub(super) inflate_memory: usize,
    /// The connection was picked up after its upgrade: the extensions are
    /// unknown, so RSV1 on a message's first frame is taken as
    /// permessage-deflate (counted, never inflated), and a direction's
    /// first frames may continue a message begun before the capture.
    pub(super) midstream: bool,
    /// A direction sent the first frame of a message.
    pub(super) started: PerDir<bool>,
}

impl Tracker {
    /// A tracker of a connection not upgraded yet, with the caps of
    /// `limits`.
    pub(super) fn new(limits: &Limits) -> Tracker {
        Tracker {
            facts: Facts::default(),
            closed: PerDir::default(),
            dec: Default::default(),
            deflate: false,
            max_inflated: limits.inflated_message,
            inflate_memory: limits.inflate_memory,
            midstream: false,
            started: PerDir::default(),
        }
    }

    pub(super) fn find(&mut self, dir: Dir, at: At, what: String, code: CloseCode) {
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
    pub(super) fn negotiated(&mut self) {
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
    pub(super) fn start_message(&mut self, dir: Dir, h: &FrameHeader, offset: u64) {
        let dec = &mut self.dec[dir];
        dec.text = h.opcode == Opcode::TEXT;
        dec.compressed = (self.deflate || self.midstream) && h.rsv & 0b100 != 0;
        dec.utf8 = Utf8Check::default();
        dec.lost = false;
        dec.reported = false;
        dec.frame_off = Some(offset);
        dec.next = 0;
    }

    pub(super) fn wants_payload(&mut self, dir: Dir, h: &FrameHeader, offset: u64, at: At) -> bool {
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

    pub(super) fn payload(&mut self, dir: Dir, h: &FrameHeader, at: u64, bytes: &[u8]) {
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

    pub(super) fn item(&mut self, dir: Dir, it: StreamItem, at: At) {
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
                                CloseCode::PROTOCOL_ERROR,
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
                                CloseCode::PROTOCOL_ERROR,
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
                self.find(dir, at, what.to_string(), CloseCode::PROTOCOL_ERROR);
            }
        }
    }

    /// A frame of the message in progress went by: count it, check its
    /// text, and end the message on its last fragment.
    pub(super) fn data_frame(&mut self, dir: Dir, h: &FrameHeader, lost: u64, at: At) {
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
                    CloseCode::INVALID_PAYLOAD,
                );
            }
        }
        let dec = &self.dec[dir];
        let checkable = dec.text && !dec.lost && !dec.reported;
        let readable = !dec.compressed || matches!(done, Some(Inflated::Bytes(_)));
        let bad_text = checkable && (dec.utf8.failed() || (h.fin && readable && !dec.utf8.valid()));
        if bad_text {
            self.dec[dir].reported = true;
            self.find(
                dir,
                at,
                "text message is not valid UTF-8".into(),
                CloseCode::INVALID_PAYLOAD,
            );
        }
        if h.fin {
            self.end_message(dir);
        }
    }

    pub(super) fn close(
        &mut self,
        dir: Dir,
        h: &FrameHeader,
        payload: &crate::analyzers::websocket::PayloadHead,
        at: At,
    ) {
        let p = payload.as_slice();
        let (code, reason_bytes) = match p {
            [a, b, reason @ ..] => (Some(CloseCode(u16::from_be_bytes([*a, *b]))), reason),
            _ => (None, &[][..]),
        };
        let reason_utf8 = std::str::from_utf8(reason_bytes).is_ok();
        if h.len == 1 {
            self.find(
                dir,
                at,
                "Close frame with a 1-byte payload".into(),
                CloseCode::PROTOCOL_ERROR,
            );
        }
        if let Some(c) = code {
            if !c.is_sendable() {
                self.find(
                    dir,
                    at,
                    format!("Close frame carries code {c}, which may not be sent"),
                    CloseCode::PROTOCOL_ERROR,
                );
            }
        }
        if !reason_utf8 {
            self.find(
                dir,
                at,
                "Close reason is not valid UTF-8".into(),
                CloseCode::INVALID_PAYLOAD,
            );
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

    pub(super) fn end_message(&mut self, dir: Dir) {
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
    pub(super) fn check(&mut self, dir: Dir, h: &FrameHeader, at: At) {
        // §5.1: clients mask every frame, servers none.
        match (dir, h.mask.is_some()) {
            (Dir::ClientToServer, false) => self.find(
                dir,
                at,
                "unmasked frame (clients must mask every frame)".into(),
                CloseCode::PROTOCOL_ERROR,
            ),
            (Dir::ServerToClient, true) => self.find(
                dir,
                at,
                "masked frame (servers must not mask)".into(),
                CloseCode::PROTOCOL_ERROR,
            ),
            _ => {}
        }
        if h.opcode.is_reserved() {
            self.find(
                dir,
                at,
                format!("reserved opcode {:#x}", h.opcode.0),
                CloseCode::PROTOCOL_ERROR,
            );
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
                CloseCode::PROTOCOL_ERROR,
            );
        } else if h.rsv & !allowed != 0 {
            self.find(
                dir,
                at,
                format!(
                    "RSV bits {:03b} set without an extension that defines them",
                    h.rsv
                ),
                CloseCode::PROTOCOL_ERROR,
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
            self.find(dir, at, what, CloseCode::PROTOCOL_ERROR);
        }
    }
}

/// Hands a direction's frames and payload bytes to the tracker.
pub(super) struct Sink<'a> {
    pub(super) t: &'a mut Tracker,
    pub(super) dir: Dir,
    pub(super) at: At,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;

    fn at(frame: u64) -> At {
        At {
            frame,
            ts: Timestamp(0),
        }
    }

    /// A header: `opcode`, FIN, RSV bits, masked or not, payload length.
    fn header(opcode: Opcode, fin: bool, rsv: u8, masked: bool, len: u64) -> FrameHeader {
        FrameHeader {
            fin,
            rsv,
            opcode,
            mask: masked.then_some([1, 2, 3, 4]),
            len,
            header_len: 2,
            non_minimal_length: false,
        }
    }

    /// The findings of one header checked in `dir`: (what, code).
    fn findings(t: &mut Tracker, dir: Dir, h: FrameHeader) -> Vec<(String, CloseCode)> {
        t.facts.findings.clear();
        t.check(dir, &h, at(7));
        t.facts
            .findings
            .iter()
            .map(|f| (f.what.clone(), f.code))
            .collect()
    }

    #[test]
    fn compliant_frames_have_no_findings() {
        let mut t = Tracker::new(&Limits::default());
        let text = header(Opcode::TEXT, true, 0, true, 5);
        assert!(findings(&mut t, Dir::ClientToServer, text).is_empty());
        let ping = header(Opcode::PING, true, 0, false, 125);
        assert!(findings(&mut t, Dir::ServerToClient, ping).is_empty());
    }

    #[test]
    fn masking_follows_the_role() {
        // RFC 6455 §5.1: clients mask, servers do not.
        let mut t = Tracker::new(&Limits::default());
        let f = findings(
            &mut t,
            Dir::ClientToServer,
            header(Opcode::TEXT, true, 0, false, 1),
        );
        assert_eq!(
            f,
            [(
                "unmasked frame (clients must mask every frame)".to_string(),
                CloseCode::PROTOCOL_ERROR
            )]
        );
        let f = findings(
            &mut t,
            Dir::ServerToClient,
            header(Opcode::TEXT, true, 0, true, 1),
        );
        assert_eq!(
            f,
            [(
                "masked frame (servers must not mask)".to_string(),
                CloseCode::PROTOCOL_ERROR
            )]
        );
    }

    #[test]
    fn reserved_opcodes_and_bits_need_an_extension() {
        let mut t = Tracker::new(&Limits::default());
        let f = findings(
            &mut t,
            Dir::ServerToClient,
            header(Opcode(0x3), true, 0, false, 0),
        );
        assert_eq!(
            f,
            [("reserved opcode 0x3".to_string(), CloseCode::PROTOCOL_ERROR)]
        );
        // RSV1 without permessage-deflate (§5.2).
        let f = findings(
            &mut t,
            Dir::ServerToClient,
            header(Opcode::TEXT, true, 0b100, false, 3),
        );
        assert_eq!(f.len(), 1);
        assert!(f[0].0.contains("RSV bits 100"), "{f:?}");
        // With it, RSV1 marks a compressed message's first frame, and
        // nothing else (RFC 7692 §6.1).
        t.deflate = true;
        let first = header(Opcode::TEXT, false, 0b100, false, 3);
        assert!(findings(&mut t, Dir::ServerToClient, first).is_empty());
        let f = findings(
            &mut t,
            Dir::ServerToClient,
            header(Opcode::CONTINUATION, true, 0b100, false, 3),
        );
        assert_eq!(
            f,
            [(
                "RSV1 set on a continuation frame".to_string(),
                CloseCode::PROTOCOL_ERROR
            )]
        );
        // RSV2 and RSV3 stay reserved.
        let f = findings(
            &mut t,
            Dir::ServerToClient,
            header(Opcode::TEXT, true, 0b010, false, 3),
        );
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn control_frames_are_short_and_whole() {
        // RFC 6455 §5.5.
        let mut t = Tracker::new(&Limits::default());
        let f = findings(
            &mut t,
            Dir::ServerToClient,
            header(Opcode::PING, true, 0, false, 126),
        );
        assert_eq!(
            f,
            [(
                "ping frame of 126 bytes (control frames are at most 125)".to_string(),
                CloseCode::PROTOCOL_ERROR
            )]
        );
        let f = findings(
            &mut t,
            Dir::ServerToClient,
            header(Opcode::CLOSE, false, 0, false, 2),
        );
        assert_eq!(
            f,
            [(
                "fragmented close frame".to_string(),
                CloseCode::PROTOCOL_ERROR
            )]
        );
    }

    #[test]
    fn findings_past_the_cap_are_counted() {
        let mut t = Tracker::new(&Limits::default());
        for _ in 0..MAX_FINDINGS + 3 {
            t.find(
                Dir::ClientToServer,
                at(1),
                "x".into(),
                CloseCode::PROTOCOL_ERROR,
            );
        }
        assert_eq!(t.facts.findings.len(), MAX_FINDINGS);
        assert_eq!(t.facts.more_findings, 3);
    }
}
