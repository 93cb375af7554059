//! Command line, beside the batch: a progress bar on stderr for runs that
//! take more than a moment. In: the inputs' total size, and the counters
//! the batch and the capture reader bump as they go; out: bytes read out
//! of all input bytes, throughput, ETA, files done and connections found,
//! drawn on stderr. With standard input among the inputs the total is not
//! known, and the bar is a spinner with bytes read and throughput. Drawn
//! only when stderr is a terminal and `--quiet` is not given; it appears
//! after [`DEFAULT_AFTER`] (or `WSF_PROGRESS_AFTER_MS`) so quick runs
//! never show it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::capture::inputs::{self, Item};
use crate::capture::BYTES_READ;

/// Inputs finished so far.
pub static FILES_DONE: AtomicU64 = AtomicU64::new(0);
/// Connections found so far.
pub static CONNECTIONS: AtomicU64 = AtomicU64::new(0);

/// How long a run goes before the bar appears.
pub const DEFAULT_AFTER: Duration = Duration::from_secs(1);

/// The running display; [`Progress::finish`] clears it.
pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Start drawing (after the delay) for `bytes` input bytes (`None`:
    /// not known) in `files` inputs.
    pub fn start(bytes: Option<u64>, files: u64) -> Progress {
        let after = std::env::var("WSF_PROGRESS_AFTER_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(DEFAULT_AFTER, Duration::from_millis);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("wsf-progress".into())
            .spawn(move || draw(bytes, files, after, &flag))
            .ok();
        Progress { stop, thread }
    }

    /// [`Progress::start`] for these inputs, their size found first.
    pub fn for_inputs(paths: &[PathBuf]) -> Progress {
        let (bytes, files) = input_size(paths);
        Progress::start(bytes, files)
    }

    /// Stop and clear the bar.
    pub fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn draw(bytes: Option<u64>, files: u64, after: Duration, stop: &AtomicBool) {
    let started = Instant::now();
    let mut bar: Option<ProgressBar> = None;
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if started.elapsed() < after {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        let b = bar.get_or_insert_with(|| {
            let b = ProgressBar::with_draw_target(bytes, ProgressDrawTarget::stderr());
            let template = if bytes.is_some() {
                "{elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {msg}"
            } else {
                "{elapsed_precise} {spinner} {bytes} {binary_bytes_per_sec} {msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        let read = BYTES_READ.load(Ordering::Relaxed);
        b.set_position(bytes.map_or(read, |total| read.min(total)));
        if bytes.is_none() {
            b.tick();
        }
        b.set_message(format!(
            "{}/{files} files, {} connections",
            FILES_DONE.load(Ordering::Relaxed),
            CONNECTIONS.load(Ordering::Relaxed)
        ));
        std::thread::sleep(Duration::from_millis(100));
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
}

/// Bytes and files of the inputs, for the progress bar (directories
/// walked; every file counted, captures or not). No byte total when
/// standard input is among them: a pipe's length is not known until it
/// ends.
fn input_size(paths: &[PathBuf]) -> (Option<u64>, u64) {
    let items = inputs::expand(paths).items;
    let bytes = items
        .iter()
        .map(|it| match it {
            Item::File(p) | Item::Tar(p) => Some(std::fs::metadata(p).map_or(0, |m| m.len())),
            Item::Unreadable(..) => Some(0),
            Item::Stdin => None,
        })
        .sum();
    (bytes, items.len() as u64)
}
