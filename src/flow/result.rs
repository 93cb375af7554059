//! What the flow layer learned from one capture: its reading (format,
//! frames, times, warnings, the error that stopped it), what decoding
//! skipped, the caps hit, and every connection's record, in first-frame
//! order, in memory or kept in temporary files. The engine fills it in;
//! diagnose and the report read it.

use std::path::PathBuf;

use crate::capture::ring::{Break, PieceRead};
use crate::capture::{CaptureError, Compression, Format, Timestamp};
use crate::decode::DecodeStats;
use crate::limits::{LimitHits, Limits};

use super::{ConnRecord, SpillFile, Stub};

/// Everything learned from one capture file.
#[derive(Debug)]
pub struct CaptureResult<T> {
    /// The file as given.
    pub path: PathBuf,
    /// Container format, when the header could be read.
    pub format: Option<Format>,
    /// Compression around it.
    pub compression: Compression,
    /// Frames read.
    pub packets: u64,
    /// Captured bytes of those frames.
    pub bytes: u64,
    /// Time of the earliest frame.
    pub first_seen: Option<Timestamp>,
    /// Time of the latest frame.
    pub last_seen: Option<Timestamp>,
    /// Things skipped while reading, each naming the file and offset.
    pub warnings: Vec<String>,
    /// Why reading stopped early, if it did: the input counts as not read.
    pub error: Option<CaptureError>,
    /// What the decoder skipped.
    pub decode: DecodeStats,
    /// Connections open at once, at most (summed over workers).
    pub peak_open_connections: usize,
    /// The caps in effect.
    pub limits: Limits,
    /// Caps of the decode and flow layers that this capture hit (the
    /// analyzers' are in each connection's analysis).
    pub limit_hits: LimitHits,
    /// Connections, ordered by first frame; empty when they are in
    /// `spilled`.
    pub connections: Vec<ConnRecord<T>>,
    /// Connections kept in temporary files (the engine's `spill` option).
    pub spilled: Option<Spilled<T>>,
    /// The files read, in order, with the stream-wide number of each
    /// one's first frame: one for a capture file, several for the pieces
    /// of a ring buffer read as one capture.
    pub pieces: Vec<PieceRead>,
    /// Why a ring buffer's stream ended before its last piece, if it did.
    pub broke: Option<Break>,
}

impl<T> CaptureResult<T> {
    /// Connections in the capture.
    pub fn connection_count(&self) -> usize {
        self.connections.len() + self.spilled.as_ref().map_or(0, Spilled::len)
    }
}

impl<T: Clone + Send + Sync> CaptureResult<T> {
    /// Connections `range`, borrowed from memory or read back from the
    /// temporary files; fails if those cannot be read.
    pub fn records(
        &self,
        range: std::ops::Range<usize>,
    ) -> std::io::Result<std::borrow::Cow<'_, [ConnRecord<T>]>> {
        match &self.spilled {
            Some(s) => s.read(range).map(std::borrow::Cow::Owned),
            None => Ok(std::borrow::Cow::Borrowed(
                self.connections.get(range).unwrap_or_default(),
            )),
        }
    }
}

/// Connections of a capture kept in temporary files, and where each is.
pub struct Spilled<T> {
    files: Vec<SpillFile<T>>,
    /// Ordered by first frame: the file (an index into `files`) and stub.
    index: Vec<(usize, Stub<T>)>,
}

impl<T> std::fmt::Debug for Spilled<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spilled({} connections)", self.index.len())
    }
}

impl<T> Spilled<T> {
    /// Records kept in `files`, and where each is, in first-frame order.
    pub fn new(files: Vec<SpillFile<T>>, index: Vec<(usize, Stub<T>)>) -> Spilled<T> {
        Spilled { files, index }
    }

    /// Connections kept.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

impl<T: Clone + Send + Sync> Spilled<T> {
    /// The records of connections `range` (in first-frame order), read
    /// back in parallel. Fails if the temporary file cannot be read.
    pub fn read(&self, range: std::ops::Range<usize>) -> std::io::Result<Vec<ConnRecord<T>>> {
        use rayon::prelude::*;
        let Some(part) = self.index.get(range) else {
            return Ok(Vec::new());
        };
        part.par_iter()
            .map_init(Vec::new, |buf, (f, stub)| {
                stub.read(self.files.get(*f), buf)
            })
            .collect()
    }
}
