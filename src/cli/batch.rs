//! Command line, driving layer: the pipeline run over every input of a
//! [`Config`]. In: the config; its inputs are expanded (directories
//! walked, tar archives opened), the pieces of each ring buffer put
//! together, the `--shard` kept, and small files read several at a time.
//! Out: the [`Report`], whether every input was read, and each capture's
//! connections sent to a [`Sink`] as soon as it is done.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use rayon::prelude::*;

use super::config::Config;
use super::progress;
use crate::analyzers::session::Analysis;
use crate::capture::inputs::{self, Item, Member, Piped};
use crate::capture::ring::{self, Stitched};
use crate::capture::{CaptureError, CaptureErrorKind, CaptureReader};
use crate::diagnose::judge_capture;
use crate::engine::{analyze_file, analyze_reader, analyze_stitched, CaptureResult, EngineOptions};
use crate::report::spool::Spool;
use crate::report::Report;

/// Files smaller than this are read several at a time (one thread each)
/// when they come in a row; bigger ones are split across all workers.
const BIG_FILE: u64 = 64 << 20;
/// Files read at once in a run of small ones: their results wait to be
/// added in order, so this bounds what is held.
const FILES_AT_ONCE: usize = 64;

/// Where a batch's connections go as each capture is done.
pub enum Sink<'a> {
    /// Kept in the report (for callers that want them all in memory).
    Keep,
    /// Written as NDJSON lines at once, then dropped from the report.
    Ndjson(&'a mut dyn Write),
    /// Rendered into a spool (text, JSON, HTML), then dropped.
    Spool(&'a mut Spool),
}

/// Analyze every input and build the report; the flag says whether every
/// input was read entirely. Directories are walked and tar archives read
/// member by member (see [`inputs`]).
///
/// Unless `sink` is [`Sink::Keep`], each capture's connections leave the
/// report as soon as the capture is done, so memory does not grow with
/// the batch; the report then holds the captures and the summary. A
/// failed write stops the batch and is returned.
pub fn build_report(
    cfg: &Config,
    on_error: impl FnMut(&str),
    sink: Sink<'_>,
) -> (Report, bool, io::Result<()>) {
    let mut report = Report::new();
    report.filter = cfg.filter.clone();
    let expanded = inputs::expand(&cfg.paths);
    report.summary.skipped_files += expanded.skipped;
    let mut work = plan_work(expanded.items, cfg.stitch);
    if let Some((k, n)) = cfg.shard {
        // A ring buffer's pieces stay together: it goes by its first.
        work.retain(|w| shard_of(w.path(), n) == k - 1);
    }
    let mut batch = Batch {
        cfg,
        report,
        all_read: true,
        on_error,
        out: Out {
            sink,
            streamed: Ok(()),
        },
    };
    batch.read_all(&mut work);
    batch.out.flush(&mut batch.report);
    (batch.report, batch.all_read, batch.out.streamed)
}

/// One thing [`build_report`] reads.
enum Work {
    /// An input as expanded.
    Item(Item),
    /// Capture files that are pieces of one ring buffer, in time order.
    Ring(Vec<ring::Piece>),
}

impl Work {
    /// The path that names it (a ring buffer's first piece).
    fn path(&self) -> &Path {
        match self {
            Work::Item(item) => item.path(),
            Work::Ring(pieces) => pieces.first().map_or(Path::new(""), |p| p.path.as_path()),
        }
    }
}

/// The inputs, with the pieces of each ring buffer among the capture files
/// put together (see [`ring::plan`]) unless `stitch` is off.
fn plan_work(items: Vec<Item>, stitch: bool) -> Vec<Work> {
    if !stitch {
        return items.into_iter().map(Work::Item).collect();
    }
    let files: Vec<Option<&Path>> = items
        .iter()
        .map(|item| match item {
            Item::File(p) => Some(p.as_path()),
            _ => None,
        })
        .collect();
    let units = ring::plan(&files, &crate::engine::flow_going_on);
    let mut items: Vec<Option<Item>> = items.into_iter().map(Some).collect();
    units
        .into_iter()
        .filter_map(|u| match u {
            ring::Unit::One(i) => items.get_mut(i).and_then(Option::take).map(Work::Item),
            ring::Unit::Ring(pieces) => Some(Work::Ring(pieces)),
        })
        .collect()
}

/// Which shard (0-based) a path belongs to among `n`: the first 8 bytes of
/// the SHA-256 of the path as given, so every host computes the same.
fn shard_of(path: &Path, n: u64) -> u64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(path.as_os_str().as_encoded_bytes());
    u64::from_be_bytes(d.first_chunk::<8>().copied().unwrap_or_default()) % n
}

/// A [`Sink`] and how writing to it went.
struct Out<'s> {
    sink: Sink<'s>,
    /// The first failed write; nothing is written after it.
    streamed: io::Result<()>,
}

impl Out<'_> {
    /// Send the connections the report holds to the sink, and drop them
    /// from it (unless the sink keeps them).
    fn flush(&mut self, report: &mut Report) {
        if self.streamed.is_err() {
            return;
        }
        self.streamed = match &mut self.sink {
            Sink::Keep => return,
            Sink::Ndjson(out) => report.stream_ndjson(&mut **out),
            Sink::Spool(spool) => spool.take(report).map(|()| report.drop_connections()),
        };
    }

    /// Whether a write failed (a reader that went away): the batch stops.
    fn gone(&self) -> bool {
        self.streamed.is_err()
    }
}

/// A batch being read: the report so far and where its connections go.
struct Batch<'c, 's, E> {
    cfg: &'c Config,
    report: Report,
    all_read: bool,
    /// Told every problem, as the line to show.
    on_error: E,
    out: Out<'s>,
}

impl<E: FnMut(&str)> Batch<'_, '_, E> {
    /// Runs of small files are read several at a time, one thread each; a
    /// big file gets every worker to itself. Results go into the report in
    /// input order either way.
    fn read_all(&mut self, work: &mut [Work]) {
        let mut i = 0;
        while i < work.len() && !self.out.gone() {
            let run: Vec<PathBuf> = work.iter().skip(i).map_while(small_file).collect();
            if run.len() > 1 && self.cfg.engine.jobs > 1 {
                self.read_small_files(&run);
                i += run.len();
                continue;
            }
            let Some(w) = work.get_mut(i) else {
                break;
            };
            i += 1;
            self.out.flush(&mut self.report);
            match w {
                Work::Item(item) => self.read_item(item),
                Work::Ring(pieces) => self.read_ring(std::mem::take(pieces)),
            }
        }
    }

    /// Small files, [`FILES_AT_ONCE`] at a time, one thread each.
    fn read_small_files(&mut self, run: &[PathBuf]) {
        let cfg = self.cfg;
        let one_thread = EngineOptions {
            jobs: 1,
            ..cfg.engine
        };
        for chunk in run.chunks(FILES_AT_ONCE) {
            let results: Vec<_> = chunk
                .par_iter()
                .map(|path| analyze_file(path, &cfg.sessions, one_thread))
                .collect();
            for (path, r) in chunk.iter().zip(results) {
                self.add(&path.display().to_string(), r);
                self.out.flush(&mut self.report);
            }
        }
    }

    /// The pieces of a ring buffer, read as one capture. A stream ends
    /// where a piece does not follow or cannot be read; the pieces after
    /// it make the next one.
    fn read_ring(&mut self, mut pieces: Vec<ring::Piece>) {
        let cfg = self.cfg;
        while !pieces.is_empty() && !self.out.gone() {
            let shown = pieces
                .first()
                .map(|p| p.path.display().to_string())
                .unwrap_or_default();
            match Stitched::open(pieces) {
                Ok(mut s) => {
                    let at = PathBuf::from(&shown);
                    let r = analyze_stitched(&at, &mut s, &cfg.sessions, cfg.engine);
                    self.add(&shown, Ok(r));
                    self.out.flush(&mut self.report);
                    pieces = s.rest();
                }
                Err((e, rest)) => {
                    self.add(&shown, Err(e));
                    pieces = rest;
                }
            }
        }
    }

    /// One input as expanded; a tar archive's members are read by
    /// [`Batch::read_members`].
    fn read_item(&mut self, item: &Item) {
        let cfg = self.cfg;
        match item {
            Item::Unreadable(path, e) => {
                let err = CaptureError::io(path, io::Error::other(e.clone()));
                self.add(&path.display().to_string(), Err(err));
            }
            Item::File(path) => {
                let r = analyze_file(path, &cfg.sessions, cfg.engine);
                self.add(&path.display().to_string(), r);
            }
            Item::Stdin => self.read_stdin(),
            Item::Tar(path) => match inputs::tar_members(path) {
                Ok(members) => self.read_members(path, members),
                Err(e) => self.add(&path.display().to_string(), Err(CaptureError::io(path, e))),
            },
        }
    }

    /// Standard input: a capture, or a tar archive of them.
    fn read_stdin(&mut self) {
        let cfg = self.cfg;
        let at = Path::new(inputs::STDIN);
        match inputs::open_stdin() {
            Err(e) => self.add(inputs::STDIN, Err(CaptureError::io(at, e))),
            Ok(Piped::Capture { src, compression }) => {
                let r = CaptureReader::from_reader(at, src, compression)
                    .map(|r| analyze_reader(at, r, &cfg.sessions, cfg.engine));
                self.add(inputs::STDIN, r);
            }
            Ok(Piped::Tar(members)) => self.read_members(at, members),
        }
    }

    /// The members of a tar archive, each named `ARCHIVE:MEMBER`.
    fn read_members(&mut self, archive: &Path, members: impl IntoIterator<Item = Member>) {
        let cfg = self.cfg;
        for m in members {
            if self.out.gone() {
                break;
            }
            match m {
                Member::File { name, reader } => {
                    let shown = format!("{}:{name}", archive.display());
                    let at = Path::new(&shown);
                    match CaptureReader::from_stream(at, Box::new(reader)) {
                        // Members that are not captures (a README, a
                        // checksum list) are skipped, as in a directory.
                        Err(e) if e.is_not_a_capture() => self.report.summary.skipped_files += 1,
                        Err(e) => self.add(&shown, Err(e)),
                        Ok(r) => {
                            let res = analyze_reader(at, r, &cfg.sessions, cfg.engine);
                            self.add(&shown, Ok(res));
                            self.out.flush(&mut self.report);
                        }
                    }
                }
                Member::Error { offset, message } => {
                    let err = CaptureError {
                        path: archive.to_path_buf(),
                        offset: Some(offset),
                        kind: CaptureErrorKind::Io(format!(
                            "the tar archive is broken here ({message}); the members after it are not read"
                        )),
                    };
                    self.add(&archive.display().to_string(), Err(err));
                }
            }
        }
    }

    /// One capture's result into the report, its connections to the sink
    /// a block at a time; a problem is told to `on_error`.
    fn add(&mut self, shown: &str, r: Result<CaptureResult<Analysis>, CaptureError>) {
        progress::FILES_DONE.fetch_add(1, Ordering::Relaxed);
        match r {
            Ok(r) => {
                progress::CONNECTIONS.fetch_add(r.connection_count() as u64, Ordering::Relaxed);
                if let Some(e) = &r.error {
                    self.all_read = false;
                    (self.on_error)(&e.to_string());
                }
                let out = &mut self.out;
                let mut flush = |report: &mut Report| out.flush(report);
                let mut rx = self.report.receive(shown, &r, &mut flush);
                let problem = judge_capture(&r, &self.cfg.trust, &mut rx);
                if let Some(e) = problem {
                    self.all_read = false;
                    (self.on_error)(&format!("{shown}: {e}"));
                }
            }
            Err(e) => {
                self.all_read = false;
                (self.on_error)(&e.to_string());
                self.report.add_unreadable(shown, e.to_string());
            }
        }
    }
}

/// A capture file smaller than [`BIG_FILE`].
fn small_file(w: &Work) -> Option<PathBuf> {
    match w {
        Work::Item(Item::File(p)) if std::fs::metadata(p).is_ok_and(|m| m.len() < BIG_FILE) => {
            Some(p.clone())
        }
        _ => None,
    }
}
