//! Helpers shared by the integration tests: a byte-collecting observer, and
//! writers of small pcap/pcapng files for edge cases real captures rarely
//! show.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may panic: that is how they fail
#![allow(dead_code)]

use etherparse::PacketBuilder;
use sha2::{Digest, Sha256};
use wsforensics::flow::{ConnMeta, EndedBy, Observer, ObserverFactory, TcpEvent};

/// Collects each direction's delivered bytes.
#[derive(Default)]
pub struct Collect;

/// What [`Collect`] saw of one connection.
#[derive(Debug, Default, Clone)]
pub struct Streams {
    pub data: [Vec<u8>; 2],
    pub gaps: [u64; 2],
    pub fins: [bool; 2],
    pub rst: bool,
    pub end: Option<EndedBy>,
}

impl Streams {
    pub fn sha256(&self, dir: usize) -> String {
        let d = Sha256::digest(&self.data[dir]);
        d.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl Observer for Streams {
    type Output = Streams;
    fn event(&mut self, ev: &TcpEvent<'_>) {
        match *ev {
            TcpEvent::Data {
                dir, bytes, offset, ..
            } => {
                let d = &mut self.data[dir.index()];
                // Offsets count gaps too.
                assert_eq!(
                    offset,
                    d.len() as u64 + self.gaps[dir.index()],
                    "data out of order"
                );
                d.extend_from_slice(bytes);
            }
            TcpEvent::Gap { dir, len, .. } => self.gaps[dir.index()] += len,
            TcpEvent::Fin { dir, .. } => self.fins[dir.index()] = true,
            TcpEvent::Rst { .. } => self.rst = true,
        }
    }
    fn finish(mut self, end: EndedBy) -> Streams {
        self.end = Some(end);
        self
    }
}

impl ObserverFactory for Collect {
    type Observer = Streams;
    fn create(&self, _meta: &ConnMeta) -> Streams {
        Streams::default()
    }
}

/// A pcap file: (nanoseconds since epoch, captured bytes, original length).
pub fn pcap(
    linktype: u32,
    frames: &[(i64, Vec<u8>, u32)],
    big_endian: bool,
    nanos: bool,
) -> Vec<u8> {
    let w32 = |v: &mut Vec<u8>, x: u32| {
        if big_endian {
            v.extend_from_slice(&x.to_be_bytes())
        } else {
            v.extend_from_slice(&x.to_le_bytes())
        }
    };
    let w16 = |v: &mut Vec<u8>, x: u16| {
        if big_endian {
            v.extend_from_slice(&x.to_be_bytes())
        } else {
            v.extend_from_slice(&x.to_le_bytes())
        }
    };
    let mut v = Vec::new();
    w32(&mut v, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
    w16(&mut v, 2);
    w16(&mut v, 4);
    w32(&mut v, 0);
    w32(&mut v, 0);
    w32(&mut v, 262_144);
    w32(&mut v, linktype);
    for (ts, data, orig) in frames {
        w32(&mut v, (ts / 1_000_000_000) as u32);
        let frac = ts % 1_000_000_000;
        w32(
            &mut v,
            if nanos {
                frac as u32
            } else {
                (frac / 1000) as u32
            },
        );
        w32(&mut v, data.len() as u32);
        w32(&mut v, *orig);
        v.extend_from_slice(data);
    }
    v
}

fn pad4(v: &mut Vec<u8>) {
    while v.len() % 4 != 0 {
        v.push(0);
    }
}

fn block(v: &mut Vec<u8>, btype: u32, body: &[u8]) {
    let len = 12 + body.len().div_ceil(4) * 4;
    v.extend_from_slice(&btype.to_le_bytes());
    v.extend_from_slice(&(len as u32).to_le_bytes());
    v.extend_from_slice(body);
    pad4(v);
    v.extend_from_slice(&(len as u32).to_le_bytes());
}

/// A little-endian pcapng file: interfaces are (linktype, if_tsresol);
/// packets are (interface, timestamp in that interface's units, bytes).
pub fn pcapng(interfaces: &[(u16, u8)], packets: &[(u32, u64, Vec<u8>)]) -> Vec<u8> {
    let mut v = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut v, 0x0A0D_0D0A, &shb);
    for &(lt, resol) in interfaces {
        let mut idb = Vec::new();
        idb.extend_from_slice(&lt.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&262_144u32.to_le_bytes());
        // if_tsresol option (code 9, length 1), then opt_endofopt.
        idb.extend_from_slice(&9u16.to_le_bytes());
        idb.extend_from_slice(&1u16.to_le_bytes());
        idb.extend_from_slice(&[resol, 0, 0, 0]);
        idb.extend_from_slice(&[0, 0, 0, 0]);
        block(&mut v, 1, &idb);
    }
    for (ifid, ts, data) in packets {
        let mut epb = Vec::new();
        epb.extend_from_slice(&ifid.to_le_bytes());
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(*ts as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(data);
        pad4(&mut epb);
        block(&mut v, 6, &epb);
    }
    v
}

/// TCP flags for [`ip_tcp`].
pub const SYN: u8 = 2;
pub const ACK: u8 = 16;
pub const FIN: u8 = 1;
pub const RST: u8 = 4;

/// A raw IPv4 packet carrying one TCP segment.
pub fn ip_tcp(
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ipv4(src.0, dst.0, 64).tcp(src.1, dst.1, seq, 65535);
    let b = if flags & SYN != 0 { b.syn() } else { b };
    let b = if flags & FIN != 0 { b.fin() } else { b };
    let b = if flags & RST != 0 { b.rst() } else { b };
    let b = if flags & ACK != 0 { b.ack(ack) } else { b };
    let mut v = Vec::new();
    // invariant: writing to a Vec cannot fail and the sizes are small.
    b.write(&mut v, payload).unwrap();
    v
}

/// Client 10.0.0.1:40000 talks to server 10.0.0.2:8080: handshake, the
/// request, the response, FIN both ways. Returns raw IPv4 packets.
pub fn simple_conversation(request: &[u8], response: &[u8]) -> Vec<Vec<u8>> {
    let c = ([10, 0, 0, 1], 40000);
    let s = ([10, 0, 0, 2], 8080);
    let (ci, si) = (1000u32, 5000u32);
    let req = request.len() as u32;
    let resp = response.len() as u32;
    vec![
        ip_tcp(c, s, ci, 0, SYN, b""),
        ip_tcp(s, c, si, ci + 1, SYN | ACK, b""),
        ip_tcp(c, s, ci + 1, si + 1, ACK, b""),
        ip_tcp(c, s, ci + 1, si + 1, ACK, request),
        ip_tcp(s, c, si + 1, ci + 1 + req, ACK, response),
        ip_tcp(c, s, ci + 1 + req, si + 1 + resp, FIN | ACK, b""),
        ip_tcp(s, c, si + 1 + resp, ci + 2 + req, FIN | ACK, b""),
        ip_tcp(c, s, ci + 2 + req, si + 2 + resp, ACK, b""),
    ]
}

/// Write `bytes` to a fresh temporary file and return it.
pub fn temp_capture(name: &str, bytes: &[u8]) -> tempfile::TempPath {
    let mut f = tempfile::Builder::new().prefix(name).tempfile().unwrap();
    std::io::Write::write_all(&mut f, bytes).unwrap();
    f.into_temp_path()
}

/// The JSON report of one file; the run must read it entirely (exit 0).
pub fn json_report(path: &str) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsforensics"))
        .args(["--format", "json", path])
        .env_remove("SSLKEYLOGFILE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{path}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// [`json_report`] of a file in `samples/`.
pub fn sample_report(sample: &str) -> serde_json::Value {
    json_report(&format!("{}/samples/{sample}", env!("CARGO_MANIFEST_DIR")))
}

/// A verdict's evidence lines.
pub fn evidence(d: &serde_json::Value) -> Vec<String> {
    d["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect()
}

/// A WebSocket object's Close frames: (frame, sender, code or None).
pub fn closes(ws: &serde_json::Value) -> Vec<(u64, String, Option<u64>)> {
    ws["closes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["frame"].as_u64().unwrap(),
                k["sender"].as_str().unwrap().to_string(),
                k["code"].as_u64(),
            )
        })
        .collect()
}
