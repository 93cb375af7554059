//! The caps that keep memory bounded on any input, in one place: their
//! defaults, the command-line flag that changes each, and a tally of the
//! times a capture hit them, which the report shows so that a user knows
//! when a result was cut short and which flag to raise.
//!
//! Every layer that holds bytes on behalf of the input takes its cap from
//! [`Limits`] and counts the hits in a [`LimitHits`].

use std::fmt;

/// One cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Limit {
    /// TCP connections open at once in one capture; past it the least
    /// recently active connection is closed early ("evicted").
    OpenConnections,
    /// Out-of-order bytes one connection may hold while waiting for a hole
    /// to fill; past it the hole is declared a gap.
    OooPerConnection,
    /// Out-of-order bytes all connections together may hold.
    OooTotal,
    /// IP datagrams waiting for missing fragments at once.
    IpFragments,
    /// Bytes one compressed WebSocket message is inflated to.
    InflatedMessage,
    /// Memory of all permessage-deflate inflaters alive at once.
    InflateMemory,
    /// Bytes of one HTTP head (request or response line plus headers).
    HttpHead,
    /// Bytes of one TLS handshake message (a Certificate chain is the
    /// largest).
    TlsHandshake,
}

crate::vocab::word_serde!(Limit, name, from_name);

impl Limit {
    /// Every cap, in report order.
    pub const ALL: [Limit; 8] = [
        Limit::OpenConnections,
        Limit::OooPerConnection,
        Limit::OooTotal,
        Limit::IpFragments,
        Limit::InflatedMessage,
        Limit::InflateMemory,
        Limit::HttpHead,
        Limit::TlsHandshake,
    ];

    /// Its name in the JSON report.
    pub fn name(self) -> &'static str {
        match self {
            Limit::OpenConnections => "open_connections",
            Limit::OooPerConnection => "ooo_per_connection",
            Limit::OooTotal => "ooo_total",
            Limit::IpFragments => "ip_fragments",
            Limit::InflatedMessage => "inflated_message",
            Limit::InflateMemory => "inflate_memory",
            Limit::HttpHead => "http_head",
            Limit::TlsHandshake => "tls_handshake",
        }
    }

    /// The cap whose JSON name is `name`.
    pub fn from_name(name: &str) -> Option<Limit> {
        Limit::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The command-line flag that sets it.
    pub fn flag(self) -> &'static str {
        match self {
            Limit::OpenConnections => "--max-open-connections",
            Limit::OooPerConnection => "--max-ooo-per-connection",
            Limit::OooTotal => "--max-ooo-total",
            Limit::IpFragments => "--max-ip-fragments",
            Limit::InflatedMessage => "--max-inflated-message",
            Limit::InflateMemory => "--max-inflate-memory",
            Limit::HttpHead => "--max-http-head",
            Limit::TlsHandshake => "--max-tls-handshake",
        }
    }

    /// What hitting it did, for a person.
    pub fn effect(self) -> &'static str {
        match self {
            Limit::OpenConnections => {
                "connections were closed early (evicted) to make room; packets of theirs that came later were counted but not analysed"
            }
            Limit::OooPerConnection | Limit::OooTotal => {
                "holes in TCP streams were declared gaps before the missing segments could arrive"
            }
            Limit::IpFragments => "IP datagrams were dropped before all their fragments arrived",
            Limit::InflatedMessage => {
                "compressed messages were inflated only up to the cap; their size is reported as \"more than\" and their direction was not inflated further"
            }
            Limit::InflateMemory => {
                "compressed directions were not inflated (their messages' size and UTF-8 are unknown)"
            }
            Limit::HttpHead => "HTTP heads were cut off unread",
            Limit::TlsHandshake => {
                "TLS handshake messages (usually Certificate chains) were skipped unread"
            }
        }
    }

    /// Whether the value is a byte count (shown with a unit) or a count.
    pub fn is_bytes(self) -> bool {
        !matches!(self, Limit::OpenConnections | Limit::IpFragments)
    }

    /// Whether an analyzer checks it per connection (its tally counts
    /// connections), rather than the decode or flow layer per event.
    pub fn per_connection(self) -> bool {
        matches!(
            self,
            Limit::InflatedMessage | Limit::InflateMemory | Limit::HttpHead | Limit::TlsHandshake
        )
    }

    /// Its index in per-cap arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The value of every cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// [`Limit::OpenConnections`].
    pub open_connections: usize,
    /// [`Limit::OooPerConnection`], bytes (both directions together).
    pub ooo_per_connection: usize,
    /// [`Limit::OooTotal`], bytes.
    pub ooo_total: usize,
    /// [`Limit::IpFragments`], datagrams.
    pub ip_fragments: usize,
    /// [`Limit::InflatedMessage`], bytes.
    pub inflated_message: u64,
    /// [`Limit::InflateMemory`], bytes.
    pub inflate_memory: usize,
    /// [`Limit::HttpHead`], bytes.
    pub http_head: usize,
    /// [`Limit::TlsHandshake`], bytes.
    pub tls_handshake: usize,
}

/// Default of [`Limit::OpenConnections`]: a connection that carried nothing
/// costs about 600 bytes of state, so a million half-open connections (a
/// SYN flood) stay within about 600 MB before eviction starts.
pub const OPEN_CONNECTIONS: usize = 1_000_000;
/// Default of [`Limit::OooPerConnection`].
pub const OOO_PER_CONNECTION: usize = 4 << 20;
/// Default of [`Limit::OooTotal`].
pub const OOO_TOTAL: usize = 64 << 20;
/// Default of [`Limit::IpFragments`].
pub const IP_FRAGMENTS: usize = 256;
/// Default of [`Limit::InflatedMessage`].
pub const INFLATED_MESSAGE: u64 = 32 << 20;
/// Default of [`Limit::InflateMemory`]: with about 46 KiB per inflater,
/// room for about 3,500 compressed directions open at once.
pub const INFLATE_MEMORY: usize = 160 << 20;
/// Default of [`Limit::HttpHead`].
pub const HTTP_HEAD: usize = 16 << 10;
/// Default of [`Limit::TlsHandshake`].
pub const TLS_HANDSHAKE: usize = 64 << 10;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            open_connections: OPEN_CONNECTIONS,
            ooo_per_connection: OOO_PER_CONNECTION,
            ooo_total: OOO_TOTAL,
            ip_fragments: IP_FRAGMENTS,
            inflated_message: INFLATED_MESSAGE,
            inflate_memory: INFLATE_MEMORY,
            http_head: HTTP_HEAD,
            tls_handshake: TLS_HANDSHAKE,
        }
    }
}

impl Limits {
    /// The value of one cap.
    pub fn get(&self, limit: Limit) -> u64 {
        match limit {
            Limit::OpenConnections => self.open_connections as u64,
            Limit::OooPerConnection => self.ooo_per_connection as u64,
            Limit::OooTotal => self.ooo_total as u64,
            Limit::IpFragments => self.ip_fragments as u64,
            Limit::InflatedMessage => self.inflated_message,
            Limit::InflateMemory => self.inflate_memory as u64,
            Limit::HttpHead => self.http_head as u64,
            Limit::TlsHandshake => self.tls_handshake as u64,
        }
    }

    /// Set one cap.
    pub fn set(&mut self, limit: Limit, value: u64) {
        let size = usize::try_from(value).unwrap_or(usize::MAX);
        match limit {
            Limit::OpenConnections => self.open_connections = size,
            Limit::OooPerConnection => self.ooo_per_connection = size,
            Limit::OooTotal => self.ooo_total = size,
            Limit::IpFragments => self.ip_fragments = size,
            Limit::InflatedMessage => self.inflated_message = value,
            Limit::InflateMemory => self.inflate_memory = size,
            Limit::HttpHead => self.http_head = size,
            Limit::TlsHandshake => self.tls_handshake = size,
        }
    }
}

/// Which caps one connection hit: a few bits, since every connection
/// carries one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LimitSet(u16);

impl LimitSet {
    /// Note that `limit` was hit.
    pub fn insert(&mut self, limit: Limit) {
        self.0 |= 1 << limit.index();
    }

    /// Whether `limit` was hit.
    pub fn contains(self, limit: Limit) -> bool {
        self.0 & (1 << limit.index()) != 0
    }

    /// The caps hit, in report order.
    pub fn iter(self) -> impl Iterator<Item = Limit> {
        Limit::ALL.into_iter().filter(move |l| self.contains(*l))
    }

    /// Whether none was hit.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// How often each cap was hit, and the first frame at which it was.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitHits {
    times: [u64; Limit::ALL.len()],
    first_frame: [Option<u64>; Limit::ALL.len()],
}

impl LimitHits {
    /// Count one hit at `frame`.
    pub fn hit(&mut self, limit: Limit, frame: u64) {
        self.hit_n(limit, 1, frame);
    }

    /// Count `n` hits, the first at `frame`.
    pub fn hit_n(&mut self, limit: Limit, n: u64, frame: u64) {
        if n == 0 {
            return;
        }
        let i = limit.index();
        if let (Some(t), Some(f)) = (self.times.get_mut(i), self.first_frame.get_mut(i)) {
            *t = t.saturating_add(n);
            *f = Some(f.map_or(frame, |old| old.min(frame)));
        }
    }

    /// Add another tally to this one.
    pub fn merge(&mut self, other: &LimitHits) {
        for limit in Limit::ALL {
            let i = limit.index();
            if let (Some(&n), Some(&Some(f))) = (other.times.get(i), other.first_frame.get(i)) {
                self.hit_n(limit, n, f);
            }
        }
    }

    /// Times `limit` was hit.
    pub fn times(&self, limit: Limit) -> u64 {
        self.times.get(limit.index()).copied().unwrap_or(0)
    }

    /// The caps hit at least once: (cap, times, first frame).
    pub fn iter(&self) -> impl Iterator<Item = (Limit, u64, u64)> + '_ {
        Limit::ALL.into_iter().filter_map(|l| {
            let i = l.index();
            match (self.times.get(i), self.first_frame.get(i)) {
                (Some(&n), Some(&Some(f))) if n > 0 => Some((l, n, f)),
                _ => None,
            }
        })
    }

    /// Whether no cap was hit.
    pub fn is_empty(&self) -> bool {
        self.times.iter().all(|&n| n == 0)
    }
}

/// A byte count as a person reads it: 4 MiB, 16 KiB, 1000 B.
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
        for (size, unit) in UNITS {
            if self.0 >= size && self.0 % size == 0 {
                return write!(f, "{} {unit}", self.0 / size);
            }
        }
        write!(f, "{} B", self.0)
    }
}

/// Why a size was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// No number where the size starts.
    #[error("'{0}' is not a size (a number, optionally with K, M or G)")]
    NotANumber(String),
    /// A suffix other than K, M or G.
    #[error("unknown size unit '{unit}' in '{text}' (use K, M or G)")]
    UnknownUnit {
        /// The suffix, lower-cased.
        unit: String,
        /// The text given.
        text: String,
    },
    /// More bytes than a u64 holds.
    #[error("'{0}' is too large")]
    TooLarge(String),
}

/// Read a size from the command line: a number with an optional binary
/// suffix K, M or G (case-insensitive, optional "iB"/"B"), e.g. `64M`.
pub fn parse_size(s: &str) -> Result<u64, SizeError> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(digits_end);
    let n: u64 = num
        .parse()
        .map_err(|_| SizeError::NotANumber(s.to_string()))?;
    let shift = match unit.trim() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        other => {
            return Err(SizeError::UnknownUnit {
                unit: other.to_string(),
                text: s.to_string(),
            })
        }
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| SizeError::TooLarge(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_with_binary_units() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("4MiB"), Ok(4 << 20));
        assert_eq!(parse_size("2 g"), Ok(2 << 30));
        assert!(parse_size("").is_err());
        assert!(parse_size("12X").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
        assert!(parse_size("17179869184G").is_err());
    }

    #[test]
    fn every_limit_reads_back_what_was_set() {
        let mut l = Limits::default();
        for (i, limit) in Limit::ALL.into_iter().enumerate() {
            assert_eq!(limit.index(), i);
            l.set(limit, 1234 + i as u64);
        }
        for (i, limit) in Limit::ALL.into_iter().enumerate() {
            assert_eq!(l.get(limit), 1234 + i as u64);
        }
        let names: std::collections::BTreeSet<_> = Limit::ALL.iter().map(|l| l.name()).collect();
        assert_eq!(names.len(), Limit::ALL.len());
    }

    #[test]
    fn hits_merge_keeping_the_earliest_frame() {
        let mut a = LimitHits::default();
        a.hit(Limit::HttpHead, 50);
        a.hit(Limit::HttpHead, 70);
        let mut b = LimitHits::default();
        b.hit_n(Limit::HttpHead, 3, 20);
        b.hit(Limit::OpenConnections, 9);
        a.merge(&b);
        let got: Vec<_> = a.iter().collect();
        assert_eq!(
            got,
            vec![(Limit::OpenConnections, 1, 9), (Limit::HttpHead, 5, 20)]
        );
        assert_eq!(Bytes(4 << 20).to_string(), "4 MiB");
        assert_eq!(Bytes(1500).to_string(), "1500 B");
    }
}
