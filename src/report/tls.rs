//! The JSON `tls` object of a connection: the hellos, the certificates
//! with what they say and whether they were valid at the capture's time,
//! the chain's judgement, the alerts and the encrypted traffic.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::analyzers::tls::cert::{CertInfo, Judgement};
use crate::analyzers::tls::{
    is_grease, Alert, ClientHello, DecryptProblem, Encrypted, ServerHello, TlsFacts,
};
use crate::capture::Timestamp;
use crate::knowledge::tls::{alert as alert_info, cipher_name, group_name, version_name};
use crate::vocab::tls::{AlertDescription, AlertLevelCode};
use crate::vocab::{words, Dir};

use super::PerDirection;

/// TLS facts of one connection.
#[derive(Debug, Serialize, Deserialize)]
pub struct TlsReport {
    /// Negotiated version ("TLS 1.3"), once the ServerHello was seen.
    pub version: Option<String>,
    /// complete, failed (an alert or a close before completion), or
    /// incomplete (the capture ended first, or never showed it).
    pub handshake: Handshake,
    /// Frame where the handshake completed.
    pub handshake_complete_frame: Option<u64>,
    /// What the client offered.
    pub client_hello: Option<ClientHelloReport>,
    /// A HelloRetryRequest, if the server sent one.
    pub hello_retry_request: Option<HelloRetryReport>,
    /// What the server chose.
    pub server_hello: Option<ServerHelloReport>,
    /// The server's certificates, leaf first, when they were sent in the
    /// clear (TLS 1.2 and older).
    pub certificates: Vec<CertReport>,
    /// Frame of the server's Certificate message.
    pub certificates_frame: Option<u64>,
    /// The chain judged for the SNI at the capture's time.
    pub chain: Option<ChainReport>,
    /// The server asked for a client certificate (frame).
    pub client_certificate_requested_frame: Option<u64>,
    /// Certificates the client sent (0: an empty Certificate message);
    /// null when it sent no Certificate message in the clear.
    pub client_certificates_sent: Option<usize>,
    /// Every alert, in order.
    pub alerts: Vec<AlertReport>,
    /// application_data records after the handshake.
    pub application_data_records: PerDirection,
    /// Their bytes.
    pub application_data_bytes: PerDirection,
    /// Records were decrypted with a key log (`--keylog`, SSLKEYLOGFILE).
    pub decrypted: bool,
    /// `file:line` of the key log line that gave this session's keys.
    pub keylog: Option<String>,
    /// What kept records from being decrypted, when a key log was given
    /// (no keys for the client random, a suite not decrypted, a record
    /// that failed authentication, a gap).
    pub decryption_problem: Option<String>,
    /// The key logs had no line for this session (a count of the
    /// summary; not written: `decryption_problem` says it in words).
    #[serde(skip)]
    pub keys_missing: bool,
}

words! {
    /// How far a TLS handshake got.
    Handshake {
        /// Both Finished messages (or their TLS 1.3 equivalent) went by.
        Complete => "complete",
        /// An alert or a close ended it before completion.
        Failed => "failed",
        /// The capture ended first, or never showed it.
        Incomplete => "incomplete",
    }
}

words! {
    /// An alert's level.
    AlertLevel {
        /// 1.
        Warning => "warning",
        /// 2.
        Fatal => "fatal",
        /// Any other value.
        Unknown => "unknown",
    }
}

/// A ClientHello.
#[derive(Debug, Serialize, Deserialize)]
pub struct ClientHelloReport {
    /// Frame.
    pub frame: u64,
    /// Server Name Indication.
    pub sni: Option<String>,
    /// ALPN protocols offered.
    pub alpn: Vec<String>,
    /// legacy_version, named.
    pub legacy_version: String,
    /// Versions offered, newest first as sent, GREASE removed.
    pub offered_versions: Vec<String>,
    /// Cipher suites offered (GREASE removed).
    pub cipher_count: usize,
    /// Their IANA names, in order.
    pub cipher_suites: Vec<String>,
    /// Named groups offered, GREASE removed.
    pub groups: Vec<String>,
    /// Signature algorithms offered (hex code points).
    pub signature_algorithms: Vec<String>,
    /// Extension types in order (GREASE included, as on the wire).
    pub extensions: Vec<u16>,
    /// JA3 fingerprint (MD5).
    pub ja3: String,
    /// The JA3 string.
    pub ja3_full: String,
    /// JA4 fingerprint.
    pub ja4: String,
    /// The client random (hex): the session's name in a key log.
    pub client_random: String,
}

/// A HelloRetryRequest.
#[derive(Debug, Serialize, Deserialize)]
pub struct HelloRetryReport {
    /// Frame.
    pub frame: u64,
    /// Key share group the server asked for.
    pub group: Option<String>,
}

/// A ServerHello.
#[derive(Debug, Serialize, Deserialize)]
pub struct ServerHelloReport {
    /// Frame.
    pub frame: u64,
    /// Negotiated version.
    pub version: String,
    /// Chosen cipher suite (IANA name).
    pub cipher: String,
    /// Its code point, "0x1302".
    pub cipher_id: String,
    /// Chosen ALPN protocol.
    pub alpn: Option<String>,
    /// Key share group (TLS 1.3).
    pub group: Option<String>,
}

/// One certificate.
#[derive(Debug, Serialize, Deserialize)]
pub struct CertReport {
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Serial number (hex, colon-separated).
    pub serial: String,
    /// Validity start, RFC 3339 UTC.
    pub not_before: String,
    /// Validity end, RFC 3339 UTC.
    pub not_after: String,
    /// Subject alternative names.
    pub sans: Vec<String>,
    /// Key type.
    pub key_type: String,
    /// Key size in bits.
    pub key_bits: u32,
    /// Signature algorithm.
    pub signature_algorithm: String,
    /// A CA certificate.
    pub is_ca: bool,
    /// Subject equals issuer.
    pub self_signed: bool,
    /// SHA-256 of the DER.
    pub sha256: String,
    /// Expired at the capture's time (the time it was sent).
    pub expired: bool,
    /// Not yet valid at the capture's time.
    pub not_yet_valid: bool,
}

/// The judgement of a chain.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChainReport {
    /// It leads to a trusted root (Mozilla's, or --ca-file's), time
    /// aside; null when no moment lies inside every certificate's validity
    /// to check it at.
    pub trusted: Option<bool>,
    /// Valid for the SNI at the capture's time.
    pub valid: bool,
    /// What is wrong.
    pub problems: Vec<String>,
    /// The time it was judged at (RFC 3339 UTC): when it was sent.
    pub judged_at: String,
}

/// An alert.
#[derive(Debug, Serialize, Deserialize)]
pub struct AlertReport {
    /// client or server.
    #[serde(with = "crate::vocab::sender")]
    pub sender: Dir,
    /// warning or fatal; null when encrypted.
    pub level: Option<AlertLevel>,
    /// Description code; null when encrypted.
    pub code: Option<AlertDescription>,
    /// Its IANA name; null when encrypted.
    pub name: Option<Cow<'static, str>>,
    /// Frame.
    pub frame: u64,
    /// Encrypted (only its record was seen).
    pub encrypted: bool,
}

/// One alert: its sender, level word, code and registry name.
fn alert(a: &Alert) -> AlertReport {
    AlertReport {
        sender: a.dir,
        level: a.level.map(|l| match l {
            AlertLevelCode::WARNING => AlertLevel::Warning,
            AlertLevelCode::FATAL => AlertLevel::Fatal,
            _ => AlertLevel::Unknown,
        }),
        code: a.code,
        name: a
            .code
            .map(|c| Cow::Borrowed(alert_info(c).map_or("unknown", |i| i.name))),
        frame: a.at.frame,
        encrypted: a.encrypted,
    }
}

/// How far the handshake got: a verdict of `tls_handshake` (`failed`)
/// outranks a completion the wire showed.
fn handshake(t: &TlsFacts, failed: bool) -> Handshake {
    if t.complete.is_some() && !failed {
        Handshake::Complete
    } else if failed {
        Handshake::Failed
    } else {
        Handshake::Incomplete
    }
}

/// The values of a list that are not GREASE.
fn without_grease(v: &[u16]) -> Vec<u16> {
    v.iter().copied().filter(|x| !is_grease(*x)).collect()
}

/// What the client offered, named, with its fingerprints.
fn client_hello(c: &ClientHello) -> ClientHelloReport {
    ClientHelloReport {
        frame: c.at.frame,
        sni: c.sni.clone(),
        alpn: c.alpn.clone(),
        legacy_version: version_name(c.legacy_version),
        offered_versions: c.offered_versions().into_iter().map(version_name).collect(),
        cipher_count: without_grease(&c.ciphers).len(),
        cipher_suites: without_grease(&c.ciphers)
            .into_iter()
            .map(cipher_name)
            .collect(),
        groups: without_grease(&c.groups)
            .into_iter()
            .map(group_name)
            .collect(),
        signature_algorithms: c
            .signature_algorithms
            .iter()
            .map(|s| format!("0x{s:04x}"))
            .collect(),
        extensions: c.extensions.clone(),
        ja3: c.ja3(),
        ja3_full: c.ja3_full(),
        ja4: c.ja4(),
        client_random: crate::analyzers::tls::hex(&c.random),
    }
}

/// What the server chose, named.
fn server_hello(s: &ServerHello) -> ServerHelloReport {
    ServerHelloReport {
        frame: s.at.frame,
        version: version_name(s.version()),
        cipher: cipher_name(s.cipher),
        cipher_id: format!("0x{:04x}", s.cipher),
        alpn: s.alpn.clone(),
        group: s.key_share.map(group_name),
    }
}

/// One certificate of the chain, and whether it was valid at `at` (the
/// time it was sent, in seconds).
fn certificate(c: &CertInfo, at: i64) -> CertReport {
    CertReport {
        subject: c.subject.clone(),
        issuer: c.issuer.clone(),
        serial: c.serial.clone(),
        not_before: Timestamp::date_of_secs(c.not_before),
        not_after: Timestamp::date_of_secs(c.not_after),
        sans: c.sans.clone(),
        key_type: c.key_type.clone(),
        key_bits: c.key_bits,
        signature_algorithm: c.signature_algorithm.clone(),
        is_ca: c.is_ca,
        self_signed: c.self_signed,
        sha256: c.sha256.clone(),
        expired: at > c.not_after,
        not_yet_valid: at < c.not_before,
    }
}

/// The chain's judgement at `at`, its problems worded as the verdicts
/// word them.
fn chain(j: &Judgement, at: i64) -> ChainReport {
    ChainReport {
        trusted: j.trusted,
        valid: j.problems.is_empty(),
        problems: j
            .problems
            .iter()
            .map(|p| crate::diagnose::problem_text(p, j, at))
            .collect(),
        judged_at: Timestamp::date_of_secs(at),
    }
}

/// One count of the encrypted application data, each way.
fn application_data(t: &TlsFacts, count: impl Fn(&Encrypted) -> u64) -> PerDirection {
    PerDirection {
        client_to_server: count(&t.encrypted[Dir::ClientToServer]),
        server_to_client: count(&t.encrypted[Dir::ServerToClient]),
    }
}

/// The `tls` object: each part from its own helper.
pub fn report(t: &TlsFacts, j: Option<&(Judgement, i64)>, failed: bool) -> TlsReport {
    let decryption = t.decryption.as_ref();
    TlsReport {
        version: t.version().map(version_name),
        handshake: handshake(t, failed),
        handshake_complete_frame: t.complete.map(|a| a.frame),
        client_hello: t.client_hello.as_ref().map(client_hello),
        hello_retry_request: t.hello_retry.as_ref().map(|h| HelloRetryReport {
            frame: h.at.frame,
            group: h.key_share.map(group_name),
        }),
        server_hello: t.server_hello.as_ref().map(server_hello),
        certificates: j
            .map(|(j, at)| j.certs.iter().map(|c| certificate(c, *at)).collect())
            .unwrap_or_default(),
        certificates_frame: t.certificate_at.map(|a| a.frame),
        chain: j.map(|(j, at)| chain(j, *at)),
        client_certificate_requested_frame: t.certificate_request.map(|a| a.frame),
        client_certificates_sent: t.client_certificate.map(|(_, n)| n),
        alerts: t.alerts.iter().map(alert).collect(),
        application_data_records: application_data(t, |e| e.records),
        application_data_bytes: application_data(t, |e| e.bytes),
        decrypted: decryption.is_some_and(|d| d.decrypted()),
        keylog: decryption.and_then(|d| d.keylog.clone()),
        decryption_problem: decryption
            .and_then(|d| d.problem.as_ref())
            .map(crate::diagnose::decryption_problem_text),
        keys_missing: decryption
            .is_some_and(|d| matches!(d.problem, Some(DecryptProblem::NoKeys { .. }))),
    }
}
