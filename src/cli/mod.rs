//! Command line: clap's view of the flags, turned into one validated
//! [`Config`], then the pipeline run over every input. Exit status as
//! DESIGN.md says: 0 every input read, 1 some input not read (the rest is
//! still reported), 2 usage error.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

mod progress;

use clap::{Parser, Subcommand, ValueEnum};
use rayon::prelude::*;

use crate::analyzers::session::Analysis;
use crate::analyzers::session::SessionFactory;
use crate::analyzers::tls::cert::{CaFileError, TrustStore};
use crate::analyzers::tls::keylog::{KeyLog, KeyLogError};
use crate::capture::inputs::{self, Item, Member, Piped};
use crate::capture::ring::{self, Stitched};
use crate::capture::Timestamp;
use crate::capture::{CaptureError, CaptureErrorKind, CaptureReader};
use crate::engine::{analyze_file, analyze_reader, analyze_stitched, CaptureResult, EngineOptions};
use crate::limits::{self, Limit, Limits};
use crate::report::filter::{self, Filter};
use crate::report::spool::{Layout, Spool};
use crate::report::{knowledge_text, merge, Report};

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// For a person at a terminal.
    Text,
    /// One JSON document, for an incident ticket.
    Json,
    /// One JSON connection per line, for pipelines.
    Ndjson,
    /// One self-contained HTML page (summary, timeline, verdicts), to
    /// attach to an incident.
    Html,
}

/// The flags as clap parses them.
#[derive(Debug, Parser)]
#[command(
    name = "wsforensics",
    version,
    about = "Explain why the WebSocket and TLS connections in a packet capture ended",
    long_about = None,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  wsforensics capture.pcap\n  tcpdump -i any -w - port 443 | wsforensics -\n  wsforensics --only abnormal --format json -o report.json /archive/\n  wsforensics --ca-file internal-ca.pem --server ws.example.com:443 dump.pcapng.zst\n  wsforensics explain 1006\n\nA capture file named like a subcommand (codes, alerts, explain, merge, completions, man) can be given as ./codes, and a file named - as ./-."
)]
pub struct Args {
    /// Something other than analyzing captures.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Capture files (pcap or pcapng, also gzip- or zstd-compressed),
    /// directories (walked; captures found by their magic bytes) and tar
    /// archives (.tar, .tar.gz, .tar.zst), read without unpacking. `-`
    /// reads one capture or archive from standard input (`tcpdump -w - |
    /// wsforensics -`); it is named `-` in the report.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Write the report here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Worker threads; default: all cores.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub jobs: Option<u16>,
    /// PEM file of CA certificates to trust besides Mozilla's roots when
    /// judging servers' certificate chains (a private or test CA).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// TLS key log (NSS format, as SSLKEYLOGFILE makes browsers, curl,
    /// Node, Python, Go and OpenSSL write it): wss sessions whose keys it
    /// has are decrypted and analysed like ws. Repeatable; the file named
    /// by the SSLKEYLOGFILE environment variable is read too.
    #[arg(long, value_name = "FILE")]
    pub keylog: Vec<PathBuf>,
    /// Report only abnormal disconnects.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub only: Option<Only>,
    /// Report only these disconnect codes (comma-separated; `null` for a
    /// connection that ended inside TLS).
    #[arg(long, value_name = "CODES", value_delimiter = ',', value_parser = parse_code)]
    pub code: Vec<Option<u16>>,
    /// Report only connections to this server: an address or the name the
    /// client asked for (SNI, Host), with or without :PORT. Repeatable.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub server: Vec<String>,
    /// Report only connections still open at or after this RFC 3339 time.
    #[arg(long, value_name = "TIME", value_parser = filter::parse_time)]
    pub since: Option<Timestamp>,
    /// Report only connections that began at or before this RFC 3339 time.
    #[arg(long, value_name = "TIME", value_parser = filter::parse_time)]
    pub until: Option<Timestamp>,
    /// Exit with status 3 when the report has abnormal disconnects (for CI
    /// and monitoring).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub fail_on: Option<Only>,
    /// No progress bar (it is drawn on stderr only when stderr is a
    /// terminal and the run takes more than a second).
    #[arg(short, long)]
    pub quiet: bool,
    /// Colour in text output: auto (on a terminal, unless NO_COLOR is
    /// set), always or never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    /// Read only share K of N of the inputs (1-based), chosen by a hash of
    /// each file's path: N hosts running 1/N .. N/N together read each
    /// input exactly once.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
    /// Read every file as a capture of its own, even files that are
    /// consecutive pieces of one ring buffer (by default those are read
    /// as one capture, so that connections crossing files are whole).
    #[arg(long)]
    pub no_stitch: bool,
    /// Caps that bound memory on hostile or huge captures.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// The caps of [`Limits`], each settable; sizes take K, M or G. The report
/// says when one was hit.
#[derive(Debug, Default, clap::Args)]
#[command(next_help_heading = "Limits (the report says when one was hit)")]
pub struct LimitArgs {
    /// TCP connections open at once per capture; past it the least
    /// recently active are closed early, reported as ended_by "evicted"
    /// (their later packets are counted, not analysed) [default: 1000000]
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub max_open_connections: Option<u64>,
    /// Out-of-order bytes one connection may hold waiting for a lost
    /// segment, before the hole is reported as a gap [default: 4M]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_ooo_per_connection: Option<u64>,
    /// Out-of-order bytes all connections may hold together [default: 64M]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_ooo_total: Option<u64>,
    /// IP datagrams waiting for missing fragments at once [default: 256]
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub max_ip_fragments: Option<u64>,
    /// Bytes one compressed WebSocket message is inflated to [default: 32M]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_inflated_message: Option<u64>,
    /// Memory of all permessage-deflate inflaters alive at once (about 46K
    /// each; 0 switches inflation off) [default: 160M]
    #[arg(long, value_name = "SIZE", value_parser = parse_size_or_zero)]
    pub max_inflate_memory: Option<u64>,
    /// Bytes of one HTTP request or response head [default: 16K]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_http_head: Option<u64>,
    /// Bytes of one TLS handshake message, such as a Certificate chain
    /// [default: 64K]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_tls_handshake: Option<u64>,
}

impl LimitArgs {
    /// The defaults with the flags given applied.
    pub fn limits(&self) -> Limits {
        let mut l = Limits::default();
        let given = [
            (Limit::OpenConnections, self.max_open_connections),
            (Limit::OooPerConnection, self.max_ooo_per_connection),
            (Limit::OooTotal, self.max_ooo_total),
            (Limit::IpFragments, self.max_ip_fragments),
            (Limit::InflatedMessage, self.max_inflated_message),
            (Limit::InflateMemory, self.max_inflate_memory),
            (Limit::HttpHead, self.max_http_head),
            (Limit::TlsHandshake, self.max_tls_handshake),
        ];
        for (limit, value) in given {
            if let Some(v) = value {
                l.set(limit, v);
            }
        }
        l
    }
}

/// Why clap refused a flag's value; clap shows it after "invalid value
/// 'X' for '--flag'".
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    /// `--max-open-connections`, `--max-ip-fragments`.
    #[error("'{0}' is not a whole number of at least 1")]
    NotACount(String),
    /// A size flag that cannot be 0.
    #[error("a size of 0 would stop the analysis; give at least 1")]
    ZeroSize,
    /// A size flag.
    #[error(transparent)]
    Size(#[from] limits::SizeError),
    /// `--shard`.
    #[error("'{0}' is not K/N with 1 <= K <= N (e.g. 3/8)")]
    NotAShard(String),
    /// `--code`.
    #[error("'{0}' is not a close code (0-65535) or null")]
    NotACode(String),
    /// `explain`'s argument.
    #[error("'{0}' is neither a close code (0-65535) nor a TLS alert (alert:N or a name such as certificate_expired; `wsforensics alerts` lists them)")]
    NotATopic(String),
}

fn parse_count(s: &str) -> Result<u64, ValueError> {
    match s.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(ValueError::NotACount(s.to_string())),
    }
}

fn parse_size(s: &str) -> Result<u64, ValueError> {
    match limits::parse_size(s)? {
        0 => Err(ValueError::ZeroSize),
        n => Ok(n),
    }
}

fn parse_size_or_zero(s: &str) -> Result<u64, limits::SizeError> {
    limits::parse_size(s)
}

fn parse_shard(s: &str) -> Result<(u64, u64), ValueError> {
    let bad = || ValueError::NotAShard(s.to_string());
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n) = (
        k.parse::<u64>().map_err(|_| bad())?,
        n.parse::<u64>().map_err(|_| bad())?,
    );
    if k == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// Which shard (0-based) a path belongs to among `n`: the first 8 bytes of
/// the SHA-256 of the path as given, so every host computes the same.
fn shard_of(path: &Path, n: u64) -> u64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(path.as_os_str().as_encoded_bytes());
    u64::from_be_bytes(d.first_chunk::<8>().copied().unwrap_or_default()) % n
}

/// `--color` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// `--only` and `--fail-on` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Only {
    /// Disconnects other than a clean 1000 or 1001 Close.
    Abnormal,
}

fn parse_code(s: &str) -> Result<Option<u16>, ValueError> {
    if s == "null" {
        return Ok(None);
    }
    s.parse::<u16>()
        .map(Some)
        .map_err(|_| ValueError::NotACode(s.to_string()))
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every WebSocket close code and range: name, class, who sends it.
    Codes,
    /// List every TLS alert: code, name, who usually sends it.
    Alerts,
    /// Print a shell completion script (bash, zsh, fish, elvish,
    /// powershell), e.g. `wsforensics completions bash >
    /// /etc/bash_completion.d/wsforensics`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `wsforensics man | man -l -`.
    Man,
    /// Combine the NDJSON outputs of several runs (e.g. --shard K/N on
    /// several hosts) into one report with one summary.
    Merge {
        /// NDJSON files written with --format ndjson.
        #[arg(required = true, value_name = "FILE.ndjson")]
        files: Vec<PathBuf>,
        /// json (one document with the summary) or ndjson.
        #[arg(long, value_enum, default_value_t = MergeFormat::Json)]
        format: MergeFormat,
        /// Write here instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Explain a close code or a TLS alert: what it means, when you see
    /// it, how to fix it.
    Explain {
        /// A close code (0 to 65535), or a TLS alert as alert:N or by
        /// name (certificate_expired, unknown_ca, ...).
        #[arg(value_parser = parse_topic)]
        code: Topic,
    },
}

/// Output formats of `merge`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MergeFormat {
    /// One JSON document.
    Json,
    /// One connection per line.
    Ndjson,
}

/// What `explain` explains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    /// A WebSocket close code.
    Close(u16),
    /// A TLS alert description.
    Alert(u8),
}

fn parse_topic(s: &str) -> Result<Topic, ValueError> {
    if let Ok(code) = s.parse::<u16>() {
        return Ok(Topic::Close(code));
    }
    let alert = s
        .strip_prefix("alert:")
        .and_then(|n| n.parse::<u8>().ok())
        .or_else(|| {
            crate::knowledge::tls::ALERTS
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(s))
                .map(|a| a.code)
        });
    match alert {
        Some(code) if crate::knowledge::tls::alert(code).is_some() => Ok(Topic::Alert(code)),
        _ => Err(ValueError::NotATopic(s.to_string())),
    }
}

/// What a run does, validated.
#[derive(Debug)]
pub struct Config {
    /// Inputs in the order given.
    pub paths: Vec<PathBuf>,
    /// Report format.
    pub format: OutputFormat,
    /// Where the report goes; standard output when `None`.
    pub output: Option<PathBuf>,
    /// Engine settings.
    pub engine: EngineOptions,
    /// Roots certificate chains are judged against.
    pub trust: TrustStore,
    /// Which connections to report.
    pub filter: Filter,
    /// Exit 3 when abnormal disconnects are reported.
    pub fail_on_abnormal: bool,
    /// Only share K of N of the inputs (1-based K).
    pub shard: Option<(u64, u64)>,
    /// Read consecutive pieces of a ring buffer as one capture.
    pub stitch: bool,
    /// When to colour text output.
    pub color: ColorWhen,
    /// No progress bar.
    pub quiet: bool,
    /// Makes each connection's analyzer (with the key logs' secrets).
    pub sessions: SessionFactory,
    /// Lines of the key logs that could not be read.
    pub keylog_warnings: Vec<String>,
}

/// Read the key logs named by `--keylog` and SSLKEYLOGFILE. A file given
/// with `--keylog` must be readable; SSLKEYLOGFILE may name a file that
/// does not exist yet (a warning then).
fn read_keylogs(given: &[PathBuf]) -> Result<(Option<Arc<KeyLog>>, Vec<String>), ConfigError> {
    let mut keys = KeyLog::new();
    let mut warnings = Vec::new();
    for p in given {
        keys.load(p)?;
    }
    if let Some(env) = std::env::var_os("SSLKEYLOGFILE").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(env);
        if !given.contains(&p) {
            if let Err(e) = keys.load(&p) {
                warnings.push(format!("SSLKEYLOGFILE {e}"));
            }
        }
    }
    warnings.append(&mut keys.warnings);
    let used =
        !given.is_empty() || std::env::var_os("SSLKEYLOGFILE").is_some_and(|v| !v.is_empty());
    Ok((used.then(|| Arc::new(keys)), warnings))
}

/// Why the flags do not make a [`Config`]; each names the flag it comes
/// from. A usage error: the run stops with status 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Standard input can be read once.
    #[error("'{}' (standard input) is given more than once; it can be read only once (a file named - is ./-)", inputs::STDIN)]
    StdinTwice,
    /// `--ca-file` cannot be read or holds no usable CA.
    #[error("--ca-file {0}")]
    CaFile(#[from] CaFileError),
    /// A `--keylog` file cannot be read.
    #[error("--keylog {0}")]
    KeyLog(#[from] KeyLogError),
}

/// Standard input can be read once: `-` given twice is a usage error.
fn check_stdin_once(paths: &[PathBuf]) -> Result<(), ConfigError> {
    if paths.iter().filter(|p| inputs::is_stdin(p)).count() > 1 {
        return Err(ConfigError::StdinTwice);
    }
    Ok(())
}

impl TryFrom<Args> for Config {
    type Error = ConfigError;
    /// Fails when `-` is given twice or the CA file or a key log cannot be
    /// read.
    fn try_from(a: Args) -> Result<Config, ConfigError> {
        check_stdin_once(&a.paths)?;
        let limits = a.limits.limits();
        // Ended connections wait for the report on disk, not in memory.
        let mut engine = EngineOptions {
            limits,
            spill: true,
            ..EngineOptions::default()
        };
        if let Some(j) = a.jobs {
            engine.jobs = usize::from(j);
        }
        let trust = match &a.ca_file {
            Some(p) => TrustStore::with_ca_file(p)?,
            None => TrustStore::default(),
        };
        let (keylog, keylog_warnings) = read_keylogs(&a.keylog)?;
        Ok(Config {
            paths: a.paths,
            format: a.format,
            output: a.output,
            engine,
            trust,
            filter: Filter {
                only_abnormal: a.only == Some(Only::Abnormal),
                codes: a.code,
                servers: a.server,
                since: a.since,
                until: a.until,
            },
            fail_on_abnormal: a.fail_on == Some(Only::Abnormal),
            shard: a.shard,
            stitch: !a.no_stitch,
            color: a.color,
            quiet: a.quiet,
            sessions: SessionFactory::new(keylog, limits),
            keylog_warnings,
        })
    }
}

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
    mut on_error: impl FnMut(&str),
    mut sink: Sink<'_>,
) -> (Report, bool, io::Result<()>) {
    let mut streamed = Ok(());
    // Set once the sink fails (a reader that went away): the batch stops.
    let gone = std::cell::Cell::new(false);
    let mut flush = |report: &mut Report| {
        if streamed.is_err() {
            return;
        }
        streamed = match &mut sink {
            Sink::Keep => return,
            Sink::Ndjson(out) => report.stream_ndjson(&mut **out),
            Sink::Spool(spool) => spool.take(report).map(|()| report.drop_connections()),
        };
        gone.set(streamed.is_err());
    };
    let mut report = Report::new();
    report.filter = cfg.filter.clone();
    let mut all_read = true;
    let expanded = inputs::expand(&cfg.paths);
    report.summary.skipped_files += expanded.skipped;
    let mut work = plan_work(expanded.items, cfg.stitch);
    if let Some((k, n)) = cfg.shard {
        // A ring buffer's pieces stay together: it goes by its first.
        work.retain(|w| shard_of(w.path(), n) == k - 1);
    }
    // A capture's connections go to the sink a block at a time.
    let mut add = |report: &mut Report,
                   shown: &str,
                   r: Result<CaptureResult<Analysis>, CaptureError>,
                   flush: &mut dyn FnMut(&mut Report)| match r {
        Ok(r) => {
            progress::FILES_DONE.fetch_add(1, Ordering::Relaxed);
            progress::CONNECTIONS.fetch_add(r.connection_count() as u64, Ordering::Relaxed);
            if let Some(e) = &r.error {
                all_read = false;
                on_error(&e.to_string());
            }
            if let Some(e) = report.add_analyzed_in_blocks(shown, &r, &cfg.trust, flush) {
                all_read = false;
                on_error(&format!("{shown}: {e}"));
            }
        }
        Err(e) => {
            progress::FILES_DONE.fetch_add(1, Ordering::Relaxed);
            all_read = false;
            on_error(&e.to_string());
            report.add_unreadable(shown, e.to_string());
        }
    };
    // Runs of small files are read several at a time, one thread each; a
    // big file gets every worker to itself. Results go into the report in
    // input order either way.
    let small_file = |w: &Work| match w {
        Work::Item(Item::File(p)) if std::fs::metadata(p).is_ok_and(|m| m.len() < BIG_FILE) => {
            Some(p.clone())
        }
        _ => None,
    };
    let mut i = 0;
    while i < work.len() && !gone.get() {
        let run: Vec<PathBuf> = work.iter().skip(i).map_while(small_file).collect();
        if run.len() > 1 && cfg.engine.jobs > 1 {
            for chunk in run.chunks(FILES_AT_ONCE) {
                let results: Vec<_> = chunk
                    .par_iter()
                    .map(|path| {
                        analyze_file(
                            path,
                            &cfg.sessions,
                            EngineOptions {
                                jobs: 1,
                                ..cfg.engine
                            },
                        )
                    })
                    .collect();
                for (path, r) in chunk.iter().zip(results) {
                    add(&mut report, &path.display().to_string(), r, &mut flush);
                    flush(&mut report);
                }
            }
            i += run.len();
            continue;
        }
        let Some(w) = work.get_mut(i) else {
            break;
        };
        i += 1;
        flush(&mut report);
        let item = match w {
            Work::Item(item) => &*item,
            Work::Ring(pieces) => {
                let mut pieces = std::mem::take(pieces);
                // A stream ends where a piece does not follow or cannot
                // be read; the pieces after it make the next one.
                while !pieces.is_empty() && !gone.get() {
                    let shown = pieces
                        .first()
                        .map(|p| p.path.display().to_string())
                        .unwrap_or_default();
                    match Stitched::open(pieces) {
                        Ok(mut s) => {
                            let at = PathBuf::from(&shown);
                            let r = analyze_stitched(&at, &mut s, &cfg.sessions, cfg.engine);
                            add(&mut report, &shown, Ok(r), &mut flush);
                            flush(&mut report);
                            pieces = s.rest();
                        }
                        Err((e, rest)) => {
                            add(&mut report, &shown, Err(e), &mut flush);
                            pieces = rest;
                        }
                    }
                }
                continue;
            }
        };
        // Every input but a tar archive is done here; an archive's members
        // (from a file or from standard input) are read below.
        let (archive, members) = match item {
            Item::Unreadable(path, e) => {
                let shown = path.display().to_string();
                let err = CaptureError::io(path, io::Error::other(e.clone()));
                add(&mut report, &shown, Err(err), &mut flush);
                continue;
            }
            Item::File(path) => {
                let shown = path.display().to_string();
                let r = analyze_file(path, &cfg.sessions, cfg.engine);
                add(&mut report, &shown, r, &mut flush);
                continue;
            }
            Item::Stdin => {
                let at = Path::new(inputs::STDIN);
                match inputs::open_stdin() {
                    Err(e) => {
                        add(
                            &mut report,
                            inputs::STDIN,
                            Err(CaptureError::io(at, e)),
                            &mut flush,
                        );
                        continue;
                    }
                    Ok(Piped::Capture { src, compression }) => {
                        let r = CaptureReader::from_reader(at, src, compression)
                            .map(|r| analyze_reader(at, r, &cfg.sessions, cfg.engine));
                        add(&mut report, inputs::STDIN, r, &mut flush);
                        continue;
                    }
                    Ok(Piped::Tar(members)) => (at.to_path_buf(), members),
                }
            }
            Item::Tar(path) => match inputs::tar_members(path) {
                Ok(m) => (path.clone(), m),
                Err(e) => {
                    let shown = path.display().to_string();
                    add(
                        &mut report,
                        &shown,
                        Err(CaptureError::io(path, e)),
                        &mut flush,
                    );
                    continue;
                }
            },
        };
        for m in members {
            if gone.get() {
                break;
            }
            match m {
                Member::File { name, reader } => {
                    let shown = format!("{}:{name}", archive.display());
                    let at = Path::new(&shown);
                    match CaptureReader::from_stream(at, Box::new(reader)) {
                        // Members that are not captures (a README,
                        // a checksum list) are skipped, as in a
                        // directory.
                        Err(e) if e.is_not_a_capture() => report.summary.skipped_files += 1,
                        Err(e) => add(&mut report, &shown, Err(e), &mut flush),
                        Ok(r) => {
                            let res = analyze_reader(at, r, &cfg.sessions, cfg.engine);
                            add(&mut report, &shown, Ok(res), &mut flush);
                            flush(&mut report);
                        }
                    }
                }
                Member::Error { offset, message } => {
                    let err = CaptureError {
                        path: archive.clone(),
                        offset: Some(offset),
                        kind: CaptureErrorKind::Io(format!(
                            "the tar archive is broken here ({message}); the members after it are not read"
                        )),
                    };
                    let shown = archive.display().to_string();
                    add(&mut report, &shown, Err(err), &mut flush);
                }
            }
        }
    }
    flush(&mut report);
    (report, all_read, streamed)
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

/// Run the program; returns the exit status.
pub fn run() -> i32 {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match args.command {
        Some(Command::Codes) => return print_stdout(|out| knowledge_text::codes(out)),
        Some(Command::Alerts) => return print_stdout(|out| knowledge_text::alerts(out)),
        Some(Command::Completions { shell }) => {
            return print_stdout(|out| {
                let mut cmd = <Args as clap::CommandFactory>::command();
                clap_complete::generate(shell, &mut cmd, "wsforensics", out);
                Ok(())
            })
        }
        Some(Command::Man) => {
            return print_stdout(|out| {
                let cmd = <Args as clap::CommandFactory>::command();
                clap_mangen::Man::new(cmd).render(out)
            })
        }
        Some(Command::Merge {
            files,
            format,
            output,
        }) => {
            let paths: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
            let ndjson = format == MergeFormat::Ndjson;
            let done = match &output {
                Some(p) => match File::create(p) {
                    Ok(f) => merge::merge(&paths, &mut BufWriter::new(f), ndjson),
                    Err(e) => {
                        eprintln!("wsforensics merge: cannot write {}: {e}", p.display());
                        return 1;
                    }
                },
                None => merge::merge(&paths, &mut BufWriter::new(io::stdout().lock()), ndjson),
            };
            return match done {
                Ok(()) => 0,
                Err(merge::MergeError::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => 0,
                Err(e) => {
                    eprintln!("wsforensics merge: {e}");
                    1
                }
            };
        }
        Some(Command::Explain {
            code: Topic::Close(code),
        }) => return print_stdout(|out| knowledge_text::explain(code, out)),
        Some(Command::Explain {
            code: Topic::Alert(code),
        }) => return print_stdout(|out| knowledge_text::explain_alert(code, out)),
        None => {}
    }
    let cfg = match Config::try_from(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("wsforensics: {e}");
            return 2;
        }
    };
    // Reading a terminal would wait for a capture nobody types.
    if cfg.paths.iter().any(|p| inputs::is_stdin(p)) && io::stdin().is_terminal() {
        eprintln!(
            "wsforensics: '-' reads a capture from standard input, which is a terminal; pipe one in (tcpdump -w - | wsforensics -) or redirect a file (wsforensics - < capture.pcap)"
        );
        return 2;
    }
    // Report building and writing run on rayon's pool: as many threads as
    // the engine's workers. Fails only if a pool exists already, which
    // then serves as well.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.engine.jobs.max(1))
        .build_global();
    let bar = (!cfg.quiet && io::stderr().is_terminal()).then(|| {
        let (bytes, files) = input_size(&cfg.paths);
        progress::Progress::start(bytes, files)
    });
    for w in &cfg.keylog_warnings {
        eprintln!("wsforensics: warning: {w}");
    }
    let on_error = |msg: &str| eprintln!("wsforensics: error: {msg}");
    let open = || -> Result<Box<dyn Write>, i32> {
        match &cfg.output {
            Some(p) => match File::create(p) {
                Ok(f) => Ok(Box::new(BufWriter::new(f))),
                Err(e) => {
                    eprintln!("wsforensics: cannot write {}: {e}", p.display());
                    Err(1)
                }
            },
            None => Ok(Box::new(BufWriter::new(io::stdout().lock()))),
        }
    };
    let mut out = match open() {
        Ok(o) => o,
        Err(code) => return code,
    };
    let (report, all_read, written) = if cfg.format == OutputFormat::Ndjson {
        // NDJSON goes out capture by capture, while the batch runs.
        let (report, all_read, streamed) = build_report(&cfg, on_error, Sink::Ndjson(&mut *out));
        (report, all_read, streamed.and_then(|()| out.flush()))
    } else {
        // Colour only for a person at a terminal: https://no-color.org says
        // any non-empty NO_COLOR turns it off.
        let color = match cfg.color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                cfg.output.is_none()
                    && io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        let layout = match cfg.format {
            OutputFormat::Json => Layout::Json,
            OutputFormat::Html => Layout::Html,
            _ => Layout::Text { color },
        };
        let mut spool = Spool::new(layout);
        let (report, all_read, spooled) = build_report(&cfg, on_error, Sink::Spool(&mut spool));
        let written = spooled
            .and_then(|()| spool.finish(&report, &mut *out))
            .and_then(|()| out.flush());
        (report, all_read, written)
    };
    if let Some(b) = bar {
        b.finish();
    }
    match written {
        Ok(()) => {}
        // A reader that stopped early (`| head`) is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return if all_read { 0 } else { 1 },
        Err(e) => {
            eprintln!("wsforensics: cannot write the report: {e}");
            return 1;
        }
    }
    if cfg.fail_on_abnormal && report.summary.abnormal > 0 {
        3
    } else if all_read {
        0
    } else {
        1
    }
}

fn print_stdout(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> i32 {
    let mut out = BufWriter::new(io::stdout().lock());
    match f(&mut out).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("wsforensics: cannot write: {e}");
            1
        }
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
