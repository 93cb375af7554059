//! Command line, lowest layer: the flags as clap parses them, each with
//! its help text and the parser of its value, kept next to it (ripgrep's
//! low-level arguments). In: the process's arguments; out: [`Args`], or
//! clap's error for a flag or value it refuses. Nothing here reads a file
//! or the environment: [`super::config`] turns [`Args`] into what a run
//! does.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::capture::Timestamp;
use crate::limits::{self, Limit, Limits};
use crate::report::filter;
use crate::vocab::tls::AlertDescription;
use crate::vocab::websocket::CloseCode;

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
    pub code: Vec<Option<CloseCode>>,
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

fn parse_code(s: &str) -> Result<Option<CloseCode>, ValueError> {
    if s == "null" {
        return Ok(None);
    }
    s.parse::<u16>()
        .map(|c| Some(CloseCode(c)))
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
    Close(CloseCode),
    /// A TLS alert description.
    Alert(AlertDescription),
}

fn parse_topic(s: &str) -> Result<Topic, ValueError> {
    if let Ok(code) = s.parse::<u16>() {
        return Ok(Topic::Close(CloseCode(code)));
    }
    let alert = s
        .strip_prefix("alert:")
        .and_then(|n| n.parse::<u8>().ok().map(AlertDescription))
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
