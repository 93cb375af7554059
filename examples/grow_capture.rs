//! Grow a capture to any size: the original, then N-1 clones of it in
//! which every packet's IP addresses are moved onto addresses of the
//! clone's own and every timestamp is shifted, with the checksums that
//! cover the addresses kept as valid (or as invalid) as they were. A 10 GB
//! benchmark capture then needs no 10-minute traffic run.
//!
//! ```sh
//! cargo run --release --example grow_capture -- IN.pcap OUT.pcap --copies N \
//!     [--mode sequential|interleave] [--fix-checksums]
//! ```
//!
//! - Input: classic pcap (either byte order, micro- or nanosecond
//!   timestamps) or single-section pcapng, read with pcap-parser in a
//!   bounded buffer. The output has the input's format and header.
//! - Link types: Ethernet (with 802.1Q / 802.1ad tags), Linux SLL and SLL2,
//!   BSD loopback (NULL, LOOP) and raw IP. A clone leaves out the frames of
//!   any other link type (their addresses cannot be moved); non-IP frames
//!   (ARP, ...) are cloned unchanged.
//! - Addresses: clone k XORs a 16-bit tag into octets 2 and 3 of every IPv4
//!   address (127.0.0.1 -> 127.0.k.1) and into the fourth 16-bit group (the
//!   subnet ID of a /48) of every IPv6 address, both endpoints alike. The
//!   first octet (loopback, private, public) is kept. Tags are chosen after
//!   a first pass over the file so that no address of one copy is an
//!   address of another: 1, 2, 3, ... unless the capture has addresses that
//!   differ only in those bits (10.77.1.1 and 10.77.2.1), whose differences
//!   are then skipped. No 4-tuple of one copy is therefore seen in another.
//! - Time: `sequential` (default) shifts copy k by k x (the capture's
//!   duration rounded up to a whole second, + 1 s) and writes it after copy
//!   k-1, so the file stays in time order and as many connections are open
//!   at once as in the original. `interleave` shifts copy k by k ms and
//!   merges the copies by timestamp (a k-way merge of k readers of the same
//!   file, each with a bounded buffer), so concurrency grows k-fold.
//! - Checksums: only addresses change, so the IPv4 header checksum and the
//!   TCP, UDP and ICMPv6 checksums (their pseudo-header has the addresses)
//!   are updated incrementally (RFC 1624, eqn. 3). A checksum that was
//!   valid stays valid; one that was wrong (checksum offload on the
//!   capturing host: `lo` and veth captures hold a partial sum) stays wrong
//!   by exactly the same amount, so the clone is "as invalid as before" and
//!   looks to any tool as the original does. `--fix-checksums` instead
//!   recomputes them from the packet whenever the whole segment was
//!   captured (not cut by the snapshot length, not an IP fragment), which
//!   makes an offloaded capture valid. A UDP checksum of zero (none) stays
//!   zero.
//!
//! Memory is bounded: one read buffer per reader (4 MiB; in `interleave`
//! 64 MiB shared by the N readers, at least 64 KiB each; a buffer grows
//! only for a record that needs it, up to 16 MiB), one 4 MiB write buffer,
//! and a set of the distinct addresses (at most 1 Mi of them). Bad input never panics: a
//! corrupt record stops the run with the file and offset, and the
//! partial output is removed; a file cut short inside its last record is
//! grown up to the last complete record, with a warning.

// A benchmark tool, not the analyzer: its header reads index buffers whose
// length the caller checked just before (the library denies this lint).
#![allow(clippy::indexing_slicing)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use pcap_parser::pcap::{parse_pcap_frame, parse_pcap_frame_be, parse_pcap_header};
use pcap_parser::pcapng::{parse_block_be, parse_block_le, parse_sectionheaderblock, Block};
use pcap_parser::PcapError;
use rustc_hash::{FxHashMap, FxHashSet};

/// Largest record accepted (as wsforensics itself): a bigger length field
/// is corruption, not a packet, and is never allocated.
const MAX_RECORD: usize = 16 << 20;
/// Read buffer of one reader in `sequential` mode.
const READ_BUF: usize = 4 << 20;
/// Read buffers of all readers together in `interleave` mode.
const INTERLEAVE_BUDGET: usize = 64 << 20;
/// The output is written in pieces of about this size.
const WRITE_BUF: usize = 4 << 20;
/// Distinct addresses remembered for choosing the tags.
const MAX_ADDRESSES: usize = 1 << 20;
/// Pairs of addresses compared when choosing the tags.
const MAX_PAIRS: u64 = 64 << 20;

const NS_PER_S: u64 = 1_000_000_000;

const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
const PCAPNG_BOM: u32 = 0x1A2B_3C4D;

#[derive(Debug, Parser)]
#[command(
    name = "grow_capture",
    about = "Grow a pcap/pcapng capture: the original plus N-1 clones on new addresses with shifted timestamps"
)]
struct Args {
    /// Capture to grow (pcap or pcapng, not compressed).
    input: PathBuf,
    /// Where to write the grown capture (same format as the input).
    output: PathBuf,
    /// Copies in the output, the original included.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=65536))]
    copies: u32,
    /// How the copies are placed in time.
    #[arg(long, value_enum, default_value_t = Mode::Sequential)]
    mode: Mode,
    /// Recompute the IPv4, TCP, UDP and ICMPv6 checksums of the clones from
    /// their bytes (when the whole segment was captured) instead of
    /// updating them for the new addresses.
    #[arg(long)]
    fix_checksums: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Copy k shifted by k x (duration + 1 s), written after copy k-1.
    Sequential,
    /// Copy k shifted by k ms, all copies merged in timestamp order.
    Interleave,
}

/// Why the run stopped; the message names the file and, for bad input,
/// the offset.
#[derive(Debug)]
struct Failure(String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, Failure>;

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("grow_capture: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------
// Reading

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

impl Endian {
    fn u32_at(self, b: &[u8], at: usize) -> Option<u32> {
        let w: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u32::from_le_bytes(w),
            Endian::Big => u32::from_be_bytes(w),
        })
    }

    fn put_u32(self, b: &mut [u8], at: usize, v: u32) {
        let w = match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        };
        if let Some(dst) = b.get_mut(at..at + 4) {
            dst.copy_from_slice(&w);
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Format {
    Pcap {
        endian: Endian,
        /// Timestamp units per second: 10^6 or 10^9.
        units: u64,
        linktype: u32,
    },
    /// The endianness of the current section.
    Pcapng { endian: Endian },
}

#[derive(Clone, Copy, Debug)]
struct Iface {
    linktype: u32,
    /// Timestamp units per second (`if_tsresol`).
    units: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_s: i64,
}

/// What a record is, and where its parts are (offsets from its start).
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A pcap record or a pcapng Enhanced Packet Block.
    Packet {
        data_at: usize,
        caplen: usize,
        linktype: u32,
        /// Raw timestamp, in `units` per second.
        ts: u64,
        units: u64,
        /// The timestamp in ns since 1970, for ordering.
        ts_ns: i128,
    },
    /// A pcapng Simple Packet Block: interface 0, no timestamp.
    Simple {
        data_at: usize,
        caplen: usize,
        linktype: u32,
    },
    /// Section header and interface descriptions: written once, at the top.
    Header,
    /// Any other pcapng block (statistics, name resolution, secrets,
    /// custom, the obsolete Packet Block): kept in the original only.
    Other,
}

#[derive(Clone, Copy, Debug)]
struct Head {
    /// Offset of the record in the reader's buffer.
    at: usize,
    len: usize,
    kind: Kind,
}

/// Streams the records of one capture file through a bounded buffer.
struct Source {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[start]`.
    offset: u64,
    eof: bool,
    format: Format,
    /// The pcap file header, for the output.
    pcap_header: Vec<u8>,
    ifaces: Vec<Iface>,
    sections: u32,
    head: Option<Head>,
    records: u64,
    /// Set when the file ends inside a record.
    truncated: Option<String>,
}

impl Source {
    fn open(path: &Path, buf_size: usize) -> Result<Source> {
        let file = File::open(path)
            .map_err(|e| Failure(format!("{}: cannot open: {e}", path.display())))?;
        let mut s = Source {
            path: path.to_path_buf(),
            file,
            buf: vec![0; buf_size.max(64 << 10)],
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
            format: Format::Pcapng {
                endian: Endian::Little,
            },
            pcap_header: Vec::new(),
            ifaces: Vec::new(),
            sections: 0,
            head: None,
            records: 0,
            truncated: None,
        };
        s.fill(24)?;
        if s.end == s.start {
            return Err(s.bad(0, "empty file"));
        }
        let head = s.buf.get(s.start..s.end).unwrap_or_default();
        let magic = Endian::Little.u32_at(head, 0);
        match magic {
            Some(PCAPNG_SHB) => {}
            Some(0xa1b2_c3d4 | 0xa1b2_3c4d | 0xd4c3_b2a1 | 0x4d3c_b2a1) => {
                let h = match parse_pcap_header(head) {
                    Ok((_, h)) => h,
                    Err(_) => return Err(s.bad(0, "pcap file header cut short")),
                };
                s.format = Format::Pcap {
                    endian: if h.is_bigendian() {
                        Endian::Big
                    } else {
                        Endian::Little
                    },
                    units: if h.is_nanosecond_precision() {
                        NS_PER_S
                    } else {
                        1_000_000
                    },
                    linktype: h.network.0 as u32,
                };
                s.pcap_header = head.get(..24).unwrap_or_default().to_vec();
                s.start += 24;
                s.offset = 24;
            }
            Some(0xa1b2_cd34 | 0x34cd_b2a1) => {
                return Err(s.bad(0, "modified (Kuznetzov) pcap is not supported"))
            }
            _ => return Err(s.bad(0, "not a pcap or pcapng file (unknown magic number)")),
        }
        Ok(s)
    }

    fn bad(&self, offset: u64, what: &str) -> Failure {
        Failure(format!("{}: offset {offset}: {what}", self.path.display()))
    }

    /// Make at least `want` bytes available from `start`, unless the file
    /// ends first. `want` is at most `MAX_RECORD` plus a header.
    fn fill(&mut self, want: usize) -> Result<()> {
        if self.end - self.start >= want || self.eof {
            return Ok(());
        }
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        if self.buf.len() < want {
            self.buf.resize(want.next_power_of_two(), 0);
        }
        while self.end < want && !self.eof {
            let Some(room) = self.buf.get_mut(self.end..) else {
                break;
            };
            match self.file.read(room) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let at = self.offset + self.end as u64;
                    return Err(self.bad(at, &format!("read error: {e}")));
                }
            }
        }
        Ok(())
    }

    /// The next record, left in the buffer until [`advance`](Self::advance).
    fn peek(&mut self) -> Result<Option<Head>> {
        if let Some(h) = self.head {
            return Ok(Some(h));
        }
        loop {
            let avail = self.end - self.start;
            let need = match self.format {
                Format::Pcap { .. } => self.pcap_need()?,
                Format::Pcapng { .. } => self.pcapng_need()?,
            };
            match need {
                Some(n) if n <= avail => break,
                _ if self.eof => {
                    if avail > 0 {
                        self.truncated = Some(format!(
                            "{}: offset {}: file ends inside a record ({avail} of its bytes present); the {} complete records before it are used",
                            self.path.display(),
                            self.offset,
                            self.records
                        ));
                    }
                    return Ok(None);
                }
                Some(n) => self.fill(n)?,
                None => self.fill(avail + 1)?,
            }
        }
        let h = match self.format {
            Format::Pcap {
                endian,
                units,
                linktype,
            } => self.parse_pcap(endian, units, linktype)?,
            Format::Pcapng { endian } => self.parse_pcapng(endian)?,
        };
        self.records += 1;
        self.head = Some(h);
        Ok(Some(h))
    }

    /// Bytes the record at `start` takes, when its header is there.
    fn pcap_need(&self) -> Result<Option<usize>> {
        let Format::Pcap { endian, .. } = self.format else {
            return Ok(None);
        };
        let avail = self.buf.get(self.start..self.end).unwrap_or_default();
        let Some(caplen) = endian.u32_at(avail, 8) else {
            return Ok(None);
        };
        if caplen as usize > MAX_RECORD {
            return Err(self.bad(
                self.offset,
                &format!("record header says {caplen} captured bytes (more than {MAX_RECORD}): corrupt file"),
            ));
        }
        Ok(Some(16 + caplen as usize))
    }

    fn pcapng_need(&self) -> Result<Option<usize>> {
        let avail = self.buf.get(self.start..self.end).unwrap_or_default();
        let Some(kind) = Endian::Little.u32_at(avail, 0) else {
            return Ok(None);
        };
        let endian = if kind == PCAPNG_SHB {
            // A section header carries its own byte order.
            match Endian::Little.u32_at(avail, 8) {
                None => return Ok(None),
                Some(PCAPNG_BOM) => Endian::Little,
                Some(_) => Endian::Big,
            }
        } else {
            match self.format {
                Format::Pcapng { endian } => endian,
                Format::Pcap { .. } => Endian::Little,
            }
        };
        let Some(len) = endian.u32_at(avail, 4) else {
            return Ok(None);
        };
        let len = len as usize;
        if !(12..=MAX_RECORD).contains(&len) || len % 4 != 0 {
            return Err(self.bad(
                self.offset,
                &format!("pcapng block length {len} is impossible: corrupt file"),
            ));
        }
        Ok(Some(len))
    }

    fn parse_pcap(&self, endian: Endian, units: u64, linktype: u32) -> Result<Head> {
        let bytes = self.buf.get(self.start..self.end).unwrap_or_default();
        let parsed = match endian {
            Endian::Little => parse_pcap_frame(bytes),
            Endian::Big => parse_pcap_frame_be(bytes),
        };
        let (rest, b) = parsed.map_err(|e| self.bad(self.offset, &describe(&e)))?;
        let ts = u64::from(b.ts_sec) * units + u64::from(b.ts_usec);
        Ok(Head {
            at: self.start,
            len: bytes.len() - rest.len(),
            kind: Kind::Packet {
                data_at: 16,
                caplen: b.data.len(),
                linktype,
                ts,
                units,
                ts_ns: to_ns(ts, units, 0),
            },
        })
    }

    fn parse_pcapng(&mut self, endian: Endian) -> Result<Head> {
        let at = self.start;
        let offset = self.offset;
        let bytes = self.buf.get(self.start..self.end).unwrap_or_default();
        let parsed = if Endian::Little.u32_at(bytes, 0) == Some(PCAPNG_SHB) {
            parse_sectionheaderblock(bytes).map(|(r, b)| (r, Block::SectionHeader(b)))
        } else {
            match endian {
                Endian::Little => parse_block_le(bytes),
                Endian::Big => parse_block_be(bytes),
            }
        };
        let (rest, block) = match parsed {
            Ok(v) => v,
            Err(e) => return Err(self.bad(offset, &describe(&e))),
        };
        let len = bytes.len() - rest.len();
        let kind = match block {
            Block::SectionHeader(shb) => {
                self.sections += 1;
                if self.sections > 1 {
                    return Err(self.bad(
                        offset,
                        "a second pcapng section: files of several sections are not supported",
                    ));
                }
                self.format = Format::Pcapng {
                    endian: if shb.big_endian() {
                        Endian::Big
                    } else {
                        Endian::Little
                    },
                };
                Kind::Header
            }
            Block::InterfaceDescription(idb) => {
                let Some(units) = idb.ts_resolution().filter(|&u| u > 0) else {
                    return Err(self.bad(
                        offset,
                        &format!("interface {} has an invalid if_tsresol", self.ifaces.len()),
                    ));
                };
                self.ifaces.push(Iface {
                    linktype: idb.linktype.0 as u32,
                    units,
                    offset_s: idb.ts_offset(),
                });
                Kind::Header
            }
            Block::EnhancedPacket(epb) => {
                let Some(iface) = self.ifaces.get(epb.if_id as usize).copied() else {
                    return Err(self.bad(
                        offset,
                        &format!(
                            "packet of interface {} but {} interfaces are described",
                            epb.if_id,
                            self.ifaces.len()
                        ),
                    ));
                };
                let ts = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                Kind::Packet {
                    data_at: 28,
                    caplen: (epb.caplen as usize).min(epb.data.len()),
                    linktype: iface.linktype,
                    ts,
                    units: iface.units,
                    ts_ns: to_ns(ts, iface.units, iface.offset_s),
                }
            }
            Block::SimplePacket(spb) => {
                let Some(iface) = self.ifaces.first() else {
                    return Err(self.bad(offset, "simple packet block before any interface"));
                };
                Kind::Simple {
                    data_at: 12,
                    caplen: (spb.origlen as usize).min(spb.data.len()),
                    linktype: iface.linktype,
                }
            }
            _ => Kind::Other,
        };
        Ok(Head { at, len, kind })
    }

    fn bytes(&self, h: &Head) -> &[u8] {
        self.buf.get(h.at..h.at + h.len).unwrap_or_default()
    }

    fn advance(&mut self) {
        if let Some(h) = self.head.take() {
            self.start += h.len;
            self.offset += h.len as u64;
        }
    }
}

/// A pcap-parser error in a few words (its Display would print the input).
fn describe(e: &pcap_parser::nom::Err<PcapError<&[u8]>>) -> String {
    match e {
        pcap_parser::nom::Err::Incomplete(_) => "record cut short".to_string(),
        pcap_parser::nom::Err::Error(p) | pcap_parser::nom::Err::Failure(p) => match p {
            PcapError::NomError(_, k) | PcapError::OwnedNomError(_, k) => {
                format!("malformed record ({k:?})")
            }
            other => format!("malformed record ({other})"),
        },
    }
}

fn to_ns(ts: u64, units: u64, offset_s: i64) -> i128 {
    let units = u128::from(units.max(1));
    let ns = u128::from(ts) * u128::from(NS_PER_S) / units;
    ns as i128 + i128::from(offset_s) * i128::from(NS_PER_S)
}

// ---------------------------------------------------------------------
// Addresses, tags and checksums

/// Where a frame's IP header starts, by link type; `Err` for a link type
/// whose frames cannot be rewritten, `Ok(None)` for a frame that is not IP.
fn ip_offset(d: &[u8], linktype: u32) -> std::result::Result<Option<usize>, ()> {
    let be16 = |at: usize| -> Option<u16> {
        let w = d.get(at..at + 2)?;
        Some(u16::from_be_bytes([w[0], w[1]]))
    };
    let by_ethertype = |et: Option<u16>, off: usize| match et {
        Some(0x0800 | 0x86dd) => Some(off),
        _ => None,
    };
    Ok(match linktype {
        // Ethernet, with any number (up to 8) of 802.1Q / 802.1ad tags.
        1 => {
            let (mut et, mut off) = (be16(12), 14);
            for _ in 0..8 {
                if !matches!(et, Some(0x8100 | 0x88a8 | 0x9100)) {
                    break;
                }
                et = be16(off + 2);
                off += 4;
            }
            by_ethertype(et, off)
        }
        // Linux SLL: protocol at 14.
        113 => by_ethertype(be16(14), 16),
        // Linux SLL2: protocol first.
        276 => by_ethertype(be16(0), 20),
        // BSD loopback (NULL, LOOP): a 4-byte address family.
        0 | 108 => Some(4),
        // Raw IP.
        12 | 14 | 101 | 228 | 229 => Some(0),
        _ => return Err(()),
    })
}

/// A 32-bit ones' complement sum folded to 16 bits.
fn fold(mut s: u64) -> u16 {
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// The ones' complement sum of `b` (odd length padded with a zero byte),
/// not yet folded.
fn sum(b: &[u8]) -> u64 {
    let mut acc = 0u64;
    let mut words = b.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let mut tail = [0u8; 4];
    let rest = words.remainder();
    tail[..rest.len()].copy_from_slice(rest);
    acc + u64::from(u32::from_be_bytes(tail))
}

fn get16(d: &[u8], at: usize) -> Option<u16> {
    let w = d.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([w[0], w[1]]))
}

fn put16(d: &mut [u8], at: usize, v: u16) {
    if let Some(w) = d.get_mut(at..at + 2) {
        w.copy_from_slice(&v.to_be_bytes());
    }
}

/// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), with `delta` = sum of ~m + m'
/// over the changed words.
fn adjust(d: &mut [u8], at: usize, delta: u64) -> bool {
    let Some(hc) = get16(d, at) else {
        return false;
    };
    put16(d, at, !fold(u64::from(!hc) + delta));
    true
}

/// Counters of one run, printed at the end.
#[derive(Debug, Default)]
struct Stats {
    written: u64,
    v4: u64,
    v6: u64,
    not_ip: u64,
    /// Clones of frames whose link type we cannot rewrite: left out.
    dropped: BTreeMap<u32, u64>,
    /// Frames whose addresses were not (all) captured: left out.
    short: u64,
    others_skipped: u64,
    updated: u64,
    recomputed: u64,
}

/// How a frame's addresses were moved.
enum Moved {
    Yes,
    NotIp,
    UnknownLink,
    Short,
}

/// Move the addresses of the frame `d` by `tag` and repair the checksums.
fn move_addresses(d: &mut [u8], linktype: u32, tag: u16, fix: bool, st: &mut Stats) -> Moved {
    let off = match ip_offset(d, linktype) {
        Err(()) => return Moved::UnknownLink,
        Ok(None) => return Moved::NotIp,
        Ok(Some(off)) => off,
    };
    match d.get(off).map(|b| b >> 4) {
        Some(4) => ipv4(d, off, tag, fix, st),
        Some(6) => ipv6(d, off, tag, fix, st),
        _ => Moved::NotIp,
    }
}

fn ipv4(d: &mut [u8], off: usize, tag: u16, fix: bool, st: &mut Stats) -> Moved {
    let Some(h) = d.get_mut(off..off + 20) else {
        return Moved::Short;
    };
    let old = sum(&h[12..20]);
    let [hi, lo] = tag.to_be_bytes();
    // Octets 2 and 3 of the source and destination addresses.
    h[13] ^= hi;
    h[14] ^= lo;
    h[17] ^= hi;
    h[18] ^= lo;
    let new = sum(&h[12..20]);
    // ~m + m' over the two addresses: ~m summed as 0xffff - m per word
    // (4 words, so 4 x 0xffff - old).
    let delta = 4 * 0xffff - fold(old) as u64 + u64::from(fold(new));
    let pseudo = [h[12], h[13], h[14], h[15], h[16], h[17], h[18], h[19]];
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let frag = u16::from_be_bytes([h[6], h[7]]);
    let proto = h[9];
    st.v4 += 1;
    if ihl < 20 {
        return Moved::Yes;
    }
    // IPv4 header checksum.
    match d.get_mut(off..off + ihl) {
        Some(hdr) if fix => {
            hdr[10] = 0;
            hdr[11] = 0;
            let c = !fold(sum(hdr));
            put16(hdr, 10, c);
            st.recomputed += 1;
        }
        _ => {
            if adjust(d, off + 10, delta) {
                st.updated += 1;
            }
        }
    }
    // Only the first fragment holds the transport header.
    if frag & 0x1fff != 0 {
        return Moved::Yes;
    }
    let whole = frag & 0x2000 == 0 && total >= ihl && off + total <= d.len();
    let t = off + ihl;
    let end = if whole { off + total } else { d.len() };
    transport(d, t, end, whole && fix, proto, &pseudo, delta, false, st);
    Moved::Yes
}

fn ipv6(d: &mut [u8], off: usize, tag: u16, fix: bool, st: &mut Stats) -> Moved {
    let Some(h) = d.get_mut(off..off + 40) else {
        return Moved::Short;
    };
    let old = sum(&h[8..40]);
    let [hi, lo] = tag.to_be_bytes();
    // The fourth 16-bit group (bytes 6-7) of both addresses.
    h[14] ^= hi;
    h[15] ^= lo;
    h[30] ^= hi;
    h[31] ^= lo;
    let new = sum(&h[8..40]);
    let delta = 16 * 0xffff - fold(old) as u64 + u64::from(fold(new));
    let mut pseudo = [0u8; 32];
    pseudo.copy_from_slice(&h[8..40]);
    let payload = usize::from(u16::from_be_bytes([h[4], h[5]]));
    let mut next = h[6];
    st.v6 += 1;
    // Walk the extension headers to the transport header.
    let mut t = off + 40;
    let mut fragmented = false;
    for _ in 0..16 {
        match next {
            // Hop-by-hop, routing, destination options.
            0 | 43 | 60 => {
                let (Some(&nh), Some(&len)) = (d.get(t), d.get(t + 1)) else {
                    return Moved::Yes;
                };
                next = nh;
                t += (usize::from(len) + 1) * 8;
            }
            // Fragment: only the first fragment holds the transport header.
            44 => {
                let (Some(&nh), Some(fo)) = (d.get(t), get16(d, t + 2)) else {
                    return Moved::Yes;
                };
                if fo >> 3 != 0 {
                    return Moved::Yes;
                }
                fragmented = true;
                next = nh;
                t += 8;
            }
            // Authentication header.
            51 => {
                let (Some(&nh), Some(&len)) = (d.get(t), d.get(t + 1)) else {
                    return Moved::Yes;
                };
                next = nh;
                t += (usize::from(len) + 2) * 4;
            }
            _ => break,
        }
    }
    let end = off + 40 + payload;
    let whole = !fragmented && payload > 0 && end <= d.len() && t <= end;
    let end = if whole { end } else { d.len() };
    transport(d, t, end, whole && fix, next, &pseudo, delta, true, st);
    Moved::Yes
}

/// Repair the checksum of the transport header at `t` (segment up to
/// `end`): recomputed when `full`, else updated by `delta`.
#[allow(clippy::too_many_arguments)]
fn transport(
    d: &mut [u8],
    t: usize,
    end: usize,
    full: bool,
    proto: u8,
    pseudo_addrs: &[u8],
    delta: u64,
    v6: bool,
    st: &mut Stats,
) {
    let at = match proto {
        6 => t + 16,
        17 => t + 6,
        58 if v6 => t + 2,
        _ => return,
    };
    let Some(was) = get16(d, at) else {
        return;
    };
    // Recompute only when the header checksum field is inside the segment.
    let full = full && at + 2 <= end;
    // A UDP checksum of zero means "none".
    if proto == 17 && was == 0 {
        return;
    }
    let c = if full {
        let Some(seg) = d.get_mut(t..end) else {
            return;
        };
        put16(seg, at - t, 0);
        let len = seg.len() as u64;
        let s = sum(pseudo_addrs) + u64::from(proto) + len + sum(seg);
        st.recomputed += 1;
        !fold(s)
    } else {
        st.updated += 1;
        !fold(u64::from(!was) + delta)
    };
    // UDP sends a computed zero as all ones (RFC 768).
    put16(d, at, if proto == 17 && c == 0 { 0xffff } else { c });
}

/// The tag XORed into an IPv4 address's octets 2-3, or an IPv6 address's
/// fourth group.
fn tag_bits(v6: bool, a: &[u8; 16]) -> u16 {
    if v6 {
        u16::from_be_bytes([a[6], a[7]])
    } else {
        u16::from_be_bytes([a[1], a[2]])
    }
}

/// The distinct addresses of a capture (family, 16 bytes; IPv4 in the
/// first 4), up to `MAX_ADDRESSES`.
#[derive(Default)]
struct Addresses {
    set: FxHashSet<(bool, [u8; 16])>,
    overflow: bool,
    last: Option<(bool, [u8; 32])>,
}

impl Addresses {
    fn add_frame(&mut self, d: &[u8], linktype: u32) {
        let Ok(Some(off)) = ip_offset(d, linktype) else {
            return;
        };
        let (v6, src, dst) = match d.get(off).map(|b| b >> 4) {
            Some(4) => match d.get(off + 12..off + 20) {
                Some(a) => (false, &a[..4], &a[4..]),
                None => return,
            },
            Some(6) => match d.get(off + 8..off + 40) {
                Some(a) => (true, &a[..16], &a[16..]),
                None => return,
            },
            _ => return,
        };
        let mut pair = [0u8; 32];
        pair[..src.len()].copy_from_slice(src);
        pair[16..16 + dst.len()].copy_from_slice(dst);
        if self.last == Some((v6, pair)) {
            return;
        }
        self.last = Some((v6, pair));
        for a in [&pair[..16], &pair[16..]] {
            if self.set.len() >= MAX_ADDRESSES {
                self.overflow = true;
                return;
            }
            let mut k = [0u8; 16];
            k.copy_from_slice(a);
            self.set.insert((v6, k));
        }
    }

    /// Tags for `copies` copies (the first is 0, the original) such that
    /// no address of one copy is an address of another: two addresses
    /// that differ only in the tag bits forbid their difference.
    fn choose_tags(&self, copies: u32) -> Result<Vec<u16>> {
        let mut groups: FxHashMap<(bool, [u8; 16]), Vec<u16>> = FxHashMap::default();
        for &(v6, a) in &self.set {
            let mut key = a;
            let bits = if v6 { 6..8 } else { 1..3 };
            key[bits].fill(0);
            groups.entry((v6, key)).or_default().push(tag_bits(v6, &a));
        }
        let mut forbidden = vec![false; 1 << 16];
        let mut any = false;
        let mut pairs = 0u64;
        for tags in groups.values().filter(|g| g.len() > 1) {
            pairs += (tags.len() * (tags.len() - 1) / 2) as u64;
            if pairs > MAX_PAIRS {
                return Err(Failure(
                    "too many addresses that differ only in the tag bits to choose collision-free copies".into(),
                ));
            }
            for (i, &a) in tags.iter().enumerate() {
                for &b in tags.get(i + 1..).unwrap_or_default() {
                    if let Some(f) = forbidden.get_mut(usize::from(a ^ b)) {
                        *f = true;
                        any = true;
                    }
                }
            }
        }
        let copies = copies as usize;
        if !any {
            return Ok((0..copies).map(|k| k as u16).collect());
        }
        let mut chosen = vec![0u16];
        for c in 1..=u16::MAX {
            if chosen.len() >= copies {
                break;
            }
            if chosen
                .iter()
                .all(|&t| !forbidden.get(usize::from(c ^ t)).copied().unwrap_or(true))
            {
                chosen.push(c);
            }
        }
        if chosen.len() < copies {
            return Err(Failure(format!(
                "only {} copies can be made without two copies sharing an address",
                chosen.len()
            )));
        }
        Ok(chosen)
    }
}

// ---------------------------------------------------------------------
// The passes

/// What the first pass learns.
struct Scan {
    format: Format,
    /// pcap file header, or pcapng section header (length unknown) and
    /// every interface description, in order.
    header: Vec<u8>,
    records: u64,
    packets: u64,
    first_ns: Option<i128>,
    last_ns: Option<i128>,
    addresses: Addresses,
    warnings: Vec<String>,
}

fn scan(path: &Path) -> Result<Scan> {
    let mut src = Source::open(path, READ_BUF)?;
    let mut header = src.pcap_header.clone();
    let mut addresses = Addresses::default();
    let (mut packets, mut first, mut last) = (0u64, None, None);
    while let Some(h) = src.peek()? {
        let bytes = src.bytes(&h);
        match h.kind {
            Kind::Packet {
                data_at,
                caplen,
                linktype,
                ts_ns,
                ..
            } => {
                packets += 1;
                first = Some(first.map_or(ts_ns, |f: i128| f.min(ts_ns)));
                last = Some(last.map_or(ts_ns, |l: i128| l.max(ts_ns)));
                if let Some(d) = bytes.get(data_at..data_at + caplen) {
                    addresses.add_frame(d, linktype);
                }
            }
            Kind::Simple {
                data_at,
                caplen,
                linktype,
            } => {
                packets += 1;
                if let Some(d) = bytes.get(data_at..data_at + caplen) {
                    addresses.add_frame(d, linktype);
                }
            }
            Kind::Header => {
                let start = header.len();
                header.extend_from_slice(bytes);
                // A section header's length (bytes 16..24) becomes
                // "unknown" (-1): the section grows.
                if header.get(start..start + 4) == Some(&PCAPNG_SHB.to_le_bytes()[..]) {
                    if let Some(len) = header.get_mut(start + 16..start + 24) {
                        len.fill(0xff);
                    }
                }
            }
            Kind::Other => {}
        }
        src.advance();
    }
    let mut warnings = Vec::new();
    warnings.extend(src.truncated.take());
    if addresses.overflow {
        warnings.push(format!(
            "{}: more than {MAX_ADDRESSES} distinct addresses: tags were chosen from the first ones only",
            path.display()
        ));
    }
    Ok(Scan {
        format: src.format,
        header,
        records: src.records,
        packets,
        first_ns: first,
        last_ns: last,
        addresses,
        warnings,
    })
}

/// One copy: its tag and its time shift.
#[derive(Clone, Copy, Debug)]
struct Copy {
    index: usize,
    tag: u16,
    shift_ns: u64,
}

/// `shift_ns` in `units` per second, rounded to the nearest unit.
fn shift_units(shift_ns: u64, units: u64) -> Option<u64> {
    let s = shift_ns / NS_PER_S;
    let rest = u128::from(shift_ns % NS_PER_S);
    let frac = (rest * u128::from(units) + u128::from(NS_PER_S / 2)) / u128::from(NS_PER_S);
    s.checked_mul(units)?.checked_add(u64::try_from(frac).ok()?)
}

/// Buffered output that knows its path for messages.
struct Output {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    written: u64,
}

impl Output {
    fn flush_if_full(&mut self) -> Result<()> {
        if self.buf.len() >= WRITE_BUF {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.file.write_all(&self.buf).map_err(|e| {
            Failure(format!(
                "{}: offset {}: write error: {e}",
                self.path.display(),
                self.written
            ))
        })?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

/// Write record `h` of `src` as part of `copy`.
fn emit(
    src: &Source,
    h: &Head,
    copy: &Copy,
    fix: bool,
    out: &mut Output,
    st: &mut Stats,
) -> Result<()> {
    let raw = src.bytes(h);
    let (data_at, caplen, linktype) = match h.kind {
        Kind::Header => return Ok(()),
        Kind::Other => {
            if copy.index == 0 {
                out.buf.extend_from_slice(raw);
            } else {
                st.others_skipped += 1;
            }
            return Ok(());
        }
        Kind::Packet {
            data_at,
            caplen,
            linktype,
            ..
        }
        | Kind::Simple {
            data_at,
            caplen,
            linktype,
        } => (data_at, caplen, linktype),
    };
    st.written += 1;
    let start = out.buf.len();
    out.buf.extend_from_slice(raw);
    if copy.index == 0 {
        // The original keeps its addresses and times; with
        // --fix-checksums its checksums are recomputed too.
        if fix {
            if let Some(data) = out.buf.get_mut(start + data_at..start + data_at + caplen) {
                let _ = move_addresses(data, linktype, 0, true, st);
            }
        }
        return Ok(());
    }
    let rec = out.buf.get_mut(start..).unwrap_or_default();
    if let Kind::Packet { ts, units, .. } = h.kind {
        let shifted = shift_units(copy.shift_ns, units)
            .and_then(|s| ts.checked_add(s))
            .ok_or_else(|| src.bad(src.offset, "shifted timestamp does not fit in 64 bits"))?;
        match src.format {
            Format::Pcap { endian, units, .. } => {
                let secs = u32::try_from(shifted / units).map_err(|_| {
                    src.bad(
                        src.offset,
                        "shifted timestamp is past 2106, the end of pcap's 32-bit seconds: use fewer copies",
                    )
                })?;
                endian.put_u32(rec, 0, secs);
                endian.put_u32(rec, 4, (shifted % units) as u32);
            }
            Format::Pcapng { endian } => {
                endian.put_u32(rec, 12, (shifted >> 32) as u32);
                endian.put_u32(rec, 16, shifted as u32);
            }
        }
    }
    let Some(data) = rec.get_mut(data_at..data_at + caplen) else {
        return Ok(());
    };
    match move_addresses(data, linktype, copy.tag, fix, st) {
        Moved::Yes => {}
        Moved::NotIp => st.not_ip += 1,
        Moved::UnknownLink => {
            *st.dropped.entry(linktype).or_default() += 1;
            st.written -= 1;
            out.buf.truncate(start);
        }
        Moved::Short => {
            st.short += 1;
            st.written -= 1;
            out.buf.truncate(start);
        }
    }
    Ok(())
}

fn sequential(args: &Args, copies: &[Copy], out: &mut Output, st: &mut Stats) -> Result<()> {
    for copy in copies {
        let mut src = Source::open(&args.input, READ_BUF)?;
        while let Some(h) = src.peek()? {
            emit(&src, &h, copy, args.fix_checksums, out, st)?;
            src.advance();
            out.flush_if_full()?;
        }
    }
    Ok(())
}

/// Advance `src` to its next packet, writing (for the original) or
/// skipping the blocks before it; the packet's merge key.
fn next_packet(
    src: &mut Source,
    copy: &Copy,
    last_ns: &mut i128,
    fix: bool,
    out: &mut Output,
    st: &mut Stats,
) -> Result<Option<i128>> {
    while let Some(h) = src.peek()? {
        match h.kind {
            Kind::Packet { ts_ns, .. } => {
                // The shift is whole milliseconds: exact in ns.
                *last_ns = ts_ns + i128::from(copy.shift_ns);
                return Ok(Some(*last_ns));
            }
            // No timestamp: keep its place after the packet before it.
            Kind::Simple { .. } => return Ok(Some(*last_ns)),
            Kind::Header | Kind::Other => {
                emit(src, &h, copy, fix, out, st)?;
                src.advance();
            }
        }
    }
    Ok(None)
}

fn interleave(args: &Args, copies: &[Copy], out: &mut Output, st: &mut Stats) -> Result<()> {
    let per_reader = (INTERLEAVE_BUDGET / copies.len().max(1)).clamp(64 << 10, READ_BUF);
    let mut sources = Vec::with_capacity(copies.len());
    let mut last = vec![i128::MIN; copies.len()];
    let mut heap = BinaryHeap::with_capacity(copies.len());
    for (k, copy) in copies.iter().enumerate() {
        let mut src = Source::open(&args.input, per_reader)?;
        if let Some(key) = next_packet(&mut src, copy, &mut last[k], args.fix_checksums, out, st)? {
            heap.push(Reverse((key, k)));
        }
        sources.push(src);
    }
    // Each copy's packets keep their order; among copies the earliest
    // goes first (ties: the lower copy).
    while let Some(Reverse((_, k))) = heap.pop() {
        let (Some(src), Some(copy), Some(last_k)) =
            (sources.get_mut(k), copies.get(k), last.get_mut(k))
        else {
            continue;
        };
        if let Some(h) = src.peek()? {
            emit(src, &h, copy, args.fix_checksums, out, st)?;
            src.advance();
        }
        if let Some(key) = next_packet(src, copy, last_k, args.fix_checksums, out, st)? {
            heap.push(Reverse((key, k)));
        }
        out.flush_if_full()?;
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(a: &Path, b: &Path) -> bool {
    a == b
}

fn run(args: &Args) -> Result<()> {
    if same_file(&args.input, &args.output) {
        return Err(Failure(format!(
            "{}: the output would overwrite the input",
            args.output.display()
        )));
    }
    let started = Instant::now();
    let scan = scan(&args.input)?;
    for w in &scan.warnings {
        eprintln!("grow_capture: warning: {w}");
    }
    let (Some(first), Some(last)) = (scan.first_ns, scan.last_ns) else {
        return Err(Failure(format!(
            "{}: no packets with a timestamp to grow",
            args.input.display()
        )));
    };
    let tags = scan.addresses.choose_tags(args.copies)?;
    let duration = u64::try_from(last - first).unwrap_or(0);
    // Whole seconds, so that the shift is exact in every resolution.
    let step = (duration.div_ceil(NS_PER_S) + 1) * NS_PER_S;
    let copies: Vec<Copy> = tags
        .iter()
        .enumerate()
        .map(|(k, &tag)| Copy {
            index: k,
            tag,
            shift_ns: match args.mode {
                Mode::Sequential => k as u64 * step,
                Mode::Interleave => k as u64 * 1_000_000,
            },
        })
        .collect();
    let scanned = started.elapsed();

    let file = File::create(&args.output)
        .map_err(|e| Failure(format!("{}: cannot create: {e}", args.output.display())))?;
    let mut out = Output {
        path: args.output.clone(),
        file,
        buf: Vec::with_capacity(WRITE_BUF + (256 << 10)),
        written: 0,
    };
    out.buf.extend_from_slice(&scan.header);
    let mut st = Stats::default();
    let grown = match args.mode {
        Mode::Sequential => sequential(args, &copies, &mut out, &mut st),
        Mode::Interleave => interleave(args, &copies, &mut out, &mut st),
    }
    .and_then(|()| out.flush());
    if let Err(e) = grown {
        drop(out);
        let _ = std::fs::remove_file(&args.output);
        return Err(e);
    }
    let total = started.elapsed();
    let input_size = std::fs::metadata(&args.input).map_or(0, |m| m.len());
    let secs = (total - scanned).as_secs_f64().max(1e-9);
    eprintln!(
        "grow_capture: {} ({}, {} bytes, {} packets, {:.3} s) x {} {} -> {}: {} bytes, {} packets",
        args.input.display(),
        match scan.format {
            Format::Pcap { .. } => "pcap",
            Format::Pcapng { .. } => "pcapng",
        },
        input_size,
        scan.packets,
        duration as f64 / 1e9,
        args.copies,
        match args.mode {
            Mode::Sequential => "sequential",
            Mode::Interleave => "interleave",
        },
        args.output.display(),
        out.written,
        st.written,
    );
    eprintln!(
        "grow_capture: scan {:.2} s, copies {:.2} s: {:.0} MB/s written ({:.0} MB/s of input per pass); {} records per copy",
        scanned.as_secs_f64(),
        secs,
        out.written as f64 / 1e6 / secs,
        input_size as f64 * f64::from(args.copies) / 1e6 / secs,
        scan.records,
    );
    eprintln!(
        "grow_capture: {} IPv4 and {} IPv6 packets rewritten, {} non-IP frames kept as they were; checksums {} updated, {} recomputed; tags {:?}{}",
        st.v4,
        st.v6,
        st.not_ip,
        st.updated,
        st.recomputed,
        &tags[..tags.len().min(8)],
        if tags.len() > 8 { " ..." } else { "" },
    );
    if !st.dropped.is_empty() || st.short > 0 || st.others_skipped > 0 {
        eprintln!(
            "grow_capture: warning: left out of the clones: frames of link types we cannot rewrite {:?}, {} frames cut before their IP addresses, {} non-packet blocks (kept in the original only)",
            st.dropped, st.short, st.others_skipped
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet + IPv4 + TCP frame with valid checksums.
    fn frame_v4(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12] = 0x08; // ethertype IPv4
        let total = 20 + 20 + payload.len();
        let mut ip = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0x40,
            0,
            64,
            6,
            0,
            0, // csum
            10,
            77,
            1,
            1, // src
            10,
            77,
            2,
            1, // dst
        ];
        let c = !fold(sum(&ip));
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        let mut tcp = vec![
            0x9c, 0x40, 0x23, 0x28, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0,
        ];
        tcp.extend_from_slice(payload);
        let s = sum(&ip[12..20]) + 6 + tcp.len() as u64 + sum(&tcp);
        let c = !fold(s);
        tcp[16..18].copy_from_slice(&c.to_be_bytes());
        f.extend(ip);
        f.extend(tcp);
        f
    }

    fn v4_valid(f: &[u8]) -> (bool, bool) {
        let ip = &f[14..34];
        let tcp = &f[34..];
        let ip_ok = fold(sum(ip)) == 0xffff;
        let s = sum(&ip[12..20]) + 6 + tcp.len() as u64 + sum(tcp);
        (ip_ok, fold(s) == 0xffff)
    }

    #[test]
    fn incremental_update_keeps_valid_checksums_valid() {
        for len in [0, 1, 2, 3, 5, 100, 1461] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            for tag in [1u16, 2, 255, 256, 0x1234, 0xffff] {
                let mut f = frame_v4(&payload);
                assert_eq!(v4_valid(&f), (true, true));
                let mut st = Stats::default();
                assert!(matches!(
                    move_addresses(&mut f, 1, tag, false, &mut st),
                    Moved::Yes
                ));
                assert_eq!(v4_valid(&f), (true, true), "len {len} tag {tag}");
                assert_eq!(&f[26..34], &{
                    let [h, l] = tag.to_be_bytes();
                    [10, 77 ^ h, 1 ^ l, 1, 10, 77 ^ h, 2 ^ l, 1]
                });
            }
        }
    }

    #[test]
    fn incremental_update_keeps_invalid_checksums_as_wrong() {
        let mut f = frame_v4(b"hello");
        f[50] ^= 0x5a; // tcp checksum now wrong
        let before = v4_valid(&f);
        let mut fixed = f.clone();
        let mut st = Stats::default();
        move_addresses(&mut f, 1, 7, false, &mut st);
        assert_eq!(v4_valid(&f), before);
        move_addresses(&mut fixed, 1, 7, true, &mut st);
        assert_eq!(v4_valid(&fixed), (true, true));
    }

    #[test]
    fn moving_twice_by_the_same_tag_gives_the_original() {
        let orig = frame_v4(b"abc");
        let mut f = orig.clone();
        let mut st = Stats::default();
        move_addresses(&mut f, 1, 0x0302, false, &mut st);
        move_addresses(&mut f, 1, 0x0302, false, &mut st);
        assert_eq!(f, orig);
    }

    #[test]
    fn hostile_frames_do_not_panic() {
        let mut st = Stats::default();
        for lt in [0, 1, 12, 101, 108, 113, 228, 229, 276, 9999] {
            for len in 0..80 {
                for fill in [0x00u8, 0x45, 0x60, 0x81, 0xff] {
                    let mut f = vec![fill; len];
                    let _ = move_addresses(&mut f, lt, 0xffff, true, &mut st);
                    let _ = move_addresses(&mut f, lt, 1, false, &mut st);
                }
            }
        }
    }

    #[test]
    fn tags_skip_differences_between_addresses_of_the_capture() {
        let mut a = Addresses::default();
        for addr in [[10u8, 77, 1, 1], [10, 77, 2, 1], [127, 0, 0, 1]] {
            let mut k = [0u8; 16];
            k[..4].copy_from_slice(&addr);
            a.set.insert((false, k));
        }
        // 10.77.1.1 ^ 10.77.2.1 differ by 3 in the tag bits.
        let tags = a.choose_tags(4).unwrap();
        assert_eq!(tags, vec![0, 1, 4, 5]);
    }

    #[test]
    fn shifts_round_to_the_unit() {
        assert_eq!(shift_units(3 * NS_PER_S, 1_000_000), Some(3_000_000));
        assert_eq!(shift_units(1_000_000, 1_000_000), Some(1000));
        assert_eq!(shift_units(1_000_000, 100), Some(0));
        assert_eq!(shift_units(u64::MAX, u64::MAX), None);
    }
}
