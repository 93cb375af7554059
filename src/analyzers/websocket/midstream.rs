//! WebSocket recognised by its framing alone, for streams picked up after
//! their upgrade (tcpdump started once the trouble began) or after a gap
//! that hit a frame header (a snapshot length cut, loss).
//!
//! A [`DirProbe`] follows one direction. Every TCP segment boundary is a
//! place a frame may start, so each of the direction's first segments
//! starts a candidate [`Chain`]: a [`FrameStream`] whose headers are judged
//! as they are read. A chain dies at the first header no real endpoint
//! sends (RFC 6455 §5.2-5.5): a reserved opcode, RSV2 or RSV3, RSV1 on
//! anything but the first frame of a message, a control frame over 125
//! bytes or fragmented, the wrong masking for the direction (§5.1: clients
//! mask, servers do not), a length not minimally encoded or beyond 2^40, a
//! continuation with no message open or a new message inside one, an empty
//! non-final data frame, a frame after the sender's Close, a Close with a
//! 1-byte payload, or a gap where a header was due.
//!
//! A chain that lives earns evidence, counted in bits: roughly how many
//! times one in two random bytes would fail the test the chain passed, kept
//! below the true figure on purpose (see [`Evidence`]). The connection is
//! called WebSocket when its two directions' best chains together hold
//! [`ACCEPT_BITS`]; a direction of a connection already known to carry
//! WebSocket needs only [`DIRECTION_BITS`]. Until then a chain keeps what it
//! parsed (at most [`MAX_KEPT`] frames, each one [`StreamItem`]), so that
//! once accepted, every frame since the chain's start is told to the
//! analyzer as if it had been followed from the start.

use crate::capture::Timestamp;
use crate::vocab::websocket::CloseCode;

use super::frame::{FrameHeader, FrameSink, FrameStream, Opcode, StreamItem};

/// Bits a connection's chains must hold together before the connection is
/// called WebSocket. With at most [`MAX_TRIED`] candidates per direction
/// (6 bits of choice each way), random bytes pass with a chance below
/// 2^-20 per connection, and much lower in practice since every figure of
/// [`Evidence`] is an underestimate.
pub const ACCEPT_BITS: u32 = 32;

/// Bits one direction's chain needs once its connection is known to carry
/// WebSocket (the other direction was recognised, or the upgrade was seen
/// and a gap hit a header).
pub const DIRECTION_BITS: u32 = 10;

/// Candidates followed at once per direction.
const MAX_LIVE: usize = 6;

/// Segment boundaries tried per direction before giving up (a new budget
/// of [`RETRY_AFTER_GAP`] is granted after each gap).
pub const MAX_TRIED: u32 = 64;

/// Candidates granted after a gap.
const RETRY_AFTER_GAP: u32 = 8;

/// Frames a candidate keeps before it is accepted; a chain this long has
/// earned far more than [`ACCEPT_BITS`], so the cap never decides.
pub const MAX_KEPT: usize = 64;

/// Longest frame believed: 1 TiB. Random bytes that take the 64-bit
/// length form almost never have its top three bytes zero.
const MAX_FRAME_LEN: u64 = 1 << 40;

/// Evidence a chain earns, in bits.
///
/// - [`Evidence::SHAPE`] for every header after the chain's first: its
///   first byte is one of 16 of 256 values and its mask bit the one the
///   direction needs (5.0 bits; the first header pays for the choice of
///   where the chain starts).
/// - [`Evidence::landing`] when a frame ends exactly where a TCP segment
///   ended: log2 of the segment's length, at most 7.
/// - [`Evidence::CLOSE_CODE`] for a Close whose code may be sent
///   (RFC 6455 §7.4: about 2,000 of 65,536 values).
/// - One bit per byte of printable UTF-8 in a Close reason (at most 16)
///   or at the start of an uncompressed text message (at most 24): a
///   random byte is printable ASCII with a chance of 95/256 (1.4 bits).
pub struct Evidence;

impl Evidence {
    /// A header after the first.
    pub const SHAPE: u32 = 5;
    /// A Close code an endpoint may send.
    pub const CLOSE_CODE: u32 = 5;
    /// Most bits from printable text in a Close reason.
    pub const REASON_MAX: u32 = 16;
    /// Most bits from printable text at the start of a text message.
    pub const TEXT_MAX: u32 = 24;

    /// A frame ended exactly at the end of a segment of `len` bytes.
    pub fn landing(len: u64) -> u32 {
        len.max(1).ilog2().min(7)
    }

    /// Bytes of printable UTF-8 at the start of `bytes`, where `whole`
    /// says whether `bytes` is the whole text (else a trailing sequence cut
    /// short is allowed); `None` when the text is not that.
    pub fn printable(bytes: &[u8], whole: bool) -> Option<u32> {
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            // A character cut by the end of the kept bytes.
            Err(e) if !whole && e.error_len().is_none() => {
                std::str::from_utf8(bytes.get(..e.valid_up_to())?).ok()?
            }
            Err(_) => return None,
        };
        let control = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r');
        (!text.chars().any(control)).then_some(text.len() as u32)
    }
}

/// A frame a chain parsed, with the capture time of the segment that ended
/// it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kept {
    /// The frame.
    pub item: StreamItem,
    /// When it ended.
    pub ts: Timestamp,
}

/// What a chain knows of the frames it judged.
#[derive(Debug, Default)]
struct Judge {
    /// Clients mask every frame, servers none.
    masked: bool,
    /// Inside a fragmented message; `None` until the first data frame (the
    /// capture may have begun inside a message).
    in_message: Option<bool>,
    /// The sender's Close went by.
    closed: bool,
    dead: bool,
    bits: u32,
    headers: u32,
    /// A frame ended during the current event.
    ended: bool,
    kept: Vec<Kept>,
    ts: Timestamp,
}

impl Judge {
    /// A header no real endpoint sends kills the chain.
    fn header(&mut self, h: &FrameHeader) {
        let rsv1 = h.rsv & 0b100 != 0;
        let starts_message = matches!(h.opcode, Opcode::TEXT | Opcode::BINARY);
        let bad = h.mask.is_some() != self.masked
            || h.opcode.is_reserved()
            || h.rsv & 0b011 != 0
            || (rsv1 && !starts_message)
            || (h.opcode.is_control() && (h.len > 125 || !h.fin))
            || h.non_minimal_length
            || h.len > MAX_FRAME_LEN
            || self.closed
            || (!h.opcode.is_control() && !h.fin && h.len == 0);
        let order = match (h.opcode, self.in_message) {
            (Opcode::CONTINUATION, Some(false)) => false,
            (o, Some(true)) if o == Opcode::TEXT || o == Opcode::BINARY => false,
            _ => true,
        };
        if bad || !order {
            self.dead = true;
            return;
        }
        if !h.opcode.is_control() {
            self.in_message = Some(!h.fin);
        }
        if h.opcode == Opcode::CLOSE {
            self.closed = true;
        }
        if self.headers > 0 {
            self.bits += Evidence::SHAPE;
        }
        self.headers += 1;
    }

    fn frame(&mut self, item: StreamItem) {
        let StreamItem::Frame {
            header,
            payload_head,
            payload_lost,
            ..
        } = &item
        else {
            // A gap where a header was due, or an impossible length.
            self.dead = true;
            return;
        };
        let p = payload_head.as_slice();
        let whole = *payload_lost == 0 && p.len() as u64 == header.len;
        match header.opcode {
            Opcode::CLOSE => match p {
                [_] => self.dead = true,
                [a, b, reason @ ..] => {
                    if CloseCode(u16::from_be_bytes([*a, *b])).is_sendable() {
                        self.bits += Evidence::CLOSE_CODE;
                    }
                    let n = Evidence::printable(reason, whole).unwrap_or(0);
                    self.bits += n.min(Evidence::REASON_MAX);
                }
                [] => {}
            },
            Opcode::TEXT if header.rsv == 0 && *payload_lost == 0 => {
                let n = Evidence::printable(p, whole).unwrap_or(0);
                self.bits += n.min(Evidence::TEXT_MAX);
            }
            _ => {}
        }
        self.ended = true;
        if self.kept.len() < MAX_KEPT {
            self.kept.push(Kept { item, ts: self.ts });
        }
    }
}

impl FrameSink for Judge {
    fn item(&mut self, item: StreamItem) {
        if !self.dead {
            self.frame(item);
        }
    }

    fn header(&mut self, header: &FrameHeader, _offset: u64) {
        if !self.dead {
            self.header(header);
        }
    }
}

/// One candidate: frames followed from one segment boundary.
#[derive(Debug)]
pub struct Chain {
    stream: FrameStream,
    judge: Judge,
    /// Stream offset where it starts.
    pub start: u64,
    /// Frame that carried its first byte.
    pub start_frame: u64,
    /// Time of that frame.
    pub start_ts: Timestamp,
}

impl Chain {
    /// Evidence so far.
    pub fn bits(&self) -> u32 {
        self.judge.bits
    }

    /// Headers judged so far.
    pub fn headers(&self) -> u32 {
        self.judge.headers
    }

    /// The chain's stream, to go on with, and the frames it parsed, to
    /// tell in order.
    pub fn into_parts(self) -> (FrameStream, Vec<Kept>) {
        (self.stream, self.judge.kept)
    }

    /// The chain's Close went by (nothing more may follow from its
    /// sender).
    pub fn closed(&self) -> bool {
        self.judge.closed
    }

    fn alive(&self) -> bool {
        !self.judge.dead && !self.stream.stopped()
    }

    /// The close code of the chain's Close frame, if it had one.
    pub fn close_code(&self) -> Option<CloseCode> {
        self.judge.kept.iter().find_map(|k| match &k.item {
            StreamItem::Frame {
                header,
                payload_head,
                ..
            } if header.opcode == Opcode::CLOSE => match payload_head.as_slice() {
                [a, b, ..] => Some(CloseCode(u16::from_be_bytes([*a, *b]))),
                _ => None,
            },
            _ => None,
        })
    }
}

/// Looks for WebSocket framing in one direction.
#[derive(Debug)]
pub struct DirProbe {
    chains: Vec<Chain>,
    masked: bool,
    /// Segment boundaries that may still start a chain.
    budget: u32,
    /// Length of the data event before a gap, for landings inside a gap.
    last_data: u64,
}

impl DirProbe {
    /// A probe for a direction whose frames are masked (client to server)
    /// or not.
    pub fn new(masked: bool) -> DirProbe {
        DirProbe {
            chains: Vec::new(),
            masked,
            budget: MAX_TRIED,
            last_data: 0,
        }
    }

    /// Nothing more can be found: every candidate died and no segment
    /// boundary is left to try.
    pub fn exhausted(&self) -> bool {
        self.chains.is_empty() && self.budget == 0
    }

    /// A segment's bytes at stream offset `offset`, carried by `frame`.
    pub fn data(&mut self, offset: u64, bytes: &[u8], frame: u64, ts: Timestamp) {
        // A boundary some chain already reaches on a header is that
        // chain's next frame, not a new candidate.
        let covered = self
            .chains
            .iter()
            .any(|c| c.stream.next_header_at() == Some(offset));
        if !covered && self.budget > 0 && !bytes.is_empty() {
            if self.chains.len() >= MAX_LIVE {
                // Make room by dropping a chain that has earned nothing.
                if let Some(i) = self.chains.iter().rposition(|c| c.judge.bits == 0) {
                    self.chains.remove(i);
                }
            }
            if self.chains.len() < MAX_LIVE {
                self.budget -= 1;
                self.chains.push(Chain {
                    stream: FrameStream::starting_at(offset),
                    judge: Judge {
                        masked: self.masked,
                        ..Judge::default()
                    },
                    start: offset,
                    start_frame: frame,
                    start_ts: ts,
                });
            }
        }
        for c in &mut self.chains {
            c.judge.ts = ts;
            c.judge.ended = false;
            c.stream.data(bytes, frame, &mut c.judge);
            if c.judge.ended && c.stream.next_header_at().is_some() {
                c.judge.bits += Evidence::landing(bytes.len() as u64);
            }
        }
        self.last_data = bytes.len() as u64;
        self.chains.retain(Chain::alive);
    }

    /// `len` bytes are missing, noticed at `frame`.
    pub fn gap(&mut self, len: u64, frame: u64, ts: Timestamp) {
        for c in &mut self.chains {
            c.judge.ts = ts;
            c.judge.ended = false;
            c.stream.gap(len, frame, &mut c.judge);
            if c.judge.ended && c.stream.next_header_at().is_some() {
                c.judge.bits += Evidence::landing(self.last_data + len);
            }
        }
        self.chains.retain(Chain::alive);
        self.budget = self.budget.max(RETRY_AFTER_GAP);
        self.last_data = 0;
    }

    /// The chain with the most evidence (the earliest of equals).
    pub fn best(&self) -> Option<&Chain> {
        self.chains
            .iter()
            .rev()
            .max_by_key(|c| (c.judge.bits, c.judge.headers))
    }

    /// Take the best chain, ending the probe.
    pub fn take_best(self) -> Option<Chain> {
        let mut chains = self.chains;
        let i = chains
            .iter()
            .enumerate()
            .rev()
            .max_by_key(|(_, c)| (c.judge.bits, c.judge.headers))
            .map(|(i, _)| i)?;
        Some(chains.swap_remove(i))
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame::encode;
    use super::*;

    fn feed(p: &mut DirProbe, segments: &[Vec<u8>]) {
        let mut off = 0;
        for (i, s) in segments.iter().enumerate() {
            p.data(off, s, i as u64 + 1, Timestamp::default());
            off += s.len() as u64;
        }
    }

    #[test]
    fn server_messages_picked_up_inside_a_frame() {
        let mut segs = vec![b"tail of a message begun before the capture".to_vec()];
        for i in 0..4 {
            segs.push(encode(true, 0, 1, None, format!("tick {i}").as_bytes()));
        }
        let mut p = DirProbe::new(false);
        feed(&mut p, &segs);
        let best = p.best().unwrap();
        assert_eq!(best.start_frame, 2);
        assert_eq!(best.headers(), 4);
        assert!(best.bits() >= ACCEPT_BITS, "{}", best.bits());
    }

    #[test]
    fn a_lone_close_and_its_echo_are_evidence() {
        let mut s = DirProbe::new(false);
        feed(&mut s, &[encode(true, 0, 8, None, b"\x03\xe9going away")]);
        let mut c = DirProbe::new(true);
        feed(
            &mut c,
            &[encode(
                true,
                0,
                8,
                Some([7, 1, 9, 3]),
                b"\x03\xe9going away",
            )],
        );
        let (s, c) = (s.best().unwrap(), c.best().unwrap());
        assert_eq!(
            (s.close_code(), c.close_code()),
            (Some(CloseCode::GOING_AWAY), Some(CloseCode::GOING_AWAY))
        );
        assert!(s.bits() + c.bits() >= 20, "{} {}", s.bits(), c.bits());
    }

    #[test]
    fn wrong_masking_and_zeros_are_not_websocket() {
        let mut p = DirProbe::new(true);
        feed(
            &mut p,
            &[encode(true, 0, 1, None, b"unmasked from a client")],
        );
        assert!(p.best().is_none());
        let mut z = DirProbe::new(false);
        feed(&mut z, &vec![vec![0u8; 1400]; 10]);
        assert!(z.best().is_none_or(|c| c.bits() == 0));
    }

    #[test]
    fn a_gap_on_a_header_kills_the_chain_and_a_later_segment_resumes() {
        let mut p = DirProbe::new(false);
        p.data(
            0,
            &encode(true, 0, 2, None, &[1; 40]),
            1,
            Timestamp::default(),
        );
        p.gap(100, 2, Timestamp::default());
        assert!(p.best().is_none());
        let f = encode(true, 0, 1, None, b"after the gap");
        p.data(142, &f, 3, Timestamp::default());
        assert_eq!(p.best().unwrap().start, 142);
    }

    #[test]
    fn http_tls_and_ssh_bytes_are_not_websocket() {
        let http = [
            b"GET /api/items?page=2 HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\n\r\n".to_vec(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 27\r\nContent-Type: application/json\r\n\r\n"
                .to_vec(),
            b"{\"items\":[1,2,3],\"next\":3}".to_vec(),
        ];
        // TLS 1.2/1.3 application data records, and an SSH banner then
        // binary packets (4-byte length, padding length, payload).
        let mut tls = Vec::new();
        let mut ssh = vec![b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n".to_vec()];
        for n in [40u16, 300, 1200, 17] {
            let mut r = vec![0x17, 0x03, 0x03];
            r.extend_from_slice(&n.to_be_bytes());
            r.extend((0..n).map(|i| (i * 7 + 3) as u8));
            tls.push(r);
            let mut p = (u32::from(n)).to_be_bytes().to_vec();
            p.push(4);
            p.extend((0..n).map(|i| (i * 13 + 1) as u8));
            ssh.push(p);
        }
        for (name, segs) in [("http", &http[..]), ("tls", &tls[..]), ("ssh", &ssh[..])] {
            for masked in [false, true] {
                let mut p = DirProbe::new(masked);
                for _ in 0..4 {
                    feed(&mut p, segs);
                }
                let bits = p.best().map_or(0, Chain::bits);
                assert!(bits < DIRECTION_BITS, "{name} earned {bits} bits");
            }
        }
    }

    #[test]
    fn random_bytes_earn_little() {
        // xorshift: deterministic bytes with no structure.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut worst = 0;
        for round in 0..2000 {
            let mut p = DirProbe::new(round % 2 == 0);
            let mut off = 0;
            for i in 0..MAX_TRIED + 8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let len = 1 + (x % 1460) as usize;
                let seg: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect();
                p.data(off, &seg, u64::from(i) + 1, Timestamp::default());
                off += len as u64;
            }
            worst = worst.max(p.best().map_or(0, Chain::bits));
        }
        assert!(worst < ACCEPT_BITS / 2, "random data earned {worst} bits");
    }
}
