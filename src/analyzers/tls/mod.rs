//! TLS by content. The record layer of both directions is followed across
//! TCP segments (records split over segments, several records in one,
//! handshake messages split over records); the plaintext handshake
//! messages give the hellos, the server's certificates (TLS 1.2) and
//! whether a client certificate was asked for and sent; plaintext alerts
//! are read; and the encrypted records that follow are told apart by
//! their shape: in TLS 1.3 an alert is an application_data record of
//! exactly 2 + 1 + tag bytes.

pub mod cert;
pub mod decrypt;
pub mod hello;
pub mod keylog;

use std::sync::Arc;

use crate::vocab::{At, Dir, PerDir};
use decrypt::DirKeys;
use keylog::KeyLog;

use hello::{be16, be24};
pub use hello::{is_grease, ClientHello, ServerHello};

/// Longest record RFC 5246 §6.2.3 allows (2^14 + 2048, TLSCiphertext);
/// a longer length means the bytes are not TLS, or the stream is lost.
const MAX_RECORD: usize = (1 << 14) + 2048;
/// Handshake messages longer than this are skipped, not kept (a
/// certificate chain is a few KB; the protocol allows 16 MB), unless
/// `--max-tls-handshake` says otherwise.
const MAX_HANDSHAKE: usize = crate::limits::TLS_HANDSHAKE;
/// Capacity of a decryption record buffer kept between records.
const KEPT_RECORD_BUFFER: usize = 2048;
/// Certificates kept from one Certificate message.
const MAX_CERTS: usize = 10;
/// Alerts kept per connection.
const MAX_ALERTS: usize = 8;

use crate::vocab::tls::{
    AlertDescription, AlertLevelCode, ContentType, HandshakeType, ProtocolVersion,
};

/// Whether a client's first bytes look like TLS: the record header of a
/// ClientHello, or, when the capture started after the handshake, of an
/// application_data record. SSL 2.0 hellos are not recognised.
pub fn looks_like_tls(first: &[u8]) -> bool {
    let Some((&ctype, rest)) = first.split_first() else {
        return false;
    };
    match (ContentType(ctype), rest) {
        (ContentType::HANDSHAKE, [3, 0..=4, ..]) => rest
            .get(4)
            .is_none_or(|&t| HandshakeType(t) == HandshakeType::CLIENT_HELLO),
        (ContentType::APPLICATION_DATA, [3, 1..=4, hi, lo, ..]) => {
            let len = usize::from(u16::from_be_bytes([*hi, *lo]));
            len > 0 && len <= MAX_RECORD
        }
        _ => false,
    }
}

/// Whether a server's first bytes look like TLS: only when the capture
/// started after the handshake, so an application_data record header
/// (a server never speaks first in a handshake).
pub fn looks_like_tls_from_server(first: &[u8]) -> bool {
    first
        .first()
        .is_some_and(|&t| ContentType(t) == ContentType::APPLICATION_DATA)
        && looks_like_tls(first)
}

/// An alert on the wire.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Alert {
    /// Who sent it.
    pub dir: Dir,
    /// Where.
    pub at: At,
    /// Warning or fatal; `None` when encrypted.
    pub level: Option<AlertLevelCode>,
    /// The description code; `None` when encrypted.
    pub code: Option<AlertDescription>,
    /// Encrypted: a TLS 1.2 alert record after ChangeCipherSpec, or a
    /// TLS 1.3 record of an alert's size.
    pub encrypted: bool,
}

/// Encrypted records of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Encrypted {
    /// application_data records.
    pub records: u64,
    /// Their bytes (record bodies).
    pub bytes: u64,
    /// The first and the last one.
    pub first: Option<At>,
    /// The last one.
    pub last: Option<At>,
}

impl Encrypted {
    /// One more application_data record of `len` bytes, at `at`.
    fn count(&mut self, len: u64, at: At) {
        self.records += 1;
        self.bytes += len;
        self.first.get_or_insert(at);
        self.last = Some(at);
    }
}

/// What TLS told about one connection.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct TlsFacts {
    /// The first ClientHello.
    pub client_hello: Option<ClientHello>,
    /// ClientHellos seen (2 after a HelloRetryRequest).
    pub client_hellos: u32,
    /// A HelloRetryRequest.
    pub hello_retry: Option<ServerHello>,
    /// The ServerHello.
    pub server_hello: Option<ServerHello>,
    /// The server's certificates in the order sent (DER), when the
    /// Certificate message was plaintext (TLS 1.2 and older).
    pub certificates: Vec<Vec<u8>>,
    /// Where the server's Certificate message was.
    pub certificate_at: Option<At>,
    /// The server asked for a client certificate (plaintext
    /// CertificateRequest).
    pub certificate_request: Option<At>,
    /// The client's Certificate message and how many certificates it had
    /// (0: it had none to send).
    pub client_certificate: Option<(At, usize)>,
    /// ServerHelloDone: the server's TLS 1.2 flight is complete.
    pub server_hello_done: Option<At>,
    /// ChangeCipherSpec each way (TLS 1.2 and older).
    pub change_cipher_spec: PerDir<Option<At>>,
    /// The first encrypted handshake record each way: Finished in TLS
    /// 1.2; in TLS 1.3 the server's encrypted flight and the client's
    /// Finished.
    pub finished: PerDir<Option<At>>,
    /// When the handshake completed, as far as the wire shows.
    pub complete: Option<At>,
    /// Alerts, in order.
    pub alerts: Vec<Alert>,
    /// application_data records each way (after the handshake).
    pub encrypted: PerDir<Encrypted>,
    /// Where the record layer was lost each way (a gap, or a header that
    /// is not TLS).
    pub lost: PerDir<Option<At>>,
    /// The record layer was lost to a gap in the capture (a snapshot
    /// length cut, loss), not to bytes that are not TLS.
    #[serde(default)]
    pub lost_to_gap: PerDir<bool>,
    /// Handshake messages too long to keep.
    pub skipped: u32,
    /// What decryption did, when a key log was given.
    pub decryption: Option<Decryption>,
}

/// What kept a session's records from being read with the key log; the
/// words are the diagnose layer's (`diagnose::decryption_problem_text`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DecryptProblem {
    /// The key logs have no line for the session's client random (hex).
    NoKeys {
        /// The ClientHello's random, in hex.
        client_random: String,
    },
    /// The cipher suite is not one this tool decrypts.
    CipherNotDecrypted {
        /// The ServerHello's suite.
        cipher: u16,
    },
    /// The ServerHello pairs a TLS version with a suite of another one.
    SuiteOfOtherVersion {
        /// The version chosen.
        version: ProtocolVersion,
        /// The suite chosen.
        cipher: u16,
    },
    /// A TLS 1.3 session without handshake traffic secrets in the key log.
    NoHandshakeSecrets,
    /// A TLS 1.2 session without a CLIENT_RANDOM master secret.
    NoMasterSecret,
    /// Record boundaries were lost in one direction.
    Lost {
        /// Where.
        at: At,
        /// Whose stream.
        dir: Dir,
        /// Why they were lost.
        why: LostBoundary,
    },
    /// A record failed to open.
    NotOpened {
        /// Where.
        at: At,
        /// Who sent it.
        dir: Dir,
        /// Too short, or authentication failed.
        too_short: bool,
    },
}

/// Why a direction's record boundaries were lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LostBoundary {
    /// Bytes that are not TLS records.
    NotRecords,
    /// A gap in the capture.
    Gap,
}

/// What decryption with a key log did for one connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Decryption {
    /// `file:line` of the key log line that gave the session's keys.
    pub keylog: Option<String>,
    /// The first thing that kept records from being read (no keys, a
    /// cipher suite not decrypted, a record that failed authentication, a
    /// gap), with its frame where there is one.
    pub problem: Option<DecryptProblem>,
    /// Records decrypted each way.
    pub records: PerDir<u64>,
    /// Application data bytes decrypted each way.
    pub plaintext: PerDir<u64>,
}

impl Decryption {
    /// Whether any record was decrypted.
    pub fn decrypted(&self) -> bool {
        self.records.iter().any(|&n| n > 0)
    }

    fn problem(&mut self, problem: DecryptProblem) {
        self.problem.get_or_insert(problem);
    }
}

impl TlsFacts {
    /// The negotiated version, once the ServerHello was seen.
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.server_hello.as_ref().map(ServerHello::version)
    }

    /// Whether TLS 1.3 was negotiated.
    pub fn tls13(&self) -> bool {
        self.version() == Some(ProtocolVersion::TLS13)
    }

    /// The first fatal (or encrypted) alert, which ends the connection.
    pub fn first_fatal(&self) -> Option<&Alert> {
        self.alerts.iter().find(|a| {
            a.encrypted
                || a.level == Some(AlertLevelCode::FATAL)
                || a.code == Some(AlertDescription::CLOSE_NOTIFY)
        })
    }
}

/// Record-layer state of one direction.
#[derive(Default)]
struct DirState {
    hdr: [u8; 5],
    hdr_len: usize,
    /// Body bytes of the current record still to come.
    left: usize,
    ctype: ContentType,
    len: usize,
    /// Records after this point are encrypted.
    encrypted: bool,
    /// The current record is encrypted (`encrypted` when its header
    /// came: a ServerHello record switches `encrypted` on at its end).
    record_encrypted: bool,
    /// The record layer is lost for the rest of the direction.
    stopped: bool,
    /// Plaintext handshake bytes not yet read as messages.
    hs: Vec<u8>,
    /// Bytes of an over-long handshake message still to skip.
    hs_skip: usize,
    /// A partial plaintext alert.
    alert: Vec<u8>,
    /// A gap stopped the record layer: the next segment that starts with
    /// a record header resumes it (handshake messages are no longer
    /// read, since where they start is lost).
    resync: bool,
}

/// Decryption state of a connection whose keys are in the key log.
struct Decrypt {
    /// The keys records of each direction are opened with now.
    keys: PerDir<Option<DirKeys>>,
    /// The keys each direction switches to: at its ChangeCipherSpec (TLS
    /// 1.2) or after its Finished (TLS 1.3: the application keys).
    next: PerDir<Option<DirKeys>>,
    tls13: bool,
    /// Decrypted handshake bytes not yet read as messages (TLS 1.3).
    hs: PerDir<Vec<u8>>,
    /// The body of the record being received.
    rec: PerDir<Vec<u8>>,
}

/// Where decrypted application data goes: direction, bytes, and the
/// frame that completed their record.
pub type PlainSink<'a> = dyn FnMut(Dir, &[u8], At) + 'a;

/// The TLS analyzer of one connection.
pub struct TlsSession {
    dirs: PerDir<DirState>,
    facts: TlsFacts,
    keylog: Option<Arc<KeyLog>>,
    dec: Option<Box<Decrypt>>,
    max_handshake: usize,
}

impl Default for TlsSession {
    fn default() -> Self {
        TlsSession {
            dirs: Default::default(),
            facts: TlsFacts::default(),
            keylog: None,
            dec: None,
            max_handshake: MAX_HANDSHAKE,
        }
    }
}

/// Whether `bytes` start with a plausible TLS record header (RFC 8446
/// §5.1: a known content type, version 3.x, a length within the limit).
fn starts_record(bytes: &[u8]) -> bool {
    match bytes {
        [ctype, 3, minor, hi, lo, ..] => {
            ContentType(*ctype).is_known()
                && *minor <= 4
                && usize::from(u16::from_be_bytes([*hi, *lo])) <= MAX_RECORD
        }
        _ => false,
    }
}

/// Lower-case hex, as key logs write client randoms.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl TlsSession {
    /// A session that decrypts with `keylog`, when it has the keys.
    pub fn with_keylog(keylog: Option<Arc<KeyLog>>) -> TlsSession {
        TlsSession {
            keylog,
            ..TlsSession::default()
        }
    }

    /// Skip handshake messages longer than `max` bytes instead of reading
    /// them (counted in [`TlsFacts::skipped`]).
    pub fn max_handshake(mut self, max: usize) -> TlsSession {
        self.max_handshake = max;
        self
    }

    /// Whether records are being decrypted with a key log.
    pub fn decrypting(&self) -> bool {
        self.dec.is_some()
    }

    /// In-order bytes of a direction; decrypted application data goes to
    /// `out`.
    pub fn data(&mut self, dir: Dir, mut bytes: &[u8], at: At, out: &mut PlainSink<'_>) {
        let s = &mut self.dirs[dir];
        if s.resync && s.stopped && self.dec.is_none() && starts_record(bytes) {
            // Segments start on record boundaries more often than not
            // (each flight, each alert): follow records again from here.
            s.stopped = false;
            s.hdr_len = 0;
            s.left = 0;
            s.hs.clear();
            s.alert.clear();
            // Whether the keys changed in what was lost is unknown: only
            // what cannot be encrypted (a 2-byte alert) is read.
            s.encrypted = true;
        }
        while !bytes.is_empty() && !self.dirs[dir].stopped {
            let s = &mut self.dirs[dir];
            if s.hdr_len < 5 {
                let mut k = 0;
                for (slot, &b) in s.hdr.iter_mut().skip(s.hdr_len).zip(bytes) {
                    *slot = b;
                    k += 1;
                }
                s.hdr_len += k;
                bytes = bytes.get(k..).unwrap_or_default();
                if s.hdr_len < 5 {
                    return;
                }
                let [ctype, major, _, hi, lo] = s.hdr;
                let ctype = ContentType(ctype);
                let len = usize::from(u16::from_be_bytes([hi, lo]));
                if !ctype.is_known() || major != 3 || len > MAX_RECORD {
                    s.stopped = true;
                    self.facts.lost[dir] = Some(at);
                    return;
                }
                (s.ctype, s.len, s.left) = (ctype, len, len);
                s.record_encrypted = s.encrypted;
            }
            let k = s.left.min(bytes.len());
            let (body, rest) = bytes.split_at(k);
            bytes = rest;
            s.left -= k;
            // A 2-byte alert record is in the clear even after the keys
            // changed: no cipher makes an alert that short, and a TLS 1.3
            // client that fails on the server's certificate has not yet
            // switched its own write keys.
            let clear = !s.encrypted || (s.ctype == ContentType::ALERT && s.len == 2);
            if !clear && s.ctype != ContentType::CHANGE_CIPHER_SPEC {
                if let Some(dec) = self.dec.as_mut().filter(|x| x.keys[dir].is_some()) {
                    dec.rec[dir].extend_from_slice(body);
                }
            }
            let s = &mut self.dirs[dir];
            if clear {
                match s.ctype {
                    ContentType::HANDSHAKE if !s.resync => {
                        let skip = s.hs_skip.min(body.len());
                        s.hs_skip -= skip;
                        s.hs.extend_from_slice(body.get(skip..).unwrap_or_default());
                        self.handshake_messages(dir, at);
                    }
                    ContentType::ALERT => self.dirs[dir].alert.extend_from_slice(body),
                    _ => {}
                }
            }
            let s = &mut self.dirs[dir];
            if s.left == 0 {
                s.hdr_len = 0;
                self.record(dir, at, out);
            }
            if self.dirs[dir].stopped {
                self.stop_decrypting(dir, at, LostBoundary::NotRecords);
            }
        }
    }

    /// A hole in a direction: record boundaries are lost from here.
    pub fn gap(&mut self, dir: Dir, at: At) {
        let s = &mut self.dirs[dir];
        if !s.stopped {
            s.stopped = true;
            if self.facts.lost[dir].is_none() {
                self.facts.lost[dir] = Some(at);
                self.facts.lost_to_gap[dir] = true;
            }
        }
        s.resync = true;
        self.stop_decrypting(dir, at, LostBoundary::Gap);
    }

    /// No more records of `dir` can be decrypted.
    fn stop_decrypting(&mut self, dir: Dir, at: At, why: LostBoundary) {
        let Some(dec) = self.dec.as_mut() else {
            return;
        };
        if dec.keys[dir].is_none() && dec.next[dir].is_none() {
            return;
        }
        dec.keys[dir] = None;
        dec.next[dir] = None;
        if let Some(x) = self.facts.decryption.as_mut() {
            x.problem(DecryptProblem::Lost { at, dir, why });
        }
    }

    /// The ServerHello chose the session's parameters: find its keys.
    fn start_decryption(&mut self) {
        let Some(keylog) = self.keylog.clone() else {
            return;
        };
        let (Some(ch), Some(sh)) = (&self.facts.client_hello, &self.facts.server_hello) else {
            return;
        };
        let mut x = Decryption::default();
        let tls13 = sh.version() == ProtocolVersion::TLS13;
        let suite = decrypt::suite(sh.cipher);
        match (keylog.get(&ch.random), suite) {
            (None, _) => x.problem(DecryptProblem::NoKeys {
                client_random: hex(&ch.random),
            }),
            (Some(_), None) => x.problem(DecryptProblem::CipherNotDecrypted { cipher: sh.cipher }),
            (Some(_), Some(_)) if tls13 != decrypt::is_tls13_suite(sh.cipher) => {
                x.problem(DecryptProblem::SuiteOfOtherVersion {
                    version: sh.version(),
                    cipher: sh.cipher,
                })
            }
            (Some(sec), Some(suite)) if tls13 => {
                // A client that gave up during the handshake logs only the
                // secrets it used: each direction is read with what is
                // there.
                let hs = [&sec.client_handshake, &sec.server_handshake];
                let Some(first) = hs.iter().filter_map(|s| s.as_ref()).map(|s| s.origin).min()
                else {
                    x.problem(DecryptProblem::NoHandshakeSecrets);
                    self.facts.decryption = Some(x);
                    return;
                };
                let keys = |s: &Option<keylog::Secret>| {
                    s.as_ref().and_then(|s| DirKeys::tls13(suite, &s.bytes))
                };
                x.keylog = Some(keylog.describe(first));
                self.dec = Some(Box::new(Decrypt {
                    keys: PerDir(hs.map(keys)),
                    next: PerDir::new(keys(&sec.client_traffic), keys(&sec.server_traffic)),
                    tls13,
                    hs: Default::default(),
                    rec: Default::default(),
                }));
            }
            (Some(sec), Some(suite)) => {
                let Some(master) = &sec.master else {
                    x.problem(DecryptProblem::NoMasterSecret);
                    self.facts.decryption = Some(x);
                    return;
                };
                x.keylog = Some(keylog.describe(master.origin));
                let [c, s] = match DirKeys::tls12(suite, &master.bytes, &ch.random, &sh.random) {
                    Some(k) => k.map(Some),
                    None => [None, None],
                };
                self.dec = Some(Box::new(Decrypt {
                    keys: PerDir::default(),
                    next: PerDir::new(c, s),
                    tls13,
                    hs: Default::default(),
                    rec: Default::default(),
                }));
            }
        }
        self.facts.decryption = Some(x);
    }

    /// Open the record of `dir` just completed. `Err` when it could not
    /// be (the caller then reads it by its shape).
    fn decrypted_record(&mut self, dir: Dir, at: At, out: &mut PlainSink<'_>) -> Result<(), ()> {
        let header = self.dirs[dir].hdr;
        let Some(dec) = self.dec.as_mut() else {
            return Err(());
        };
        let mut body = std::mem::take(&mut dec.rec[dir]);
        // Still on TLS 1.3 handshake keys: if the Finished was missed
        // (a handshake message too long to keep), the application keys
        // may be the right ones; keep a copy to try them.
        let spare = (dec.tls13 && dec.next[dir].is_some()).then(|| body.clone());
        let Some(keys) = dec.keys[dir].as_mut() else {
            return Err(());
        };
        let mut opened = keys.open(header, &mut body);
        if let (true, Some(mut copy)) = (opened.is_err(), spare) {
            if let Some(mut app) = dec.next[dir].take() {
                if let Ok(r) = app.open(header, &mut copy) {
                    dec.keys[dir] = Some(app);
                    body = copy;
                    opened = Ok(r);
                }
            }
        }
        let (ty, range) = match opened {
            Ok(r) => r,
            Err(e) => {
                dec.keys[dir] = None;
                dec.next[dir] = None;
                if let Some(x) = self.facts.decryption.as_mut() {
                    x.problem(DecryptProblem::NotOpened {
                        at,
                        dir,
                        too_short: e == decrypt::OpenError::TooShort,
                    });
                }
                return Err(());
            }
        };
        let plain = body.get(range).unwrap_or_default();
        if let Some(x) = self.facts.decryption.as_mut() {
            x.records[dir] += 1;
        }
        match ty {
            ContentType::APPLICATION_DATA => {
                if let Some(x) = self.facts.decryption.as_mut() {
                    x.plaintext[dir] += plain.len() as u64;
                }
                let len = u16::from_be_bytes([header[3], header[4]]);
                self.facts.encrypted[dir].count(u64::from(len), at);
                if self.facts.complete.is_none() {
                    self.facts.complete = Some(at);
                }
                out(dir, plain, at);
            }
            ContentType::ALERT => self.alerts(dir, at, plain, true),
            ContentType::HANDSHAKE if self.dec.as_ref().is_some_and(|x| x.tls13) => {
                if let Some(dec) = self.dec.as_mut() {
                    if dec.hs[dir].len() + plain.len() <= self.max_handshake.saturating_add(4) {
                        dec.hs[dir].extend_from_slice(plain);
                    } else {
                        dec.hs[dir].clear();
                        self.facts.skipped += 1;
                    }
                }
                self.decrypted_handshake(dir, at);
            }
            ContentType::HANDSHAKE => {
                // TLS 1.2: the Finished, right after ChangeCipherSpec.
                self.facts.finished[dir].get_or_insert(at);
                self.check_complete(at);
            }
            _ => {}
        }
        // A record buffer grown to a full record (16 KiB) goes back to the
        // allocator: thousands of sessions idle between records would
        // otherwise hold it for their whole life.
        if let Some(dec) = self
            .dec
            .as_mut()
            .filter(|_| body.capacity() <= KEPT_RECORD_BUFFER)
        {
            body.clear();
            dec.rec[dir] = body;
        }
        Ok(())
    }

    /// Read the complete TLS 1.3 handshake messages decrypted so far.
    fn decrypted_handshake(&mut self, dir: Dir, at: At) {
        loop {
            let Some(dec) = self.dec.as_mut() else {
                return;
            };
            let hs = &mut dec.hs[dir];
            let (Some(&ty), Some(len)) = (hs.first(), hs.get(1..).and_then(be24)) else {
                return;
            };
            if hs.len() < 4 + len {
                return;
            }
            let msg: Vec<u8> = hs.drain(..4 + len).collect();
            let f = &mut self.facts;
            match (dir, HandshakeType(ty)) {
                (Dir::ServerToClient, HandshakeType::ENCRYPTED_EXTENSIONS) => {
                    // EncryptedExtensions: ALPN lives here in TLS 1.3.
                    if let Some(sh) = f.server_hello.as_mut().filter(|sh| sh.alpn.is_none()) {
                        sh.alpn = hello::alpn_of_extensions(msg.get(4..).unwrap_or_default());
                    }
                }
                (Dir::ServerToClient, HandshakeType::CERTIFICATE) => {
                    f.certificate_at.get_or_insert(at);
                    if f.certificates.is_empty() {
                        f.certificates = certificate_list_13(&msg);
                    }
                }
                (Dir::ClientToServer, HandshakeType::CERTIFICATE) => {
                    f.client_certificate = Some((at, certificate_list_13(&msg).len()));
                }
                (Dir::ServerToClient, HandshakeType::CERTIFICATE_REQUEST) => {
                    f.certificate_request.get_or_insert(at);
                }
                (_, HandshakeType::FINISHED) => {
                    // Finished: this side now writes with its application
                    // keys.
                    f.finished[dir].get_or_insert(at);
                    if dir == Dir::ClientToServer {
                        f.complete.get_or_insert(at);
                    }
                    if let Some(dec) = self.dec.as_mut() {
                        if dec.next[dir].is_some() {
                            dec.keys[dir] = dec.next[dir].take();
                        }
                    }
                }
                (_, HandshakeType::KEY_UPDATE) => {
                    // KeyUpdate: the sender's next records use the next
                    // generation of its traffic secret.
                    if let Some(dec) = self.dec.as_mut() {
                        dec.keys[dir] = dec.keys[dir].as_ref().and_then(DirKeys::update);
                    }
                }
                _ => {}
            }
        }
    }

    /// The facts, once the connection is over.
    pub fn finish(self) -> TlsFacts {
        self.facts
    }

    /// The size of an encrypted TLS 1.3 alert: 2 bytes, the inner content
    /// type, and the AEAD tag (8 bytes for the CCM_8 suite, else 16).
    fn alert_size(&self) -> usize {
        let tag = match self.facts.server_hello.as_ref().map(|s| s.cipher) {
            Some(0x1305) => 8,
            _ => 16,
        };
        2 + 1 + tag
    }

    /// A whole record of a direction went by.
    fn record(&mut self, dir: Dir, at: At, out: &mut PlainSink<'_>) {
        let (ctype, len, encrypted) = {
            let s = &self.dirs[dir];
            (s.ctype, s.len, s.record_encrypted)
        };
        let keyed = self.dec.as_ref().is_some_and(|x| x.keys[dir].is_some());
        if encrypted
            && keyed
            && ctype != ContentType::CHANGE_CIPHER_SPEC
            && !(ctype == ContentType::ALERT && len == 2)
            && self.decrypted_record(dir, at, out).is_ok()
        {
            return;
        }
        let tls13 = self.facts.tls13();
        // After a HelloRetryRequest (TLS 1.3 only) both sides may send the
        // compatibility ChangeCipherSpec before the real hellos.
        let compat = tls13 || self.facts.hello_retry.is_some();
        match ctype {
            ContentType::CHANGE_CIPHER_SPEC if !compat => {
                self.dirs[dir].encrypted = true;
                self.facts.change_cipher_spec[dir].get_or_insert(at);
                if let Some(dec) = self.dec.as_mut() {
                    dec.keys[dir] = dec.next[dir].take();
                }
            }
            ContentType::ALERT if encrypted && len != 2 => self.alert(Alert {
                dir,
                at,
                level: None,
                code: None,
                encrypted: true,
            }),
            ContentType::ALERT => {
                let bytes = std::mem::take(&mut self.dirs[dir].alert);
                self.alerts(dir, at, &bytes, false);
            }
            ContentType::HANDSHAKE if encrypted => {
                // TLS 1.2: Finished, right after ChangeCipherSpec.
                self.facts.finished[dir].get_or_insert(at);
                self.check_complete(at);
            }
            ContentType::APPLICATION_DATA if tls13 && self.facts.complete.is_none() => {
                // The encrypted handshake of TLS 1.3.
                // No handshake message is that short (an empty
                // EncryptedExtensions is 6 bytes + 17): it is an alert.
                if len == self.alert_size() {
                    self.alert(Alert {
                        dir,
                        at,
                        level: None,
                        code: None,
                        encrypted: true,
                    });
                } else if self.facts.finished[dir].is_none() {
                    self.facts.finished[dir] = Some(at);
                    if dir == Dir::ClientToServer {
                        // The client's Finished ends the handshake.
                        self.facts.complete = Some(at);
                    }
                }
            }
            ContentType::APPLICATION_DATA => {
                if tls13 && len == self.alert_size() {
                    // After the handshake a record of an alert's size is
                    // close_notify, or an error alert.
                    self.alert(Alert {
                        dir,
                        at,
                        level: None,
                        code: None,
                        encrypted: true,
                    });
                    return;
                }
                self.facts.encrypted[dir].count(len as u64, at);
                if self.facts.complete.is_none() && !tls13 {
                    // Application data without a Finished seen: the
                    // handshake happened before the capture (or was lost).
                    self.facts.complete = Some(at);
                }
            }
            _ => {}
        }
    }

    fn check_complete(&mut self, at: At) {
        if self.facts.complete.is_none() && self.facts.finished.iter().all(Option::is_some) {
            self.facts.complete = Some(at);
        }
    }

    /// Every (level, description) pair of a readable alert record; read
    /// after decryption when `decrypted`.
    fn alerts(&mut self, dir: Dir, at: At, bytes: &[u8], decrypted: bool) {
        for pair in bytes.chunks_exact(2) {
            if let [level, code] = *pair {
                self.alert(Alert {
                    dir,
                    at,
                    level: Some(AlertLevelCode(level)),
                    code: Some(AlertDescription(code)),
                    encrypted: decrypted,
                });
            }
        }
    }

    fn alert(&mut self, a: Alert) {
        if self.facts.alerts.len() < MAX_ALERTS {
            self.facts.alerts.push(a);
        }
    }

    /// Read every complete plaintext handshake message of a direction.
    fn handshake_messages(&mut self, dir: Dir, at: At) {
        let mut used = 0;
        loop {
            let hs = self.dirs[dir].hs.get(used..).unwrap_or_default();
            // A length needs the 4-byte header (type, 24-bit length).
            let Some(len) = hs.get(1..).and_then(be24) else {
                break;
            };
            if len > self.max_handshake {
                // Too long to keep: skip its body as it arrives.
                let have = hs.len().saturating_sub(4);
                let skip = len.min(have);
                self.facts.skipped += 1;
                self.dirs[dir].hs_skip = len - skip;
                used += 4 + skip;
                continue;
            }
            let Some(msg) = hs.get(..4 + len) else {
                break;
            };
            let msg = msg.to_vec();
            used += 4 + len;
            self.handshake(dir, &msg, at);
            if self.dirs[dir].encrypted {
                // The rest of the direction is encrypted (TLS 1.3 after
                // the ServerHello).
                used = self.dirs[dir].hs.len();
                break;
            }
        }
        let hs = &mut self.dirs[dir].hs;
        hs.drain(..used.min(hs.len()));
        if hs.is_empty() {
            // Messages read: the buffer (a certificate chain's size) is
            // not kept for the life of the connection.
            *hs = Vec::new();
        }
    }

    /// One plaintext handshake message (header included).
    fn handshake(&mut self, dir: Dir, msg: &[u8], at: At) {
        let Some(&ty) = msg.first() else {
            return;
        };
        let f = &mut self.facts;
        match (dir, HandshakeType(ty)) {
            (Dir::ClientToServer, HandshakeType::CLIENT_HELLO) => {
                f.client_hellos += 1;
                if f.client_hello.is_none() {
                    f.client_hello = hello::client_hello(msg, at);
                }
            }
            (Dir::ServerToClient, HandshakeType::SERVER_HELLO) => {
                let Some(sh) = hello::server_hello(msg, at) else {
                    return;
                };
                if sh.retry {
                    f.hello_retry.get_or_insert(sh);
                    return;
                }
                let tls13 = sh.version() == ProtocolVersion::TLS13;
                if f.server_hello.is_some() {
                    return;
                }
                f.server_hello = Some(sh);
                if tls13 {
                    // Everything after the ServerHello is encrypted, both
                    // ways (the client's next plaintext would only be a
                    // compatibility ChangeCipherSpec).
                    for s in self.dirs.iter_mut() {
                        s.encrypted = true;
                    }
                }
                self.start_decryption();
            }
            (Dir::ServerToClient, HandshakeType::CERTIFICATE) => {
                f.certificate_at.get_or_insert(at);
                if f.certificates.is_empty() {
                    f.certificates = certificate_list(msg);
                }
            }
            (Dir::ClientToServer, HandshakeType::CERTIFICATE) => {
                f.client_certificate = Some((at, certificate_list(msg).len()));
            }
            (Dir::ServerToClient, HandshakeType::CERTIFICATE_REQUEST) => {
                f.certificate_request.get_or_insert(at);
            }
            (Dir::ServerToClient, HandshakeType::SERVER_HELLO_DONE) => {
                f.server_hello_done.get_or_insert(at);
            }
            _ => {}
        }
    }
}

/// The certificates of a TLS 1.2 Certificate message (header included):
/// a 24-bit list length, then 24-bit length + DER for each.
fn certificate_list(msg: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let Some(mut list) = msg.get(7..) else {
        return out;
    };
    while out.len() < MAX_CERTS {
        let Some(n) = be24(list) else { break };
        let Some(der) = list.get(3..3 + n) else { break };
        out.push(der.to_vec());
        list = list.get(3 + n..).unwrap_or_default();
    }
    out
}

/// The certificates of a TLS 1.3 Certificate message (header included):
/// a request context, a 24-bit list length, then for each entry a 24-bit
/// length + DER and a 16-bit length + extensions.
fn certificate_list_13(msg: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let Some(&ctx) = msg.get(4) else {
        return out;
    };
    let Some(mut list) = msg.get(5 + ctx as usize + 3..) else {
        return out;
    };
    while out.len() < MAX_CERTS {
        let Some(n) = be24(list) else {
            break;
        };
        let Some(der) = list.get(3..3 + n) else { break };
        out.push(der.to_vec());
        let Some(ext) = list.get(3 + n..).and_then(be16) else {
            break;
        };
        let ext = usize::from(ext);
        list = list.get(5 + n + ext..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(frame: u64) -> At {
        At {
            frame,
            ..At::default()
        }
    }

    fn feed(s: &mut TlsSession, dir: Dir, bytes: &[u8], at: At) {
        s.data(dir, bytes, at, &mut |_, _, _| {});
    }

    fn record(ctype: ContentType, body: &[u8]) -> Vec<u8> {
        let mut r = vec![ctype.0, 3, 3];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    #[test]
    fn detects_client_hello_records() {
        assert!(looks_like_tls(&[22, 3, 1, 0, 200, 1]));
        assert!(looks_like_tls(&[22, 3, 3]));
        assert!(!looks_like_tls(b"GET / HTTP/1.1\r\n"));
        assert!(!looks_like_tls(&[22, 3, 3, 0, 5, 2]));
        assert!(looks_like_tls(&[23, 3, 3, 0, 40, 0xab]));
        assert!(!looks_like_tls(&[23, 3, 3, 0xff, 0xff, 0xab]));
        assert!(looks_like_tls_from_server(&[23, 3, 3, 0, 40, 0xab]));
        assert!(!looks_like_tls_from_server(&[22, 3, 1, 0, 200, 1]));
        assert!(!looks_like_tls_from_server(b"HTTP/1.1 101 Switching"));
    }

    #[test]
    fn alerts_split_across_segments() {
        let mut s = TlsSession::default();
        let bytes = record(ContentType::ALERT, &[2, 45]);
        for (i, b) in bytes.iter().enumerate() {
            feed(
                &mut s,
                Dir::ClientToServer,
                std::slice::from_ref(b),
                at(i as u64 + 1),
            );
        }
        let f = s.finish();
        assert_eq!(f.alerts.len(), 1);
        assert_eq!(
            f.alerts[0].code,
            Some(AlertDescription::CERTIFICATE_EXPIRED)
        );
        assert_eq!(f.alerts[0].level, Some(AlertLevelCode::FATAL));
        assert_eq!(f.alerts[0].at.frame, 7);
    }

    #[test]
    fn handshake_message_over_two_records_and_certificates() {
        // A Certificate message with two "certificates" of 3 and 2 bytes,
        // split over two records sent in one segment.
        let certs = [vec![1u8, 2, 3], vec![4u8, 5]];
        let mut list = Vec::new();
        for c in &certs {
            list.extend_from_slice(&(c.len() as u32).to_be_bytes()[1..]);
            list.extend_from_slice(c);
        }
        let mut body = (list.len() as u32).to_be_bytes()[1..].to_vec();
        body.extend_from_slice(&list);
        let mut msg = vec![11];
        msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        msg.extend_from_slice(&body);
        let mut wire = record(ContentType::HANDSHAKE, &msg[..5]);
        wire.extend(record(ContentType::HANDSHAKE, &msg[5..]));
        let mut s = TlsSession::default();
        feed(&mut s, Dir::ServerToClient, &wire, at(3));
        let f = s.finish();
        assert_eq!(f.certificates, certs.to_vec());
        assert_eq!(f.certificate_at, Some(at(3)));
    }

    #[test]
    fn plaintext_alert_after_tls13_server_hello() {
        // OpenSSL as a TLS 1.3 client rejects the server's certificate
        // before it has switched its own keys: the alert is in the clear.
        let mut s = TlsSession::default();
        s.dirs[Dir::ClientToServer].encrypted = true;
        s.dirs[Dir::ServerToClient].encrypted = true;
        feed(
            &mut s,
            Dir::ClientToServer,
            &record(ContentType::ALERT, &[2, 45]),
            at(8),
        );
        feed(
            &mut s,
            Dir::ServerToClient,
            &record(ContentType::ALERT, &[0; 26]),
            at(9),
        );
        let f = s.finish();
        assert_eq!(
            (f.alerts[0].code, f.alerts[0].encrypted),
            (Some(AlertDescription::CERTIFICATE_EXPIRED), false)
        );
        assert_eq!((f.alerts[1].code, f.alerts[1].encrypted), (None, true));
    }

    #[test]
    fn not_tls_stops_the_direction() {
        let mut s = TlsSession::default();
        feed(
            &mut s,
            Dir::ClientToServer,
            b"GET / HTTP/1.1\r\n\r\n",
            at(1),
        );
        let f = s.finish();
        assert_eq!(f.lost[Dir::ClientToServer], Some(at(1)));
    }

    #[test]
    fn oversized_handshake_message_is_skipped() {
        let mut s = TlsSession::default();
        let len = MAX_HANDSHAKE + 10;
        let mut msg = vec![11];
        msg.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
        msg.resize(4 + len, 0);
        let mut wire = Vec::new();
        for chunk in msg.chunks(1 << 14) {
            wire.extend(record(ContentType::HANDSHAKE, chunk));
        }
        wire.extend(record(ContentType::ALERT, &[2, 40]));
        feed(&mut s, Dir::ServerToClient, &wire, at(1));
        let f = s.finish();
        assert_eq!(f.skipped, 1);
        assert!(f.certificates.is_empty());
        assert_eq!(f.alerts[0].code, Some(AlertDescription::HANDSHAKE_FAILURE));
    }

    #[test]
    fn tls12_completion_after_both_finished() {
        let mut s = TlsSession::default();
        // Each side's ChangeCipherSpec, then its (encrypted) Finished.
        let ccs = record(ContentType::CHANGE_CIPHER_SPEC, &[1]);
        let finished = record(ContentType::HANDSHAKE, &[0; 40]);
        feed(&mut s, Dir::ClientToServer, &ccs, at(1));
        feed(&mut s, Dir::ClientToServer, &finished, at(1));
        assert!(s.facts.complete.is_none());
        feed(&mut s, Dir::ServerToClient, &ccs, at(2));
        feed(&mut s, Dir::ServerToClient, &finished, at(2));
        let alert = record(ContentType::ALERT, &[0; 26]);
        feed(&mut s, Dir::ServerToClient, &alert, at(3));
        let f = s.finish();
        assert_eq!(f.complete, Some(at(2)));
        assert!(f.alerts[0].encrypted);
    }

    #[test]
    fn tls13_server_hello_with_a_tls12_suite_does_not_panic() {
        // A ServerHello that negotiates TLS 1.3 (supported_versions) with
        // a TLS 1.2 AES-GCM suite, whose records carry an explicit nonce:
        // TLS 1.3 keys have a 12-byte IV and no room for one. Opening a
        // record with them used to panic in copy_from_slice.
        let ch = hello::tests::rfc8448_client_hello_bytes();
        let random = hex(&ch[6..38]);
        let mut sh = vec![2, 0, 0, 46, 3, 3];
        sh.extend_from_slice(&[7; 32]); // random
        sh.push(0); // session id
        sh.extend_from_slice(&[0xc0, 0x2f]); // ECDHE_RSA_WITH_AES_128_GCM_SHA256
        sh.push(0); // compression
        sh.extend_from_slice(&[0, 6, 0, 43, 0, 2, 3, 4]); // supported_versions: TLS 1.3
        let mut keys = keylog::KeyLog::new();
        let secret = hex(&[9; 32]);
        keys.parse(
            "t.keys",
            &format!(
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET {random} {secret}\n\
                 SERVER_HANDSHAKE_TRAFFIC_SECRET {random} {secret}\n"
            ),
        );
        let mut s = TlsSession::with_keylog(Some(Arc::new(keys)));
        feed(
            &mut s,
            Dir::ClientToServer,
            &record(ContentType::HANDSHAKE, &ch),
            at(1),
        );
        feed(
            &mut s,
            Dir::ServerToClient,
            &record(ContentType::HANDSHAKE, &sh),
            at(2),
        );
        feed(
            &mut s,
            Dir::ServerToClient,
            &record(ContentType::APPLICATION_DATA, &[0; 40]),
            at(3),
        );
        let f = s.finish();
        assert_eq!(f.version(), Some(ProtocolVersion::TLS13));
        let x = f.decryption.unwrap();
        assert!(!x.decrypted());
        assert!(matches!(
            x.problem,
            Some(DecryptProblem::SuiteOfOtherVersion { .. })
        ));
    }

    proptest::proptest! {
        /// Any bytes, cut anywhere, in both directions: no panic, and
        /// what is kept stays within its caps.
        #[test]
        fn arbitrary_records_never_panic(
            c2s in proptest::collection::vec(proptest::num::u8::ANY, 0..3000),
            s2c in proptest::collection::vec(proptest::num::u8::ANY, 0..3000),
            cuts in proptest::collection::vec(1usize..700, 1..20),
            tls13 in proptest::bool::ANY,
        ) {
            let mut s = TlsSession::default();
            // Start as a real connection would: a handshake record header.
            let mut c = record(ContentType::HANDSHAKE, &[]);
            c.truncate(5);
            c[3..5].copy_from_slice(&(c2s.len().min(MAX_RECORD) as u16).to_be_bytes());
            c.extend_from_slice(&c2s);
            if tls13 {
                s.dirs[Dir::ClientToServer].encrypted = true;
                s.dirs[Dir::ServerToClient].encrypted = true;
            }
            let (mut i, mut j, mut k) = (0, 0, 0);
            while i < c.len() || j < s2c.len() {
                let n = cuts[k % cuts.len()];
                k += 1;
                let a = (i + n).min(c.len());
                feed(&mut s, Dir::ClientToServer, &c[i..a], at(k as u64));
                i = a;
                let b = (j + n).min(s2c.len());
                feed(&mut s, Dir::ServerToClient, &s2c[j..b], at(k as u64));
                j = b;
            }
            let f = s.finish();
            proptest::prop_assert!(f.alerts.len() <= MAX_ALERTS);
            proptest::prop_assert!(f.certificates.len() <= MAX_CERTS);
            if let Some(ch) = &f.client_hello {
                let _ = (ch.ja3(), ch.ja4(), ch.offered_versions());
            }
        }

        /// A real ClientHello (RFC 8448) with bytes flipped, in one record,
        /// cut anywhere: no panic.
        #[test]
        fn mutated_client_hello_never_panics(
            flips in proptest::collection::vec((0usize..200, proptest::num::u8::ANY), 1..6),
            cut in 1usize..300,
        ) {
            let mut msg = hello::tests::rfc8448_client_hello_bytes();
            for (i, b) in flips {
                let n = msg.len();
                msg[i % n] ^= b;
            }
            let wire = record(ContentType::HANDSHAKE, &msg);
            let mut s = TlsSession::default();
            for (i, part) in wire.chunks(cut).enumerate() {
                feed(&mut s, Dir::ClientToServer, part, at(i as u64 + 1));
            }
            let f = s.finish();
            if let Some(ch) = &f.client_hello {
                let _ = (ch.ja3(), ch.ja4(), ch.max_version());
            }
        }

        /// Certificates made of mutated bytes of a real one: describing and
        /// judging them never panics.
        #[test]
        fn mutated_certificates_never_panic(
            flips in proptest::collection::vec((0usize..2000, proptest::num::u8::ANY), 0..8),
            cut in 0usize..2000,
        ) {
            let pem = include_str!("../../../samples/tls-pki/leaf-ec.pem");
            let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            let mut der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap();
            for (i, b) in flips {
                let n = der.len();
                der[i % n] ^= b;
            }
            der.truncate(cut.max(1));
            let _ = cert::describe(&der);
            let _ = cert::judge(&[der.clone(), der], Some("localhost"), 1_800_000_000, &cert::TrustStore::default());
        }
    }
}
