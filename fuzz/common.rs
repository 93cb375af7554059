//! Shared by the fuzz targets that take the two byte streams of one TCP
//! connection (http_upgrade, websocket_frames, tls_records).
//!
//! Input layout (made by `make_seeds.py` from the samples):
//!
//! ```text
//! byte 0      mode: target-specific bits
//! byte 1      bits 0-2: segment size (see CUTS); bit 3: gap direction
//!             (0 client, 1 server); bits 4-7: index of the segment of
//!             that direction that a gap replaces the start of
//! byte 2      gap length (0: no gap)
//! bytes 3-4   n, u16 little-endian: client-to-server bytes
//! then        n client-to-server bytes (fewer if the input ends), then
//!             the server-to-client bytes (the rest)
//! ```
//!
//! The two streams are cut into segments of the chosen size and handed
//! over alternately, client first, with correct stream offsets, as the
//! flow layer does.

#![allow(dead_code)]

use wsforensics::capture::Timestamp;
use wsforensics::vocab::Dir;

/// Segment sizes selected by the low three bits of byte 1.
pub const CUTS: [usize; 8] = [1, 2, 3, 7, 64, 536, 1448, usize::MAX];

/// A connection's two streams and how to deliver them.
pub struct TwoStreams<'a> {
    pub mode: u8,
    pub cut: usize,
    pub gap_dir: Dir,
    pub gap_at: usize,
    pub gap_len: usize,
    pub client: &'a [u8],
    pub server: &'a [u8],
}

pub fn split(data: &[u8]) -> Option<TwoStreams<'_>> {
    if data.len() < 5 {
        return None;
    }
    let n = u16::from_le_bytes([data[3], data[4]]) as usize;
    let rest = &data[5..];
    let (client, server) = rest.split_at(n.min(rest.len()));
    Some(TwoStreams {
        mode: data[0],
        cut: CUTS[usize::from(data[1] & 7)],
        gap_dir: if data[1] & 8 == 0 {
            Dir::ClientToServer
        } else {
            Dir::ServerToClient
        },
        gap_at: usize::from(data[1] >> 4),
        gap_len: usize::from(data[2]),
        client,
        server,
    })
}

/// One thing that happens to a direction.
#[derive(Debug)]
pub enum Piece<'a> {
    Data {
        dir: Dir,
        offset: u64,
        bytes: &'a [u8],
        frame: u64,
        ts: Timestamp,
    },
    Gap {
        dir: Dir,
        offset: u64,
        len: u64,
        frame: u64,
        ts: Timestamp,
    },
}

/// The segments, in delivery order.
pub fn pieces<'a>(s: &TwoStreams<'a>) -> Vec<Piece<'a>> {
    let mut out = Vec::new();
    let mut frame = 0u64;
    let mut pos = [0usize; 2];
    let mut seg_no = [0usize; 2];
    let streams = [s.client, s.server];
    while pos[0] < streams[0].len() || pos[1] < streams[1].len() {
        for dir in [Dir::ClientToServer, Dir::ServerToClient] {
            let d = dir.index();
            let st = streams[d];
            if pos[d] >= st.len() {
                continue;
            }
            frame += 1;
            let ts = Timestamp(1_700_000_000_000_000_000 + frame as i64 * 1_000_000);
            let end = pos[d].saturating_add(s.cut).min(st.len());
            let mut start = pos[d];
            if s.gap_len > 0 && dir == s.gap_dir && seg_no[d] == s.gap_at {
                let g = s.gap_len.min(end - start);
                out.push(Piece::Gap {
                    dir,
                    offset: start as u64,
                    len: g as u64,
                    frame,
                    ts,
                });
                start += g;
            }
            if start < end {
                out.push(Piece::Data {
                    dir,
                    offset: start as u64,
                    bytes: &st[start..end],
                    frame,
                    ts,
                });
            }
            pos[d] = end;
            seg_no[d] += 1;
        }
    }
    out
}

/// Feed the pieces to a flow-layer observer.
pub fn feed_observer<O: wsforensics::flow::Observer>(obs: &mut O, pieces: &[Piece<'_>]) {
    use wsforensics::flow::TcpEvent;
    for p in pieces {
        let ev = match *p {
            Piece::Data {
                dir,
                offset,
                bytes,
                frame,
                ts,
            } => TcpEvent::Data {
                dir,
                offset,
                bytes,
                frame,
                ts,
            },
            Piece::Gap {
                dir,
                offset,
                len,
                frame,
                ts,
            } => TcpEvent::Gap {
                dir,
                offset,
                len,
                frame,
                ts,
            },
        };
        obs.event(&ev);
    }
}

/// A connection record around an analyzer's facts, for the diagnose layer.
pub fn record<T>(
    analysis: T,
    ended_by: wsforensics::flow::EndedBy,
    frames: u64,
) -> wsforensics::flow::ConnRecord<T> {
    use std::net::{IpAddr, Ipv4Addr};
    use wsforensics::flow::{ConnMeta, ConnRecord};
    use wsforensics::vocab::Endpoint;
    ConnRecord {
        meta: ConnMeta {
            client: Endpoint {
                ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                port: 40000,
            },
            server: Endpoint {
                ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
                port: 80,
            },
            roles_from_handshake: true,
        },
        first_frame: 1,
        last_frame: frames.max(1),
        first_seen: Timestamp(1_700_000_000_000_000_000),
        last_seen: Timestamp(1_700_000_000_000_000_000 + frames as i64 * 1_000_000),
        packets: frames,
        stats: Default::default(),
        ended_by,
        analysis,
    }
}

/// How the connection ended, from two mode bits.
pub fn ended_by(bits: u8) -> wsforensics::flow::EndedBy {
    use wsforensics::flow::EndedBy;
    match bits & 3 {
        0 => EndedBy::Fin,
        1 => EndedBy::Rst,
        _ => EndedBy::CaptureEnd,
    }
}

/// Feed the pieces to a TLS analyzer; decrypted bytes go to `sink`.
pub fn feed_tls(
    t: &mut wsforensics::analyzers::tls::TlsSession,
    pieces: &[Piece<'_>],
    sink: &mut wsforensics::analyzers::tls::PlainSink<'_>,
) {
    use wsforensics::vocab::At;
    for p in pieces {
        match *p {
            Piece::Data {
                dir,
                bytes,
                frame,
                ts,
                ..
            } => t.data(dir, bytes, At { frame, ts }, sink),
            Piece::Gap { dir, frame, ts, .. } => t.gap(dir, At { frame, ts }),
        }
    }
}
