//! One direction of a TCP connection: turns segments in any order into the
//! byte stream the receiver saw, with explicit gaps for what the capture
//! lacks.
//!
//! Positions are 64-bit stream offsets, so the 2^32 wrap of sequence numbers
//! (RFC 9293 §3.4) is handled once, where a segment's sequence number is
//! turned into an offset relative to the next expected one. In-order data is
//! passed on straight from the frame without a copy; only segments that
//! arrive ahead of a hole are copied, into a store capped per connection and
//! per worker. When a cap is hit the oldest hole is declared a gap and the
//! stored data behind it is delivered, so memory stays bounded and no
//! captured byte is thrown away.

use std::collections::BTreeMap;

use crate::capture::Timestamp;
use crate::limits::{Limit, LimitHits};

use super::TcpEvent;
use crate::vocab::Dir;

/// Out-of-order bytes one connection may hold (both directions), unless
/// `--max-ooo-per-connection` says otherwise.
pub const MAX_OOO_PER_CONNECTION: usize = crate::limits::OOO_PER_CONNECTION;

/// Out-of-order bytes held by all the connections of one worker, the cap
/// per connection, and how often each forced a gap.
#[derive(Debug)]
pub struct Budget {
    used: usize,
    limit: usize,
    /// Cap of one direction: half the per-connection cap.
    per_half: usize,
    /// Times a cap forced a gap.
    pub hits: LimitHits,
}

impl Budget {
    /// A budget of `limit` bytes, with the default cap per connection.
    pub fn new(limit: usize) -> Budget {
        Budget::with_caps(limit, MAX_OOO_PER_CONNECTION)
    }

    /// A budget of `total` bytes for all connections and `per_connection`
    /// bytes for each.
    pub fn with_caps(total: usize, per_connection: usize) -> Budget {
        Budget {
            used: 0,
            limit: total,
            per_half: per_connection / 2,
            hits: LimitHits::default(),
        }
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.used
    }
}

/// Per-direction counters, reported with the connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HalfStats {
    /// Payload bytes delivered in order, each counted once.
    pub bytes: u64,
    /// Bytes known to be missing.
    pub gap_bytes: u64,
    /// Number of gaps.
    pub gaps: u64,
    /// Segments with payload or SYN/FIN/RST.
    pub segments: u64,
    /// Segments whose payload had been seen entirely before.
    pub retransmitted_segments: u64,
    /// Segments that arrived ahead of a hole.
    pub out_of_order_segments: u64,
    /// Segments that partly overlapped data already seen.
    pub overlaps: u64,
    /// Overlaps whose bytes differed from the first copy (the first copy
    /// wins); a sign of a broken middlebox or an evasion attempt.
    pub conflicting_overlaps: u64,
    /// Times a cap on the out-of-order store forced a hole to become a gap.
    pub forced_gaps: u64,
    /// SYN segments (SYN-ACK from the server), retransmissions included.
    pub syns: u64,
}

/// What one stored chunk costs besides its bytes (its map entry and the
/// allocation's header): counted against the caps, so that a stream of
/// one-byte segments cannot hold many times the cap in bookkeeping.
const CHUNK_OVERHEAD: usize = 64;

#[derive(Debug)]
struct Chunk {
    data: Vec<u8>,
    /// Bytes after `data` that the snapshot length cut off.
    missing: u32,
    frame: u64,
    ts: Timestamp,
}

impl Chunk {
    /// Bytes it holds, as counted against the caps.
    fn cost(&self) -> usize {
        self.data.len() + CHUNK_OVERHEAD
    }

    fn len(&self) -> u64 {
        self.data.len() as u64 + u64::from(self.missing)
    }
}

/// Where a segment came from, for the events it causes.
#[derive(Clone, Copy, Debug)]
pub struct Origin {
    /// Frame number.
    pub frame: u64,
    /// Capture time.
    pub ts: Timestamp,
}

/// Reassembly state of one direction.
#[derive(Debug)]
pub struct HalfStream {
    dir: Dir,
    started: bool,
    next_seq: u32,
    /// Stream offset of `next_seq`: bytes delivered plus gaps.
    offset: u64,
    ooo: BTreeMap<u64, Chunk>,
    ooo_bytes: usize,
    fin_at: Option<(u64, Origin)>,
    fin_done: bool,
    /// Counters.
    pub stats: HalfStats,
}

impl HalfStream {
    /// A direction that has seen nothing yet.
    pub fn new(dir: Dir) -> HalfStream {
        HalfStream {
            dir,
            started: false,
            next_seq: 0,
            offset: 0,
            ooo: BTreeMap::new(),
            ooo_bytes: 0,
            fin_at: None,
            fin_done: false,
            stats: HalfStats::default(),
        }
    }

    /// Change the direction this half reports (roles were corrected before
    /// any byte was delivered).
    pub fn set_dir(&mut self, dir: Dir) {
        self.dir = dir;
    }

    /// Whether a sequence base is known.
    pub fn started(&self) -> bool {
        self.started
    }

    /// The next sequence number expected.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }

    /// Whether this direction's FIN has been delivered.
    pub fn fin_done(&self) -> bool {
        self.fin_done
    }

    /// Out-of-order bytes held, with the bookkeeping of each stored chunk.
    pub fn held(&self) -> usize {
        self.ooo_bytes
    }

    /// Start the sequence space at a SYN.
    pub fn syn(&mut self, isn: u32) {
        self.stats.syns += 1;
        if !self.started {
            self.started = true;
            self.next_seq = isn.wrapping_add(1);
        }
    }

    /// Start the sequence space in the middle of a stream, at `seq`. `acked`
    /// is what the peer had already acknowledged, if known: bytes between
    /// it and `seq` were sent before the capture saw them and are a gap.
    pub fn pick_up<F: FnMut(TcpEvent<'_>)>(
        &mut self,
        seq: u32,
        acked: Option<u32>,
        at: Origin,
        emit: &mut F,
    ) {
        if self.started {
            return;
        }
        self.started = true;
        self.next_seq = seq;
        if let Some(a) = acked {
            let missed = seq.wrapping_sub(a);
            if missed > 0 && missed < (1 << 30) {
                self.next_seq = a;
                self.gap(u64::from(missed), at, emit);
            }
        }
    }

    fn advance(&mut self, n: u64) {
        self.offset += n;
        // Sequence numbers are modulo 2^32 (RFC 9293 §3.4).
        self.next_seq = self.next_seq.wrapping_add(n as u32);
    }

    fn gap<F: FnMut(TcpEvent<'_>)>(&mut self, len: u64, at: Origin, emit: &mut F) {
        if len == 0 {
            return;
        }
        emit(TcpEvent::Gap {
            dir: self.dir,
            offset: self.offset,
            len,
            frame: at.frame,
            ts: at.ts,
        });
        self.stats.gaps += 1;
        self.stats.gap_bytes += len;
        self.advance(len);
    }

    /// Deliver `data` (followed by `missing` lost bytes) that starts `skip`
    /// bytes before the current offset.
    fn deliver<F: FnMut(TcpEvent<'_>)>(
        &mut self,
        data: &[u8],
        missing: u32,
        skip: u64,
        at: Origin,
        emit: &mut F,
    ) {
        let total = data.len() as u64 + u64::from(missing);
        if skip >= total {
            return;
        }
        if let Some(fresh) = usize::try_from(skip).ok().and_then(|s| data.get(s..)) {
            if !fresh.is_empty() {
                emit(TcpEvent::Data {
                    dir: self.dir,
                    offset: self.offset,
                    bytes: fresh,
                    frame: at.frame,
                    ts: at.ts,
                });
                self.stats.bytes += fresh.len() as u64;
                self.advance(fresh.len() as u64);
            }
        }
        let lost_from = skip.max(data.len() as u64);
        self.gap(total - lost_from, at, emit);
    }

    /// Handle the payload and FIN of one segment whose first payload byte
    /// has sequence number `seq` (after the SYN, if it had one).
    #[allow(clippy::too_many_arguments)]
    pub fn segment<F: FnMut(TcpEvent<'_>)>(
        &mut self,
        seq: u32,
        data: &[u8],
        missing: u32,
        fin: bool,
        at: Origin,
        budget: &mut Budget,
        emit: &mut F,
    ) {
        let len = data.len() as u64 + u64::from(missing);
        let rel = i64::from(seq.wrapping_sub(self.next_seq) as i32);
        let off = self.offset as i64 + rel;
        if len > 0 {
            self.stats.segments += 1;
            self.payload(off, data, missing, at, budget, emit);
        }
        if fin && self.fin_at.is_none() && !self.fin_done {
            let end = off + len as i64;
            if end >= 0 {
                self.fin_at = Some((end as u64, at));
            }
        }
        self.try_fin(emit);
    }

    fn payload<F: FnMut(TcpEvent<'_>)>(
        &mut self,
        off: i64,
        data: &[u8],
        missing: u32,
        at: Origin,
        budget: &mut Budget,
        emit: &mut F,
    ) {
        let len = data.len() as u64 + u64::from(missing);
        let end = off + len as i64;
        let here = self.offset as i64;
        if end <= here {
            self.stats.retransmitted_segments += 1;
            return;
        }
        if off <= here {
            if off < here {
                self.stats.overlaps += 1;
            }
            self.deliver(data, missing, (here - off) as u64, at, emit);
            self.drain(budget, emit);
            return;
        }
        self.stats.out_of_order_segments += 1;
        self.store(off as u64, data, missing, at, budget);
        loop {
            let cap = if self.ooo_bytes > budget.per_half {
                Limit::OooPerConnection
            } else if budget.used > budget.limit {
                Limit::OooTotal
            } else {
                break;
            };
            if self.ooo.is_empty() {
                break;
            }
            budget.hits.hit(cap, at.frame);
            self.stats.forced_gaps += 1;
            self.skip_hole(at, budget, emit);
        }
    }

    /// Keep the parts of [off, off+len) not already stored; the first copy
    /// of any byte wins.
    fn store(&mut self, off: u64, data: &[u8], missing: u32, at: Origin, budget: &mut Budget) {
        let end = off + data.len() as u64 + u64::from(missing);
        let mut cursor = off;
        // Stored chunks that overlap [off, end), in order.
        let mut overlapping: Vec<(u64, u64)> = Vec::new();
        if let Some((&s, c)) = self.ooo.range(..off).next_back() {
            if s + c.len() > off {
                overlapping.push((s, s + c.len()));
            }
        }
        overlapping.extend(self.ooo.range(off..end).map(|(&s, c)| (s, s + c.len())));
        let (mut overlapped, mut conflicted) = (false, false);
        for (s, e) in overlapping {
            if s > cursor {
                self.insert_piece(off, data, missing, cursor, s, at, budget);
            }
            overlapped = true;
            conflicted |= self.differs(off, data, s, e);
            cursor = cursor.max(e);
        }
        // Counted per segment, however many stored chunks it overlaps.
        if overlapped {
            self.stats.overlaps += 1;
        }
        if conflicted {
            self.stats.conflicting_overlaps += 1;
        }
        if cursor < end {
            self.insert_piece(off, data, missing, cursor, end, at, budget);
        }
    }

    /// Whether the captured bytes of new data at `off` differ from those
    /// of the stored chunk at `s..e` where they overlap.
    fn differs(&self, off: u64, data: &[u8], s: u64, e: u64) -> bool {
        let Some(c) = self.ooo.get(&s) else {
            return false;
        };
        let lo = off.max(s);
        let hi = e.min(off + data.len() as u64).min(s + c.data.len() as u64);
        if lo >= hi {
            return false;
        }
        let new = data.get((lo - off) as usize..(hi - off) as usize);
        let old = c.data.get((lo - s) as usize..(hi - s) as usize);
        new != old
    }

    #[allow(clippy::too_many_arguments)]
    fn insert_piece(
        &mut self,
        off: u64,
        data: &[u8],
        missing: u32,
        a: u64,
        b: u64,
        at: Origin,
        budget: &mut Budget,
    ) {
        let dlen = data.len() as u64;
        let piece = if a - off < dlen {
            data.get((a - off) as usize..(b.min(off + dlen) - off) as usize)
                .unwrap_or_default()
        } else {
            &[]
        };
        let lost = (b - a) - piece.len() as u64;
        debug_assert!(lost <= u64::from(missing));
        let chunk = Chunk {
            data: piece.to_vec(),
            missing: lost as u32,
            frame: at.frame,
            ts: at.ts,
        };
        self.ooo_bytes += chunk.cost();
        budget.used += chunk.cost();
        self.ooo.insert(a, chunk);
    }

    fn pop_first(&mut self, budget: &mut Budget) -> Option<(u64, Chunk)> {
        let (s, c) = self.ooo.pop_first()?;
        self.ooo_bytes -= c.cost();
        budget.used -= c.cost();
        Some((s, c))
    }

    /// Deliver stored chunks that the current offset has reached.
    fn drain<F: FnMut(TcpEvent<'_>)>(&mut self, budget: &mut Budget, emit: &mut F) {
        while self
            .ooo
            .first_key_value()
            .is_some_and(|(&s, _)| s <= self.offset)
        {
            let Some((s, c)) = self.pop_first(budget) else {
                break;
            };
            let at = Origin {
                frame: c.frame,
                ts: c.ts,
            };
            self.deliver(&c.data, c.missing, self.offset - s, at, emit);
        }
    }

    /// Declare the first hole a gap and deliver what follows it.
    fn skip_hole<F: FnMut(TcpEvent<'_>)>(&mut self, at: Origin, budget: &mut Budget, emit: &mut F) {
        if let Some((&s, c)) = self.ooo.first_key_value() {
            let hole = s.saturating_sub(self.offset);
            let at = if hole > 0 {
                Origin {
                    frame: c.frame,
                    ts: c.ts,
                }
            } else {
                at
            };
            self.gap(hole, at, emit);
        }
        self.drain(budget, emit);
    }

    fn try_fin<F: FnMut(TcpEvent<'_>)>(&mut self, emit: &mut F) {
        if let Some((at_off, at)) = self.fin_at {
            if !self.fin_done && self.offset >= at_off && self.ooo.is_empty() {
                self.fin_done = true;
                emit(TcpEvent::Fin {
                    dir: self.dir,
                    frame: at.frame,
                    ts: at.ts,
                });
            }
        }
    }

    /// The connection is over (RST, both FINs, or end of capture): every
    /// remaining hole becomes a gap, stored data is delivered, a FIN seen
    /// out of order is delivered.
    pub fn flush<F: FnMut(TcpEvent<'_>)>(&mut self, at: Origin, budget: &mut Budget, emit: &mut F) {
        while !self.ooo.is_empty() {
            self.skip_hole(at, budget, emit);
        }
        if let Some((fin_off, fin_at)) = self.fin_at {
            if !self.fin_done && self.offset < fin_off {
                self.gap(fin_off - self.offset, fin_at, emit);
            }
        }
        self.try_fin(emit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a direction delivered: bytes by offset, gaps, FIN.
    #[derive(Default, Debug)]
    struct Seen {
        data: Vec<(u64, Vec<u8>)>,
        gaps: Vec<(u64, u64)>,
        fin: bool,
    }

    impl Seen {
        fn record(&mut self, ev: TcpEvent<'_>) {
            match ev {
                TcpEvent::Data { offset, bytes, .. } => self.data.push((offset, bytes.to_vec())),
                TcpEvent::Gap { offset, len, .. } => self.gaps.push((offset, len)),
                TcpEvent::Fin { .. } => self.fin = true,
                TcpEvent::Rst { .. } => {}
            }
        }

        /// Data and gaps must tile [0, end) in order without overlap.
        fn tiles(&self) -> u64 {
            let mut pieces: Vec<(u64, u64)> = self
                .data
                .iter()
                .map(|(o, d)| (*o, d.len() as u64))
                .collect();
            pieces.extend(self.gaps.iter().copied());
            pieces.sort();
            let mut at = 0;
            for (o, l) in pieces {
                assert_eq!(o, at, "pieces must be contiguous");
                at += l;
            }
            at
        }

        fn bytes(&self) -> Vec<u8> {
            self.data
                .iter()
                .flat_map(|(_, d)| d.iter().copied())
                .collect()
        }
    }

    fn at(frame: u64) -> Origin {
        Origin {
            frame,
            ts: Timestamp(frame as i64),
        }
    }

    fn run(
        isn: u32,
        segs: &[(u64, usize, usize, bool)],
        stream: &[u8],
        budget: &mut Budget,
    ) -> Seen {
        let mut h = HalfStream::new(Dir::ClientToServer);
        let mut seen = Seen::default();
        h.syn(isn);
        for (i, &(off, len, missing, fin)) in segs.iter().enumerate() {
            let seq = isn.wrapping_add(1).wrapping_add(off as u32);
            let data = &stream[off as usize..off as usize + len];
            h.segment(
                seq,
                data,
                missing as u32,
                fin,
                at(i as u64 + 1),
                budget,
                &mut |ev| seen.record(ev),
            );
        }
        h.flush(at(999_999), budget, &mut |ev| seen.record(ev));
        assert_eq!(h.held(), 0);
        seen
    }

    #[test]
    fn in_order_segments_pass_through() {
        let stream: Vec<u8> = (0..100u8).collect();
        let mut b = Budget::new(1 << 20);
        let seen = run(7, &[(0, 40, 0, false), (40, 60, 0, true)], &stream, &mut b);
        assert_eq!(seen.bytes(), stream);
        assert!(seen.gaps.is_empty());
        assert!(seen.fin);
    }

    #[test]
    fn sequence_wrap_is_seamless() {
        let stream: Vec<u8> = (0..200u8).collect();
        let mut b = Budget::new(1 << 20);
        // ISN 2^32 - 50: the stream crosses zero after 49 bytes.
        let seen = run(
            u32::MAX - 49,
            &[(100, 100, 0, true), (0, 100, 0, false)],
            &stream,
            &mut b,
        );
        assert_eq!(seen.bytes(), stream);
        assert!(seen.gaps.is_empty());
    }

    #[test]
    fn snaplen_cut_becomes_gap_not_drop() {
        let stream = vec![1u8; 300];
        let mut b = Budget::new(1 << 20);
        // 100 bytes on the wire, 60 captured; then the next segment.
        let seen = run(
            0,
            &[(0, 60, 40, false), (100, 100, 0, false)],
            &stream,
            &mut b,
        );
        assert_eq!(seen.gaps, vec![(60, 40)]);
        assert_eq!(seen.tiles(), 200);
    }

    #[test]
    fn conflicting_overlap_keeps_first_copy_and_is_counted() {
        let mut h = HalfStream::new(Dir::ClientToServer);
        let mut b = Budget::new(1 << 20);
        let mut seen = Seen::default();
        h.syn(0);
        // A hole at 1..=10, then two different copies of 11..=20.
        h.segment(11, b"AAAAAAAAAA", 0, false, at(1), &mut b, &mut |e| {
            seen.record(e)
        });
        h.segment(11, b"BBBBBBBBBB", 0, false, at(2), &mut b, &mut |e| {
            seen.record(e)
        });
        h.segment(1, b"0123456789", 0, false, at(3), &mut b, &mut |e| {
            seen.record(e)
        });
        assert_eq!(seen.bytes(), b"0123456789AAAAAAAAAA");
        assert_eq!(h.stats.conflicting_overlaps, 1);
    }

    #[test]
    fn cap_forces_gap_and_bounds_memory() {
        let mut h = HalfStream::new(Dir::ClientToServer);
        let mut b = Budget::new(1 << 20);
        let mut seen = Seen::default();
        h.syn(0);
        let chunk = vec![7u8; 1000];
        // Byte 1 never arrives; 10 MB queue up behind it.
        for i in 0..10_000u32 {
            h.segment(
                2 + i * 1000,
                &chunk,
                0,
                false,
                at(u64::from(i)),
                &mut b,
                &mut |e| seen.record(e),
            );
            assert!(b.used() <= (1 << 20) + 1000);
        }
        assert!(h.stats.forced_gaps >= 1);
        assert_eq!(seen.gaps[0], (0, 1));
        h.flush(at(0), &mut b, &mut |e| seen.record(e));
        assert_eq!(seen.tiles(), 1 + 10_000 * 1000);
        assert_eq!(b.used(), 0);
    }

    /// Random segmentation of a stream: (offset, length) pieces covering it,
    /// some repeated, some overlapping their neighbours.
    fn cuts(len: usize) -> impl Strategy<Value = Vec<(usize, usize)>> {
        prop::collection::vec((1usize..700, 0usize..3, 0usize..50), 1..200).prop_map(move |v| {
            let mut out = Vec::new();
            let mut at = 0;
            for (step, dup, back) in v {
                if at >= len {
                    break;
                }
                let end = (at + step).min(len);
                // Start a little early sometimes: partial overlap.
                let start = at.saturating_sub(back);
                for _ in 0..=dup {
                    out.push((start, end - start));
                }
                at = end;
            }
            if at < len {
                out.push((at, len - at));
            }
            out
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Shuffled, duplicated and overlapping segments near the 2^32 wrap
        /// come back exactly.
        #[test]
        fn reassembles_exactly(
            stream in prop::collection::vec(any::<u8>(), 0..20_000),
            isn_back in 0u32..30_000,
            pieces in cuts(20_000),
            seed in any::<u64>(),
        ) {
            let len = stream.len();
            let mut segs: Vec<Seg> = within(pieces, len).collect();
            shuffle(&mut segs, seed);
            segs.push((len as u64, 0, 0, true));
            let isn = 0u32.wrapping_sub(isn_back);
            let mut b = Budget::new(64 << 20);
            let seen = run(isn, &segs, &stream, &mut b);
            prop_assert!(seen.gaps.is_empty());
            prop_assert_eq!(seen.bytes(), stream);
            prop_assert!(seen.fin);
            prop_assert_eq!(b.used(), 0);
        }

        /// With segments dropped, gaps account for exactly the bytes no
        /// surviving segment carried, and every delivered byte is right.
        #[test]
        fn gaps_account_for_drops(
            stream in prop::collection::vec(any::<u8>(), 1..20_000),
            isn_back in 0u32..30_000,
            pieces in cuts(20_000),
            drop_mask in any::<u64>(),
            seed in any::<u64>(),
        ) {
            let len = stream.len();
            let mut segs: Vec<Seg> = within(pieces, len)
                .enumerate()
                .filter(|(i, _)| drop_mask >> (i % 64) & 1 == 0)
                .map(|(_, s)| s)
                .collect();
            let mut covered = vec![false; len];
            for &(o, l, _, _) in &segs {
                covered[o as usize..o as usize + l].iter_mut().for_each(|c| *c = true);
            }
            shuffle(&mut segs, seed);
            segs.push((len as u64, 0, 0, true));
            let isn = 0u32.wrapping_sub(isn_back);
            let mut b = Budget::new(64 << 20);
            let seen = run(isn, &segs, &stream, &mut b);
            prop_assert_eq!(seen.tiles(), len as u64);
            let missing = covered.iter().filter(|c| !**c).count() as u64;
            prop_assert_eq!(seen.gaps.iter().map(|g| g.1).sum::<u64>(), missing);
            for (o, d) in &seen.data {
                prop_assert_eq!(&stream[*o as usize..*o as usize + d.len()], &d[..]);
            }
        }
    }

    /// (offset, captured length, missing length, FIN).
    type Seg = (u64, usize, usize, bool);

    /// The cuts that fall inside a stream of `len` bytes, as segments.
    fn within(pieces: Vec<(usize, usize)>, len: usize) -> impl Iterator<Item = Seg> {
        pieces
            .into_iter()
            .filter(move |&(o, _)| o < len)
            .map(move |(o, l)| (o as u64, l.min(len - o), 0, false))
    }

    /// Fisher-Yates with a small xorshift, so a failing case replays.
    fn shuffle<T>(v: &mut [T], mut seed: u64) {
        seed |= 1;
        for i in (1..v.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            v.swap(i, (seed % (i as u64 + 1)) as usize);
        }
    }
}
