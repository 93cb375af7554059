//! WebSocket frames (RFC 6455 §5.2): a header parser with the three
//! outcomes of every streaming parser here (parsed, need more, malformed),
//! and a per-direction [`FrameStream`] that follows frames through a
//! direction's bytes without buffering payloads, keeps the first bytes of
//! each payload unmasked (all of a control frame's, which RFC 6455 limits to
//! 125), and survives TCP gaps: a gap inside a payload only loses those
//! payload bytes, a gap that hits a header stops parsing the direction
//! rather than guessing where the next frame starts.

/// Frame opcode (RFC 6455 §5.2, §11.8); unknown values keep their number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opcode(pub u8);

impl Opcode {
    /// Continuation of a fragmented message.
    pub const CONTINUATION: Opcode = Opcode(0x0);
    /// Text message (UTF-8).
    pub const TEXT: Opcode = Opcode(0x1);
    /// Binary message.
    pub const BINARY: Opcode = Opcode(0x2);
    /// Close.
    pub const CLOSE: Opcode = Opcode(0x8);
    /// Ping.
    pub const PING: Opcode = Opcode(0x9);
    /// Pong.
    pub const PONG: Opcode = Opcode(0xA);

    /// Control frames have the high bit of the opcode set (§5.5).
    pub fn is_control(self) -> bool {
        self.0 & 0x8 != 0
    }

    /// Opcodes 3-7 and 0xB-0xF are reserved (§5.2).
    pub fn is_reserved(self) -> bool {
        !matches!(self.0, 0x0..=0x2 | 0x8..=0xA)
    }

    /// A short name for evidence lines.
    pub fn name(self) -> &'static str {
        match self.0 {
            0x0 => "continuation",
            0x1 => "text",
            0x2 => "binary",
            0x8 => "close",
            0x9 => "ping",
            0xA => "pong",
            _ => "reserved",
        }
    }
}

/// A parsed frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Final fragment of its message.
    pub fin: bool,
    /// RSV1-3, as the three low bits (RSV1 = 0b100).
    pub rsv: u8,
    /// Opcode.
    pub opcode: Opcode,
    /// Masking key, if the MASK bit was set.
    pub mask: Option<[u8; 4]>,
    /// Payload length.
    pub len: u64,
    /// Header length in bytes (2 to 14).
    pub header_len: usize,
    /// The length used more bytes than needed (§5.2 requires the minimal
    /// encoding): a conformance finding, not a parse failure.
    pub non_minimal_length: bool,
}

/// A header that cannot be a WebSocket frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameProblem {
    /// The 64-bit length has its most significant bit set (§5.2).
    LengthHighBit,
}

/// Outcome of [`parse_header`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A header.
    Header(FrameHeader),
    /// At least this many more bytes are needed.
    NeedMore(usize),
    /// Not a valid header.
    Malformed(FrameProblem),
}

/// Parse the frame header at the start of `buf`.
pub fn parse_header(buf: &[u8]) -> Parsed {
    let Some((&b0, rest)) = buf.split_first() else {
        return Parsed::NeedMore(2);
    };
    let Some((&b1, rest)) = rest.split_first() else {
        return Parsed::NeedMore(1);
    };
    let masked = b1 & 0x80 != 0;
    let short = u64::from(b1 & 0x7f);
    let ext = match short {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let need = ext + if masked { 4 } else { 0 };
    let Some((ext_bytes, rest)) = rest.split_at_checked(ext) else {
        return Parsed::NeedMore(need - rest.len());
    };
    let (len, non_minimal) = match *ext_bytes {
        [b0, b1] => {
            let l = u64::from(u16::from_be_bytes([b0, b1]));
            (l, l < 126)
        }
        [b0, b1, b2, b3, b4, b5, b6, b7] => {
            let l = u64::from_be_bytes([b0, b1, b2, b3, b4, b5, b6, b7]);
            if l >> 63 != 0 {
                return Parsed::Malformed(FrameProblem::LengthHighBit);
            }
            (l, l <= 0xFFFF)
        }
        _ => (short, false),
    };
    let mask = if masked {
        match rest.first_chunk::<4>() {
            Some(m) => Some(*m),
            None => return Parsed::NeedMore(4 - rest.len()),
        }
    } else {
        None
    };
    Parsed::Header(FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0x7,
        opcode: Opcode(b0 & 0x0f),
        mask,
        len,
        header_len: 2 + need,
        non_minimal_length: non_minimal,
    })
}

/// Payload bytes kept (unmasked) at the start of every frame: all of any
/// control frame (§5.5 limits them to 125), the start of data frames.
pub const KEPT_PAYLOAD: usize = 125;

/// The first [`KEPT_PAYLOAD`] bytes of a payload, unmasked, kept inline so
/// that following frames allocates nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PayloadHead {
    buf: [u8; KEPT_PAYLOAD],
    len: u8,
}

impl Default for PayloadHead {
    fn default() -> Self {
        PayloadHead {
            buf: [0; KEPT_PAYLOAD],
            len: 0,
        }
    }
}

impl PayloadHead {
    /// The bytes kept.
    pub fn as_slice(&self) -> &[u8] {
        // `len` never exceeds KEPT_PAYLOAD (see `keep`).
        self.buf.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// Keep up to the room left of `bytes`, which start at payload offset
    /// `at`, unmasking them with `mask`.
    fn keep(&mut self, bytes: &[u8], at: u64, mask: Option<[u8; 4]>) {
        let room = self
            .buf
            .get_mut(usize::from(self.len)..)
            .unwrap_or_default();
        let n = room.len().min(bytes.len());
        match mask {
            Some(mask) => {
                // RFC 6455 §5.3: octet i of the payload XOR mask[i mod 4].
                let (_, m) = mask_word(mask, at);
                for (dst, src) in room.chunks_mut(4).zip(bytes.chunks(4)) {
                    for ((d, s), k) in dst.iter_mut().zip(src).zip(m) {
                        *d = s ^ k;
                    }
                }
            }
            None => {
                for (dst, src) in room.iter_mut().zip(bytes) {
                    *dst = *src;
                }
            }
        }
        self.len += n as u8;
    }
}

impl std::fmt::Debug for PayloadHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_slice())
    }
}

/// Something the frame stream found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamItem {
    /// A whole frame went by.
    Frame {
        /// Its header.
        header: FrameHeader,
        /// Stream offset of its first header byte.
        offset: u64,
        /// Frame that carried its first header byte.
        first_frame: u64,
        /// Frame that carried its last byte.
        last_frame: u64,
        /// The first [`KEPT_PAYLOAD`] payload bytes, unmasked.
        payload_head: PayloadHead,
        /// Payload bytes lost to TCP gaps.
        payload_lost: u64,
    },
    /// A gap hit a frame header: the rest of the direction is not parsed.
    Desynchronized {
        /// Stream offset where parsing stopped.
        offset: u64,
    },
    /// Bytes that cannot be a frame header: the rest of the direction is
    /// not parsed.
    Malformed {
        /// Stream offset of the bad header.
        offset: u64,
        /// Why.
        problem: FrameProblem,
    },
}

/// Where a [`FrameStream`] puts what it finds.
pub trait FrameSink {
    /// A frame, malformed bytes, or a loss of sync.
    fn item(&mut self, item: StreamItem);

    /// A frame header was read at stream offset `offset`, before any of
    /// its payload: lets a sink judge a frame before it completes.
    fn header(&mut self, _header: &FrameHeader, _offset: u64) {}

    /// Whether [`payload`](Self::payload) wants the bytes of a data frame
    /// with this header (asked once per frame, when its header is read).
    fn wants_payload(&mut self, _header: &FrameHeader, _offset: u64) -> bool {
        false
    }

    /// Payload bytes of the frame whose header starts at stream offset
    /// `offset`, still masked as on the wire; `at` is their position in the
    /// payload (a jump means bytes were lost to a gap). Delivered before
    /// the frame's [`StreamItem::Frame`].
    fn payload(&mut self, _header: &FrameHeader, _offset: u64, _at: u64, _bytes: &[u8]) {}
}

impl<F: FnMut(StreamItem)> FrameSink for F {
    fn item(&mut self, item: StreamItem) {
        self(item)
    }
}

/// `mask` turned to start at payload position `at`, repeated over a word.
fn mask_word(mask: [u8; 4], at: u64) -> (u64, [u8; 4]) {
    let mut m = mask;
    m.rotate_left((at % 4) as usize);
    let [a, b, c, d] = m;
    (u64::from_ne_bytes([a, b, c, d, a, b, c, d]), m)
}

/// Unmask `bytes`, which start at payload position `at`, in place
/// (RFC 6455 §5.3: octet i XOR mask[i mod 4]).
pub fn unmask(bytes: &mut [u8], mask: [u8; 4], at: u64) {
    let (word, m) = mask_word(mask, at);
    let mut chunks = bytes.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        c.copy_from_slice(&(u64::from_ne_bytes(w) ^ word).to_ne_bytes());
    }
    for c in chunks.into_remainder().chunks_mut(4) {
        for (b, k) in c.iter_mut().zip(m) {
            *b ^= k;
        }
    }
}

/// Append `src`, which starts at payload position `at`, unmasked to `dst`
/// in one pass.
pub fn unmask_into(dst: &mut Vec<u8>, src: &[u8], mask: [u8; 4], at: u64) {
    let (word, m) = mask_word(mask, at);
    dst.reserve(src.len());
    let mut chunks = src.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        dst.extend_from_slice(&(u64::from_ne_bytes(w) ^ word).to_ne_bytes());
    }
    for c in chunks.remainder().chunks(4) {
        dst.extend(c.iter().zip(m).map(|(b, k)| b ^ k));
    }
}

#[derive(Debug)]
enum State {
    /// Collecting header bytes.
    Header,
    /// Inside a payload.
    Payload {
        header: FrameHeader,
        offset: u64,
        first_frame: u64,
        remaining: u64,
        head: PayloadHead,
        lost: u64,
        /// The sink asked for the payload bytes.
        wanted: bool,
    },
    /// Stopped for the rest of the direction.
    Stopped,
}

/// Follows the frames of one direction.
#[derive(Debug)]
pub struct FrameStream {
    state: State,
    /// Header bytes collected so far (at most 14).
    pending: Vec<u8>,
    /// Stream offset of `pending[0]`, or of the next byte.
    at: u64,
    pending_frame: u64,
}

impl Default for FrameStream {
    fn default() -> Self {
        FrameStream {
            state: State::Header,
            pending: Vec::with_capacity(14),
            at: 0,
            pending_frame: 0,
        }
    }
}

impl FrameStream {
    /// A stream positioned at stream offset `at` (where the WebSocket
    /// bytes start, after the HTTP upgrade).
    pub fn starting_at(at: u64) -> FrameStream {
        FrameStream {
            at,
            ..FrameStream::default()
        }
    }

    /// A stream that parses nothing (the direction carries no WebSocket).
    pub fn stopped_at(at: u64) -> FrameStream {
        FrameStream {
            at,
            state: State::Stopped,
            ..FrameStream::default()
        }
    }

    /// Whether parsing stopped for good.
    pub fn stopped(&self) -> bool {
        matches!(self.state, State::Stopped)
    }

    /// The stream offset where the next frame header starts, if the bytes
    /// so far ended exactly on a frame boundary.
    pub fn next_header_at(&self) -> Option<u64> {
        (matches!(self.state, State::Header) && self.pending.is_empty()).then_some(self.at)
    }

    /// Feed bytes that follow the previous ones, carried by `frame`.
    pub fn data(&mut self, mut bytes: &[u8], frame: u64, out: &mut impl FrameSink) {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Stopped => return,
                State::Header => {
                    if self.pending.is_empty() {
                        self.pending_frame = frame;
                    }
                    // Take only what a header can need, so payload bytes
                    // are never copied here.
                    let before = self.pending.len();
                    let take = 14usize.saturating_sub(before).min(bytes.len());
                    self.pending
                        .extend_from_slice(bytes.get(..take).unwrap_or_default());
                    match parse_header(&self.pending) {
                        Parsed::NeedMore(_) => {
                            bytes = bytes.get(take..).unwrap_or_default();
                        }
                        Parsed::Malformed(problem) => {
                            out.item(StreamItem::Malformed {
                                offset: self.at,
                                problem,
                            });
                            self.state = State::Stopped;
                            return;
                        }
                        Parsed::Header(header) => {
                            // The header ends within the bytes just taken.
                            let used = header.header_len.saturating_sub(before);
                            bytes = bytes.get(used..).unwrap_or_default();
                            let offset = self.at;
                            self.at += header.header_len as u64;
                            self.pending.clear();
                            out.header(&header, offset);
                            let wanted = !header.opcode.is_control()
                                && header.len > 0
                                && out.wants_payload(&header, offset);
                            self.state = State::Payload {
                                header,
                                offset,
                                first_frame: self.pending_frame,
                                remaining: header.len,
                                head: PayloadHead::default(),
                                lost: 0,
                                wanted,
                            };
                            self.finish_if_done(frame, out);
                        }
                    }
                }
                State::Payload {
                    header,
                    offset,
                    remaining,
                    head,
                    wanted,
                    ..
                } => {
                    let n = (*remaining).min(bytes.len() as u64) as usize;
                    let (chunk, rest) = bytes.split_at(n);
                    let done = header.len - *remaining;
                    if *wanted && n > 0 {
                        out.payload(header, *offset, done, chunk);
                    }
                    // Bytes lost to a gap leave the head short: only a
                    // head that is still contiguous grows.
                    if done == head.len as u64 && usize::from(head.len) < KEPT_PAYLOAD {
                        head.keep(chunk, done, header.mask);
                    }
                    *remaining -= n as u64;
                    self.at += n as u64;
                    bytes = rest;
                    self.finish_if_done(frame, out);
                }
            }
        }
    }

    /// `len` bytes of the direction are missing.
    pub fn gap(&mut self, len: u64, frame: u64, out: &mut impl FrameSink) {
        match &mut self.state {
            State::Stopped => {}
            State::Payload {
                remaining, lost, ..
            } if len <= *remaining => {
                *remaining -= len;
                *lost += len;
                self.at += len;
                self.finish_if_done(frame, out);
            }
            _ => {
                out.item(StreamItem::Desynchronized { offset: self.at });
                self.state = State::Stopped;
            }
        }
    }

    fn finish_if_done(&mut self, frame: u64, out: &mut impl FrameSink) {
        if let State::Payload { remaining: 0, .. } = self.state {
            if let State::Payload {
                header,
                offset,
                first_frame,
                head,
                lost,
                ..
            } = std::mem::replace(&mut self.state, State::Header)
            {
                out.item(StreamItem::Frame {
                    header,
                    offset,
                    first_frame,
                    last_frame: frame,
                    payload_head: head,
                    payload_lost: lost,
                });
            }
        }
    }
}

/// Encode a frame the way RFC 6455 §5.2 lays it out (for tests here and
/// in the recogniser's).
#[cfg(test)]
pub(crate) fn encode(
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    payload: &[u8],
) -> Vec<u8> {
    let mut v = vec![(u8::from(fin) << 7) | (rsv << 4) | opcode];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => v.push(m | n as u8),
        n if n <= 0xFFFF => {
            v.push(m | 126);
            v.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            v.push(m | 127);
            v.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if let Some(k) = mask {
        v.extend_from_slice(&k);
        v.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
    } else {
        v.extend_from_slice(payload);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frames(stream: &mut FrameStream, bytes: &[u8], cut: usize) -> Vec<StreamItem> {
        let mut out = Vec::new();
        for (i, piece) in bytes.chunks(cut.max(1)).enumerate() {
            stream.data(piece, i as u64 + 1, &mut |it| out.push(it));
        }
        out
    }

    #[test]
    fn unmask_matches_the_rfc_rule_at_any_position() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let plain: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let wire: Vec<u8> = plain
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        for start in [0usize, 1, 2, 3, 5, 13, 999] {
            for end in [start, start + 1, (start + 9).min(1000), 1000] {
                let mut a = wire[start..end].to_vec();
                unmask(&mut a, mask, start as u64);
                assert_eq!(a, &plain[start..end]);
                let mut b = vec![9];
                unmask_into(&mut b, &wire[start..end], mask, start as u64);
                assert_eq!(&b[1..], &plain[start..end]);
            }
        }
    }

    #[test]
    fn masked_close_frame() {
        // FIN + Close; MASK + length 5; key; 1000 "bye" masked.
        let b = encode(true, 0, 8, Some([1, 2, 3, 4]), b"\x03\xe8bye");
        let Parsed::Header(h) = parse_header(&b) else {
            panic!()
        };
        assert!(h.fin && h.opcode == Opcode::CLOSE && h.len == 5 && h.header_len == 6);
        let out = frames(&mut FrameStream::default(), &b, 3);
        let StreamItem::Frame {
            payload_head,
            first_frame,
            last_frame,
            ..
        } = &out[0]
        else {
            panic!()
        };
        assert_eq!(payload_head.as_slice(), b"\x03\xe8bye");
        assert_eq!((*first_frame, *last_frame), (1, 4)); // 11 bytes in 3-byte pieces
    }

    #[test]
    fn truncated_headers_need_more_and_bad_lengths_are_malformed() {
        assert_eq!(parse_header(&[]), Parsed::NeedMore(2));
        assert_eq!(parse_header(&[0x81]), Parsed::NeedMore(1));
        assert_eq!(parse_header(&[0x82, 126, 1]), Parsed::NeedMore(1));
        assert_eq!(
            parse_header(&[0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0, 1]),
            Parsed::NeedMore(4)
        );
        // A 64-bit length with the top bit set.
        let bad = [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            parse_header(&bad),
            Parsed::Malformed(FrameProblem::LengthHighBit)
        );
        // 5 written with the 16-bit form is legal to parse but not minimal.
        let Parsed::Header(h) = parse_header(&[0x81, 126, 0, 5]) else {
            panic!()
        };
        assert!(h.non_minimal_length && h.len == 5);
        // A huge claimed length allocates nothing.
        let huge = [0x82, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        let out = frames(&mut FrameStream::default(), &huge, 100);
        assert!(out.is_empty());
    }

    #[test]
    fn gap_inside_a_payload_keeps_framing_gap_on_a_header_stops() {
        let a = encode(true, 0, 2, None, &[7u8; 300]);
        let b = encode(true, 0, 1, None, b"next");
        let mut s = FrameStream::default();
        let mut out = Vec::new();
        s.data(&a[..50], 1, &mut |i| out.push(i));
        s.gap(100, 2, &mut |i| out.push(i));
        s.data(&a[150..], 3, &mut |i| out.push(i));
        s.data(&b, 4, &mut |i| out.push(i));
        assert_eq!(out.len(), 2);
        assert!(matches!(
            &out[0],
            StreamItem::Frame {
                payload_lost: 100,
                ..
            }
        ));
        assert!(
            matches!(&out[1], StreamItem::Frame { header, .. } if header.opcode == Opcode::TEXT)
        );
        // Now a gap where the next header would be.
        s.gap(3, 5, &mut |i| out.push(i));
        assert!(matches!(out[2], StreamItem::Desynchronized { .. }));
        s.data(&b, 6, &mut |i| out.push(i));
        assert_eq!(out.len(), 3, "nothing is invented after losing sync");
    }

    proptest! {
        /// Encode random frames, cut the bytes anywhere: every frame comes
        /// back with its header and unmasked payload head.
        #[test]
        fn round_trip(
            specs in prop::collection::vec(
                (any::<bool>(), 0u8..8, prop::sample::select(vec![0u8, 1, 2, 8, 9, 10, 3, 0xB]),
                 prop::option::of(any::<[u8; 4]>()), prop::collection::vec(any::<u8>(), 0..70_000)),
                1..6),
            cut in 1usize..5000,
        ) {
            let mut bytes = Vec::new();
            for (fin, rsv, op, mask, payload) in &specs {
                bytes.extend(encode(*fin, *rsv, *op, *mask, payload));
            }
            let out = frames(&mut FrameStream::default(), &bytes, cut);
            prop_assert_eq!(out.len(), specs.len());
            for (item, (fin, rsv, op, mask, payload)) in out.iter().zip(&specs) {
                let StreamItem::Frame { header, payload_head, payload_lost, .. } = item else {
                    return Err(TestCaseError::fail("not a frame"));
                };
                prop_assert_eq!(header.fin, *fin);
                prop_assert_eq!(header.rsv, *rsv);
                prop_assert_eq!(header.opcode, Opcode(*op));
                prop_assert_eq!(header.mask, *mask);
                prop_assert_eq!(header.len, payload.len() as u64);
                prop_assert_eq!(payload_head.as_slice(), &payload[..payload.len().min(KEPT_PAYLOAD)]);
                prop_assert_eq!(*payload_lost, 0);
            }
        }

        /// Arbitrary bytes never panic and never report more frames than
        /// headers could fit.
        #[test]
        fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4096), cut in 1usize..64) {
            let out = frames(&mut FrameStream::default(), &bytes, cut);
            prop_assert!(out.len() <= bytes.len() / 2 + 1);
        }
    }
}
