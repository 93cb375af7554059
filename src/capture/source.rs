//! Byte sources: plain files, or gzip and zstd streams detected by their
//! magic bytes and decompressed as they are read.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes read from capture files and archives so far, by every reader of
/// the process: what a progress display shows.
pub static BYTES_READ: AtomicU64 = AtomicU64::new(0);

/// A file whose reads are added to [`BYTES_READ`].
pub struct Counted<R>(pub R);

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        BYTES_READ.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Compression found around a capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// None.
    None,
    /// gzip (RFC 1952), possibly several members.
    Gzip,
    /// Zstandard (RFC 8878).
    Zstd,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Look at the first bytes of `r` and wrap it in a decompressor if needed.
pub fn sniff<R: Read + Send + 'static>(r: R) -> io::Result<(Box<dyn Read + Send>, Compression)> {
    let mut r = BufReader::with_capacity(256 << 10, r);
    let head = r.fill_buf()?;
    if head.starts_with(&GZIP_MAGIC) {
        let d = flate2::bufread::MultiGzDecoder::new(r);
        Ok((Box::new(d), Compression::Gzip))
    } else if head.starts_with(&ZSTD_MAGIC) {
        let d = zstd::stream::read::Decoder::with_buffer(r)?;
        Ok((Box::new(d), Compression::Zstd))
    } else {
        Ok((Box::new(r), Compression::None))
    }
}
