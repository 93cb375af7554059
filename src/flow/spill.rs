//! Finished connections kept on disk instead of in memory.
//!
//! A record is written to its worker's temporary file when the connection
//! ends; the table keeps a [`Stub`] of 48 bytes for it, which later packets
//! of the connection (the last ACK, a retransmitted FIN) still update. The
//! report reads the records back a block at a time, so memory follows the
//! connections open at once and not the number a capture holds (DESIGN.md,
//! "Memory is bounded by the number of connections open at once").
//!
//! The file is ours, unnamed, and deleted when the last handle closes; a
//! record that cannot be written (a full disk) is kept in memory instead.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::ConnRecord;
use crate::capture::Timestamp;

/// How an [`Observer`](super::Observer)'s records are written and read:
/// observers whose output can be stored offer one, the others keep their
/// records in memory.
pub struct Codec<T> {
    encode: fn(&ConnRecord<T>, &mut Vec<u8>) -> bool,
    decode: fn(&[u8]) -> Option<ConnRecord<T>>,
}

impl<T> Clone for Codec<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Codec<T> {}

impl<T: Serialize + DeserializeOwned> Codec<T> {
    /// Records in postcard's compact binary form: about a quarter of their
    /// size in memory, and quick to write and read.
    pub fn postcard() -> Codec<T> {
        Codec {
            encode: |rec, out| {
                out.clear();
                postcard::to_io(rec, &mut *out).is_ok()
            },
            decode: |bytes| postcard::from_bytes(bytes).ok(),
        }
    }
}

/// Where a finished record is.
#[derive(Debug)]
enum Place<T> {
    /// In the worker's file.
    Disk { offset: u64, len: u32 },
    /// In memory: writing it failed.
    Held(Box<ConnRecord<T>>),
}

/// What stays in memory of a finished connection: its place and the
/// fields its later packets change.
#[derive(Debug)]
pub struct Stub<T> {
    /// First frame of the connection: the report's order.
    pub first_frame: u64,
    last_frame: u64,
    last_seen: Timestamp,
    packets: u64,
    place: Place<T>,
}

impl<T> Stub<T> {
    /// Last frame of the connection so far.
    pub fn last_frame(&self) -> u64 {
        self.last_frame
    }

    /// A later packet of the ended connection.
    pub fn touch(&mut self, frame: u64, ts: Timestamp) {
        self.last_frame = frame;
        self.last_seen = self.last_seen.max(ts);
        self.packets += 1;
    }
}

/// One worker's file while its records are written.
pub struct SpillWriter<T> {
    out: BufWriter<File>,
    at: u64,
    scratch: Vec<u8>,
    codec: Codec<T>,
    /// Set after a failed write: the rest stays in memory.
    failed: bool,
}

/// Write buffer of a spill file: records are a few hundred bytes each.
const WRITE_BUFFER: usize = 256 << 10;

impl<T> SpillWriter<T> {
    /// Records go to `file` (empty, readable and writable).
    pub fn new(file: File, codec: Codec<T>) -> SpillWriter<T> {
        SpillWriter {
            out: BufWriter::with_capacity(WRITE_BUFFER, file),
            at: 0,
            scratch: Vec::new(),
            codec,
            failed: false,
        }
    }

    /// Store `rec`; its stub says where.
    pub fn put(&mut self, rec: ConnRecord<T>) -> Stub<T> {
        let written = !self.failed
            && (self.codec.encode)(&rec, &mut self.scratch)
            && u32::try_from(self.scratch.len()).is_ok()
            && self.out.write_all(&self.scratch).is_ok();
        if !written {
            // A failed write may have left part of a record in the file;
            // nothing points there, and nothing more is written.
            self.failed = true;
            return Stub::held(rec);
        }
        let len = self.scratch.len() as u32;
        let offset = self.at;
        self.at += u64::from(len);
        Stub {
            first_frame: rec.first_frame,
            last_frame: rec.last_frame,
            last_seen: rec.last_seen,
            packets: rec.packets,
            place: Place::Disk { offset, len },
        }
    }

    /// Done writing: the file, ready to be read.
    pub fn finish(self) -> io::Result<SpillFile<T>> {
        let codec = self.codec;
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        Ok(SpillFile { file, codec })
    }
}

/// A worker's file once written.
pub struct SpillFile<T> {
    file: File,
    codec: Codec<T>,
}

impl<T> Stub<T> {
    /// The stub of a record kept in memory.
    pub fn held(rec: ConnRecord<T>) -> Stub<T> {
        Stub {
            first_frame: rec.first_frame,
            last_frame: rec.last_frame,
            last_seen: rec.last_seen,
            packets: rec.packets,
            place: Place::Held(Box::new(rec)),
        }
    }
}

impl<T: Clone> Stub<T> {
    /// The record this stub stands for, read back from `file` (the one
    /// its table wrote) and with the fields later packets changed. `buf`
    /// is scratch space.
    pub fn read(
        &self,
        file: Option<&SpillFile<T>>,
        buf: &mut Vec<u8>,
    ) -> io::Result<ConnRecord<T>> {
        let mut rec = match (&self.place, file) {
            (Place::Held(rec), _) => (**rec).clone(),
            (Place::Disk { offset, len }, Some(f)) => {
                buf.clear();
                buf.resize(*len as usize, 0);
                read_exact_at(&f.file, buf, *offset)
                    .map_err(|e| self.unreadable(*offset, &e.to_string()))?;
                (f.codec.decode)(buf).ok_or_else(|| self.unreadable(*offset, "not a record"))?
            }
            (Place::Disk { offset, .. }, None) => return Err(self.unreadable(*offset, "no file")),
        };
        rec.last_frame = self.last_frame;
        rec.last_seen = self.last_seen;
        rec.packets = self.packets;
        Ok(rec)
    }

    fn unreadable(&self, offset: u64, why: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the record of the connection starting at frame {} could not be read back from its temporary file (offset {offset}: {why})",
                self.first_frame
            ),
        )
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = buf.get_mut(n..).unwrap_or_default();
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{ConnMeta, EndedBy};
    use crate::vocab::{Endpoint, PerDir};

    fn record(first_frame: u64, note: &str) -> ConnRecord<String> {
        let end = |port| Endpoint {
            ip: [10, 0, 0, 1].into(),
            port,
        };
        ConnRecord {
            meta: ConnMeta {
                client: end(40000),
                server: end(443),
                roles_from_handshake: true,
            },
            first_frame,
            last_frame: first_frame + 5,
            first_seen: Timestamp(1_000),
            last_seen: Timestamp(2_000),
            packets: 6,
            stats: PerDir::default(),
            ended_by: EndedBy::Fin,
            analysis: note.to_string(),
        }
    }

    fn same(a: &ConnRecord<String>, b: &ConnRecord<String>) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    #[test]
    fn records_come_back_as_written_with_their_later_packets() {
        let mut w = SpillWriter::new(tempfile::tempfile().unwrap(), Codec::postcard());
        let a = record(1, "first");
        let b = record(9, &"x".repeat(10_000));
        let sa = w.put(a.clone());
        let mut sb = w.put(b.clone());
        assert!(matches!(sa.place, Place::Disk { .. }));
        sb.touch(40, Timestamp(9_000));
        let f = w.finish().unwrap();
        let mut buf = Vec::new();
        assert!(same(&sa.read(Some(&f), &mut buf).unwrap(), &a));
        let back = sb.read(Some(&f), &mut buf).unwrap();
        assert_eq!(
            (back.last_frame, back.last_seen, back.packets),
            (40, Timestamp(9_000), 7)
        );
        assert_eq!(back.analysis, b.analysis);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_keeps_the_records_in_memory() {
        // Every write to /dev/full fails with ENOSPC.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let mut w = SpillWriter::new(full, Codec::postcard());
        // The first records fit in the write buffer; one bigger than it
        // must reach the file, and fails.
        let big = record(2, &"y".repeat(2 * WRITE_BUFFER));
        let stubs = [
            w.put(record(1, "small")),
            w.put(big.clone()),
            w.put(record(3, "after")),
        ];
        assert!(matches!(stubs[1].place, Place::Held(_)));
        assert!(
            matches!(stubs[2].place, Place::Held(_)),
            "nothing more is written"
        );
        let mut buf = Vec::new();
        assert!(same(&stubs[1].read(None, &mut buf).unwrap(), &big));
        // The small one was only buffered: finishing cannot write it, and
        // says so.
        assert!(w.finish().is_err());
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_the_connection() {
        let file = tempfile::tempfile().unwrap();
        let mut w = SpillWriter::new(file.try_clone().unwrap(), Codec::postcard());
        let stub = w.put(record(77, "gone"));
        let f = w.finish().unwrap();
        file.set_len(3).unwrap();
        let e = stub.read(Some(&f), &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("frame 77"), "{e}");
        let e = stub.read(None, &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("frame 77"), "{e}");
    }
}
