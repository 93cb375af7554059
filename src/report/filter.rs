//! Which connections a report keeps: `--only abnormal`, `--code`,
//! `--server` and `--since`/`--until`. The summary counts what is kept.

use crate::analyzers::http::split_host_port;
use crate::capture::Timestamp;
use crate::vocab::websocket::CloseCode;

use super::ConnectionReport;

/// What to keep; the default keeps everything.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only connections whose disconnect is abnormal.
    pub only_abnormal: bool,
    /// Only these disconnect codes (`None` stands for a null code).
    pub codes: Vec<Option<CloseCode>>,
    /// Only these servers: `HOST` or `HOST:PORT`, where HOST is an address
    /// or the name the client asked for (SNI or Host header).
    pub servers: Vec<String>,
    /// Only connections still open at or after this time.
    pub since: Option<Timestamp>,
    /// Only connections that began at or before this time.
    pub until: Option<Timestamp>,
}

/// Why a `--since` or `--until` time was not read.
#[derive(Debug, thiserror::Error)]
pub enum TimeError {
    /// Not an RFC 3339 time.
    #[error("'{text}' is not an RFC 3339 time ({source}); e.g. 2026-11-23T10:00:00Z")]
    NotRfc3339 {
        /// The text given.
        text: String,
        /// What humantime said.
        #[source]
        source: humantime::TimestampError,
    },
    /// A time before the Unix epoch.
    #[error("'{text}' is before 1970")]
    BeforeEpoch {
        /// The text given.
        text: String,
    },
}

/// Parse an RFC 3339 time (`2026-11-23T10:00:00Z`, offsets allowed).
pub fn parse_time(s: &str) -> Result<Timestamp, TimeError> {
    let t = humantime::parse_rfc3339_weak(s).map_err(|source| TimeError::NotRfc3339 {
        text: s.to_string(),
        source,
    })?;
    let d = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| TimeError::BeforeEpoch {
            text: s.to_string(),
        })?;
    Ok(Timestamp::from_parts(
        d.as_secs() as i64,
        d.subsec_nanos() as u64,
    ))
}

impl Filter {
    /// Whether it keeps everything.
    pub fn is_empty(&self) -> bool {
        !self.only_abnormal
            && self.codes.is_empty()
            && self.servers.is_empty()
            && self.since.is_none()
            && self.until.is_none()
    }

    /// Whether `c`, seen from `first` to `last`, is kept.
    pub fn keeps(&self, c: &ConnectionReport, first: Timestamp, last: Timestamp) -> bool {
        let d = c.disconnect.as_ref();
        if self.only_abnormal && !d.is_some_and(|d| d.abnormal()) {
            return false;
        }
        if !self.codes.is_empty() && !d.is_some_and(|d| self.codes.contains(&d.code)) {
            return false;
        }
        if self.since.is_some_and(|t| last < t) || self.until.is_some_and(|t| first > t) {
            return false;
        }
        if !self.servers.is_empty() {
            let (addr, port) = split_host_port(&c.server);
            let name = c
                .tls
                .as_ref()
                .and_then(|t| t.client_hello.as_ref()?.sni.clone())
                .or_else(|| {
                    let host = c.websocket.as_ref()?.request.as_ref()?.host.as_deref()?;
                    Some(split_host_port(host).0.to_string())
                });
            let hit = self.servers.iter().any(|want| {
                let (h, p) = split_host_port(want);
                let host_ok = h.eq_ignore_ascii_case(addr)
                    || name.as_deref().is_some_and(|n| h.eq_ignore_ascii_case(n));
                host_ok && p.is_none_or(|p| Some(p) == port)
            });
            if !hit {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let t = parse_time("2026-11-23T10:00:00Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-23T10:00:00.000000000Z");
        assert!(parse_time("yesterday").is_err());
    }
}
