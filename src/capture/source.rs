//! Byte sources: plain files, or gzip and zstd streams detected by their
//! magic bytes and decompressed as they are read.

use std::io::{self, BufRead, BufReader, Read};

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
