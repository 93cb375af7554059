//! Read-ahead: a thread that reads (and decompresses) the capture into
//! chunks while the caller parses the previous ones. Chunks are handed over
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
/// Retired chunks watched for reuse.
const RETIRED: usize = 64;

/// The parser's end of the read-ahead thread.
pub struct Feed {
    chunks: Receiver<io::Result<Vec<u8>>>,
    recycle: Sender<Vec<u8>>,
    retired: VecDeque<Arc<Vec<u8>>>,
}

impl Feed {
    /// Start reading `src` on its own thread. The thread ends at the end of
    /// the source, on an error, or when the `Feed` is dropped.
    pub fn start(mut src: Box<dyn Read + Send>) -> Feed {
        let (tx, chunks) = bounded::<io::Result<Vec<u8>>>(DEPTH);
        let (recycle, reuse) = bounded::<Vec<u8>>(RETIRED);
        thread::spawn(move || loop {
            let mut v = reuse.try_recv().unwrap_or_default();
            v.resize(HEADROOM + CHUNK, 0);
            let mut n = 0;
            let mut failed = None;
            while n < CHUNK {
                match src.read(&mut v[HEADROOM + n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            v.truncate(HEADROOM + n);
            if n > 0 && tx.send(Ok(v)).is_err() {
                return;
            }
            if let Some(e) = failed {
                let _ = tx.send(Err(e));
                return;
            }
            if n < CHUNK {
                return;
            }
        });
        Feed {
            chunks,
            recycle,
            retired: VecDeque::new(),
        }
    }

    /// The next chunk; `None` at the end of the source.
    pub fn next(&mut self) -> Option<io::Result<Vec<u8>>> {
        self.chunks.recv().ok()
    }

    /// Put `left` (the unparsed tail of the current buffer) in front of
    /// `chunk`'s data; returns the new buffer and the range of valid bytes.
    pub fn join(&mut self, left: &[u8], mut chunk: Vec<u8>) -> (Arc<Vec<u8>>, usize, usize) {
        let end = chunk.len();
        if left.len() <= HEADROOM {
            let start = HEADROOM - left.len();
            chunk[start..HEADROOM].copy_from_slice(left);
            (Arc::new(chunk), start, end)
        } else {
            // A record longer than the headroom: build one buffer for it.
            let mut big = Vec::with_capacity(left.len() + end - HEADROOM);
            big.extend_from_slice(left);
            big.extend_from_slice(&chunk[HEADROOM..]);
            let len = big.len();
            self.recycle_vec(chunk);
            (Arc::new(big), 0, len)
        }
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

    fn recycle_vec(&self, v: Vec<u8>) {
        if v.capacity() >= HEADROOM + CHUNK {
            let _ = self.recycle.try_send(v);
        }
    }
}
