//! WebSocket frames after the upgrade: analyzers::websocket parse_header,
//! FrameStream (headers split anywhere, TCP gaps), unmask / unmask_into,
//! Utf8Check, and the permessage-deflate Inflater (context takeover or
//! not); or, in session mode, the same bytes behind a synthesized
//! successful upgrade through analyzers::session::Session and the
//! diagnose layer.
//!
//! Input: the two-stream layout of `common.rs`, each stream being frames.
//! Mode bits: 0 session mode; 1 permessage-deflate negotiated; 2
//! client_no_context_takeover; 3 server_no_context_takeover; 4-5 how the
//! connection ended.
//!
//! Oracle (direct mode): the head of each data frame's payload that the
//! stream keeps equals the unmasked first bytes that went by; payload
//! bytes plus lost bytes equal the header's length; unmask and
//! unmask_into agree; no more items than headers could fit.
#![no_main]

#[path = "../common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use wsforensics::analyzers::session::Session;
use wsforensics::analyzers::websocket::{
    parse_header, unmask, unmask_into, FrameHeader, FrameSink, FrameStream, Inflater, Opcode,
    Parsed, StreamItem, Utf8Check,
};
use wsforensics::flow::Observer;
use wsforensics::vocab::Dir;

const KEPT: usize = 125;

struct Sink {
    deflate: bool,
    inflater: Inflater,
    utf8: Utf8Check,
    text: bool,
    compressed: bool,
    /// Unmasked payload bytes of the current frame (the first KEPT).
    head: Vec<u8>,
    /// Payload bytes seen of the current frame, and whether they were
    /// contiguous from 0.
    seen: u64,
    /// Payload bytes delivered of the current frame.
    got: u64,
    contiguous: bool,
    items: usize,
    inflated: u64,
}

impl Sink {
    fn new(deflate: bool, no_takeover: bool) -> Sink {
        Sink {
            deflate,
            inflater: Inflater::new(no_takeover),
            utf8: Utf8Check::default(),
            text: false,
            compressed: false,
            head: Vec::new(),
            seen: 0,
            got: 0,
            contiguous: true,
            items: 0,
            inflated: 0,
        }
    }
}

impl FrameSink for Sink {
    fn item(&mut self, item: StreamItem) {
        self.items += 1;
        if let StreamItem::Frame {
            header,
            payload_head,
            payload_lost,
            ..
        } = &item
        {
            let h = header;
            if !h.opcode.is_control() && h.len > 0 {
                assert_eq!(
                    self.got + payload_lost,
                    h.len,
                    "payload bytes + lost != length"
                );
                if *payload_lost == 0 {
                    assert_eq!(
                        payload_head.as_slice(),
                        &self.head[..],
                        "kept payload head differs from the unmasked bytes"
                    );
                }
            }
            assert!(payload_head.as_slice().len() <= KEPT);
            if !h.opcode.is_control() && h.fin && self.compressed {
                let mut n = 0u64;
                let _ = self.inflater.finish(&mut |b: &[u8]| n += b.len() as u64);
                self.inflated += n;
            }
            if !h.opcode.is_control() && h.fin {
                let _ = (self.utf8.valid(), self.utf8.failed());
            }
        }
        self.head.clear();
        self.seen = 0;
        self.got = 0;
        self.contiguous = true;
    }

    fn wants_payload(&mut self, header: &FrameHeader, _offset: u64) -> bool {
        assert!(!header.opcode.is_control() && header.len > 0);
        if matches!(header.opcode, Opcode::TEXT | Opcode::BINARY) {
            self.text = header.opcode == Opcode::TEXT;
            self.compressed = self.deflate && header.rsv & 0b100 != 0;
            self.utf8 = Utf8Check::default();
        }
        self.head.clear();
        self.seen = 0;
        self.got = 0;
        self.contiguous = true;
        true
    }

    fn payload(&mut self, header: &FrameHeader, _offset: u64, at: u64, bytes: &[u8]) {
        assert!(!bytes.is_empty());
        assert!(at + bytes.len() as u64 <= header.len);
        if at != self.seen {
            assert!(at > self.seen, "payload went backwards");
            self.contiguous = false;
            self.inflater.lose();
        }
        self.seen = at + bytes.len() as u64;
        self.got += bytes.len() as u64;
        let mut plain = Vec::new();
        match header.mask {
            Some(m) => {
                unmask_into(&mut plain, bytes, m, at);
                let mut again = bytes.to_vec();
                unmask(&mut again, m, at);
                assert_eq!(plain, again, "unmask and unmask_into differ");
                // RFC 6455 §5.3, byte by byte.
                for (i, (p, b)) in plain.iter().zip(bytes).enumerate() {
                    assert_eq!(*p, b ^ m[((at + i as u64) % 4) as usize]);
                }
            }
            None => plain.extend_from_slice(bytes),
        }
        if self.contiguous && self.head.len() < KEPT {
            let room = KEPT - self.head.len();
            self.head.extend_from_slice(&plain[..room.min(plain.len())]);
        }
        if self.compressed {
            let (text, utf8) = (self.text, &mut self.utf8);
            self.inflater.feed(&plain, &mut |out: &[u8]| {
                if text {
                    utf8.feed(out)
                }
            });
        } else if self.text {
            self.utf8.feed(&plain);
        }
    }
}

fn direct(s: &common::TwoStreams<'_>) {
    let deflate = s.mode & 2 != 0;
    let mut sinks = [
        Sink::new(deflate, s.mode & 4 != 0),
        Sink::new(deflate, s.mode & 8 != 0),
    ];
    let mut streams = [FrameStream::starting_at(0), FrameStream::default()];
    for p in common::pieces(s) {
        match p {
            common::Piece::Data {
                dir, bytes, frame, ..
            } => streams[dir.index()].data(bytes, frame, &mut sinks[dir.index()]),
            common::Piece::Gap {
                dir, len, frame, ..
            } => streams[dir.index()].gap(len, frame, &mut sinks[dir.index()]),
        }
    }
    for (d, st) in [s.client, s.server].iter().enumerate() {
        assert!(sinks[d].items <= st.len() / 2 + 1);
        let _ = streams[d].stopped();
        // The header parser alone, at the start.
        match parse_header(st) {
            Parsed::Header(h) => {
                assert!((2..=14).contains(&h.header_len));
                assert!(h.header_len <= st.len());
                let _ = (h.opcode.name(), h.opcode.is_reserved());
            }
            Parsed::NeedMore(n) => assert!(n > 0 && n <= 14),
            Parsed::Malformed(_) => {}
        }
    }
}

fn session(s: &common::TwoStreams<'_>) {
    let deflate = s.mode & 2 != 0;
    let mut req = b"GET /chat HTTP/1.1\r\nHost: example.com:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n".to_vec();
    let mut resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n".to_vec();
    if deflate {
        req.extend_from_slice(
            b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
        );
        resp.extend_from_slice(b"Sec-WebSocket-Extensions: permessage-deflate");
        if s.mode & 4 != 0 {
            resp.extend_from_slice(b"; client_no_context_takeover");
        }
        if s.mode & 8 != 0 {
            resp.extend_from_slice(b"; server_no_context_takeover");
        }
        resp.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"\r\n");
    resp.extend_from_slice(b"\r\n");
    let (rl, sl) = (req.len() as u64, resp.len() as u64);
    let mut session = Session::default();
    let ts = wsforensics::capture::Timestamp(1_700_000_000_000_000_000);
    use wsforensics::flow::TcpEvent;
    session.event(&TcpEvent::Data {
        dir: Dir::ClientToServer,
        offset: 0,
        bytes: &req,
        frame: 0,
        ts,
    });
    session.event(&TcpEvent::Data {
        dir: Dir::ServerToClient,
        offset: 0,
        bytes: &resp,
        frame: 0,
        ts,
    });
    let pieces = common::pieces(s);
    for p in &pieces {
        let ev = match *p {
            common::Piece::Data {
                dir,
                offset,
                bytes,
                frame,
                ts,
            } => TcpEvent::Data {
                dir,
                offset: offset + if dir == Dir::ClientToServer { rl } else { sl },
                bytes,
                frame,
                ts,
            },
            common::Piece::Gap {
                dir,
                offset,
                len,
                frame,
                ts,
            } => TcpEvent::Gap {
                dir,
                offset: offset + if dir == Dir::ClientToServer { rl } else { sl },
                len,
                frame,
                ts,
            },
        };
        session.event(&ev);
    }
    let end = common::ended_by(s.mode >> 4);
    let facts = session.finish(end);
    assert!(facts.upgraded());
    assert!(facts.closes.len() <= 4 && facts.findings.len() <= 16);
    let rec = common::record(facts, end, pieces.len() as u64);
    let _ =
        wsforensics::diagnose::diagnose(&rec, None, &wsforensics::diagnose::CaptureView::default());
}

fuzz_target!(|data: &[u8]| {
    let Some(s) = common::split(data) else { return };
    if s.mode & 1 == 0 {
        direct(&s);
    } else {
        session(&s);
    }
});
