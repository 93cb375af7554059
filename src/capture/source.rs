//! Byte sources: plain files, or gzip and zstd streams detected by their
//! magic bytes and decompressed as they are read.

use std::io::{self, BufReader, Read};
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

/// Bytes [`sniff`] needs to tell the compressions apart.
const MAGIC_LEN: usize = 4;

/// Look at the first bytes of `r` and wrap it in a decompressor if needed.
///
/// The magic bytes are read out first and put back in front, so a pipe
/// that hands them over a byte at a time is recognised like a file; no
/// seek is needed.
pub fn sniff<R: Read + Send + 'static>(
    mut r: R,
) -> io::Result<(Box<dyn Read + Send>, Compression)> {
    let mut magic = [0u8; MAGIC_LEN];
    let mut got = 0;
    while got < MAGIC_LEN {
        match r.read(magic.get_mut(got..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let head = magic.get(..got).unwrap_or_default();
    let compression = if head.starts_with(&GZIP_MAGIC) {
        Compression::Gzip
    } else if head.starts_with(&ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
    };
    let r = BufReader::with_capacity(256 << 10, io::Cursor::new(head.to_vec()).chain(r));
    Ok(match compression {
        Compression::Gzip => (
            Box::new(flate2::bufread::MultiGzDecoder::new(r)),
            compression,
        ),
        Compression::Zstd => (
            Box::new(zstd::stream::read::Decoder::with_buffer(r)?),
            compression,
        ),
        Compression::None => (Box::new(r), compression),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out its bytes one at a time, as a slow pipe may.
    struct Trickle(Vec<u8>, usize);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.get(self.1), buf.first_mut()) {
                (Some(&b), Some(slot)) => {
                    *slot = b;
                    self.1 += 1;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn magic_split_over_reads_is_still_recognised() {
        let plain = b"abcdefgh".repeat(100);
        let zst = zstd::encode_all(&plain[..], 3).unwrap();
        let (mut r, c) = sniff(Trickle(zst, 0)).unwrap();
        assert_eq!(c, Compression::Zstd);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, plain);
        // Fewer bytes than a magic number: passed through as they are.
        let (mut r, c) = sniff(Trickle(vec![0x1f], 0)).unwrap();
        assert_eq!(c, Compression::None);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, [0x1f]);
    }
}
