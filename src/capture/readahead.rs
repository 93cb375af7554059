//! The capture as a stream of chunks that workers can share: read (and
//! decompressed) by a thread of its own while the caller parses the
//! previous ones, or, for a plain file, read by the caller itself. Chunks are handed over
//! whole; each has headroom in front, so the tail of a record cut by a
//! chunk boundary is joined to the next chunk by copying only that tail.
//! Chunks the workers have let go of are sent back for reuse.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::Arc;
use std::thread;

use crossbeam_channel::{bounded, Receiver, Sender};

/// Bytes read per chunk.
const CHUNK: usize = 256 << 10;
/// Space in front of each chunk for the tail of the previous one.
const HEADROOM: usize = 128 << 10;
/// Chunks read ahead of the parser.
const DEPTH: usize = 4;
/// Free buffers kept for the inline producer.
const SPARE: usize = 8;
/// Retired chunks watched for reuse.
const RETIRED: usize = 64;

/// Where chunks come from.
enum Producer {
    /// A thread of its own reads (and decompresses) ahead; free buffers
    /// go back to it through `recycle`.
    Thread {
        chunks: Receiver<io::Result<Vec<u8>>>,
        recycle: Sender<Vec<u8>>,
    },
    /// The caller reads each chunk when it needs it: for plain files,
    /// where a read is one copy out of the page cache and a second thread
    /// would only add hand-over costs.
    Inline {
        src: Box<dyn Read + Send>,
        /// An error met after the last chunk handed out.
        pending: Option<io::Error>,
        done: bool,
    },
}

/// The parser's end of the chunk stream.
pub struct Feed {
    producer: Producer,
    /// Buffers for the inline producer, the most recently freed (the one
    /// most likely still in cache) on top.
    spare: Vec<Vec<u8>>,
    retired: VecDeque<Arc<Vec<u8>>>,
}

/// One read of up to a chunk.
struct Read1 {
    /// The bytes read, if any (headroom in front).
    data: Option<Vec<u8>>,
    /// The error that stopped the read, after `data`.
    error: Option<io::Error>,
    /// Nothing can follow: end of source or error.
    last: bool,
}

/// Read one chunk into a recycled buffer.
fn read_chunk(src: &mut dyn Read, mut v: Vec<u8>) -> Read1 {
    v.resize(HEADROOM + CHUNK, 0);
    let mut n = 0;
    let mut error = None;
    while n < CHUNK {
        match src.read(v.get_mut(HEADROOM + n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    v.truncate(HEADROOM + n);
    Read1 {
        data: (n > 0).then_some(v),
        last: error.is_some() || n < CHUNK,
        error,
    }
}

impl Feed {
    /// Start reading `src` on its own thread. The thread ends at the end of
    /// the source, on an error, or when the `Feed` is dropped.
    pub fn start(mut src: Box<dyn Read + Send>) -> Feed {
        let (tx, chunks) = bounded::<io::Result<Vec<u8>>>(DEPTH);
        let (recycle, reuse) = bounded::<Vec<u8>>(RETIRED);
        let theirs = reuse.clone();
        thread::spawn(move || loop {
            let r = read_chunk(&mut *src, theirs.try_recv().unwrap_or_default());
            if let Some(v) = r.data {
                if tx.send(Ok(v)).is_err() {
                    return;
                }
            }
            if let Some(e) = r.error {
                let _ = tx.send(Err(e));
            }
            if r.last {
                return;
            }
        });
        Feed {
            producer: Producer::Thread { chunks, recycle },
            spare: Vec::new(),
            retired: VecDeque::new(),
        }
    }

    /// Read `src` in the caller's thread, chunk by chunk, with the same
    /// buffer reuse as [`start`](Self::start).
    pub fn inline(src: Box<dyn Read + Send>) -> Feed {
        Feed {
            producer: Producer::Inline {
                src,
                pending: None,
                done: false,
            },
            spare: Vec::new(),
            retired: VecDeque::new(),
        }
    }

    /// The next chunk; `None` at the end of the source.
    pub fn next(&mut self) -> Option<io::Result<Vec<u8>>> {
        match &mut self.producer {
            Producer::Thread { chunks, .. } => chunks.recv().ok(),
            Producer::Inline { pending, done, .. } if *done => pending.take().map(Err),
            Producer::Inline { src, pending, done } => {
                let r = read_chunk(&mut **src, self.spare.pop().unwrap_or_default());
                *done = r.last;
                *pending = r.error;
                match r.data {
                    Some(v) => Some(Ok(v)),
                    None => pending.take().map(Err),
                }
            }
        }
    }

    /// Put `left` (the unparsed tail of the current buffer) in front of
    /// `chunk`'s data; returns the new buffer and the range of valid bytes.
    pub fn join(&mut self, left: &[u8], mut chunk: Vec<u8>) -> (Arc<Vec<u8>>, usize, usize) {
        let end = chunk.len();
        // Chunks come from `read_chunk`: HEADROOM bytes of room, then data.
        if let Some(start) = HEADROOM.checked_sub(left.len()) {
            if let Some(room) = chunk.get_mut(start..HEADROOM) {
                room.copy_from_slice(left);
                return (Arc::new(chunk), start, end);
            }
        }
        // A record longer than the headroom: build one buffer for it.
        let data = chunk.get(HEADROOM..).unwrap_or_default();
        let mut big = Vec::with_capacity(left.len() + data.len());
        big.extend_from_slice(left);
        big.extend_from_slice(data);
        let len = big.len();
        self.recycle_vec(chunk);
        (Arc::new(big), 0, len)
    }

    /// A buffer the parser is done with; it is reused once no worker holds
    /// it any more.
    pub fn retire(&mut self, buf: Arc<Vec<u8>>) {
        self.retired.push_back(buf);
        while let Some(front) = self.retired.pop_front() {
            match Arc::try_unwrap(front) {
                Ok(v) => self.recycle_vec(v),
                Err(still_held) => {
                    self.retired.push_front(still_held);
                    break;
                }
            }
        }
        // Never watch more than a bounded number: the rest are freed by
        // whoever drops them last.
        while self.retired.len() > RETIRED {
            self.retired.pop_front();
        }
    }

    fn recycle_vec(&mut self, v: Vec<u8>) {
        if v.capacity() < HEADROOM + CHUNK {
            return;
        }
        match &self.producer {
            Producer::Thread { recycle, .. } => {
                let _ = recycle.try_send(v);
            }
            Producer::Inline { .. } => {
                if self.spare.len() < SPARE {
                    self.spare.push(v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields `left` bytes (in small reads), then fails.
    struct FailAfter {
        left: usize,
    }

    impl Read for FailAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.left == 0 {
                return Err(io::Error::other("device gone"));
            }
            let n = buf.len().min(self.left).min(10_000);
            buf[..n].fill(7);
            self.left -= n;
            Ok(n)
        }
    }

    fn drain(mut feed: Feed) -> (Vec<usize>, Option<String>) {
        let mut sizes = Vec::new();
        while let Some(c) = feed.next() {
            match c {
                Ok(v) => sizes.push(v.len() - HEADROOM),
                Err(e) => return (sizes, Some(e.to_string())),
            }
        }
        (sizes, None)
    }

    #[test]
    fn bytes_before_an_error_come_first_in_both_modes() {
        let total = CHUNK + 44_000;
        for feed in [
            Feed::inline(Box::new(FailAfter { left: total })),
            Feed::start(Box::new(FailAfter { left: total })),
        ] {
            let (sizes, err) = drain(feed);
            assert_eq!(sizes, vec![CHUNK, 44_000]);
            assert_eq!(err.as_deref(), Some("device gone"));
        }
    }

    #[test]
    fn clean_end_in_both_modes() {
        let data = vec![1u8; 2 * CHUNK + 5];
        for feed in [
            Feed::inline(Box::new(io::Cursor::new(data.clone()))),
            Feed::start(Box::new(io::Cursor::new(data.clone()))),
        ] {
            let (sizes, err) = drain(feed);
            assert_eq!(sizes, vec![CHUNK, CHUNK, 5]);
            assert_eq!(err, None);
        }
    }
}
