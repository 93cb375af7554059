//! Command line, middle layer: the flags checked and resolved into one
//! validated [`Config`] (ripgrep's high-level arguments). In: [`Args`] and
//! the SSLKEYLOGFILE environment variable; out: a [`Config`] with the CA
//! file and the key logs read, or a [`ConfigError`] that names the flag
//! at fault.

use std::path::PathBuf;
use std::sync::Arc;

use super::args::{Args, ColorWhen, Only, OutputFormat};
use crate::analyzers::session::SessionFactory;
use crate::analyzers::tls::cert::{CaFileError, TrustStore};
use crate::analyzers::tls::keylog::{KeyLog, KeyLogError};
use crate::capture::inputs;
use crate::engine::EngineOptions;
use crate::report::filter::Filter;

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

/// Standard input can be read once: `-` given twice is a usage error.
fn check_stdin_once(paths: &[PathBuf]) -> Result<(), ConfigError> {
    if paths.iter().filter(|p| inputs::is_stdin(p)).count() > 1 {
        return Err(ConfigError::StdinTwice);
    }
    Ok(())
}

/// Read the key logs named by `--keylog` and SSLKEYLOGFILE. A file given
/// with `--keylog` must be readable; SSLKEYLOGFILE may name a file that
/// does not exist yet (a warning then).
fn read_keylogs(given: &[PathBuf]) -> Result<(Option<Arc<KeyLog>>, Vec<String>), KeyLogError> {
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
