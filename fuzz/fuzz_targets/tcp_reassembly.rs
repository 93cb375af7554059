//! flow::Table (connection table, roles, per-direction reassembly in
//! flow::reassembly) on segments of one 4-tuple, both directions, built
//! with `arbitrary`: sequence numbers absolute or relative to where the
//! direction is, any flags, payloads, snapshot-length losses.
//!
//! Oracle: per connection and direction, the Data and Gap events tile the
//! stream: each starts where the previous one ended; a Fin comes at most
//! once per direction, and a connection's observer is finished once.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsforensics::capture::Timestamp;
use wsforensics::decode::{Segment, TcpFlags};
use wsforensics::flow::{ConnMeta, EndedBy, Observer, ObserverFactory, Table, TcpEvent};
use wsforensics::vocab::{Dir, Endpoint};

#[derive(Arbitrary, Debug)]
enum Seq {
    /// Where the direction's next byte is expected, moved by this much.
    Rel(i16),
    /// Any sequence number.
    Abs(u32),
}

#[derive(Arbitrary, Debug)]
struct Seg {
    from_client: bool,
    seq: Seq,
    ack: u32,
    flags: u8,
    window: u16,
    /// Bytes the capture lost after the payload (snapshot length).
    missing: u16,
    /// Seconds since the previous segment.
    dt: u8,
    payload: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    v6: bool,
    client_port: u16,
    server_port: u16,
    /// Out-of-order budget of the table, in KiB.
    budget_kib: u16,
    segs: Vec<Seg>,
}

#[derive(Default)]
struct Check {
    next: [Option<u64>; 2],
    fin: [bool; 2],
    rst: bool,
}

impl Check {
    fn at(&mut self, d: usize, offset: u64, len: u64, what: &str) {
        match self.next[d] {
            Some(n) => assert_eq!(offset, n, "{what} at {offset}, expected {n} (dir {d})"),
            // An observer sees each direction from its first byte, unless
            // roles were swapped after bytes went by (see README).
            None if std::env::var_os("WSF_FUZZ_STRICT_START").is_some() => {
                assert_eq!(offset, 0, "first {what} of dir {d} at {offset}")
            }
            None => {}
        }
        assert!(len > 0, "empty {what}");
        self.next[d] = Some(offset + len);
    }
}

impl Observer for Check {
    type Output = ();
    fn event(&mut self, ev: &TcpEvent<'_>) {
        assert!(!self.rst, "event after Rst: {ev:?}");
        match *ev {
            TcpEvent::Data {
                dir, offset, bytes, ..
            } => self.at(dir.index(), offset, bytes.len() as u64, "data"),
            TcpEvent::Gap {
                dir, offset, len, ..
            } => self.at(dir.index(), offset, len, "gap"),
            TcpEvent::Fin { dir, .. } => {
                assert!(!self.fin[dir.index()], "second Fin {dir:?}");
                self.fin[dir.index()] = true;
            }
            TcpEvent::Rst { .. } => self.rst = true,
        }
    }
    fn finish(self, _end: EndedBy) {}
}

struct Factory;

impl ObserverFactory for Factory {
    type Observer = Check;
    fn create(&self, meta: &ConnMeta) -> Check {
        assert_ne!(meta.client, meta.server);
        Check::default()
    }
}

fuzz_target!(|input: Input| {
    let (cip, sip) = if input.v6 {
        (
            IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)),
            IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2)),
        )
    } else {
        (
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        )
    };
    let client = Endpoint {
        ip: cip,
        port: input.client_port,
    };
    let server = Endpoint {
        ip: sip,
        port: input.server_port,
    };
    let factory = Factory;
    let budget = (usize::from(input.budget_kib) + 1) << 10;
    let mut table = Table::new(&factory, budget);
    // Where each direction is, as the sender sees it.
    let mut next = [1000u32, 5_000_000u32];
    let mut ts = 1_700_000_000i64;
    let mut frame = 0;
    for s in input.segs.iter().take(2000) {
        frame += 1;
        ts += i64::from(s.dt);
        let d = usize::from(!s.from_client);
        let seq = match s.seq {
            Seq::Rel(r) => next[d].wrapping_add(r as i32 as u32),
            Seq::Abs(a) => a,
        };
        let flags = TcpFlags(s.flags & 0x3f);
        let (src, dst) = if s.from_client {
            (client, server)
        } else {
            (server, client)
        };
        let seg = Segment {
            frame,
            ts: Timestamp::from_parts(ts, 0),
            src,
            dst,
            seq,
            ack: s.ack,
            flags,
            window: s.window,
            payload: &s.payload,
            missing: u32::from(s.missing),
        };
        let mut adv = seg.wire_len();
        if flags.has(TcpFlags::SYN) {
            adv = adv.wrapping_add(1);
        }
        if flags.has(TcpFlags::FIN) {
            adv = adv.wrapping_add(1);
        }
        next[d] = seq.wrapping_add(adv);
        table.segment(&seg);
    }
    let _ = table.peak_open();
    let records = table.finish(Timestamp::from_parts(ts, 0), frame);
    for r in &records {
        assert!(r.first_frame <= r.last_frame);
        assert!(r.first_seen <= r.last_seen);
        for (i, st) in r.stats.iter().enumerate() {
            let _ = (i, st.bytes, st.gap_bytes);
        }
        let _ = Dir::ClientToServer.reverse().sender();
    }
});
