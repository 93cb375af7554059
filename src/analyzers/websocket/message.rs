//! What a message's payload needs beyond framing: UTF-8 validation of text
//! messages across fragments and TCP segments (RFC 6455 §5.6, §8.1), and
//! permessage-deflate inflation (RFC 7692) with context takeover, a cap on
//! the output of one message, and a cap on the inflaters alive at once.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

use flate2::{Decompress, FlushDecompress, Status};

/// Inflated bytes followed per message, unless `--max-inflated-message`
/// says otherwise; past this the message's size is reported as "more than"
/// and its direction is not inflated any further (its compression context
/// is lost).
pub const MAX_INFLATED: u64 = crate::limits::INFLATED_MESSAGE;

/// Bytes of inflater state alive at once in the process. Each direction
/// that sends compressed messages holds an inflater for the life of the
/// connection (RFC 7692 context takeover; with `*_no_context_takeover`
/// only while a message is inflated), so this bounds the memory of
/// captures with many compressed connections (about 3,500 directions). A direction that
/// finds the budget spent is not inflated; the report says so per message.
/// Below the cap, results do not depend on `--jobs`. `--max-inflate-memory`
/// changes it.
pub const INFLATE_BUDGET: usize = crate::limits::INFLATE_MEMORY;

/// Memory of one inflater: zlib-rs keeps a 32 KiB window (plus 64 bytes of
/// padding; the window also reads every smaller `*_max_window_bits` a
/// sender may have agreed to, RFC 7692 §7.1.2) and about 14 KiB of state
/// and decoding tables.
const INFLATER_BYTES: usize = 46 << 10;

/// The RFC 7692 §7.2.2 tail the sender removed from each message.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Inflater bytes alive now, in the whole process.
static LIVE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static OUT: RefCell<Vec<u8>> = RefCell::new(vec![0; 32 << 10]);
}

/// Streaming UTF-8 validation: bytes may be split anywhere.
#[derive(Clone, Copy, Debug, Default)]
pub struct Utf8Check {
    carry: [u8; 4],
    carry_len: u8,
    bad: bool,
}

fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

impl Utf8Check {
    /// Check the next bytes.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        if self.bad || bytes.is_empty() {
            return;
        }
        if self.carry_len > 0 {
            let have = usize::from(self.carry_len);
            let want = sequence_len(self.carry[0]);
            let mut take = 0;
            for (slot, &b) in self.carry.iter_mut().take(want).skip(have).zip(bytes) {
                *slot = b;
                take += 1;
            }
            self.carry_len += take as u8;
            bytes = bytes.get(take..).unwrap_or_default();
            let seq = self
                .carry
                .get(..usize::from(self.carry_len))
                .unwrap_or_default();
            match std::str::from_utf8(seq) {
                Ok(_) => self.carry_len = 0,
                Err(e) if e.error_len().is_none() => return,
                Err(_) => {
                    self.bad = true;
                    return;
                }
            }
        }
        if let Err(e) = std::str::from_utf8(bytes) {
            match e.error_len() {
                Some(_) => self.bad = true,
                None => {
                    // An incomplete sequence: at most 3 bytes.
                    let rest = bytes.get(e.valid_up_to()..).unwrap_or_default();
                    for (slot, &b) in self.carry.iter_mut().zip(rest) {
                        *slot = b;
                    }
                    self.carry_len = rest.len().min(self.carry.len()) as u8;
                }
            }
        }
    }

    /// Whether everything fed so far is valid and complete.
    pub fn valid(&self) -> bool {
        !self.bad && self.carry_len == 0
    }

    /// Whether an invalid byte has been seen (an incomplete last sequence
    /// does not count until the message ends).
    pub fn failed(&self) -> bool {
        self.bad
    }
}

/// How inflating one message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inflated {
    /// The whole message inflated to this many bytes.
    Bytes(u64),
    /// It inflated to more than [`MAX_INFLATED`] bytes; inflation stopped.
    MoreThan(u64),
    /// The compressed data is invalid.
    Corrupt,
    /// Not inflated: bytes of it or of an earlier message were lost, or
    /// too many inflaters were alive.
    Unknown,
}

/// One direction's permessage-deflate decoder.
pub struct Inflater {
    z: Option<Box<Decompress>>,
    /// Reset after every message (`*_no_context_takeover`).
    no_takeover: bool,
    /// A message went by before this one (with context takeover, an
    /// inflater made now would lack its window).
    started: bool,
    /// The context is lost for the rest of the direction.
    dead: bool,
    /// The current message's state.
    out: u64,
    corrupt: bool,
    lost: bool,
    capped: bool,
    /// Caps: bytes per message, and inflater memory in the process.
    max_out: u64,
    budget: usize,
    /// An inflater was wanted and the memory budget was spent.
    pub starved: bool,
}

impl Drop for Inflater {
    fn drop(&mut self) {
        self.release();
    }
}

impl Inflater {
    /// A decoder for a direction whose sender resets its compressor after
    /// every message when `no_takeover` is set.
    pub fn new(no_takeover: bool) -> Inflater {
        Inflater::with_caps(no_takeover, MAX_INFLATED, INFLATE_BUDGET)
    }

    /// [`Inflater::new`] that inflates at most `max_out` bytes per
    /// message and makes no inflater while the process's inflaters hold
    /// `budget` bytes.
    pub fn with_caps(no_takeover: bool, max_out: u64, budget: usize) -> Inflater {
        Inflater {
            z: None,
            no_takeover,
            started: false,
            dead: false,
            out: 0,
            corrupt: false,
            lost: false,
            capped: false,
            max_out,
            budget,
            starved: false,
        }
    }

    fn ensure(&mut self) -> bool {
        if self.z.is_some() {
            return true;
        }
        if self.started && !self.no_takeover {
            // Earlier messages were not inflated: their window is missing.
            self.dead = true;
            return false;
        }
        let cost = INFLATER_BYTES;
        let free = LIVE
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |live| {
                (live + cost <= self.budget).then_some(live + cost)
            })
            .is_ok();
        if free {
            self.z = Some(Box::new(Decompress::new(false)));
        } else {
            self.starved = true;
        }
        free
    }

    fn release(&mut self) {
        if self.z.take().is_some() {
            LIVE.fetch_sub(INFLATER_BYTES, Ordering::Relaxed);
        }
    }

    /// Bytes the current message has inflated to so far.
    pub fn so_far(&self) -> u64 {
        self.out
    }

    /// Whether the current message is being inflated (nothing lost, not
    /// corrupt, not capped, an inflater to spare).
    pub fn inflating(&self) -> bool {
        !(self.dead || self.lost || self.corrupt || self.capped) && self.z.is_some()
    }

    /// Bytes of the current message were lost: it cannot be inflated, and
    /// with context takeover neither can the messages after it.
    pub fn lose(&mut self) {
        self.lost = true;
    }

    /// Inflate the next compressed bytes of the current message; `sink`
    /// gets the output.
    pub fn feed(&mut self, bytes: &[u8], sink: &mut impl FnMut(&[u8])) {
        if self.dead || self.lost || self.corrupt || self.capped || !self.ensure() {
            return;
        }
        let Some(z) = self.z.as_mut() else {
            return;
        };
        OUT.with(|o| {
            let mut o = o.borrow_mut();
            let mut input = bytes;
            loop {
                let (in0, out0) = (z.total_in(), z.total_out());
                let r = z.decompress(input, &mut o, FlushDecompress::Sync);
                let used = (z.total_in() - in0) as usize;
                let made = (z.total_out() - out0) as usize;
                input = input.get(used..).unwrap_or_default();
                if made > 0 {
                    sink(o.get(..made).unwrap_or(o.as_slice()));
                    self.out += made as u64;
                    if self.out > self.max_out {
                        self.capped = true;
                        return;
                    }
                }
                match r {
                    Err(_) => {
                        self.corrupt = true;
                        return;
                    }
                    // A final block: the sender ended the deflate stream;
                    // the next message starts a new one.
                    Ok(Status::StreamEnd) => {
                        z.reset(false);
                        return;
                    }
                    Ok(_) if input.is_empty() && made < o.len() => return,
                    Ok(_) if used == 0 && made == 0 => return,
                    Ok(_) => {}
                }
            }
        });
    }

    /// The current message ended: inflate the tail, say how it went and
    /// get ready for the next one.
    pub fn finish(&mut self, sink: &mut impl FnMut(&[u8])) -> Inflated {
        if !(self.dead || self.lost || self.corrupt || self.capped) && self.z.is_some() {
            self.feed(&TAIL, sink);
        }
        let result = if self.corrupt {
            Inflated::Corrupt
        } else if self.capped {
            Inflated::MoreThan(self.max_out)
        } else if self.dead || self.lost || self.z.is_none() {
            Inflated::Unknown
        } else {
            Inflated::Bytes(self.out)
        };
        if self.no_takeover {
            // The next message needs no window from this one: give the
            // memory back between messages (a direction that is quiet
            // most of the time then costs nothing).
            self.release();
        } else if self.lost || self.corrupt || self.capped || self.z.is_none() {
            // The window the next message refers to is gone.
            self.dead = true;
            self.release();
        }
        self.started = true;
        self.out = 0;
        self.lost = false;
        self.corrupt = false;
        self.capped = false;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compress, Compression, FlushCompress};

    fn check(parts: &[&[u8]]) -> bool {
        let mut u = Utf8Check::default();
        for p in parts {
            u.feed(p);
        }
        u.valid()
    }

    #[test]
    fn utf8_split_anywhere() {
        let text = "grüße 𝄞 €!".as_bytes();
        for i in 0..=text.len() {
            for j in i..=text.len() {
                assert!(check(&[&text[..i], &text[i..j], &text[j..]]), "{i} {j}");
            }
        }
        assert!(!check(&[b"ok \xff"]));
        assert!(!check(&[b"\xe2\x82"])); // cut short at the end
        assert!(!check(&[b"\xe2", b"\x28\xa1"])); // bad continuation across the split
        assert!(!check(&[b"\xed\xa0", b"\x80"])); // surrogate
        assert!(!check(&[b"\xf4\x90\x80\x80"])); // above U+10FFFF
        assert!(check(&[]));
    }

    /// Compress messages as a permessage-deflate sender does: sync flush,
    /// tail removed, context kept unless `reset`.
    fn compress(msgs: &[&[u8]], reset: bool) -> Vec<Vec<u8>> {
        let mut c = Compress::new(Compression::default(), false);
        msgs.iter()
            .map(|m| {
                if m.is_empty() {
                    // RFC 7692 §7.2.3.6: an empty message is one empty
                    // stored block, 0x00 once the tail is removed.
                    return vec![0x00];
                }
                if reset {
                    c.reset();
                }
                let mut out = Vec::with_capacity(m.len() + 64);
                c.compress_vec(m, &mut out, FlushCompress::Sync).unwrap();
                assert!(out.ends_with(&TAIL));
                out.truncate(out.len() - 4);
                out
            })
            .collect()
    }

    fn inflate_all(inf: &mut Inflater, wire: &[Vec<u8>], split: usize) -> Vec<(Inflated, Vec<u8>)> {
        wire.iter()
            .map(|w| {
                let mut got = Vec::new();
                for part in w.chunks(split.max(1)) {
                    inf.feed(part, &mut |b| got.extend_from_slice(b));
                }
                let r = inf.finish(&mut |b| got.extend_from_slice(b));
                (r, got)
            })
            .collect()
    }

    #[test]
    fn context_takeover_across_messages() {
        let a = b"hello hello hello websocket".repeat(50);
        let b = b"hello hello hello websocket, again".repeat(50);
        let wire = compress(&[&a, &b, b""], false);
        for split in [1, 7, 4096] {
            let mut inf = Inflater::new(false);
            let got = inflate_all(&mut inf, &wire, split);
            assert_eq!(got[0], (Inflated::Bytes(a.len() as u64), a.clone()));
            assert_eq!(got[1], (Inflated::Bytes(b.len() as u64), b.clone()));
            assert_eq!(got[2], (Inflated::Bytes(0), Vec::new()));
        }
    }

    #[test]
    fn no_context_takeover_resets() {
        let a = b"abcabcabc".repeat(100);
        let wire = compress(&[&a, &a], true);
        let mut inf = Inflater::new(true);
        let got = inflate_all(&mut inf, &wire, 100);
        assert_eq!(got[1].0, Inflated::Bytes(a.len() as u64));
        assert_eq!(got[1].1, a);
        // Between messages it holds no memory, and gets one again.
        assert!(inf.z.is_none());
        let again = inflate_all(&mut inf, &wire, 7);
        assert_eq!(again[0].1, a);
        assert!(inf.z.is_none());
    }

    #[test]
    fn context_takeover_keeps_its_window_between_messages() {
        let a = b"abcabcabc".repeat(100);
        let wire = compress(&[&a], false);
        let mut inf = Inflater::new(false);
        assert_eq!(inflate_all(&mut inf, &wire, 100)[0].1, a);
        assert!(inf.z.is_some());
    }

    #[test]
    fn lost_bytes_end_inflation_of_the_direction() {
        let a = b"0123456789".repeat(100);
        let wire = compress(&[&a, &a], false);
        let mut inf = Inflater::new(false);
        inf.lose();
        let mut sink = |_: &[u8]| {};
        inf.feed(&wire[0], &mut sink);
        assert_eq!(inf.finish(&mut sink), Inflated::Unknown);
        inf.feed(&wire[1], &mut sink);
        assert_eq!(inf.finish(&mut sink), Inflated::Unknown);
    }

    #[test]
    fn garbage_is_corrupt_and_bombs_are_capped() {
        let mut inf = Inflater::new(true);
        let mut sink = |_: &[u8]| {};
        inf.feed(&[0xff; 64], &mut sink);
        assert_eq!(inf.finish(&mut sink), Inflated::Corrupt);

        let zeros = vec![0u8; (MAX_INFLATED + (1 << 20)) as usize];
        let wire = compress(&[&zeros], false);
        assert!(wire[0].len() < 200_000);
        let mut inf = Inflater::new(false);
        inf.feed(&wire[0], &mut sink);
        assert_eq!(inf.finish(&mut sink), Inflated::MoreThan(MAX_INFLATED));
    }
}
