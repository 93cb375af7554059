//! NSS key log files (`SSLKEYLOGFILE`), as browsers, curl, OpenSSL, Node,
//! Python and Go write them: one secret per line,
//! `LABEL <client random, 64 hex digits> <secret in hex>`.
//! <https://datatracker.ietf.org/doc/draft-ietf-tls-keylogfile/>
//!
//! Lines are indexed by client random; each secret remembers the file and
//! line it came from, so a report can say which line decrypted a session.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

/// A key log larger than this is refused (a real one holds a few hundred
/// bytes per session: this is millions of sessions).
pub const MAX_KEYLOG_BYTES: u64 = 1 << 30;
/// Longest secret kept: TLS 1.2 master secrets are 48 bytes, TLS 1.3
/// traffic secrets 32 or 48.
const MAX_SECRET: usize = 64;
/// Malformed lines named in warnings per file; the rest are counted.
const MAX_WARNINGS: usize = 5;

/// Why a key log file was not read.
#[derive(Debug, thiserror::Error)]
pub enum KeyLogError {
    /// Its size or its bytes could not be read.
    #[error("{}: cannot be read ({source})", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What reading it said.
        #[source]
        source: io::Error,
    },
    /// Larger than [`MAX_KEYLOG_BYTES`].
    #[error(
        "{}: {size} bytes, over the {MAX_KEYLOG_BYTES}-byte limit of a key log",
        path.display()
    )]
    TooBig {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
    },
}

/// Where a secret came from: index into [`KeyLog::files`] and line number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    file: u32,
    line: u32,
}

/// A secret and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secret {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Its line.
    pub origin: Origin,
}

/// The secrets of one session (one client random).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Secrets {
    /// `CLIENT_RANDOM`: the TLS 1.2 master secret.
    pub master: Option<Secret>,
    /// `CLIENT_HANDSHAKE_TRAFFIC_SECRET`.
    pub client_handshake: Option<Secret>,
    /// `SERVER_HANDSHAKE_TRAFFIC_SECRET`.
    pub server_handshake: Option<Secret>,
    /// `CLIENT_TRAFFIC_SECRET_0`.
    pub client_traffic: Option<Secret>,
    /// `SERVER_TRAFFIC_SECRET_0`.
    pub server_traffic: Option<Secret>,
}

/// Every secret of the key logs given.
#[derive(Debug, Default)]
pub struct KeyLog {
    sessions: HashMap<[u8; 32], Secrets>,
    files: Vec<String>,
    /// Lines that could not be read, named by file and line (at most a
    /// few per file), then a count.
    pub warnings: Vec<String>,
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || s.len() > 2 * MAX_SECRET {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl KeyLog {
    /// No key log.
    pub fn new() -> KeyLog {
        KeyLog::default()
    }

    /// Whether no secret was read.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Sessions with at least one secret.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Read a key log file.
    pub fn load(&mut self, path: &Path) -> Result<(), KeyLogError> {
        let unreadable = |source| KeyLogError::Unreadable {
            path: path.to_path_buf(),
            source,
        };
        let size = std::fs::metadata(path).map_err(unreadable)?.len();
        if size > MAX_KEYLOG_BYTES {
            return Err(KeyLogError::TooBig {
                path: path.to_path_buf(),
                size,
            });
        }
        let bytes = std::fs::read(path).map_err(unreadable)?;
        self.parse(
            &path.display().to_string(),
            &String::from_utf8_lossy(&bytes),
        );
        Ok(())
    }

    /// Read key log text; `name` names it in warnings and origins.
    pub fn parse(&mut self, name: &str, text: &str) {
        let file = self.files.len() as u32;
        self.files.push(name.to_string());
        let mut bad = 0usize;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_ascii_whitespace();
            let (Some(label), Some(random), Some(secret), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                bad += 1;
                if bad <= MAX_WARNINGS {
                    self.warnings
                        .push(format!("{name}:{}: not LABEL RANDOM SECRET", n + 1));
                }
                continue;
            };
            let known = [
                "CLIENT_RANDOM",
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0",
                "SERVER_TRAFFIC_SECRET_0",
            ];
            // Other labels (EXPORTER_SECRET, early data secrets, NSS's
            // `RSA` pre-master lines, OpenSSL's `*_TRAFFIC_SECRET_N` after
            // a KeyUpdate) are not needed: later secrets are derived.
            if !known.contains(&label) {
                continue;
            }
            let random: Option<[u8; 32]> = hex(random).and_then(|r| r.try_into().ok());
            let (Some(random), Some(bytes)) = (random, hex(secret)) else {
                bad += 1;
                if bad <= MAX_WARNINGS {
                    self.warnings.push(format!(
                        "{name}:{}: the client random must be 64 hex digits and the secret at most {} hex digits",
                        n + 1,
                        2 * MAX_SECRET
                    ));
                }
                continue;
            };
            let secret = Secret {
                bytes,
                origin: Origin {
                    file,
                    line: (n + 1).min(u32::MAX as usize) as u32,
                },
            };
            let s = self.sessions.entry(random).or_default();
            let slot = match label {
                "CLIENT_RANDOM" => &mut s.master,
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => &mut s.client_handshake,
                "SERVER_HANDSHAKE_TRAFFIC_SECRET" => &mut s.server_handshake,
                "CLIENT_TRAFFIC_SECRET_0" => &mut s.client_traffic,
                _ => &mut s.server_traffic,
            };
            slot.get_or_insert(secret);
        }
        if bad > MAX_WARNINGS {
            self.warnings.push(format!(
                "{name}: {} more lines that are not key log lines",
                bad - MAX_WARNINGS
            ));
        }
    }

    /// The secrets of the session with this client random.
    pub fn get(&self, client_random: &[u8; 32]) -> Option<&Secrets> {
        self.sessions.get(client_random)
    }

    /// `file:line` of a secret.
    pub fn describe(&self, o: Origin) -> String {
        let file = self.files.get(o.file as usize).map_or("?", String::as_str);
        format!("{file}:{}", o.line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tls12_and_tls13_lines_and_names_bad_ones() {
        let r1 = "01".repeat(32);
        let r2 = "02".repeat(32);
        let text = format!(
            "# comment\nCLIENT_RANDOM {r1} {}\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {r2} {}\n\
             SERVER_TRAFFIC_SECRET_0 {r2} {}\nEXPORTER_SECRET {r2} {}\nCLIENT_RANDOM zz {}\ngarbage\n",
            "aa".repeat(48),
            "bb".repeat(32),
            "cc".repeat(48),
            "dd".repeat(32),
            "ee".repeat(48),
        );
        let mut k = KeyLog::new();
        k.parse("keys.log", &text);
        let s1 = k.get(&[1; 32]).unwrap();
        assert_eq!(s1.master.as_ref().unwrap().bytes, vec![0xaa; 48]);
        assert_eq!(k.describe(s1.master.as_ref().unwrap().origin), "keys.log:2");
        let s2 = k.get(&[2; 32]).unwrap();
        assert_eq!(s2.client_handshake.as_ref().unwrap().bytes, vec![0xbb; 32]);
        assert_eq!(s2.server_traffic.as_ref().unwrap().bytes, vec![0xcc; 48]);
        assert!(s2.master.is_none());
        assert_eq!(k.warnings.len(), 2, "{:?}", k.warnings);
        assert!(k.warnings[0].starts_with("keys.log:6:"));
        assert!(k.warnings[1].starts_with("keys.log:7:"));
    }

    #[test]
    fn oversized_and_odd_hex_is_refused() {
        let mut k = KeyLog::new();
        k.parse(
            "k",
            &format!("CLIENT_RANDOM {} {}\n", "01".repeat(32), "a".repeat(301)),
        );
        assert!(k.is_empty());
        assert_eq!(k.warnings.len(), 1);
    }
}
