//! Command line, top layer: drives the others and maps how a run ended to
//! the exit status. In: the process's arguments and environment, parsed
//! by `args.rs`, resolved into a [`Config`] by `config.rs`, the inputs
//! read by `batch.rs`; out: the report or a subcommand's text on standard
//! output (or `--output`), messages on stderr, and the status DESIGN.md
//! gives: 0 every input read, 1 some input not read (the rest is still
//! reported) or the output not written, 2 usage error, 3 `--fail-on
//! abnormal` and abnormal disconnects reported. A reader that stops early
//! (`| head`) is not an error.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

mod args;
mod batch;
mod config;
mod progress;

use clap::Parser;

pub use args::{
    Args, ColorWhen, Command, LimitArgs, MergeFormat, Only, OutputFormat, Topic, ValueError,
};
pub use batch::{build_report, Sink};
pub use config::{Config, ConfigError};

use crate::capture::inputs;
use crate::report::merge::{self, MergeError};
use crate::report::spool::{Layout, Spool};
use crate::report::{knowledge_text, Report};

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Every input read, everything written.
    Done,
    /// Some input not read entirely, or the output not written.
    Incomplete,
    /// The flags do not make a run.
    Usage,
    /// `--fail-on abnormal`, and the report has abnormal disconnects.
    Abnormal,
}

impl Outcome {
    /// The exit status.
    fn code(self) -> i32 {
        match self {
            Outcome::Done => 0,
            Outcome::Incomplete => 1,
            Outcome::Usage => 2,
            Outcome::Abnormal => 3,
        }
    }
}

/// Why a run stopped short, worded as stderr shows it.
#[derive(Debug, thiserror::Error)]
enum Failure {
    /// The flags do not make a [`Config`].
    #[error("wsforensics: {0}")]
    Config(#[from] ConfigError),
    /// `-` with a terminal on standard input: reading it would wait for a
    /// capture nobody types.
    #[error(
        "wsforensics: '-' reads a capture from standard input, which is a terminal; pipe one in (tcpdump -w - | wsforensics -) or redirect a file (wsforensics - < capture.pcap)"
    )]
    StdinIsTerminal,
    /// `--output` cannot be created.
    #[error("wsforensics: cannot write {}: {source}", path.display())]
    Output {
        /// The file.
        path: PathBuf,
        /// What creating it said.
        source: io::Error,
    },
    /// The report could not be written out.
    #[error("wsforensics: cannot write the report: {source}")]
    Report {
        /// What the write said.
        source: io::Error,
        /// Whether every input had been read.
        all_read: bool,
    },
    /// A subcommand's text could not be written out.
    #[error("wsforensics: cannot write: {0}")]
    Print(io::Error),
    /// `merge --output` cannot be created.
    #[error("wsforensics merge: cannot write {}: {source}", path.display())]
    MergeOutput {
        /// The file.
        path: PathBuf,
        /// What creating it said.
        source: io::Error,
    },
    /// `merge` failed.
    #[error("wsforensics merge: {0}")]
    Merge(MergeError),
}

impl Failure {
    /// The write error, when it is one: the reader went away.
    fn broken_pipe(&self) -> bool {
        let write = match self {
            Failure::Report { source, .. } => source,
            Failure::Print(e) | Failure::Merge(MergeError::Write(e)) => e,
            _ => return false,
        };
        write.kind() == io::ErrorKind::BrokenPipe
    }

    /// How the run ended. After a broken pipe, as if it had been written.
    fn outcome(&self) -> Outcome {
        match self {
            Failure::Config(_) | Failure::StdinIsTerminal => Outcome::Usage,
            Failure::Report { all_read: true, .. } if self.broken_pipe() => Outcome::Done,
            Failure::Print(_) | Failure::Merge(_) if self.broken_pipe() => Outcome::Done,
            _ => Outcome::Incomplete,
        }
    }
}

/// Run the program; returns the exit status.
pub fn run() -> i32 {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            // --help and --version are "errors" that go to stdout.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let done = match args.command {
        Some(command) => subcommand(command),
        None => analyze(args),
    };
    match done {
        Ok(outcome) => outcome.code(),
        Err(failure) => {
            if !failure.broken_pipe() {
                eprintln!("{failure}");
            }
            failure.outcome().code()
        }
    }
}

/// Everything but analyzing captures.
fn subcommand(command: Command) -> Result<Outcome, Failure> {
    match command {
        Command::Codes => print_stdout(|out| knowledge_text::codes(out)),
        Command::Alerts => print_stdout(|out| knowledge_text::alerts(out)),
        Command::Completions { shell } => print_stdout(|out| {
            let mut cmd = <Args as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "wsforensics", out);
            Ok(())
        }),
        Command::Man => print_stdout(|out| {
            let cmd = <Args as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd).render(out)
        }),
        Command::Merge {
            files,
            format,
            output,
        } => merge_files(&files, format, output.as_deref()),
        Command::Explain {
            code: Topic::Close(code),
        } => print_stdout(|out| knowledge_text::explain(code, out)),
        Command::Explain {
            code: Topic::Alert(code),
        } => print_stdout(|out| knowledge_text::explain_alert(code, out)),
    }
}

/// A subcommand's text on standard output.
fn print_stdout(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<Outcome, Failure> {
    let mut out = BufWriter::new(io::stdout().lock());
    f(&mut out)
        .and_then(|()| out.flush())
        .map_err(Failure::Print)?;
    Ok(Outcome::Done)
}

/// `merge`: NDJSON outputs of several runs into one report.
fn merge_files(
    files: &[PathBuf],
    format: MergeFormat,
    output: Option<&Path>,
) -> Result<Outcome, Failure> {
    let paths: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let ndjson = format == MergeFormat::Ndjson;
    let done = match output {
        Some(p) => {
            let f = File::create(p).map_err(|source| Failure::MergeOutput {
                path: p.to_path_buf(),
                source,
            })?;
            merge::merge(&paths, &mut BufWriter::new(f), ndjson)
        }
        None => merge::merge(&paths, &mut BufWriter::new(io::stdout().lock()), ndjson),
    };
    done.map_err(Failure::Merge)?;
    Ok(Outcome::Done)
}

/// Analyze the captures and write the report.
fn analyze(args: Args) -> Result<Outcome, Failure> {
    let cfg = Config::try_from(args)?;
    if cfg.paths.iter().any(|p| inputs::is_stdin(p)) && io::stdin().is_terminal() {
        return Err(Failure::StdinIsTerminal);
    }
    // Report building and writing run on rayon's pool: as many threads as
    // the engine's workers. Fails only if a pool exists already, which
    // then serves as well.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.engine.jobs.max(1))
        .build_global();
    let bar = (!cfg.quiet && io::stderr().is_terminal())
        .then(|| progress::Progress::for_inputs(&cfg.paths));
    for w in &cfg.keylog_warnings {
        eprintln!("wsforensics: warning: {w}");
    }
    let mut out = open_output(cfg.output.as_deref())?;
    let (report, all_read, written) = write_report(&cfg, &mut *out);
    if let Some(b) = bar {
        b.finish();
    }
    written.map_err(|source| Failure::Report { source, all_read })?;
    Ok(if cfg.fail_on_abnormal && report.summary.abnormal > 0 {
        Outcome::Abnormal
    } else if all_read {
        Outcome::Done
    } else {
        Outcome::Incomplete
    })
}

/// `--output`, or standard output.
fn open_output(path: Option<&Path>) -> Result<Box<dyn Write>, Failure> {
    Ok(match path {
        Some(p) => {
            let f = File::create(p).map_err(|source| Failure::Output {
                path: p.to_path_buf(),
                source,
            })?;
            Box::new(BufWriter::new(f))
        }
        None => Box::new(BufWriter::new(io::stdout().lock())),
    })
}

/// Build the report and write it to `out` in the format asked for; the
/// flag says whether every input was read.
fn write_report(cfg: &Config, out: &mut dyn Write) -> (Report, bool, io::Result<()>) {
    let on_error = |msg: &str| eprintln!("wsforensics: error: {msg}");
    if cfg.format == OutputFormat::Ndjson {
        // NDJSON goes out capture by capture, while the batch runs.
        let (report, all_read, streamed) = build_report(cfg, on_error, Sink::Ndjson(&mut *out));
        return (report, all_read, streamed.and_then(|()| out.flush()));
    }
    let layout = match cfg.format {
        OutputFormat::Json => Layout::Json,
        OutputFormat::Html => Layout::Html,
        _ => Layout::Text { color: color(cfg) },
    };
    let mut spool = Spool::new(layout);
    let (report, all_read, spooled) = build_report(cfg, on_error, Sink::Spool(&mut spool));
    let written = spooled
        .and_then(|()| spool.finish(&report, &mut *out))
        .and_then(|()| out.flush());
    (report, all_read, written)
}

/// Whether text output is coloured: for `auto`, only for a person at a
/// terminal; https://no-color.org says any non-empty NO_COLOR turns it
/// off.
fn color(cfg: &Config) -> bool {
    match cfg.color {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            cfg.output.is_none()
                && io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipe() -> io::Error {
        io::Error::from(io::ErrorKind::BrokenPipe)
    }

    /// A reader that went away (`| head`) is told nothing and changes no
    /// status: 0 when every input was read, 1 when one was not.
    #[test]
    fn broken_pipe_is_quiet_and_keeps_the_status_of_what_was_read() {
        let f = Failure::Report {
            source: pipe(),
            all_read: true,
        };
        assert!(f.broken_pipe());
        assert_eq!(f.outcome(), Outcome::Done);
        let f = Failure::Report {
            source: pipe(),
            all_read: false,
        };
        assert_eq!(f.outcome().code(), 1);
        assert_eq!(Failure::Print(pipe()).outcome(), Outcome::Done);
        assert_eq!(
            Failure::Merge(MergeError::Write(pipe())).outcome(),
            Outcome::Done
        );
        let f = Failure::Report {
            source: io::Error::other("no space left"),
            all_read: true,
        };
        assert!(!f.broken_pipe());
        assert_eq!(f.outcome().code(), 1);
        assert_eq!(
            f.to_string(),
            "wsforensics: cannot write the report: no space left"
        );
        assert_eq!(Failure::StdinIsTerminal.outcome().code(), 2);
    }
}
