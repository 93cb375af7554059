//! decode::Decoder::decode on a sequence of frames of any link type:
//! Ethernet with VLAN/QinQ tags, Linux SLL and SLL2, BSD NULL/LOOP, raw
//! IP, then IPv4/IPv6 (etherparse), IP fragment reassembly and the TCP
//! header.
//!
//! Input: records of
//!   [link selector u8][time step u8 (seconds)][len u16 LE][len bytes]
//! until the input ends (the last record takes what is left). Selectors
//! 0-10 are the link types the decoder knows; others are passed as is.
//!
//! Oracle: the segment's payload never claims more than the frame (or the
//! reassembled datagram) carried, and the stats add up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsforensics::capture::{Frame, LinkType, Timestamp};
use wsforensics::decode::Decoder;

const LINKS: [LinkType; 11] = [
    LinkType::ETHERNET,
    LinkType::RAW,
    LinkType::LINUX_SLL,
    LinkType::LINUX_SLL2,
    LinkType::NULL,
    LinkType::LOOP,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::RAW_OPENBSD,
    LinkType::RAW_BSDOS,
    LinkType(147),
];

fuzz_target!(|data: &[u8]| {
    let mut dec = Decoder::new();
    let mut rest = data;
    let mut number = 0u64;
    let mut ts = 1_700_000_000i64;
    let mut frames = 0u64;
    let mut segments = 0u64;
    while rest.len() >= 4 && number < 10_000 {
        let sel = rest[0];
        ts += i64::from(rest[1]);
        let len = u16::from_le_bytes([rest[2], rest[3]]) as usize;
        let body = &rest[4..];
        let (bytes, next) = body.split_at(len.min(body.len()));
        rest = next;
        number += 1;
        let linktype = LINKS
            .get(usize::from(sel))
            .copied()
            .unwrap_or(LinkType(u32::from(sel)));
        let frame = Frame {
            number,
            ts: Timestamp::from_parts(ts, u64::from(sel) * 1000),
            linktype,
            orig_len: bytes.len() as u32,
            data: bytes,
        };
        frames += 1;
        if let Some(seg) = dec.decode(&frame) {
            segments += 1;
            assert_eq!(seg.frame, number);
            // A payload in the frame itself lies inside its bytes; a
            // reassembled datagram's lies in the decoder's buffer and is
            // at most 64 KiB.
            let p = seg.payload.as_ptr() as usize;
            let f = bytes.as_ptr() as usize;
            let inside = p >= f && p + seg.payload.len() <= f + bytes.len();
            assert!(inside || seg.payload.len() <= 65_535 + 65_535);
            let _ = (seg.wire_len(), seg.src.to_string(), seg.dst.to_string());
            let _ = seg.flags.has(wsforensics::decode::TcpFlags::SYN);
        }
    }
    let s = dec.stats();
    assert_eq!(s.tcp, segments);
    let counted =
        s.tcp + s.other_ip + s.non_ip + s.malformed + s.unsupported_links.values().sum::<u64>();
    // A fragment that does not complete a datagram is counted only as a
    // fragment; one that does is also counted as tcp (or malformed).
    assert!(counted <= frames, "{counted} > {frames}: {s:?}");
    assert!(
        counted + s.fragments >= frames,
        "{counted} + {} < {frames}: {s:?}",
        s.fragments
    );
});
