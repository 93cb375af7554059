//! IPv4 and IPv6 fragment reassembly in a bounded pool with a timeout.
//!
//! Reassembly of one datagram is etherparse's `IpDefragBuf`; this file adds
//! the pool around it: at most [`MAX_PENDING_DATAGRAMS`] datagrams in flight
//! (each at most 64 KiB, so the pool stays under 16 MiB), each forgotten
//! [`REASSEMBLY_TIMEOUT_NS`] after its last fragment, as Linux does.

use std::net::IpAddr;

use etherparse::defrag::IpDefragBuf;
use etherparse::{IpNumber, Ipv6ExtensionSlice, LaxIpSlice};
use rustc_hash::FxHashMap;

use crate::capture::Timestamp;

/// Datagrams reassembled at once, unless `--max-ip-fragments` says
/// otherwise; the oldest is dropped to admit a new one.
pub const MAX_PENDING_DATAGRAMS: usize = crate::limits::IP_FRAGMENTS;
/// A datagram whose fragments stop arriving is dropped after this long
/// (Linux `ipfrag_time`, 30 s).
pub const REASSEMBLY_TIMEOUT_NS: i64 = 30_000_000_000;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
}

struct Pending {
    buf: IpDefragBuf,
    last: Timestamp,
    fragments: u64,
}

/// The fragment pool of one capture.
pub struct Defragmenter {
    pending: FxHashMap<Key, Pending>,
    out: Vec<u8>,
    cap: usize,
}

impl Default for Defragmenter {
    fn default() -> Self {
        Defragmenter::with_cap(MAX_PENDING_DATAGRAMS)
    }
}

impl Defragmenter {
    /// A pool that holds at most `cap` datagrams at once.
    pub fn with_cap(cap: usize) -> Defragmenter {
        Defragmenter {
            pending: FxHashMap::default(),
            out: Vec::new(),
            cap: cap.max(1),
        }
    }

    /// Forget every datagram still waiting for fragments; returns how many
    /// fragments they had.
    pub fn drain_pending(&mut self) -> u64 {
        self.pending.drain().map(|(_, p)| p.fragments).sum()
    }

    fn expire(&mut self, now: Timestamp, dropped: &mut u64) {
        let mut gone = 0;
        self.pending.retain(|_, p| {
            let keep = now.since(p.last) <= REASSEMBLY_TIMEOUT_NS;
            if !keep {
                gone += p.fragments;
            }
            keep
        });
        *dropped += gone;
    }

    /// Add one fragment; returns the whole IP payload (the TCP header and
    /// data) when this fragment completed its datagram. Fragments given up
    /// (pool full, timeout, inconsistent) are added to `dropped`, and
    /// datagrams dropped because the pool was full to `evicted`.
    pub fn add(
        &mut self,
        ip: &LaxIpSlice<'_>,
        now: Timestamp,
        dropped: &mut u64,
        evicted: &mut u64,
    ) -> Option<&[u8]> {
        let payload = ip.payload();
        let (key, offset, more) = match ip {
            LaxIpSlice::Ipv4(v4) => {
                let h = v4.header();
                let key = Key {
                    src: ip.source_addr(),
                    dst: ip.destination_addr(),
                    id: u32::from(h.identification()),
                    proto: payload.ip_number.0,
                };
                (key, h.fragments_offset(), h.more_fragments())
            }
            LaxIpSlice::Ipv6(v6) => {
                let frag = v6.extensions().clone().into_iter().find_map(|e| match e {
                    Ipv6ExtensionSlice::Fragment(f) => Some(f),
                    _ => None,
                })?;
                let key = Key {
                    src: ip.source_addr(),
                    dst: ip.destination_addr(),
                    id: frag.identification(),
                    proto: payload.ip_number.0,
                };
                (key, frag.fragment_offset(), frag.more_fragments())
            }
        };
        if payload.incomplete {
            // A fragment cut by the snapshot length can never complete.
            *dropped += 1;
            return None;
        }
        if !self.pending.contains_key(&key) && self.pending.len() >= self.cap {
            self.expire(now, dropped);
            if self.pending.len() >= self.cap {
                let oldest = self
                    .pending
                    .iter()
                    .min_by_key(|(_, p)| p.last)
                    .map(|(k, _)| *k);
                if let Some(k) = oldest {
                    if let Some(p) = self.pending.remove(&k) {
                        *dropped += p.fragments;
                        *evicted += 1;
                    }
                }
            }
        }
        let entry = self.pending.entry(key).or_insert_with(|| Pending {
            buf: IpDefragBuf::new(IpNumber(key.proto), Vec::new(), Vec::new()),
            last: now,
            fragments: 0,
        });
        entry.last = now;
        entry.fragments += 1;
        if entry.buf.add(offset, more, payload.payload).is_err() {
            // Overlapping or oversized fragments: the datagram is unusable.
            if let Some(p) = self.pending.remove(&key) {
                *dropped += p.fragments;
            }
            return None;
        }
        if !entry.buf.is_complete() {
            return None;
        }
        let p = self.pending.remove(&key)?;
        let (data, _) = p.buf.take_bufs();
        self.out = data;
        Some(&self.out)
    }
}
