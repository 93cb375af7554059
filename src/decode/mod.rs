//! Decode layer: link-layer dispatch (Ethernet with 802.1Q/QinQ tags, Linux
//! SLL and SLL2, BSD NULL/LOOP, raw IP), IPv4/IPv6 through etherparse, IP
//! fragment reassembly, and the TCP header.
//!
//! In: [`Frame`]s. Out: borrowed [`Segment`] views. A packet cut by the
//! snapshot length keeps its headers: the payload it lost is reported as
//! `missing`, and the flow layer turns it into a gap. Everything that is not
//! TCP over IP is counted, not reported one by one.

mod defrag;

use crate::limits::{Limit, LimitHits};

use std::collections::BTreeMap;
use std::net::IpAddr;

use etherparse::{IpNumber, LaxIpSlice, TcpHeaderSlice};

use crate::capture::{Frame, LinkType, Timestamp};
use crate::vocab::Endpoint;

pub use defrag::{Defragmenter, MAX_PENDING_DATAGRAMS, REASSEMBLY_TIMEOUT_NS};

/// TCP header flags (RFC 9293 §3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No more data from sender.
    pub const FIN: u8 = 0x01;
    /// Synchronize sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Push.
    pub const PSH: u8 = 0x08;
    /// Acknowledgment field is significant.
    pub const ACK: u8 = 0x10;

    /// Whether all bits of `bits` are set.
    #[inline]
    pub fn has(self, bits: u8) -> bool {
        self.0 & bits == bits
    }
}

/// A TCP segment, borrowing its payload from the frame (or from the
/// defragmenter for a reassembled datagram).
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    /// Frame number (of the last fragment, for a reassembled datagram).
    pub frame: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Sender.
    pub src: Endpoint,
    /// Receiver.
    pub dst: Endpoint,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (meaningful when ACK is set).
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Advertised window (unscaled).
    pub window: u16,
    /// The payload bytes present in the capture.
    pub payload: &'a [u8],
    /// Payload bytes the segment carried on the wire but the capture lost
    /// (snapshot length); they follow `payload`.
    pub missing: u32,
}

impl Segment<'_> {
    /// Payload bytes the segment carried on the wire (captured or not);
    /// SYN and FIN take a sequence number each on top of this.
    pub fn wire_len(&self) -> u32 {
        // Saturating: the fields are public, so nothing bounds their sum.
        u32::try_from(self.payload.len())
            .unwrap_or(u32::MAX)
            .saturating_add(self.missing)
    }
}

/// What the decoder did with frames it did not turn into segments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Frames decoded to a TCP segment.
    pub tcp: u64,
    /// IP packets carrying another protocol (UDP, ICMP, ...).
    pub other_ip: u64,
    /// Frames that carry no IP (ARP, LLDP, ...).
    pub non_ip: u64,
    /// Frames whose link or IP or TCP header was cut or invalid.
    pub malformed: u64,
    /// Frames that were IP fragments (reassembled or not).
    pub fragments: u64,
    /// Fragments dropped: the pool was full, the datagram timed out or its
    /// fragments were inconsistent.
    pub fragments_dropped: u64,
    /// Frames per link type this tool does not decode.
    pub unsupported_links: BTreeMap<u32, u64>,
    /// TCP segments whose payload the capture's snapshot length cut.
    pub cut_by_snaplen: u64,
    /// Most bytes kept of a cut frame: the snapshot length in effect.
    pub snaplen: u32,
}

/// The network layer found under the link header.
enum Net<'a> {
    Ip(&'a [u8]),
    NotIp,
    Unsupported,
    Malformed,
}

// IEEE 802 EtherTypes.
const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86DD;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88A8;
const ETH_QINQ_OLD: u16 = 0x9100;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..)?.first_chunk::<2>()?;
    Some(u16::from_be_bytes(*s))
}

fn by_ethertype(ethertype: u16, rest: &[u8]) -> Net<'_> {
    match ethertype {
        ETH_IPV4 | ETH_IPV6 => Net::Ip(rest),
        _ => Net::NotIp,
    }
}

/// Strip the link-layer header.
fn link(linktype: LinkType, data: &[u8]) -> Net<'_> {
    match linktype {
        LinkType::ETHERNET => {
            let Some(mut ethertype) = be16(data, 12) else {
                return Net::Malformed;
            };
            let mut at = 14;
            // 802.1Q and 802.1ad (QinQ) tags, any depth.
            while matches!(ethertype, ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD) {
                let Some(inner) = be16(data, at + 2) else {
                    return Net::Malformed;
                };
                ethertype = inner;
                at += 4;
            }
            match data.get(at..) {
                Some(rest) => by_ethertype(ethertype, rest),
                None => Net::Malformed,
            }
        }
        LinkType::LINUX_SLL => match (be16(data, 14), data.get(16..)) {
            (Some(proto), Some(rest)) => by_ethertype(proto, rest),
            _ => Net::Malformed,
        },
        LinkType::LINUX_SLL2 => match (be16(data, 0), data.get(20..)) {
            (Some(proto), Some(rest)) => by_ethertype(proto, rest),
            _ => Net::Malformed,
        },
        LinkType::NULL | LinkType::LOOP => {
            let Some((&fam, rest)) = data.split_first_chunk::<4>() else {
                return Net::Malformed;
            };
            // NULL is in the writer's byte order; AF values are small, so
            // whichever end holds the non-zero byte tells the order.
            let family = if linktype == LinkType::LOOP || matches!(fam, [0, 0, _, _]) {
                u32::from_be_bytes(fam)
            } else {
                u32::from_le_bytes(fam)
            };
            // AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD,
            // OpenBSD), 28 (FreeBSD), 30 (macOS).
            match family {
                2 | 10 | 24 | 28 | 30 => Net::Ip(rest),
                _ => Net::NotIp,
            }
        }
        LinkType::RAW
        | LinkType::RAW_OPENBSD
        | LinkType::RAW_BSDOS
        | LinkType::IPV4
        | LinkType::IPV6 => Net::Ip(data),
        _ => Net::Unsupported,
    }
}

/// Turns frames into TCP segments. One per capture file (it owns the
/// fragment pool).
#[derive(Default)]
pub struct Decoder {
    stats: DecodeStats,
    defrag: Defragmenter,
    hits: LimitHits,
}

impl Decoder {
    /// A decoder with an empty fragment pool.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// A decoder whose fragment pool holds at most `cap` datagrams.
    pub fn with_fragment_cap(cap: usize) -> Decoder {
        Decoder {
            defrag: Defragmenter::with_cap(cap),
            ..Decoder::default()
        }
    }

    /// Times the fragment pool was full and dropped a datagram.
    pub fn limit_hits(&self) -> &LimitHits {
        &self.hits
    }

    /// Counters so far.
    pub fn stats(&self) -> &DecodeStats {
        &self.stats
    }

    /// The capture is over: fragments of datagrams still incomplete will
    /// never be reassembled, and count as dropped.
    pub fn finish(&mut self) {
        self.stats.fragments_dropped += self.defrag.drain_pending();
    }

    /// Decode one frame; `None` when it carries no TCP segment (counted).
    pub fn decode<'s, 'a: 's>(&'s mut self, frame: &Frame<'a>) -> Option<Segment<'s>> {
        let ip = match link(frame.linktype, frame.data) {
            Net::Ip(ip) => ip,
            Net::NotIp => {
                self.stats.non_ip += 1;
                return None;
            }
            Net::Malformed => {
                self.stats.malformed += 1;
                return None;
            }
            Net::Unsupported => {
                *self
                    .stats
                    .unsupported_links
                    .entry(frame.linktype.0)
                    .or_insert(0) += 1;
                return None;
            }
        };
        let Ok((slice, _ext_err)) = LaxIpSlice::from_slice(ip) else {
            self.stats.malformed += 1;
            return None;
        };
        let src = slice.source_addr();
        let dst = slice.destination_addr();
        let payload = slice.payload();
        if payload.ip_number != IpNumber::TCP {
            self.stats.other_ip += 1;
            return None;
        }
        if payload.fragmented {
            self.stats.fragments += 1;
            let mut evicted = 0;
            let datagram = self.defrag.add(
                &slice,
                frame.ts,
                &mut self.stats.fragments_dropped,
                &mut evicted,
            );
            self.hits.hit_n(Limit::IpFragments, evicted, frame.number);
            let datagram = datagram?;
            return tcp(frame, src, dst, datagram, datagram.len(), &mut self.stats);
        }
        // Length of the IP payload according to the IP header, which the
        // snapshot length may have cut.
        let claimed = match &slice {
            LaxIpSlice::Ipv4(v4) => {
                let h = v4.header();
                let total = usize::from(h.total_len());
                let hl = h.slice().len() + v4.extensions().auth.map_or(0, |a| a.slice().len());
                // total_len 0 is seen with TCP segmentation offload.
                if total >= hl {
                    total - hl
                } else {
                    payload.payload.len()
                }
            }
            LaxIpSlice::Ipv6(v6) => {
                let pl = usize::from(v6.header().payload_length());
                let ext = v6.extensions().slice().len();
                if pl >= ext && pl != 0 {
                    pl - ext
                } else {
                    payload.payload.len()
                }
            }
        };
        tcp(frame, src, dst, payload.payload, claimed, &mut self.stats)
    }
}

/// Parse the TCP header at the start of `bytes` (the IP payload present in
/// the capture), whose length on the wire was `claimed`.
fn tcp<'s>(
    frame: &Frame<'_>,
    src: IpAddr,
    dst: IpAddr,
    bytes: &'s [u8],
    claimed: usize,
    stats: &mut DecodeStats,
) -> Option<Segment<'s>> {
    let Ok(h) = TcpHeaderSlice::from_slice(bytes) else {
        stats.malformed += 1;
        return None;
    };
    let hl = h.slice().len();
    let payload = bytes.get(hl..).unwrap_or_default();
    let wire = claimed.saturating_sub(hl);
    // Ethernet padding can make the capture longer than the IP length says.
    let payload = payload.get(..wire).unwrap_or(payload);
    let missing = (wire - payload.len()) as u32;
    stats.tcp += 1;
    if missing > 0 && (frame.data.len() as u64) < u64::from(frame.orig_len) {
        stats.cut_by_snaplen += 1;
        stats.snaplen = stats.snaplen.max(frame.data.len() as u32);
    }
    let flags = bytes.get(13).copied().unwrap_or(0) & 0x3f;
    Some(Segment {
        frame: frame.number,
        ts: frame.ts,
        src: Endpoint {
            ip: src,
            port: h.source_port(),
        },
        dst: Endpoint {
            ip: dst,
            port: h.destination_port(),
        },
        seq: h.sequence_number(),
        ack: h.acknowledgment_number(),
        flags: TcpFlags(flags),
        window: h.window_size(),
        payload,
        missing,
    })
}
