//! Input layer: open a capture file, detect its format by magic bytes (pcap in
//! either byte order and timestamp precision, pcapng, and gzip or zstd around
//! either), and stream its packet records as [`Frame`]s with bounded memory.
//!
//! In: a path, or a byte stream such as standard input (nothing here
//! seeks or needs the length). Out: frames borrowing the reader's buffer, numbered from 1 as
//! Wireshark counts them, with nanosecond timestamps; problems as
//! [`CaptureError`] (the file cannot be read further) or warnings (something
//! was skipped but reading went on).

pub mod inputs;
mod pcapng;
mod readahead;
pub mod ring;
mod source;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pcap_parser::pcap::{
    parse_pcap_frame, parse_pcap_frame_be, parse_pcap_frame_modified, parse_pcap_header,
};

pub use crate::vocab::Timestamp;
pub use source::{Compression, BYTES_READ};

/// A link-layer header type (LINKTYPE_* of tcpdump.org); unknown values keep
/// their number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: 4-byte address family in the writer's byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II / 802.3.
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP (either version), as written on most systems.
    pub const RAW: LinkType = LinkType(101);
    /// Raw IP as OpenBSD's DLT_RAW (12) is written in some files.
    pub const RAW_OPENBSD: LinkType = LinkType(12);
    /// Raw IP as BSD/OS's DLT_RAW (14) is written in some files.
    pub const RAW_BSDOS: LinkType = LinkType(14);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1 (`tcpdump -i any`).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            LinkType::NULL => "NULL",
            LinkType::ETHERNET => "ETHERNET",
            LinkType::RAW | LinkType::RAW_OPENBSD | LinkType::RAW_BSDOS => "RAW",
            LinkType::LOOP => "LOOP",
            LinkType::LINUX_SLL => "LINUX_SLL",
            LinkType::IPV4 => "IPV4",
            LinkType::IPV6 => "IPV6",
            LinkType::LINUX_SLL2 => "LINUX_SLL2",
            _ => return write!(f, "{}", self.0),
        };
        write!(f, "{} ({})", name, self.0)
    }
}

/// One packet record of a capture.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based position in the file, as Wireshark numbers frames.
    pub number: u64,
    /// When the packet was captured.
    pub ts: Timestamp,
    /// How to read `data`.
    pub linktype: LinkType,
    /// Length of the packet on the wire; more than `data.len()` when the
    /// snapshot length cut it.
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// The container format of a capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// libpcap format.
    Pcap,
    /// pcapng.
    Pcapng,
}

impl Format {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pcap => "pcap",
            Format::Pcapng => "pcapng",
        }
    }
}

/// Largest record accepted. Wireshark's own limit for most link types is
/// 256 KiB; pcapng blocks may carry more (options, large interfaces), so we
/// allow 16 MiB and refuse anything above it instead of allocating it.
pub const MAX_RECORD: usize = 16 << 20;

/// Why a capture could not be read (further).
#[derive(Debug, Clone)]
pub struct CaptureError {
    /// The file.
    pub path: PathBuf,
    /// Byte offset (in the decompressed data, for compressed files) where the
    /// problem starts, when known.
    pub offset: Option<u64>,
    /// What went wrong.
    pub kind: CaptureErrorKind,
}

impl CaptureError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, e: std::io::Error) -> CaptureError {
        CaptureError {
            path: path.to_path_buf(),
            offset: None,
            kind: CaptureErrorKind::Io(e.to_string()),
        }
    }

    /// The bytes are not a capture at all (or there are none), as opposed
    /// to a capture that is damaged.
    pub fn is_not_a_capture(&self) -> bool {
        matches!(
            self.kind,
            CaptureErrorKind::NotACapture { .. } | CaptureErrorKind::Empty
        )
    }
}

/// The kinds of [`CaptureError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureErrorKind {
    /// The OS refused to open or read the file.
    Io(String),
    /// The file has no bytes at all.
    Empty,
    /// The first bytes are not a pcap, pcapng, gzip or zstd magic number.
    NotACapture {
        /// The first bytes, for the message.
        magic: Vec<u8>,
    },
    /// The file ends inside the file header.
    TruncatedHeader,
    /// A record's length field asks for more than [`MAX_RECORD`].
    RecordTooLarge {
        /// The length the record claims.
        claimed: u64,
    },
    /// A record or block whose fields make no sense.
    Malformed(String),
    /// The decompressor failed.
    Decompress(String),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(off) = self.offset {
            write!(f, ": offset {off}")?;
        }
        match &self.kind {
            CaptureErrorKind::Io(e) => write!(f, ": {e}"),
            CaptureErrorKind::Empty if inputs::is_stdin(&self.path) => {
                write!(f, ": nothing came on standard input, not a capture")
            }
            CaptureErrorKind::Empty => write!(f, ": empty file, not a capture"),
            CaptureErrorKind::NotACapture { magic } => {
                write!(f, ": not a pcap or pcapng capture (starts with")?;
                for b in magic {
                    write!(f, " {b:02x}")?;
                }
                write!(f, ")")
            }
            CaptureErrorKind::TruncatedHeader => write!(f, ": file ends inside the capture header"),
            CaptureErrorKind::RecordTooLarge { claimed } => write!(
                f,
                ": record claims {claimed} bytes, more than the {} byte limit; the rest of the file is skipped",
                MAX_RECORD
            ),
            CaptureErrorKind::Malformed(m) => write!(f, ": {m}; the rest of the file is skipped"),
            CaptureErrorKind::Decompress(m) => write!(f, ": decompression failed: {m}"),
        }
    }
}

impl std::error::Error for CaptureError {}

/// A frame and the shared buffer chunk its bytes live in.
pub type FrameInChunk<'a> = (Frame<'a>, &'a Arc<Vec<u8>>);

/// How a pcap file's packet records read, from its file header.
#[derive(Clone, Copy)]
struct PcapLayout {
    big_endian: bool,
    /// Kuznetzov's modified format: 24-byte record headers.
    modified: bool,
    /// Fractions of a second are nanoseconds, not microseconds.
    nanos: bool,
    linktype: LinkType,
}

/// Where the current record's packet bytes are in the buffer.
struct Record {
    at: usize,
    len: usize,
    ts: Timestamp,
    linktype: LinkType,
    orig_len: u32,
}

enum Container {
    Pcap {
        big_endian: bool,
        modified: bool,
        nanos: bool,
        linktype: LinkType,
        snaplen: u32,
    },
    Pcapng(pcapng::State),
}

/// Streams the frames of one capture file.
pub struct CaptureReader {
    path: PathBuf,
    /// Where bytes come from until [`read_ahead`](Self::read_ahead) moves
    /// the source to its own thread; `None` after that.
    src: Option<Box<dyn Read + Send>>,
    ahead: Option<readahead::Feed>,
    /// Shared so that workers can read frames in place; a chunk still held
    /// by a worker is never written again: refilling then starts a new one.
    buf: Arc<Vec<u8>>,
    start: usize,
    end: usize,
    /// Absolute offset of `buf[start]` in the (decompressed) stream.
    offset: u64,
    eof: bool,
    consume: usize,
    container: Container,
    format: Format,
    compression: Compression,
    frames: u64,
    warnings: Vec<String>,
    done: bool,
}

const READ_CHUNK: usize = 1 << 20;

impl CaptureReader {
    /// Open `path` and read its header.
    pub fn open(path: &Path) -> Result<CaptureReader, CaptureError> {
        let err = |offset, kind| CaptureError {
            path: path.to_path_buf(),
            offset,
            kind,
        };
        let file = std::fs::File::open(path)
            .map_err(|e| err(None, CaptureErrorKind::Io(e.to_string())))?;
        let (src, compression) = source::sniff(source::Counted(file))
            .map_err(|e| err(None, CaptureErrorKind::Io(e.to_string())))?;
        Self::from_reader(path, src, compression)
    }

    /// Read a capture from a byte stream that may be gzip- or
    /// zstd-compressed (an archive member); `path` names it in messages.
    pub fn from_stream(
        path: &Path,
        src: Box<dyn Read + Send>,
    ) -> Result<CaptureReader, CaptureError> {
        let (src, compression) = source::sniff(src).map_err(|e| CaptureError {
            path: path.to_path_buf(),
            offset: None,
            kind: CaptureErrorKind::Io(e.to_string()),
        })?;
        Self::from_reader(path, src, compression)
    }

    /// Read a capture from any byte source (already decompressed).
    pub fn from_reader(
        path: &Path,
        src: Box<dyn Read + Send>,
        compression: Compression,
    ) -> Result<CaptureReader, CaptureError> {
        let mut r = CaptureReader {
            path: path.to_path_buf(),
            src: Some(src),
            ahead: None,
            buf: Arc::new(vec![0; READ_CHUNK]),
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
            consume: 0,
            // Replaced below once the header is read.
            container: Container::Pcap {
                big_endian: false,
                modified: false,
                nanos: false,
                linktype: LinkType(0),
                snaplen: 0,
            },
            format: Format::Pcap,
            compression,
            frames: 0,
            warnings: Vec::new(),
            done: false,
        };
        r.fill(24)?;
        let avail = r.end - r.start;
        if avail == 0 {
            return Err(r.error(Some(0), CaptureErrorKind::Empty));
        }
        let head = r.buf.get(r.start..r.end).unwrap_or_default();
        let magic_le = head.first_chunk::<4>().map(|m| u32::from_le_bytes(*m));
        match magic_le {
            Some(pcapng::SHB_MAGIC) => {
                r.format = Format::Pcapng;
                r.container = Container::Pcapng(pcapng::State::default());
            }
            Some(
                0xa1b2_c3d4 | 0xa1b2_3c4d | 0xa1b2_cd34 | 0xd4c3_b2a1 | 0x4d3c_b2a1 | 0x34cd_b2a1,
            ) => match parse_pcap_header(head) {
                Ok((_, h)) => {
                    r.container = Container::Pcap {
                        big_endian: h.is_bigendian(),
                        modified: h.is_modified_format(),
                        nanos: h.is_nanosecond_precision(),
                        linktype: LinkType(h.network.0 as u32),
                        snaplen: h.snaplen,
                    };
                    r.consume = 24;
                }
                Err(_) => return Err(r.error(Some(0), CaptureErrorKind::TruncatedHeader)),
            },
            _ => {
                let magic = head.iter().take(8).copied().collect();
                if avail < 4 {
                    return Err(r.error(Some(0), CaptureErrorKind::TruncatedHeader));
                }
                return Err(r.error(Some(0), CaptureErrorKind::NotACapture { magic }));
            }
        }
        Ok(r)
    }

    /// The container format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The compression around the container.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Warnings so far (reading went on after each).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Take the warnings collected so far.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// Bytes of the (decompressed) stream consumed so far.
    pub fn position(&self) -> u64 {
        self.offset + self.consume as u64
    }

    fn error(&self, offset: Option<u64>, kind: CaptureErrorKind) -> CaptureError {
        CaptureError {
            path: self.path.clone(),
            offset,
            kind,
        }
    }

    /// Make at least `want` bytes available from `start`, unless the source
    /// ends first. Never grows the buffer past `MAX_RECORD` plus a header.
    /// Read the rest of the file on a thread of its own (decompressing
    /// there too), handing over filled chunks without copying them.
    ///
    /// A plain file is read in the caller's thread instead (one copy out
    /// of the page cache is cheaper than handing chunks between cores),
    /// still into chunks that workers can hold on to.
    pub fn read_ahead(&mut self) {
        if let Some(src) = self.src.take() {
            self.ahead = Some(if self.compression == Compression::None {
                readahead::Feed::inline(src)
            } else {
                readahead::Feed::start(src)
            });
        }
    }

    fn fill(&mut self, want: usize) -> Result<(), CaptureError> {
        if self.end - self.start >= want || self.eof {
            return Ok(());
        }
        if self.ahead.is_some() {
            return self.fill_ahead(want);
        }
        let Some(src) = self.src.as_mut() else {
            self.eof = true;
            return Ok(());
        };
        // Bounded by the callers: want <= MAX_RECORD + 64.
        let size = want.next_power_of_two().max(READ_CHUNK);
        let buf = match Arc::get_mut(&mut self.buf) {
            Some(buf) => {
                if self.start > 0 {
                    buf.copy_within(self.start..self.end, 0);
                }
                if buf.len() < size {
                    buf.resize(size, 0);
                }
                buf
            }
            None => {
                // Workers still read the old chunk: carry the partial
                // record over into a fresh one.
                let mut fresh = Vec::with_capacity(size);
                fresh.extend_from_slice(self.buf.get(self.start..self.end).unwrap_or_default());
                fresh.resize(size, 0);
                self.buf = Arc::new(fresh);
                // invariant: the Arc was created on the line above and
                // has not been shared yet.
                #[allow(clippy::expect_used)]
                Arc::get_mut(&mut self.buf).expect("invariant: fresh Arc is unique")
            }
        };
        self.end -= self.start;
        self.start = 0;
        while self.end < want && !self.eof {
            // `buf` holds `size >= want > end` bytes.
            match src.read(buf.get_mut(self.end..).unwrap_or_default()) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let kind = if self.compression == Compression::None {
                        CaptureErrorKind::Io(e.to_string())
                    } else {
                        CaptureErrorKind::Decompress(e.to_string())
                    };
                    return Err(
                        self.error(Some(self.offset + (self.end - self.start) as u64), kind)
                    );
                }
            }
        }
        Ok(())
    }

    fn fill_ahead(&mut self, want: usize) -> Result<(), CaptureError> {
        let Some(feed) = self.ahead.as_mut() else {
            return Ok(());
        };
        while self.end - self.start < want && !self.eof {
            match feed.next() {
                None => self.eof = true,
                Some(Err(e)) => {
                    let kind = if self.compression == Compression::None {
                        CaptureErrorKind::Io(e.to_string())
                    } else {
                        CaptureErrorKind::Decompress(e.to_string())
                    };
                    return Err(CaptureError {
                        path: self.path.clone(),
                        offset: Some(self.offset + (self.end - self.start) as u64),
                        kind,
                    });
                }
                Some(Ok(chunk)) => {
                    let left = self.buf.get(self.start..self.end).unwrap_or_default();
                    let (buf, start, end) = feed.join(left, chunk);
                    let old = std::mem::replace(&mut self.buf, buf);
                    feed.retire(old);
                    self.start = start;
                    self.end = end;
                }
            }
        }
        Ok(())
    }

    fn truncated(&mut self, what: &str) {
        let at = self.offset;
        let have = self.end - self.start;
        self.warnings.push(format!(
            "{}: offset {at}: file ends inside {what} ({have} of its bytes present); {} complete packets read",
            self.path.display(),
            self.frames
        ));
        self.done = true;
    }

    /// The next frame, `None` at the end of the file. After an error the
    /// reader is finished and returns `None`.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        Ok(self.next_frame_in_chunk()?.map(|(f, _)| f))
    }

    /// [`next_frame`](Self::next_frame), with the buffer chunk that holds
    /// the frame's bytes, so that another thread can keep the chunk alive
    /// and read them there instead of copying them.
    pub fn next_frame_in_chunk(&mut self) -> Result<Option<FrameInChunk<'_>>, CaptureError> {
        let Some(r) = self.next_record()? else {
            return Ok(None);
        };
        let frame = Frame {
            number: self.frames,
            ts: r.ts,
            linktype: r.linktype,
            orig_len: r.orig_len,
            data: self.buf.get(r.at..r.at + r.len).unwrap_or_default(),
        };
        Ok(Some((frame, &self.buf)))
    }

    fn next_record(&mut self) -> Result<Option<Record>, CaptureError> {
        let r = self.next_record_inner();
        // Whatever failed (a record, a block, the decompressor under it),
        // the reader is finished: later calls return `None`.
        if r.is_err() {
            self.done = true;
        }
        r
    }

    /// Step over the record before and read the next one that carries a
    /// packet, as the container's format says; `Ok(None)` at the end.
    fn next_record_inner(&mut self) -> Result<Option<Record>, CaptureError> {
        loop {
            if self.done {
                return Ok(None);
            }
            self.start += self.consume;
            self.offset += self.consume as u64;
            self.consume = 0;
            match self.container {
                Container::Pcap {
                    big_endian,
                    modified,
                    nanos,
                    linktype,
                    ..
                } => {
                    let layout = PcapLayout {
                        big_endian,
                        modified,
                        nanos,
                        linktype,
                    };
                    return self.pcap_record(layout);
                }
                Container::Pcapng(_) => {
                    let Some(len) = self.pcapng_block_len()? else {
                        return Ok(None);
                    };
                    if let Some(r) = self.pcapng_block(len) {
                        return Ok(Some(r));
                    }
                }
            }
        }
    }

    /// Make the next `len` bytes of the stream available: `Ok(true)` when
    /// they are, `Ok(false)` when the file ends first, which finishes the
    /// reader (quietly when no byte is left, with a warning that it ends
    /// inside `what` when some are).
    #[inline]
    fn have(&mut self, len: usize, what: &str) -> Result<bool, CaptureError> {
        self.fill(len)?;
        let avail = self.end - self.start;
        if avail == 0 {
            self.done = true;
            return Ok(false);
        }
        if avail < len {
            self.truncated(what);
            return Ok(false);
        }
        Ok(true)
    }

    /// The pcap packet record at `start`, read as the file header's
    /// `layout` says; `Ok(None)` at the end of the file.
    #[inline]
    fn pcap_record(&mut self, layout: PcapLayout) -> Result<Option<Record>, CaptureError> {
        let hdr = if layout.modified { 24 } else { 16 };
        if !self.have(hdr, "a record header")? {
            return Ok(None);
        }
        // The record header's third field, incl_len.
        let Some(&field) = self
            .buf
            .get(self.start + 8..self.end)
            .and_then(<[u8]>::first_chunk::<4>)
        else {
            self.truncated("a record header");
            return Ok(None);
        };
        let caplen = if layout.big_endian {
            u32::from_be_bytes(field)
        } else {
            u32::from_le_bytes(field)
        } as usize;
        if caplen > MAX_RECORD {
            self.done = true;
            return Err(self.error(
                Some(self.offset),
                CaptureErrorKind::RecordTooLarge {
                    claimed: caplen as u64,
                },
            ));
        }
        if !self.have(hdr + caplen, "a packet record")? {
            return Ok(None);
        }
        let input = self.buf.get(self.start..self.end).unwrap_or_default();
        let parsed = if layout.modified {
            parse_pcap_frame_modified(input)
        } else if layout.big_endian {
            parse_pcap_frame_be(input)
        } else {
            parse_pcap_frame(input)
        };
        let block = match parsed {
            Ok((_, b)) => b,
            Err(_) => {
                self.done = true;
                return Err(self.error(
                    Some(self.offset),
                    CaptureErrorKind::Malformed("unreadable packet record".into()),
                ));
            }
        };
        self.consume = hdr + caplen;
        self.frames += 1;
        let frac = if layout.nanos {
            block.ts_usec as u64
        } else {
            block.ts_usec as u64 * 1000
        };
        let ts = Timestamp::from_parts(block.ts_sec as i64, frac);
        Ok(Some(Record {
            at: self.start + hdr,
            len: block.data.len(),
            ts,
            linktype: layout.linktype,
            orig_len: block.origlen,
        }))
    }

    /// Frame the pcapng block at `start`: read its header, check its
    /// length and make the whole block available. Its length, or
    /// `Ok(None)` at the end of the file.
    #[inline]
    fn pcapng_block_len(&mut self) -> Result<Option<usize>, CaptureError> {
        if !self.have(12, "a block header")? {
            return Ok(None);
        }
        let Some(head) = self
            .buf
            .get(self.start..self.end)
            .and_then(<[u8]>::first_chunk::<12>)
        else {
            self.truncated("a block header");
            return Ok(None);
        };
        let Container::Pcapng(state) = &mut self.container else {
            // Not reached: the caller matched a pcapng container. An
            // empty block sends the loop round to match it again.
            return Ok(Some(0));
        };
        let len = match state.block_len(head) {
            Ok(l) => l,
            Err(kind) => {
                self.done = true;
                return Err(self.error(Some(self.offset), kind));
            }
        };
        if !self.have(len, "a block")? {
            return Ok(None);
        }
        Ok(Some(len))
    }

    /// Interpret the framed pcapng block of `len` bytes at `start` and
    /// step over it: its packet, or `None` for a block that carries none
    /// (a block that cannot be used is warned of, and still numbered when
    /// it was a packet block).
    #[inline]
    fn pcapng_block(&mut self, len: usize) -> Option<Record> {
        self.consume = len;
        let block = self
            .buf
            .get(self.start..self.start + len)
            .unwrap_or_default();
        let Container::Pcapng(state) = &mut self.container else {
            // Not reached: the caller matched a pcapng container.
            return None;
        };
        match state.block(block) {
            Ok(Some(p)) => {
                self.frames += 1;
                // Where the packet bytes sit inside the block.
                let inside = (p.data.as_ptr() as usize).saturating_sub(block.as_ptr() as usize);
                Some(Record {
                    at: self.start + inside,
                    len: p.data.len(),
                    ts: p.ts,
                    linktype: p.linktype,
                    orig_len: p.orig_len,
                })
            }
            Ok(None) => None,
            Err(pcapng::BlockProblem::Skip { msg, packet }) => {
                if packet {
                    // Wireshark still numbers a packet it cannot show.
                    self.frames += 1;
                }
                let w = format!("{}: offset {}: {msg}", self.path.display(), self.offset);
                self.warnings.push(w);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read `bytes` as a capture named `name` to the end: frames before
    /// the first error, and errors (asking on after each).
    fn read_to_end(name: &str, bytes: Vec<u8>) -> (usize, usize) {
        let mut r = match CaptureReader::from_stream(
            Path::new(name),
            Box::new(std::io::Cursor::new(bytes)),
        ) {
            Ok(r) => r,
            // Broken before the first frame: that one error is final too.
            Err(_) => return (0, 1),
        };
        let (mut frames, mut errors) = (0, 0);
        for _ in 0..10_000 {
            match r.next_frame() {
                Ok(Some(_)) => {
                    assert_eq!(errors, 0, "a frame after the error");
                    frames += 1;
                }
                Ok(None) => break,
                Err(_) => errors += 1,
            }
        }
        assert!(matches!(r.next_frame(), Ok(None)));
        (frames, errors)
    }

    /// Fuzz finding (capture_read, `fuzz/regressions/
    /// capture_read-error-not-final.bin`): a gzip stream that breaks after
    /// a few frames returned its error, then more frames when asked again.
    /// (zlib-rs, like zlib, finds this stream broken at its first bytes;
    /// miniz_oxide gave a few frames first.)
    #[test]
    fn regression_error_is_final() {
        let bytes = include_bytes!("../../fuzz/regressions/capture_read-error-not-final.bin");
        assert_eq!(read_to_end("fuzz.pcap.gz", bytes.to_vec()).1, 1);
    }

    /// The same for a gzip'd capture cut in the middle: its frames, then
    /// one error, then nothing.
    #[test]
    fn cut_gzip_gives_its_frames_then_one_error() {
        use std::io::Write as _;
        let mut pcap = Vec::new();
        for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 101] {
            pcap.extend_from_slice(&v.to_le_bytes());
        }
        for i in 0..200u32 {
            let data: Vec<u8> = (0..100u32).map(|k| (i * 31 + k * 7) as u8).collect();
            for v in [i, 0, 100, 100] {
                pcap.extend_from_slice(&v.to_le_bytes());
            }
            pcap.extend_from_slice(&data);
        }
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&pcap).unwrap();
        let gz = z.finish().unwrap();
        let cut = gz.get(..gz.len() / 2).unwrap().to_vec();
        let (frames, errors) = read_to_end("cut.pcap.gz", cut);
        assert!(frames > 0 && frames < 200, "{frames}");
        assert_eq!(errors, 1);
    }
}
