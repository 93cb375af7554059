//! pcapng blocks: section endianness, interfaces (link type, `if_tsresol`,
//! `if_tsoffset`) and packet blocks, parsed with pcap-parser.

use pcap_parser::pcapng::{
    parse_block_be, parse_block_le, Block, EnhancedPacketBlock, InterfaceDescriptionBlock,
    SimplePacketBlock,
};

use super::{CaptureErrorKind, LinkType, Timestamp, MAX_RECORD};

/// Section Header Block type; a palindrome, so it reads the same either way.
pub const SHB_MAGIC: u32 = 0x0A0D_0D0A;
const BOM: u32 = 0x1A2B_3C4D;

#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: LinkType,
    /// Timestamp units per second.
    units: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset: i64,
    /// Bytes kept of each packet (0: no limit).
    snaplen: u32,
}

/// Per-file pcapng state.
#[derive(Clone, Default)]
pub struct State {
    big_endian: Option<bool>,
    interfaces: Vec<Interface>,
    last_ts: Timestamp,
}

/// A packet from a packet block.
pub struct Packet<'a> {
    pub ts: Timestamp,
    pub linktype: LinkType,
    pub orig_len: u32,
    pub data: &'a [u8],
}

/// A block that could not be used; reading goes on after it.
pub enum BlockProblem {
    /// Reading goes on; `packet` says whether it was a packet block (which
    /// still takes a frame number).
    Skip { msg: String, packet: bool },
}

/// RFC: pcapng §4.2 (if_tsresol): most significant bit clear means a
/// negative power of 10, set means a negative power of 2.
fn units_per_second(tsresol: u8) -> Option<u64> {
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(u32::from(tsresol))
    } else {
        1u64.checked_shl(u32::from(tsresol & 0x7f))
    }
}

impl State {
    /// The link type and snapshot length of each interface declared so
    /// far in this section.
    pub fn interfaces(&self) -> impl Iterator<Item = (LinkType, u32)> + '_ {
        self.interfaces.iter().map(|i| (i.linktype, i.snaplen))
    }

    /// Whether the section is big-endian (`None` before its header).
    pub fn big_endian(&self) -> Option<bool> {
        self.big_endian
    }

    /// Total length of the block whose first 12 bytes are `head`, checked.
    pub fn block_len(&mut self, head: &[u8; 12]) -> Result<usize, CaptureErrorKind> {
        // Block type, total length, and (in a section header) the
        // byte-order magic.
        let [t0, t1, t2, t3, l0, l1, l2, l3, m0, m1, m2, m3] = *head;
        if u32::from_le_bytes([t0, t1, t2, t3]) == SHB_MAGIC {
            let be = match u32::from_le_bytes([m0, m1, m2, m3]) {
                BOM => false,
                x if x == BOM.swap_bytes() => true,
                _ => {
                    return Err(CaptureErrorKind::Malformed(
                        "section header with an unknown byte-order magic".into(),
                    ))
                }
            };
            self.big_endian = Some(be);
        }
        let Some(be) = self.big_endian else {
            return Err(CaptureErrorKind::Malformed(
                "pcapng block before any section header".into(),
            ));
        };
        let len = if be {
            u32::from_be_bytes([l0, l1, l2, l3])
        } else {
            u32::from_le_bytes([l0, l1, l2, l3])
        } as usize;
        if len > MAX_RECORD {
            return Err(CaptureErrorKind::RecordTooLarge {
                claimed: len as u64,
            });
        }
        if len < 12 || len % 4 != 0 {
            return Err(CaptureErrorKind::Malformed(format!(
                "pcapng block with impossible length {len}"
            )));
        }
        Ok(len)
    }

    /// Interpret one whole block. `Ok(None)` for blocks that carry no packet.
    pub fn block<'a>(&mut self, bytes: &'a [u8]) -> Result<Option<Packet<'a>>, BlockProblem> {
        let be = self.big_endian.unwrap_or(false);
        let parsed = if be {
            parse_block_be(bytes)
        } else {
            parse_block_le(bytes)
        };
        let block = match parsed {
            Ok((_, b)) => b,
            Err(e) => return Err(unreadable(bytes, be, &e)),
        };
        match block {
            Block::SectionHeader(_) => {
                // A new section has its own interfaces.
                self.interfaces.clear();
                Ok(None)
            }
            Block::InterfaceDescription(idb) => self.interface(&idb).map(|()| None),
            Block::EnhancedPacket(epb) => self.enhanced_packet(&epb),
            Block::SimplePacket(spb) => self.simple_packet(&spb),
            _ => Ok(None),
        }
    }

    /// Declare the interface `idb` describes. An impossible `if_tsresol`
    /// is a problem to warn of, but the interface is still declared (in
    /// microseconds) so that its packets keep their interface numbers.
    fn interface(&mut self, idb: &InterfaceDescriptionBlock<'_>) -> Result<(), BlockProblem> {
        let units = units_per_second(idb.if_tsresol).filter(|&u| u > 0);
        let index = self.interfaces.len();
        self.interfaces.push(Interface {
            linktype: LinkType(u32::from(idb.linktype.0 as u16)),
            units: units.unwrap_or(1_000_000),
            offset: idb.if_tsoffset,
            snaplen: idb.snaplen,
        });
        if units.is_none() {
            return Err(BlockProblem::Skip {
                msg: format!(
                    "interface {index} has an impossible if_tsresol {:#x}; assuming microseconds",
                    idb.if_tsresol
                ),
                packet: false,
            });
        }
        Ok(())
    }

    /// The packet of an enhanced packet block, timed by its interface
    /// (always `Some`: returned in [`block`](Self::block)'s shape, which
    /// saves re-wrapping it per packet).
    #[inline]
    fn enhanced_packet<'a>(
        &mut self,
        epb: &EnhancedPacketBlock<'a>,
    ) -> Result<Option<Packet<'a>>, BlockProblem> {
        let Some(iface) = self.interfaces.get(epb.if_id as usize).copied() else {
            return Err(BlockProblem::Skip {
                msg: format!("packet on undeclared interface {}", epb.if_id),
                packet: true,
            });
        };
        let ts = iface.timestamp((u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low));
        self.last_ts = ts;
        // The data is padded to 32 bits; caplen says what is packet.
        let data = epb.data.get(..epb.caplen as usize).unwrap_or(epb.data);
        Ok(Some(Packet {
            ts,
            linktype: iface.linktype,
            orig_len: epb.origlen,
            data,
        }))
    }

    /// The packet of a simple packet block, on the section's first
    /// interface (always `Some`, as for an enhanced packet block).
    #[inline]
    fn simple_packet<'a>(
        &mut self,
        spb: &SimplePacketBlock<'a>,
    ) -> Result<Option<Packet<'a>>, BlockProblem> {
        let Some(iface) = self.interfaces.first().copied() else {
            return Err(BlockProblem::Skip {
                msg: "simple packet block before any interface".into(),
                packet: true,
            });
        };
        // A simple packet block has no timestamp; keep time monotonic.
        Ok(Some(Packet {
            ts: self.last_ts,
            linktype: iface.linktype,
            orig_len: spb.origlen,
            data: spb.data,
        }))
    }
}

impl Interface {
    /// The time of a packet whose timestamp field reads `raw` (in this
    /// interface's units since the epoch, before its offset).
    #[inline]
    fn timestamp(&self, raw: u64) -> Timestamp {
        let secs = raw / self.units;
        let frac = raw % self.units;
        // frac < units <= 2^63, so frac * 1e9 fits in u128.
        let nanos = (u128::from(frac) * 1_000_000_000 / u128::from(self.units)) as u64;
        // With if_tsresol 0 (whole seconds) a raw value of 2^63 or
        // more does not fit: saturate rather than wrap to 1969.
        let secs = i64::try_from(secs).unwrap_or(i64::MAX);
        Timestamp::from_parts(secs.saturating_add(self.offset), nanos)
    }
}

/// Why the block `bytes` (in a section of byte order `be`) could not be
/// parsed, as pcap-parser's error `e` says: the problem to warn of, which
/// names the block's type and says whether it was a packet block.
fn unreadable(
    bytes: &[u8],
    be: bool,
    e: &pcap_parser::nom::Err<pcap_parser::PcapError<&[u8]>>,
) -> BlockProblem {
    let btype = bytes.first_chunk::<4>().map(|&a| {
        if be {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    });
    let packet = matches!(btype, Some(3 | 6));
    BlockProblem::Skip {
        msg: format!(
            "unreadable pcapng block of type {:#x}: {}",
            btype.unwrap_or(0),
            describe(e)
        ),
        packet,
    }
}

/// What a pcap-parser error says about a block, for a person.
fn describe(e: &pcap_parser::nom::Err<pcap_parser::PcapError<&[u8]>>) -> String {
    use pcap_parser::nom::error::ErrorKind;
    use pcap_parser::nom::Err;
    use pcap_parser::PcapError;
    let inner = match e {
        Err::Incomplete(_) => return "the block is cut short".to_string(),
        Err::Error(p) | Err::Failure(p) => p,
    };
    match inner {
        PcapError::NomError(_, ErrorKind::Verify) | PcapError::OwnedNomError(_, ErrorKind::Verify) => {
            "its fields do not agree (the trailing block length differs from the leading one, or a length inside the block points past its end)".to_string()
        }
        PcapError::NomError(_, ErrorKind::Eof) | PcapError::OwnedNomError(_, ErrorKind::Eof) => {
            "a field inside it runs past the end of the block".to_string()
        }
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("a field inside it could not be read ({})", kind.description())
        }
        PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof => {
            "the block is cut short".to_string()
        }
        PcapError::BufferTooSmall | PcapError::ReadError | PcapError::HeaderNotRecognized => {
            "it is not a pcapng block".to_string()
        }
    }
}
