//! Ring buffers: capture files that are consecutive pieces of one capture
//! (`dumpcap -b`, `tcpdump -C` or `-G`, `editcap -c`) are read as one
//! stream, so that a connection crossing files is one connection.
//!
//! Pieces are recognised by their content; names are only a hint. Two
//! files are consecutive when they have the same container format and the
//! same interfaces (link types and snapshot lengths), and the second one's
//! first packet comes at or after the first one's last ([`MAX_OVERLAP`]
//! before it at most, for timestamps taken on several CPUs), within
//! [`MAX_GAP`], or within [`MAX_GAP_SHARED`] when a TCP connection seen
//! among the last packets of the first goes on, without a SYN, among the
//! first packets of the second. Files are ordered by their first packet's
//! time, never by name (`x.pcap10` sorts before `x.pcap2`, and a ring
//! that wrapped starts in the middle). Names break ties: of two streams a
//! piece could continue, the one of its name family (the name without its
//! digits) wins; and a compressed piece, whose end cannot be read without
//! reading it, is planned to go on with the next piece of its family.
//!
//! [`plan`] looks only at each file's first packets and, where it can
//! without reading the whole file (an uncompressed file's end), its last
//! ones. [`Stitched`] checks the times again as it reads: a piece that
//! does not continue the stream ends it there, and the caller starts a
//! new one with the pieces left ([`Stitched::rest`]).
//!
//! In: the inputs' paths. Out: [`Unit`]s to read, and frames numbered
//! across the pieces as the file `mergecap` would write from them.

use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::{
    CaptureError, CaptureReader, Compression, Container, Format, Frame, FrameInChunk, LinkType,
    Timestamp, MAX_RECORD,
};

/// Largest silence between two pieces that share no connection at the
/// cut: a ring writer starts the next file with the packet that did not
/// fit, so the silence between pieces is one gap between packets, while
/// separate captures made one after another are usually further apart.
pub const MAX_GAP: i64 = 1_000_000_000;

/// Largest silence between two pieces when a TCP connection seen at the
/// end of one goes on (without a SYN) at the start of the next: a quiet
/// link can go that long between packets.
pub const MAX_GAP_SHARED: i64 = 3_600 * 1_000_000_000;

/// How far the next piece's first packet may come before the last one
/// of the piece before: a capture on several CPUs stamps packets a few
/// microseconds out of order, also across a file boundary.
pub const MAX_OVERLAP: i64 = 10_000_000;

/// Packets looked at, at each end of a piece, for connections that cross
/// the cut.
const EDGE_PACKETS: usize = 32;

/// Bytes read from a file's end to find its last packets.
const TAIL_WINDOW: u64 = 1 << 20;

/// Tells which TCP connection a packet belongs to (a hash of its
/// endpoints), for segments that do not open one (no SYN); `None` for
/// anything else. The capture layer does not decode packets itself.
pub type FlowOf<'a> = &'a (dyn Fn(&Frame<'_>) -> Option<u64> + Sync);

/// What a capture file's head (and maybe tail) says about it.
#[derive(Clone, Debug)]
pub struct Piece {
    /// The file.
    pub path: PathBuf,
    format: Format,
    /// Link type and snapshot length of each interface declared before
    /// the first packet.
    interfaces: Vec<(LinkType, u32)>,
    /// Time of the first packet.
    first: Timestamp,
    /// Time of the last packet, if the tail could be read without reading
    /// the whole file.
    last: Option<Timestamp>,
    /// Connections of the first packets that were already open.
    head_flows: Vec<u64>,
    /// Connections of the last packets.
    tail_flows: Vec<u64>,
    /// The directory and the name with its digit runs taken out.
    family: String,
    /// Set by [`plan`]: a connection crosses from the piece before.
    shares_with_previous: bool,
    /// No packet at all (a ring writer stopped just after starting the
    /// file): `first` means nothing.
    empty: bool,
}

/// One thing to read, in input order.
#[derive(Debug)]
pub enum Unit {
    /// The input at this index, read on its own.
    One(usize),
    /// Pieces of one capture, in time order.
    Ring(Vec<Piece>),
}

/// The directory and the name without its digits.
fn family(path: &Path) -> String {
    let dir = path
        .parent()
        .map(|d| d.to_string_lossy())
        .unwrap_or_default();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let mut f = format!("{dir}/");
    f.extend(name.chars().filter(|c| !c.is_ascii_digit()));
    f
}

/// Read what stitching needs from `path`: `None` if it is no readable
/// capture.
pub fn probe(path: &Path, flow_of: FlowOf<'_>) -> Option<Piece> {
    let mut r = CaptureReader::open(path).ok()?;
    let mut first = None;
    let mut head_flows = Vec::new();
    for _ in 0..EDGE_PACKETS {
        let Ok(Some(f)) = r.next_frame() else {
            break;
        };
        first.get_or_insert(f.ts);
        head_flows.extend(flow_of(&f));
    }
    let empty = first.is_none();
    let first = first.unwrap_or_default();
    let interfaces = match &r.container {
        Container::Pcap {
            linktype, snaplen, ..
        } => vec![(*linktype, *snaplen)],
        Container::Pcapng(state) => state.interfaces().collect(),
    };
    let (last, tail_flows) = if r.compression == Compression::None && !empty {
        tail(path, &r.container, first, flow_of).unwrap_or_default()
    } else {
        (None, Vec::new())
    };
    Some(Piece {
        path: path.to_path_buf(),
        format: r.format,
        interfaces,
        first,
        last,
        head_flows,
        tail_flows,
        family: family(path),
        shares_with_previous: false,
        empty,
    })
}

/// The last packet's time and the connections of the last packets, read
/// from the end of an uncompressed file.
fn tail(
    path: &Path,
    container: &Container,
    first: Timestamp,
    flow_of: FlowOf<'_>,
) -> Option<(Option<Timestamp>, Vec<u64>)> {
    let mut f = std::fs::File::open(path).ok()?;
    let size = f.metadata().ok()?.len();
    let mut last = None;
    let mut flows = Vec::new();
    let mut see = |frame: &Frame<'_>| {
        last = Some(last.map_or(frame.ts, |t: Timestamp| t.max(frame.ts)));
        flows.extend(flow_of(frame));
    };
    match container {
        Container::Pcap {
            big_endian,
            modified: false,
            nanos,
            snaplen,
            linktype,
        } => {
            let body = size.checked_sub(24)?;
            let window = body.min(TAIL_WINDOW);
            f.seek(SeekFrom::Start(size - window)).ok()?;
            let mut buf = Vec::new();
            f.take(window).read_to_end(&mut buf).ok()?;
            let fmt = PcapFormat {
                be: *big_endian,
                nanos: *nanos,
                snaplen: *snaplen,
                first,
            };
            let records = fmt.chain_to_end(&buf)?;
            let skip = records.len().saturating_sub(EDGE_PACKETS);
            for (ts, at, len, orig_len) in records.into_iter().skip(skip) {
                see(&Frame {
                    number: 0,
                    ts,
                    linktype: *linktype,
                    orig_len,
                    data: buf.get(at..at + len).unwrap_or_default(),
                });
            }
        }
        Container::Pcapng(state) => pcapng_tail(&mut f, size, state.clone(), &mut see)?,
        Container::Pcap { .. } => return None,
    }
    Some((last, flows))
}

/// How a pcap file's record headers read.
struct PcapFormat {
    be: bool,
    nanos: bool,
    snaplen: u32,
    first: Timestamp,
}

/// Steps [`PcapFormat::chain_to_end`] may take over one window.
const MAX_TAIL_STEPS: usize = 4 << 20;

impl PcapFormat {
    /// The record header at `at` in `buf`: time, captured and original
    /// length, if its fields are possible for this file.
    fn record(&self, buf: &[u8], at: usize) -> Option<(Timestamp, usize, u32)> {
        let field = |k: usize| {
            let b = *buf.get(at + k..at + k + 4)?.first_chunk::<4>()?;
            Some(if self.be {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            })
        };
        let (secs, frac, incl, orig) = (field(0)?, field(4)?, field(8)?, field(12)?);
        let limit = if self.nanos { 1_000_000_000 } else { 1_000_000 };
        let cap = match self.snaplen {
            0 => MAX_RECORD as u32,
            n => n.min(MAX_RECORD as u32),
        };
        let nanos = if self.nanos {
            u64::from(frac)
        } else {
            u64::from(frac) * 1000
        };
        let ts = Timestamp::from_parts(i64::from(secs), nanos);
        // Ten years after the first packet is the latest a piece may end.
        let plausible = frac < limit
            && incl <= cap
            && incl <= orig
            && ts >= self.first
            && ts.since(self.first) < 10 * 366 * 86_400 * 1_000_000_000;
        plausible.then_some((ts, incl as usize, orig))
    }

    /// The records of `buf` (a file's last bytes): from the first offset
    /// from which plausible records follow each other exactly to the end,
    /// at least two of them, as (time, data offset, captured length,
    /// original length).
    fn chain_to_end(&self, buf: &[u8]) -> Option<Vec<(Timestamp, usize, usize, u32)>> {
        let mut steps = 0;
        let mut records = Vec::new();
        for start in 0..buf.len() {
            records.clear();
            let mut at = start;
            while let Some((ts, len, orig)) = self.record(buf, at) {
                steps += 1;
                records.push((ts, at + 16, len, orig));
                at += 16 + len;
                if at >= buf.len() || steps > MAX_TAIL_STEPS {
                    break;
                }
            }
            if at == buf.len() && records.len() >= 2 {
                return Some(std::mem::take(&mut records));
            }
            if steps > MAX_TAIL_STEPS {
                return None;
            }
        }
        None
    }
}

/// Walk back from the end of a pcapng file by the trailing length every
/// block carries, showing `see` its last packets (newest first).
fn pcapng_tail(
    f: &mut std::fs::File,
    size: u64,
    mut state: super::pcapng::State,
    see: &mut dyn FnMut(&Frame<'_>),
) -> Option<()> {
    let be = state.big_endian()?;
    let mut end = size;
    let mut budget = TAIL_WINDOW;
    let mut block = Vec::new();
    let mut packets = 0;
    while end >= 12 && packets < EDGE_PACKETS {
        let mut len = [0u8; 4];
        f.seek(SeekFrom::Start(end - 4)).ok()?;
        f.read_exact(&mut len).ok()?;
        let len = u64::from(if be {
            u32::from_be_bytes(len)
        } else {
            u32::from_le_bytes(len)
        });
        if len < 12 || len % 4 != 0 || len > end || len > budget {
            break;
        }
        budget -= len;
        let start = end - len;
        f.seek(SeekFrom::Start(start)).ok()?;
        block.clear();
        f.by_ref().take(len).read_to_end(&mut block).ok()?;
        let Some(head) = block.first_chunk::<12>() else {
            break;
        };
        // A section header would bring interfaces this state lacks.
        if head.first_chunk::<4>() == Some(&super::pcapng::SHB_MAGIC.to_le_bytes())
            || state.block_len(head).ok().map(|n| n as u64) != Some(len)
        {
            break;
        }
        if let Ok(Some(p)) = state.block(&block) {
            packets += 1;
            see(&Frame {
                number: 0,
                ts: p.ts,
                linktype: p.linktype,
                orig_len: p.orig_len,
                data: p.data,
            });
        }
        end = start;
    }
    (packets > 0).then_some(())
}

/// Whether `next` can continue a stream whose last packet came at
/// `last`; `shared` says whether a connection crosses the cut.
fn continues(last: Timestamp, next: &Piece, shared: bool) -> bool {
    let limit = if shared { MAX_GAP_SHARED } else { MAX_GAP };
    (-MAX_OVERLAP..=limit).contains(&next.first.since(last))
}

/// Whether `b` may follow `a` at all: the same kind of file, starting
/// later (a copy of a capture, in another byte order or compressed,
/// starts at the same packet and is no piece of it).
fn same_kind(a: &Piece, b: &Piece) -> bool {
    a.format == b.format && a.interfaces == b.interfaces && (b.empty || b.first > a.first)
}

/// Whether a connection at the end of `a` goes on at the start of `b`.
fn shared(a: &Piece, b: &Piece) -> bool {
    a.tail_flows.iter().any(|f| b.head_flows.contains(f))
}

/// Group the inputs: files that are pieces of one capture become a
/// [`Unit::Ring`] in the place of the first of them given, everything else
/// stays a [`Unit::One`]. `paths` holds the inputs that are capture files
/// (`None` for the others, archives and standard input, read on their
/// own).
pub fn plan(paths: &[Option<&Path>], flow_of: FlowOf<'_>) -> Vec<Unit> {
    let pieces = probe_all(paths, flow_of);
    // Files without packets join a ring of their name family at its end
    // (they add nothing but would be listed on their own).
    let (empty, mut pieces): (Vec<_>, Vec<_>) = pieces.into_iter().partition(|(_, p)| p.empty);
    pieces.sort_by(|(i, a), (j, b)| a.first.cmp(&b.first).then(i.cmp(j)));
    let mut chains = chain(&mut pieces);
    for e in empty {
        join_empty(&mut chains, &mut pieces, e);
    }
    units(paths.len(), &chains, &pieces)
}

/// Each input that is a capture file, probed (in parallel), with its
/// index in `paths`; nothing when fewer than two are given, as one file
/// is no ring.
fn probe_all(paths: &[Option<&Path>], flow_of: FlowOf<'_>) -> Vec<(usize, Piece)> {
    if paths.iter().flatten().count() < 2 {
        return Vec::new();
    }
    use rayon::prelude::*;
    paths
        .par_iter()
        .enumerate()
        .filter_map(|(i, p)| Some((i, probe((*p)?, flow_of)?)))
        .collect()
}

/// Chain `pieces` (input index and piece, in time order): each piece
/// joins the chain it continues best, or starts one. Returns the chains
/// as indices into `pieces`, and marks each piece that a connection
/// crosses into ([`Piece::shares_with_previous`]).
fn chain(pieces: &mut [(usize, Piece)]) -> Vec<Vec<usize>> {
    let mut chains: Vec<Vec<usize>> = Vec::new();
    for k in 0..pieces.len() {
        let Some((_, p)) = pieces.get(k) else {
            break;
        };
        let crossing = match best_chain(&chains, pieces, p) {
            Some((c, crossing)) => {
                if let Some(chain) = chains.get_mut(c) {
                    chain.push(k);
                }
                crossing
            }
            None => {
                chains.push(vec![k]);
                false
            }
        };
        if let Some((_, p)) = pieces.get_mut(k) {
            p.shares_with_previous = crossing;
        }
    }
    chains
}

/// Of `chains` (indices into `pieces`), the one that `p` continues best:
/// one a connection crosses from first, then one of its own name family,
/// then the one with the shortest silence. Its index, and whether a
/// connection crosses; `None` when `p` continues none of them.
fn best_chain(
    chains: &[Vec<usize>],
    pieces: &[(usize, Piece)],
    p: &Piece,
) -> Option<(usize, bool)> {
    let ((not_crossing, ..), c) = chains
        .iter()
        .enumerate()
        .filter_map(|(c, chain)| {
            let (_, tail) = pieces.get(*chain.last()?)?;
            let crossing = shared(tail, p);
            let (fits, last) = match tail.last {
                Some(last) => (continues(last, p, crossing), last),
                // A file whose end is unknown (a compressed one): its
                // name family says it may go on, and reading checks
                // the times.
                None => (tail.family == p.family, tail.first),
            };
            let fits = fits && same_kind(tail, p);
            let rank = (!crossing, tail.family != p.family, p.first.since(last));
            fits.then_some((rank, c))
        })
        .min()?;
    Some((c, !not_crossing))
}

/// Put the packetless piece `e` at the end of the first ring (a chain of
/// two or more in `chains`) whose pieces are all of its kind and name
/// family, adding it to `pieces`; leave it out when there is none.
fn join_empty(chains: &mut [Vec<usize>], pieces: &mut Vec<(usize, Piece)>, e: (usize, Piece)) {
    let ring = chains.iter_mut().find(|chain| {
        chain.len() > 1
            && chain.iter().all(|&k| {
                pieces
                    .get(k)
                    .is_some_and(|(_, p)| same_kind(p, &e.1) && p.family == e.1.family)
            })
    });
    if let Some(chain) = ring {
        chain.push(pieces.len());
        pieces.push(e);
    }
}

/// The units to read for `inputs` inputs, in input order: a chain of two
/// or more pieces is one [`Unit::Ring`] in the place of its first input,
/// and its other inputs are left out; every other input is a
/// [`Unit::One`].
fn units(inputs: usize, chains: &[Vec<usize>], pieces: &[(usize, Piece)]) -> Vec<Unit> {
    // Where each input goes: the first input of a chain stands for it.
    let mut ring_at: Vec<Option<usize>> = vec![None; inputs];
    let mut taken = vec![false; inputs];
    for (c, chain) in chains.iter().enumerate() {
        if chain.len() < 2 {
            continue;
        }
        let members = chain.iter().filter_map(|&k| pieces.get(k).map(|(i, _)| *i));
        if let Some(slot) = members.clone().min().and_then(|i| ring_at.get_mut(i)) {
            *slot = Some(c);
        }
        for i in members {
            if let Some(t) = taken.get_mut(i) {
                *t = true;
            }
        }
    }
    let mut units = Vec::with_capacity(inputs);
    for i in 0..inputs {
        match ring_at.get(i).copied().flatten() {
            Some(c) => {
                let members = chains.get(c).map_or(&[][..], |v| v.as_slice());
                units.push(Unit::Ring(
                    members
                        .iter()
                        .filter_map(|&k| pieces.get(k).map(|(_, p)| p.clone()))
                        .collect(),
                ));
            }
            None if taken.get(i) == Some(&true) => {}
            None => units.push(Unit::One(i)),
        }
    }
    units
}

/// A piece as read: where its frames are in the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PieceRead {
    /// The file.
    pub path: PathBuf,
    /// Stream-wide number of its first frame.
    pub first_frame: u64,
    /// Frames it held.
    pub frames: u64,
}

/// Why a stitched stream ended before its last piece.
#[derive(Clone, Debug)]
pub enum Break {
    /// The next piece's first packet does not follow the last one read.
    NotConsecutive {
        /// The piece that did not follow.
        path: PathBuf,
        /// Its first packet's time.
        first: Timestamp,
        /// The last packet read before it.
        last: Timestamp,
    },
    /// A piece could not be read (further): its error ended the stream.
    Unreadable(PathBuf),
}

/// Frames of several files read as one stream, numbered on across them.
pub struct Stitched {
    current: Option<CaptureReader>,
    rest: VecDeque<Piece>,
    /// The piece being read, for checking the next one against it.
    newest: Option<Piece>,
    read: Vec<PieceRead>,
    /// Frames in the pieces before the current one.
    offset: u64,
    last: Option<Timestamp>,
    ahead: bool,
    warnings: Vec<String>,
    format: Format,
    compression: Compression,
    broke: Option<Break>,
}

impl Stitched {
    /// One file, already open.
    pub fn one(reader: CaptureReader) -> Stitched {
        let (format, compression) = (reader.format, reader.compression);
        let read = vec![PieceRead {
            path: reader.path.clone(),
            first_frame: 1,
            frames: 0,
        }];
        Stitched {
            current: Some(reader),
            rest: VecDeque::new(),
            newest: None,
            read,
            offset: 0,
            last: None,
            ahead: false,
            warnings: Vec::new(),
            format,
            compression,
            broke: None,
        }
    }

    /// The pieces of a ring, in time order: opens the first one (its error
    /// if it cannot be read, with the pieces after it).
    pub fn open(pieces: Vec<Piece>) -> Result<Stitched, (CaptureError, Vec<Piece>)> {
        let mut rest: VecDeque<Piece> = pieces.into();
        let Some(first) = rest.pop_front() else {
            return Err((
                CaptureError::io(Path::new(""), std::io::Error::other("no pieces")),
                Vec::new(),
            ));
        };
        match CaptureReader::open(&first.path) {
            Ok(r) => {
                let mut s = Stitched::one(r);
                s.rest = rest;
                s.newest = Some(first);
                Ok(s)
            }
            Err(e) => Err((e, rest.into())),
        }
    }

    /// Read the pieces' bytes ahead of the reader (see
    /// [`CaptureReader::read_ahead`]), each as it is opened.
    pub fn read_ahead(&mut self) {
        self.ahead = true;
        if let Some(r) = self.current.as_mut() {
            r.read_ahead();
        }
    }

    /// The first piece's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The first piece's compression.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Warnings of every piece read so far.
    pub fn take_warnings(&mut self) -> Vec<String> {
        if let Some(r) = self.current.as_mut() {
            self.warnings.extend(r.take_warnings());
        }
        std::mem::take(&mut self.warnings)
    }

    /// The pieces read, with their frames.
    pub fn pieces(&self) -> &[PieceRead] {
        &self.read
    }

    /// Why the stream ended before its last piece, if it did.
    pub fn broke(&self) -> Option<&Break> {
        self.broke.as_ref()
    }

    /// The pieces not read, for a new stream.
    pub fn rest(&mut self) -> Vec<Piece> {
        std::mem::take(&mut self.rest).into()
    }

    /// The next frame of the stream, numbered across the pieces; `None`
    /// at the end of the last piece or where the next one does not follow.
    /// A piece's error ends the stream (the pieces after it are left in
    /// [`rest`](Self::rest)).
    pub fn next_frame_in_chunk(&mut self) -> Result<Option<FrameInChunk<'_>>, CaptureError> {
        loop {
            let Some(r) = self.current.as_mut() else {
                return Ok(None);
            };
            let record = match r.next_record() {
                Ok(rec) => rec,
                Err(e) => {
                    self.broke = Some(Break::Unreadable(e.path.clone()));
                    self.end_piece();
                    return Err(e);
                }
            };
            if let Some(rec) = record {
                let Some(r) = self.current.as_ref() else {
                    return Ok(None);
                };
                // The piece's frame count is kept when it ends.
                self.last = Some(self.last.map_or(rec.ts, |t| t.max(rec.ts)));
                let frame = Frame {
                    number: self.offset + r.frames,
                    ts: rec.ts,
                    linktype: rec.linktype,
                    orig_len: rec.orig_len,
                    data: r.buf.get(rec.at..rec.at + rec.len).unwrap_or_default(),
                };
                return Ok(Some((frame, &r.buf)));
            }
            self.end_piece();
            self.next_piece()?;
        }
    }

    /// Close the current piece, keeping its warnings and frame count.
    fn end_piece(&mut self) {
        if let Some(mut r) = self.current.take() {
            self.warnings.extend(r.take_warnings());
            self.offset += r.frames;
            if let Some(p) = self.read.last_mut() {
                p.frames = r.frames;
            }
        }
    }

    /// Open the next piece if it continues the stream.
    fn next_piece(&mut self) -> Result<(), CaptureError> {
        let Some(next) = self.rest.pop_front() else {
            return Ok(());
        };
        if let (Some(prev), Some(last), false) = (&self.newest, self.last, next.empty) {
            if !same_kind(prev, &next) || !continues(last, &next, next.shares_with_previous) {
                self.broke = Some(Break::NotConsecutive {
                    path: next.path.clone(),
                    first: next.first,
                    last,
                });
                self.rest.push_front(next);
                return Ok(());
            }
        }
        let mut r = match CaptureReader::open(&next.path) {
            Ok(r) => r,
            Err(e) => {
                self.broke = Some(Break::Unreadable(next.path.clone()));
                return Err(e);
            }
        };
        if self.ahead {
            r.read_ahead();
        }
        self.read.push(PieceRead {
            path: next.path.clone(),
            first_frame: self.offset + 1,
            frames: 0,
        });
        self.newest = Some(next);
        self.current = Some(r);
        Ok(())
    }
}

/// Stream-wide frame numbers cited as `file#frame`.
#[derive(Clone, Debug, Default)]
pub struct FrameNames {
    /// First stream-wide frame of each piece, and its name; empty for a
    /// capture of one file, whose frame numbers are its own.
    pieces: Vec<(u64, String)>,
}

impl FrameNames {
    /// The names for a stream of `pieces` (nothing to say for one file):
    /// file names when the pieces share a directory, else paths.
    pub fn of(pieces: &[PieceRead]) -> FrameNames {
        if pieces.len() < 2 {
            return FrameNames::default();
        }
        let dir = |p: &PieceRead| p.path.parent().map(Path::to_path_buf);
        let one_dir = pieces.windows(2).all(|w| match w {
            [a, b] => dir(a) == dir(b),
            _ => true,
        });
        let name = |p: &PieceRead| match p.path.file_name() {
            Some(n) if one_dir => n.to_string_lossy().into_owned(),
            _ => p.path.display().to_string(),
        };
        FrameNames {
            pieces: pieces.iter().map(|p| (p.first_frame, name(p))).collect(),
        }
    }

    /// `file#frame` for a stream-wide frame number, when the stream has
    /// several pieces.
    pub fn cite(&self, frame: u64) -> Option<String> {
        let k = self.pieces.partition_point(|(first, _)| *first <= frame);
        let (first, name) = self.pieces.get(k.checked_sub(1)?)?;
        Some(format!("{name}#{}", frame - first + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_record_bytes(secs: u32, usecs: u32, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [secs, usecs, data.len() as u32, data.len() as u32] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn family_drops_digits_only() {
        assert_eq!(
            family(Path::new("d/x.pcap10")),
            family(Path::new("d/x.pcap"))
        );
        assert_eq!(
            family(Path::new("r/ring_00003_20261122142849.pcap")),
            family(Path::new("r/ring_00004_20261122143012.pcap"))
        );
        assert_ne!(
            family(Path::new("a/x.pcap1")),
            family(Path::new("b/x.pcap2"))
        );
        assert_ne!(family(Path::new("d/a.pcap")), family(Path::new("d/b.pcap")));
    }

    #[test]
    fn pcap_tail_finds_the_records_that_end_the_file() {
        let fmt = PcapFormat {
            be: false,
            nanos: false,
            snaplen: 65535,
            first: Timestamp::from_parts(1000, 0),
        };
        let mut tail = pcap_record_bytes(1000, 5, &[0xab; 40]);
        // A payload shaped like a record header of its own.
        let mut inner = pcap_record_bytes(1001, 7, &[]);
        inner.extend_from_slice(&[0; 8]);
        tail.extend(pcap_record_bytes(1002, 9, &inner));
        let got = fmt.chain_to_end(&tail).unwrap_or_default();
        let times: Vec<_> = got.iter().map(|r| r.0).collect();
        assert_eq!(
            times,
            [
                Timestamp::from_parts(1000, 5000),
                Timestamp::from_parts(1002, 9000)
            ]
        );
        // Cut inside the first record: one record is not enough to trust.
        let cut = tail.get(10..).unwrap_or_default();
        assert_eq!(fmt.chain_to_end(cut), None);
        // Garbage never chains to the end.
        assert_eq!(fmt.chain_to_end(&[0x5a; 4096]), None);
    }

    fn piece_at(first_ns: i64) -> Piece {
        Piece {
            path: "p".into(),
            format: Format::Pcap,
            interfaces: vec![(LinkType(1), 262_144)],
            first: Timestamp(first_ns),
            last: None,
            head_flows: Vec::new(),
            tail_flows: Vec::new(),
            family: String::new(),
            shares_with_previous: false,
            empty: false,
        }
    }

    #[test]
    fn a_piece_continues_within_the_gap_and_a_few_microseconds_of_skew() {
        let last = Timestamp(10_000_000_000);
        // Stamped 2 us before the last packet of the piece before (seen on
        // a tcpdump -C ring of a loopback capture).
        assert!(continues(last, &piece_at(last.0 - 2_000), false));
        assert!(continues(last, &piece_at(last.0 + MAX_GAP), false));
        assert!(!continues(last, &piece_at(last.0 + MAX_GAP + 1), false));
        assert!(continues(last, &piece_at(last.0 + 60_000_000_000), true));
        // Overlapping by more than skew: another capture of the same time.
        assert!(!continues(last, &piece_at(last.0 - 2 * MAX_OVERLAP), true));
    }

    #[test]
    fn frame_names_cite_the_piece() {
        let pieces = [
            PieceRead {
                path: "x.pcap".into(),
                first_frame: 1,
                frames: 10,
            },
            PieceRead {
                path: "x.pcap1".into(),
                first_frame: 11,
                frames: 5,
            },
        ];
        let names = FrameNames::of(&pieces);
        assert_eq!(names.cite(3).as_deref(), Some("x.pcap#3"));
        assert_eq!(names.cite(11).as_deref(), Some("x.pcap1#1"));
        assert_eq!(names.cite(15).as_deref(), Some("x.pcap1#5"));
        assert_eq!(FrameNames::of(&pieces[..1]).cite(3), None);
    }
}
