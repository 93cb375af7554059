//! Edge cases built byte by byte: link types, byte orders, timestamp
//! resolutions, fragments, truncation, port reuse and role inference.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may panic: that is how they fail

mod common;

use common::*;
use wsforensics::capture::Timestamp;
use wsforensics::engine::{analyze_file, EngineOptions};
use wsforensics::flow::EndedBy;
use wsforensics::vocab::Dir;

const REQ: &[u8] = b"GET /chat HTTP/1.1\r\nHost: x\r\n\r\n";
const RESP: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\r\n";

fn run(bytes: &[u8], jobs: usize) -> wsforensics::engine::CaptureResult<Streams> {
    let p = temp_capture("wsf-synth", bytes);
    analyze_file(&p, &Collect, EngineOptions::jobs(jobs)).expect("readable")
}

fn frames(pkts: Vec<Vec<u8>>) -> Vec<(i64, Vec<u8>, u32)> {
    pkts.into_iter()
        .enumerate()
        .map(|(i, p)| {
            let n = p.len() as u32;
            (1_700_000_000_000_000_000 + i as i64 * 1_000_000, p, n)
        })
        .collect()
}

/// The one conversation of [`simple_conversation`] was fully recovered.
fn assert_simple(r: &wsforensics::engine::CaptureResult<Streams>) {
    assert_eq!(r.connections.len(), 1, "{:?}", r.warnings);
    let c = &r.connections[0];
    assert_eq!(c.meta.client.to_string(), "10.0.0.1:40000");
    assert_eq!(c.meta.server.to_string(), "10.0.0.2:8080");
    assert_eq!(c.analysis.data[0], REQ);
    assert_eq!(c.analysis.data[1], RESP);
    assert_eq!(c.ended_by, EndedBy::Fin);
    assert_eq!((c.first_frame, c.last_frame, c.packets), (1, 8, 8));
}

fn with_link(prefix: impl Fn(&[u8]) -> Vec<u8>) -> Vec<(i64, Vec<u8>, u32)> {
    frames(
        simple_conversation(REQ, RESP)
            .into_iter()
            .map(|ip| {
                let mut v = prefix(&ip);
                v.extend_from_slice(&ip);
                v
            })
            .collect(),
    )
}

#[test]
fn raw_ip_little_and_big_endian_micro_and_nano() {
    let f = frames(simple_conversation(REQ, RESP));
    for (be, nanos) in [(false, false), (true, false), (false, true), (true, true)] {
        let r = run(&pcap(101, &f, be, nanos), 1);
        assert_simple(&r);
        assert_eq!(r.first_seen, Some(Timestamp(1_700_000_000_000_000_000)));
    }
}

#[test]
fn nanosecond_timestamps_are_kept() {
    let mut f = frames(simple_conversation(REQ, RESP));
    f[0].0 += 123;
    let r = run(&pcap(101, &f, false, true), 1);
    assert_eq!(
        r.connections[0].first_seen,
        Timestamp(1_700_000_000_000_000_123)
    );
    assert_eq!(
        r.connections[0].first_seen.to_string(),
        "2023-11-14T22:13:20.000000123Z"
    );
}

#[test]
fn ethernet_with_802_1q_and_qinq_tags() {
    for tags in [0usize, 1, 2] {
        let f = with_link(|_| {
            let mut v = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
            for t in 0..tags {
                v.extend_from_slice(if t == 0 && tags == 2 {
                    &[0x88, 0xa8]
                } else {
                    &[0x81, 0x00]
                });
                v.extend_from_slice(&[0x00, 0x64]);
            }
            v.extend_from_slice(&[0x08, 0x00]);
            v
        });
        assert_simple(&run(&pcap(1, &f, false, false), 1));
    }
}

#[test]
fn linux_cooked_v1_and_v2() {
    let sll = with_link(|_| {
        let mut v = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
        v.extend_from_slice(&[0x08, 0x00]);
        v
    });
    assert_simple(&run(&pcap(113, &sll, false, false), 1));
    let sll2 = with_link(|_| {
        let mut v = vec![0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6];
        v.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0, 0]);
        v
    });
    assert_simple(&run(&pcap(276, &sll2, false, false), 1));
}

#[test]
fn bsd_loopback_in_either_byte_order() {
    let le = with_link(|_| 2u32.to_le_bytes().to_vec());
    assert_simple(&run(&pcap(0, &le, false, false), 1));
    let be = with_link(|_| 2u32.to_be_bytes().to_vec());
    assert_simple(&run(&pcap(0, &be, false, false), 1));
    assert_simple(&run(&pcap(108, &be, false, false), 1));
}

#[test]
fn unsupported_link_type_is_one_warning_with_a_count() {
    let f = frames(simple_conversation(REQ, RESP));
    let r = run(&pcap(147, &f, false, false), 1);
    assert!(r.connections.is_empty());
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(
        r.warnings[0].contains("8 frames of unsupported link type 147"),
        "{}",
        r.warnings[0]
    );
    assert!(r.error.is_none());
}

#[test]
fn pcapng_two_interfaces_with_different_link_types_and_resolutions() {
    let pkts = simple_conversation(REQ, RESP);
    let mut packets = Vec::new();
    for (i, p) in pkts.into_iter().enumerate() {
        // Even packets on interface 0 (raw IP, nanoseconds), odd ones on
        // interface 1 (Ethernet, microseconds); same instant each.
        let secs = 1_700_000_000u64;
        if i % 2 == 0 {
            packets.push((0, secs * 1_000_000_000 + i as u64 * 1000, p));
        } else {
            let mut e = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
            e.extend_from_slice(&p);
            packets.push((1, secs * 1_000_000 + i as u64, e));
        }
    }
    let r = run(&pcapng(&[(101, 9), (1, 6)], &packets), 1);
    assert_simple(&r);
    assert_eq!(r.format.map(|f| f.as_str()), Some("pcapng"));
    assert_eq!(r.last_seen, Some(Timestamp(1_700_000_000_000_007_000)));
}

#[test]
fn ipv4_fragments_are_reassembled() {
    // Split the request segment (frame 4) into two IPv4 fragments by hand.
    let mut pkts = simple_conversation(REQ, RESP);
    let seg = pkts.remove(3);
    let ihl = usize::from(seg[0] & 0x0f) * 4;
    let body = &seg[ihl..];
    let cut = 24; // a multiple of 8
    let frag = |off: usize, part: &[u8], more: bool| {
        let mut h = seg[..ihl].to_vec();
        let total = (ihl + part.len()) as u16;
        h[2..4].copy_from_slice(&total.to_be_bytes());
        h[4..6].copy_from_slice(&0x4242u16.to_be_bytes());
        let fo = (off / 8) as u16 | if more { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&fo.to_be_bytes());
        h.extend_from_slice(part);
        h
    };
    pkts.insert(3, frag(cut, &body[cut..], false));
    pkts.insert(3, frag(0, &body[..cut], true));
    let r = run(&pcap(101, &frames(pkts), false, false), 1);
    assert_eq!(r.decode.fragments, 2);
    let c = &r.connections[0];
    assert_eq!(c.analysis.data[0], REQ);
    assert_eq!(c.analysis.data[1], RESP);
}

#[test]
fn snaplen_truncation_keeps_headers_and_counts_a_gap() {
    let mut f = frames(simple_conversation(REQ, RESP));
    // Cut the response frame 10 bytes short, as a small snaplen would.
    let full = f[4].1.len();
    f[4].1.truncate(full - 10);
    f[4].2 = full as u32;
    let r = run(&pcap(101, &f, false, false), 1);
    let c = &r.connections[0];
    assert_eq!(c.analysis.data[1], &RESP[..RESP.len() - 10]);
    assert_eq!(c.stats[Dir::ServerToClient].gap_bytes, 10);
    assert_eq!(c.stats[Dir::ServerToClient].bytes, RESP.len() as u64 - 10);
}

#[test]
fn retransmission_counted_once_and_reordering_undone() {
    let mut p = simple_conversation(REQ, RESP);
    let req = p[3].clone();
    p.insert(4, req); // retransmitted request
    p.swap(5, 6); // FIN overtakes the response (ACKs aside)
    let r = run(&pcap(101, &frames(p), false, false), 1);
    let c = &r.connections[0];
    assert_eq!(c.analysis.data[0], REQ);
    assert_eq!(c.analysis.data[1], RESP);
    assert_eq!(c.stats[Dir::ClientToServer].retransmitted_segments, 1);
    assert_eq!(c.stats[Dir::ClientToServer].bytes, REQ.len() as u64);
}

#[test]
fn new_syn_after_close_starts_a_new_connection() {
    let mut p = simple_conversation(REQ, RESP);
    let second: Vec<Vec<u8>> = simple_conversation(b"again", b"ok")
        .into_iter()
        .map(|mut ip| {
            // Same 4-tuple, other sequence numbers: bump seq/ack by 10^6.
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            for at in [ihl + 4, ihl + 8] {
                let v = u32::from_be_bytes([ip[at], ip[at + 1], ip[at + 2], ip[at + 3]]);
                if v != 0 {
                    ip[at..at + 4].copy_from_slice(&(v + 1_000_000).to_be_bytes());
                }
            }
            ip
        })
        .collect();
    p.extend(second);
    let r = run(&pcap(101, &frames(p), false, false), 1);
    assert_eq!(r.connections.len(), 2);
    assert_eq!(r.connections[1].first_frame, 9);
    assert_eq!(r.connections[1].analysis.data[0], b"again");
}

#[test]
fn roles_inferred_for_a_connection_already_open() {
    // Only the data packets: no handshake. Both ports are ephemeral-range,
    // so the request line decides.
    let c = ([10, 0, 0, 1], 40000);
    let s = ([10, 0, 0, 2], 50000);
    let p = vec![
        ip_tcp(s, c, 9000, 100, ACK, b""),
        ip_tcp(c, s, 100, 9000, ACK, REQ),
        ip_tcp(s, c, 9000, 100 + REQ.len() as u32, ACK, RESP),
    ];
    let r = run(&pcap(101, &frames(p), false, false), 1);
    let k = &r.connections[0];
    assert_eq!(k.meta.server.to_string(), "10.0.0.2:50000");
    assert!(!k.meta.roles_from_handshake);
    assert_eq!(k.analysis.data[0], REQ);
    assert_eq!(k.ended_by, EndedBy::CaptureEnd);
}

#[test]
fn mid_stream_pick_up_counts_unseen_bytes_as_gap() {
    let c = ([10, 0, 0, 1], 40000);
    let s = ([10, 0, 0, 2], 443);
    // The server acknowledged up to 100; the client's first data seen
    // starts at 150, so 50 bytes went by before the capture.
    let p = vec![
        ip_tcp(s, c, 9000, 100, ACK, b""),
        ip_tcp(c, s, 150, 9000, ACK, b"hello"),
    ];
    let r = run(&pcap(101, &frames(p), false, false), 1);
    let k = &r.connections[0];
    assert_eq!(k.meta.server.to_string(), "10.0.0.2:443");
    assert_eq!(k.stats[Dir::ClientToServer].gap_bytes, 50);
    assert_eq!(k.analysis.data[0], b"hello");
}

#[test]
fn rst_ends_the_connection() {
    let c = ([10, 0, 0, 1], 40000);
    let s = ([10, 0, 0, 2], 8080);
    let p = vec![
        ip_tcp(c, s, 1, 0, SYN, b""),
        ip_tcp(s, c, 0, 2, RST | ACK, b""),
    ];
    let r = run(&pcap(101, &frames(p), false, false), 1);
    assert_eq!(r.connections[0].ended_by, EndedBy::Rst);
    assert!(r.connections[0].analysis.rst);
}

#[test]
fn same_result_for_any_number_of_workers() {
    // Many connections, interleaved.
    let mut all = Vec::new();
    let convs: Vec<Vec<Vec<u8>>> = (0..50u16)
        .map(|i| {
            simple_conversation(REQ, RESP)
                .into_iter()
                .map(|mut ip| {
                    // Rewrite the client port per conversation.
                    let ihl = usize::from(ip[0] & 0x0f) * 4;
                    let from_client = ip[12..16] == [10, 0, 0, 1];
                    let at = if from_client { ihl } else { ihl + 2 };
                    ip[at..at + 2].copy_from_slice(&(40000 + i).to_be_bytes());
                    ip
                })
                .collect()
        })
        .collect();
    for k in 0..8 {
        for c in &convs {
            all.push(c[k].clone());
        }
    }
    let bytes = pcap(101, &frames(all), false, false);
    let summary = |jobs| {
        let r = run(&bytes, jobs);
        r.connections
            .iter()
            .map(|c| {
                (
                    c.first_frame,
                    c.last_frame,
                    c.meta.client,
                    c.analysis.data.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let one = summary(1);
    assert_eq!(one.len(), 50);
    assert_eq!(one, summary(2));
    assert_eq!(one, summary(8));
}

/// Fuzz finding (tcp_reassembly, `fuzz/regressions/
/// tcp_reassembly-role-swap-loses-gap.bin`): with no handshake the lower
/// port is first taken for the server; its first segment lost 50 bytes to
/// the snapshot length; its next one starts a request, so the roles are
/// swapped and the analyzer made again. The new analyzer must still hear
/// of the 50 missing bytes before the request (the collector checks that
/// every offset counts the gaps before it).
#[test]
fn role_swap_keeps_a_gap_seen_before() {
    let a = ([10, 0, 0, 1], 2000);
    let b = ([10, 0, 0, 2], 3000);
    let cut = ip_tcp(a, b, 1000, 5000, ACK, &[0x55; 50]);
    let req = ip_tcp(a, b, 1050, 5000, ACK, REQ);
    let frames = vec![
        (
            1_700_000_000_000_000_000,
            cut[..40].to_vec(),
            cut.len() as u32,
        ),
        (1_700_000_000_000_001_000, req.clone(), req.len() as u32),
    ];
    let r = run(&pcap(101, &frames, false, false), 1);
    let k = &r.connections[0];
    assert_eq!(k.meta.client.to_string(), "10.0.0.1:2000");
    assert_eq!(k.analysis.gaps[0], 50);
    assert_eq!(k.analysis.data[0], REQ);
}

/// One worker with room for two open connections.
fn with_room_for_two(pkts: Vec<Vec<u8>>) -> wsforensics::engine::CaptureResult<Streams> {
    let p = temp_capture("wsf-evict", &pcap(101, &frames(pkts), false, false));
    let limits = wsforensics::limits::Limits {
        open_connections: 2,
        ..Default::default()
    };
    analyze_file(
        &p,
        &Collect,
        EngineOptions {
            jobs: 1,
            limits,
            spill: false,
        },
    )
    .expect("readable")
}

/// With room for two open connections, a third evicts the least recently
/// active one; that connection's later packets are counted on its record
/// (not analysed, not a new connection), and the eviction is tallied.
#[test]
fn an_evicted_connection_keeps_its_later_packets() {
    use wsforensics::limits::Limit;
    let a = ([10, 0, 0, 1], 40001);
    let b = ([10, 0, 0, 1], 40002);
    let c = ([10, 0, 0, 1], 40003);
    let s = ([10, 0, 0, 2], 8080);
    let pkts = vec![
        ip_tcp(a, s, 100, 0, SYN, b""),
        ip_tcp(a, s, 101, 0, ACK, b"GET / HTTP/1.1\r\n"),
        ip_tcp(b, s, 200, 0, SYN, b""),
        ip_tcp(c, s, 300, 0, SYN, b""),
        ip_tcp(a, s, 117, 0, ACK, b"Host: x\r\n\r\n"),
    ];
    let r = with_room_for_two(pkts);
    assert_eq!(r.connections.len(), 3, "no connection split by eviction");
    let first = &r.connections[0];
    assert_eq!(first.meta.client.to_string(), "10.0.0.1:40001");
    assert_eq!(first.ended_by, EndedBy::Evicted);
    assert_eq!((first.last_frame, first.packets), (5, 3));
    assert_eq!(
        first.analysis.data[0], b"GET / HTTP/1.1\r\n",
        "analysed until evicted"
    );
    assert_eq!(r.limit_hits.times(Limit::OpenConnections), 1);
    assert!(r.connections[1..]
        .iter()
        .all(|k| k.ended_by == EndedBy::CaptureEnd));
}

#[test]
fn a_flood_forgets_connections_older_than_what_it_evicts() {
    let s = ([10, 0, 0, 2], 8080);
    let a = ([10, 0, 0, 1], 40001);
    let b = ([10, 0, 0, 1], 40002);
    let c = ([10, 0, 0, 1], 40003);
    let d = ([10, 0, 0, 1], 40004);
    let pkts = vec![
        ip_tcp(a, s, 100, 0, SYN, b""),
        ip_tcp(b, s, 200, 0, SYN, b""),
        // Room for two: `a` is evicted, its entry kept for late packets.
        ip_tcp(c, s, 300, 0, SYN, b""),
        // `b` is evicted; `a`, quieter than `b`, is forgotten.
        ip_tcp(d, s, 400, 0, SYN, b""),
        ip_tcp(a, s, 101, 0, ACK, b"late"),
    ];
    let r = with_room_for_two(pkts);
    let ends: Vec<(u64, EndedBy)> = r
        .connections
        .iter()
        .map(|k| (k.first_frame, k.ended_by))
        .collect();
    // The late packet of `a` starts a connection, whose room costs `c`.
    assert_eq!(
        ends,
        vec![
            (1, EndedBy::Evicted),
            (2, EndedBy::Evicted),
            (3, EndedBy::Evicted),
            (4, EndedBy::CaptureEnd),
            (5, EndedBy::CaptureEnd),
        ]
    );
    assert_eq!(r.connections[0].packets, 1, "the late packet is not a's");
}
