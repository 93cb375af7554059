//! The read-and-decode floor of the benchmark: pcap-parser reads every
//! record of a pcap or pcapng file and etherparse slices each Ethernet
//! frame down to its TCP payload, and nothing else (no reassembly, no
//! analysis). wsforensics cannot be faster than this on one core.
//!
//! `cargo run --release --example read_floor -- FILE`

use std::fs::File;

use etherparse::{SlicedPacket, TransportSlice};
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: read_floor FILE");
        std::process::exit(2);
    };
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("read_floor: {path}: {e}");
            std::process::exit(1);
        }
    };
    let mut reader = match create_reader(1 << 20, file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("read_floor: {path}: {e:?}");
            std::process::exit(1);
        }
    };
    let (mut packets, mut tcp, mut payload) = (0u64, 0u64, 0u64);
    let mut count = |data: &[u8]| {
        packets += 1;
        if let Ok(p) = SlicedPacket::from_ethernet(data) {
            if let Some(TransportSlice::Tcp(t)) = p.transport {
                tcp += 1;
                payload += t.payload().len() as u64;
            }
        }
    };
    loop {
        match reader.next() {
            Ok((n, block)) => {
                match block {
                    PcapBlockOwned::Legacy(b) => count(b.data),
                    PcapBlockOwned::NG(pcap_parser::Block::EnhancedPacket(b)) => count(b.data),
                    _ => {}
                }
                reader.consume(n);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if reader.refill().is_err() {
                    break;
                }
            }
            Err(e) => {
                eprintln!("read_floor: {path}: {e:?}");
                break;
            }
        }
    }
    println!("{packets} packets, {tcp} TCP segments, {payload} payload bytes");
}
