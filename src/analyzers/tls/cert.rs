//! Certificates: what each one says (through `x509-parser`), and a
//! judgement of the server's chain at the capture's time (through
//! `rustls-webpki`, against Mozilla's roots from `webpki-roots` and any
//! CA file the user gives). Time is always the packet's timestamp, never
//! the clock of the machine running the tool.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use sha2::{Digest, Sha256};
use webpki::{EndEntityCert, KeyUsage};
use x509_parser::extensions::GeneralName;
use x509_parser::objects::{oid2sn, oid_registry};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// What one certificate says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Serial number, hex bytes joined by colons.
    pub serial: String,
    /// Start of validity, seconds since the epoch.
    pub not_before: i64,
    /// End of validity, seconds since the epoch.
    pub not_after: i64,
    /// Subject alternative names, as "DNS:name" or "IP Address:addr".
    pub sans: Vec<String>,
    /// Key type ("RSA", "EC P-256", "Ed25519", ...).
    pub key_type: String,
    /// Key size in bits.
    pub key_bits: u32,
    /// Signature algorithm, as OpenSSL names it.
    pub signature_algorithm: String,
    /// A CA certificate (basicConstraints CA:TRUE).
    pub is_ca: bool,
    /// Subject and issuer are the same name.
    pub self_signed: bool,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
    /// The subject Name's DER contents (without its SEQUENCE header), as
    /// trust anchors hold it.
    pub subject_der: Vec<u8>,
    /// The issuer Name's DER contents.
    pub issuer_der: Vec<u8>,
}

/// The contents of a DER TLV (tag, length, value): the value, or the
/// whole input when the header does not parse.
fn der_contents(tlv: &[u8]) -> &[u8] {
    let Some(&first) = tlv.get(1) else {
        return tlv;
    };
    let (len, start) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return tlv;
        }
        let Some(bytes) = tlv.get(2..2 + n) else {
            return tlv;
        };
        (
            bytes.iter().fold(0usize, |a, b| a << 8 | *b as usize),
            2 + n,
        )
    };
    tlv.get(start..start.saturating_add(len)).unwrap_or(tlv)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Read a certificate; `None` when its DER does not parse.
pub fn describe(der: &[u8]) -> Option<CertInfo> {
    let (_, c) = X509Certificate::from_der(der).ok()?;
    let sans = match c.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .map(|n| match n {
                GeneralName::DNSName(s) => format!("DNS:{s}"),
                GeneralName::IPAddress(b) => format!("IP Address:{}", ip(b)),
                GeneralName::URI(s) => format!("URI:{s}"),
                GeneralName::RFC822Name(s) => format!("email:{s}"),
                other => format!("{other}"),
            })
            .collect(),
        _ => Vec::new(),
    };
    let spki = c.public_key();
    let reg = oid_registry();
    let (key_type, key_bits) = match spki.parsed() {
        Ok(PublicKey::RSA(k)) => ("RSA".to_string(), k.key_size()),
        Ok(PublicKey::EC(k)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| match oid.to_id_string().as_str() {
                    "1.2.840.10045.3.1.7" => "P-256".to_string(),
                    "1.3.132.0.34" => "P-384".to_string(),
                    "1.3.132.0.35" => "P-521".to_string(),
                    other => oid2sn(&oid, reg).map_or(other.to_string(), str::to_string),
                });
            (
                format!("EC {}", curve.unwrap_or_default())
                    .trim()
                    .to_string(),
                k.key_size(),
            )
        }
        Ok(PublicKey::DSA(_)) => ("DSA".to_string(), 0),
        _ => match spki.algorithm.algorithm.to_id_string().as_str() {
            "1.3.101.112" => ("Ed25519".to_string(), 256),
            "1.3.101.113" => ("Ed448".to_string(), 456),
            other => (
                oid2sn(&spki.algorithm.algorithm, reg).map_or(other.to_string(), str::to_string),
                0,
            ),
        },
    };
    let sig = &c.signature_algorithm.algorithm;
    Some(CertInfo {
        subject: c.subject().to_string(),
        issuer: c.issuer().to_string(),
        serial: c.raw_serial_as_string(),
        not_before: c.validity().not_before.timestamp(),
        not_after: c.validity().not_after.timestamp(),
        sans,
        key_type,
        key_bits: key_bits as u32,
        signature_algorithm: oid2sn(sig, reg).map_or(sig.to_id_string(), str::to_string),
        is_ca: c.is_ca(),
        self_signed: c.subject().as_raw() == c.issuer().as_raw(),
        sha256: hex(&Sha256::digest(der)),
        subject_der: der_contents(c.subject().as_raw()).to_vec(),
        issuer_der: der_contents(c.issuer().as_raw()).to_vec(),
    })
}

fn ip(b: &[u8]) -> String {
    if let Ok(a) = <[u8; 4]>::try_from(b) {
        std::net::Ipv4Addr::from(a).to_string()
    } else if let Ok(a) = <[u8; 16]>::try_from(b) {
        std::net::Ipv6Addr::from(a).to_string()
    } else {
        hex(b)
    }
}

/// Chains judged so far, by [`cache_key`]; cleared when it holds this many.
const MAX_CACHED: usize = 4096;

/// Roots a chain is checked against: Mozilla's, and those of `--ca-file`;
/// and the judgements already made, since one server's chain comes back in
/// every connection to it and checking its signatures is the costly part.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    extra: Vec<TrustAnchor<'static>>,
    /// Where the extra roots came from.
    pub extra_source: Option<String>,
    all: OnceLock<Vec<TrustAnchor<'static>>>,
    judged: Arc<Mutex<HashMap<[u8; 32], Judgement>>>,
}

/// Why a `--ca-file` was not taken.
#[derive(Debug, thiserror::Error)]
pub enum CaFileError {
    /// It could not be read, or holds a PEM section that is not valid.
    #[error("{}: {source}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What reading it said.
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// A certificate in it cannot be a trust anchor.
    #[error("{}: a certificate is not a usable CA: {source:?}", path.display())]
    NotACa {
        /// The file.
        path: PathBuf,
        /// Why webpki refused it.
        #[source]
        source: webpki::Error,
    },
    /// It holds no PEM certificate at all.
    #[error("{}: no PEM certificate in it", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

impl TrustStore {
    /// Mozilla's roots and the CA certificates of a PEM file.
    pub fn with_ca_file(path: &Path) -> Result<TrustStore, CaFileError> {
        let pem = |source| CaFileError::Pem {
            path: path.to_path_buf(),
            source,
        };
        let iter = CertificateDer::pem_file_iter(path).map_err(pem)?;
        let mut extra = Vec::new();
        for der in iter {
            let der = der.map_err(pem)?;
            let anchor =
                webpki::anchor_from_trusted_cert(&der).map_err(|source| CaFileError::NotACa {
                    path: path.to_path_buf(),
                    source,
                })?;
            extra.push(anchor.to_owned());
        }
        if extra.is_empty() {
            return Err(CaFileError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(TrustStore {
            extra,
            extra_source: Some(path.display().to_string()),
            ..TrustStore::default()
        })
    }

    fn anchors(&self) -> &[TrustAnchor<'static>] {
        self.all.get_or_init(|| {
            let mut all = webpki_roots::TLS_SERVER_ROOTS.to_vec();
            all.extend(self.extra.iter().cloned());
            all
        })
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Judgement> {
        self.judged.lock().ok()?.get(key).cloned()
    }

    fn remember(&self, key: [u8; 32], j: &Judgement) {
        if let Ok(mut m) = self.judged.lock() {
            if m.len() >= MAX_CACHED {
                m.clear();
            }
            m.insert(key, j.clone());
        }
    }
}

/// What identifies a judgement apart from time: the name asked for and
/// every certificate, each length-prefixed.
fn cache_key(chain: &[Vec<u8>], sni: Option<&str>) -> [u8; 32] {
    let mut h = Sha256::new();
    let name = sni.unwrap_or("").as_bytes();
    h.update((name.len() as u64).to_be_bytes());
    h.update(name);
    for der in chain {
        h.update((der.len() as u64).to_be_bytes());
        h.update(der);
    }
    h.finalize().into()
}

/// Something wrong with a server's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A certificate of the chain had expired at the capture's time.
    Expired {
        /// Which one (0 = leaf).
        index: usize,
        /// Its end of validity.
        not_after: i64,
    },
    /// A certificate was not valid yet.
    NotYetValid {
        /// Which one.
        index: usize,
        /// Its start of validity.
        not_before: i64,
    },
    /// The leaf is self-signed.
    SelfSigned,
    /// The chain sent ends at a root that is not trusted.
    UntrustedRoot {
        /// That root's subject.
        root: String,
    },
    /// The top certificate sent names an issuer that was not sent and is
    /// not a trusted root: a missing intermediate, or a private CA.
    UnknownIssuer {
        /// The issuer named.
        issuer: String,
        /// Only the leaf was sent.
        leaf_only: bool,
    },
    /// The leaf does not name the host the client asked for (SNI).
    NameMismatch {
        /// The SNI.
        name: String,
        /// The names the leaf has.
        names: Vec<String>,
    },
    /// A key too small to be accepted.
    WeakKey {
        /// Which certificate.
        index: usize,
        /// Its type and size.
        key: String,
    },
    /// The leaf may not be used for a TLS server (extended key usage).
    NotForServers,
    /// A signature of the chain is invalid or uses an algorithm nobody
    /// accepts.
    BadSignature(String),
    /// The chain could not be read or checked.
    Other(String),
}

/// The verdict on a chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Judgement {
    /// Every certificate sent, in order.
    pub certs: Vec<CertInfo>,
    /// What is wrong, most decisive first; empty when the chain is valid
    /// for the name at that time.
    pub problems: Vec<Problem>,
    /// The chain leads to a trusted root (time aside); `None` when that
    /// cannot be checked because no moment lies inside every
    /// certificate's validity.
    pub trusted: Option<bool>,
}

/// Judge a server's chain (leaf first) for `sni` at `at` seconds since the
/// epoch. An expired certificate does not hide a second problem: trust is
/// checked at moments inside the certificates' validity, whatever `at` is.
pub fn judge(chain: &[Vec<u8>], sni: Option<&str>, at: i64, store: &TrustStore) -> Judgement {
    let key = cache_key(chain, sni);
    let mut j = match store.cached(&key) {
        Some(j) => j,
        None => {
            let j = judge_timeless(chain, sni, store);
            store.remember(key, &j);
            j
        }
    };
    for (index, c) in j.certs.iter().enumerate() {
        if at > c.not_after {
            j.problems.push(Problem::Expired {
                index,
                not_after: c.not_after,
            });
        } else if at < c.not_before {
            j.problems.push(Problem::NotYetValid {
                index,
                not_before: c.not_before,
            });
        }
    }
    // Facts about the certificates first, trust last: the client may trust
    // a private root this tool was not given.
    j.problems.sort_by_key(|p| match p {
        Problem::Expired { .. } | Problem::NotYetValid { .. } => 0,
        Problem::NameMismatch { .. } => 1,
        Problem::WeakKey { .. } | Problem::BadSignature(_) | Problem::NotForServers => 2,
        Problem::SelfSigned | Problem::UntrustedRoot { .. } | Problem::UnknownIssuer { .. } => 3,
        Problem::Other(_) => 4,
    });
    j
}

/// Everything about a chain but the dates: trust (at moments inside the
/// certificates' validity), the name, the keys.
fn judge_timeless(chain: &[Vec<u8>], sni: Option<&str>, store: &TrustStore) -> Judgement {
    let certs: Vec<CertInfo> = chain.iter().filter_map(|d| describe(d)).collect();
    let mut j = Judgement {
        certs,
        ..Judgement::default()
    };
    let Some((leaf_der, inter_der)) = chain.split_first() else {
        return j;
    };
    let leaf_der = CertificateDer::from(leaf_der.as_slice());
    let leaf = match EndEntityCert::try_from(&leaf_der) {
        Ok(l) => l,
        Err(e) => {
            j.problems.push(Problem::Other(format!(
                "the certificate does not parse ({e:?})"
            )));
            return j;
        }
    };
    let verdict = trust(&leaf, inter_der, &j.certs, store.anchors());
    j.trusted = verdict.as_ref().map(Result::is_ok);
    if let Some(Err(p)) = verdict {
        j.problems.push(p);
    }
    if let Some(p) = sni.and_then(|name| name_problem(&leaf, name, &j.certs)) {
        j.problems.push(p);
    }
    j.problems.extend(weak_keys(&j.certs));
    j
}

/// Whether `leaf`, with the intermediates `inter_der` sent after it,
/// leads to one of `anchors`, time aside (`certs` describes the whole
/// chain): `Some(Ok(()))` when it verifies at some moment inside the
/// validity windows, `Some(Err(problem))` when it does not for a reason
/// other than time (or, with no moment to verify at, when no root is
/// named as its issuer), `None` when that cannot be told.
fn trust(
    leaf: &EndEntityCert<'_>,
    inter_der: &[Vec<u8>],
    certs: &[CertInfo],
    anchors: &[TrustAnchor<'_>],
) -> Option<Result<(), Problem>> {
    let inter: Vec<CertificateDer> = inter_der
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let verify = |t: i64| {
        leaf.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            anchors,
            &inter,
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(t.max(0) as u64)),
            KeyUsage::server_auth(),
            None,
            None,
        )
        .map(|_| ())
    };
    // The first moment that verifies decides; failing that, the first
    // failure that says something about trust.
    let mut first_problem = None;
    for t in trust_moments(certs) {
        match verify(t) {
            Ok(()) => return Some(Ok(())),
            Err(e) => {
                if first_problem.is_none() {
                    first_problem = trust_problem(&e, certs);
                }
            }
        }
    }
    // No moment to verify at (validity windows that do not overlap): the
    // names still show a chain no root vouches for.
    first_problem
        .or_else(|| untrusted_by_name(certs, anchors))
        .map(Err)
}

/// The moments (seconds since the epoch) to check trust at, in order: one
/// inside every certificate's validity window when they overlap, then
/// the first and last second of each one's own (a renewed intermediate
/// may not overlap an old leaf).
fn trust_moments(certs: &[CertInfo]) -> Vec<i64> {
    let mut times = Vec::new();
    let from = certs.iter().map(|c| c.not_before).max().unwrap_or(0);
    let to = certs.iter().map(|c| c.not_after).min().unwrap_or(0);
    if from <= to {
        times.push(from + (to - from) / 2);
    }
    for c in certs {
        times.extend([
            c.not_before.saturating_add(1),
            c.not_after.saturating_sub(1),
        ]);
    }
    times
}

/// The problem when `leaf` is not valid for `name`, the name the client
/// asked for (SNI), listing the names of the first certificate of
/// `certs`; `None` when it is valid, or when `name` is no server name.
fn name_problem(leaf: &EndEntityCert<'_>, name: &str, certs: &[CertInfo]) -> Option<Problem> {
    let sn = ServerName::try_from(name).ok()?;
    leaf.verify_is_valid_for_subject_name(&sn)
        .is_err()
        .then(|| {
            let names = certs.first().map(|c| c.sans.clone()).unwrap_or_default();
            Problem::NameMismatch {
                name: name.to_string(),
                names,
            }
        })
}

/// A [`Problem::WeakKey`] for each of `certs` whose key is too short:
/// RSA or DSA under 2048 bits, EC under 224 (a key of unknown size is
/// not judged).
fn weak_keys(certs: &[CertInfo]) -> impl Iterator<Item = Problem> + '_ {
    certs.iter().enumerate().filter_map(|(index, c)| {
        let weak = match c.key_type.as_str() {
            "RSA" | "DSA" => c.key_bits > 0 && c.key_bits < 2048,
            t if t.starts_with("EC") => c.key_bits > 0 && c.key_bits < 224,
            _ => false,
        };
        weak.then(|| Problem::WeakKey {
            index,
            key: format!("{} {}", c.key_type, c.key_bits),
        })
    })
}

fn trust_problem(e: &webpki::Error, certs: &[CertInfo]) -> Option<Problem> {
    use webpki::Error as E;
    Some(match e {
        E::UnknownIssuer => issuer_problem(certs)?,
        E::RequiredEkuNotFoundContext(_) => Problem::NotForServers,
        // Time was chosen inside every validity window; these come from
        // windows that do not overlap.
        E::CertExpired { .. } | E::CertNotValidYet { .. } => return None,
        E::InvalidSignatureForPublicKey
        | E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            Problem::BadSignature(format!("{e}"))
        }
        other => Problem::Other(format!("{other}")),
    })
}

/// When no root's name is the issuer of the top of the chain (or the top
/// itself, for a root that was sent), the problem that makes; `None` when
/// a root with that name exists.
fn untrusted_by_name(certs: &[CertInfo], anchors: &[TrustAnchor<'_>]) -> Option<Problem> {
    let top = top_of_chain(certs.first()?, certs);
    let named = |name: &[u8]| anchors.iter().any(|a| a.subject.as_ref() == name);
    if named(&top.issuer_der) || named(&top.subject_der) {
        return None;
    }
    issuer_problem(certs)
}

/// What is wrong when no trusted root issued the chain: a self-signed
/// leaf, a root that was sent but is not trusted, or an issuer that was
/// not sent.
fn issuer_problem(certs: &[CertInfo]) -> Option<Problem> {
    let leaf = certs.first()?;
    let top = top_of_chain(leaf, certs);
    Some(if leaf.self_signed && certs.len() == 1 {
        Problem::SelfSigned
    } else if top.self_signed {
        Problem::UntrustedRoot {
            root: top.subject.clone(),
        }
    } else {
        Problem::UnknownIssuer {
            issuer: top.issuer.clone(),
            leaf_only: certs.len() == 1,
        }
    })
}

/// The certificate at the top of the chain as sent: follow issuer names
/// from the leaf through the certificates sent.
fn top_of_chain<'a>(leaf: &'a CertInfo, certs: &'a [CertInfo]) -> &'a CertInfo {
    let mut cur = leaf;
    for _ in 0..certs.len() {
        if cur.self_signed {
            break;
        }
        match certs
            .iter()
            .find(|c| c.subject == cur.issuer && !std::ptr::eq(*c, cur))
        {
            Some(next) => cur = next,
            None => break,
        }
    }
    cur
}
