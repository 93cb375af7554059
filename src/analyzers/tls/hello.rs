//! ClientHello and ServerHello: what each side offered and chose, and the
//! JA3 and JA4 fingerprints of the client. The messages are parsed with
//! `tls-parser`; the extension list is walked here because the
//! fingerprints need every extension type in wire order, known or not.

use md5::{Digest as _, Md5};
use sha2::Sha256;
use tls_parser::{
    parse_tls_client_hello_extension, parse_tls_message_handshake, TlsExtension, TlsMessage,
    TlsMessageHandshake,
};

pub use crate::vocab::tls::is_grease;
use crate::vocab::tls::ProtocolVersion;
use crate::vocab::At;

/// Extension types read here (IANA "TLS ExtensionType Values").
const EXT_SNI: u16 = 0;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
const EXT_KEY_SHARE: u16 = 51;

/// Lists kept from a hello are cut at this many entries (a ClientHello
/// can carry at most ~32k two-byte values; real ones carry < 100).
const MAX_LIST: usize = 256;

/// The random of a HelloRetryRequest (RFC 8446 §4.1.3): SHA-256 of
/// "HelloRetryRequest".
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// What a client offered.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientHello {
    /// Where it was.
    pub at: At,
    /// `legacy_version` (TLS 1.2 for TLS 1.2 and 1.3 clients).
    pub legacy_version: ProtocolVersion,
    /// Server Name Indication (the first host name).
    pub sni: Option<String>,
    /// ALPN protocols offered, in order.
    pub alpn: Vec<String>,
    /// `supported_versions`, in order, GREASE included.
    pub supported_versions: Vec<ProtocolVersion>,
    /// Cipher suites, in order, GREASE included.
    pub ciphers: Vec<u16>,
    /// Extension types, in order, GREASE included.
    pub extensions: Vec<u16>,
    /// `supported_groups`, in order, GREASE included.
    pub groups: Vec<u16>,
    /// `signature_algorithms`, in order.
    pub signature_algorithms: Vec<u16>,
    /// `ec_point_formats`.
    pub ec_point_formats: Vec<u8>,
    /// Groups of the key shares sent.
    pub key_shares: Vec<u16>,
    /// The 32 random bytes, which name the session in a key log.
    pub random: [u8; 32],
}

/// What a server chose.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServerHello {
    /// Where it was.
    pub at: At,
    /// `legacy_version`.
    pub legacy_version: ProtocolVersion,
    /// The version in `supported_versions`, if the server sent one.
    pub supported_version: Option<ProtocolVersion>,
    /// Chosen cipher suite.
    pub cipher: u16,
    /// Chosen ALPN protocol.
    pub alpn: Option<String>,
    /// Group of the key share (TLS 1.3), or the group asked for in a
    /// HelloRetryRequest.
    pub key_share: Option<u16>,
    /// This is a HelloRetryRequest (RFC 8446 §4.1.4).
    pub retry: bool,
    /// The 32 random bytes (TLS 1.2 key derivation needs them).
    pub random: [u8; 32],
}

impl ServerHello {
    /// The negotiated version.
    pub fn version(&self) -> ProtocolVersion {
        self.supported_version.unwrap_or(self.legacy_version)
    }
}

/// The big-endian 16-bit number at the start of `b`.
pub(super) fn be16(b: &[u8]) -> Option<u16> {
    match *b {
        [hi, lo, ..] => Some(u16::from_be_bytes([hi, lo])),
        _ => None,
    }
}

/// The big-endian 24-bit length at the start of `b` (TLS handshake and
/// certificate lengths).
pub(super) fn be24(b: &[u8]) -> Option<usize> {
    match *b {
        [a, b, c, ..] => Some(u32::from_be_bytes([0, a, b, c]) as usize),
        _ => None,
    }
}

/// The (type, data) pairs of an extension block, stopping at the first
/// one that does not fit.
fn extensions(mut ext: &[u8]) -> impl Iterator<Item = (u16, &[u8], &[u8])> {
    std::iter::from_fn(move || {
        let ty = be16(ext)?;
        let len = be16(ext.get(2..)?)? as usize;
        let (raw, rest) = ext.split_at_checked(4 + len)?;
        ext = rest;
        Some((ty, raw.get(4..).unwrap_or_default(), raw))
    })
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Parse a ClientHello handshake message (header included).
pub fn client_hello(msg: &[u8], at: At) -> Option<ClientHello> {
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)))) =
        parse_tls_message_handshake(msg)
    else {
        return None;
    };
    let mut out = ClientHello {
        at,
        legacy_version: ProtocolVersion(ch.version.0),
        ciphers: ch.ciphers.iter().take(MAX_LIST).map(|c| c.0).collect(),
        random: ch.random.try_into().unwrap_or([0; 32]),
        ..ClientHello::default()
    };
    for (ty, data, raw) in extensions(ch.ext.unwrap_or_default()).take(MAX_LIST) {
        out.extensions.push(ty);
        if ty == EXT_KEY_SHARE {
            // client_shares: u16 length, then (group u16, key len u16, key).
            let mut s = data.get(2..).unwrap_or_default();
            while let (Some(g), Some(l)) = (be16(s), s.get(2..).and_then(be16)) {
                out.key_shares.push(g);
                s = s.get(4 + l as usize..).unwrap_or_default();
            }
            continue;
        }
        let Ok((_, parsed)) = parse_tls_client_hello_extension(raw) else {
            continue;
        };
        match parsed {
            TlsExtension::SNI(names) => {
                out.sni = names.first().map(|(_, n)| text(n));
            }
            TlsExtension::ALPN(protos) => {
                out.alpn = protos.iter().take(MAX_LIST).map(|p| text(p)).collect()
            }
            TlsExtension::SupportedVersions(v) => {
                out.supported_versions = v
                    .iter()
                    .take(MAX_LIST)
                    .map(|v| ProtocolVersion(v.0))
                    .collect()
            }
            TlsExtension::EllipticCurves(g) => {
                out.groups = g.iter().take(MAX_LIST).map(|g| g.0).collect()
            }
            TlsExtension::SignatureAlgorithms(s) => {
                out.signature_algorithms = s.into_iter().take(MAX_LIST).collect()
            }
            TlsExtension::EcPointFormats(f) => {
                out.ec_point_formats = f.iter().take(MAX_LIST).copied().collect()
            }
            _ => {}
        }
    }
    Some(out)
}

/// Parse a ServerHello handshake message (header included), or a
/// HelloRetryRequest, which has the same shape.
pub fn server_hello(msg: &[u8], at: At) -> Option<ServerHello> {
    // tls-parser reads TLS 1.0-1.2 ServerHellos; a TLS 1.3 one says TLS 1.2
    // there too, so every real ServerHello parses.
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) =
        parse_tls_message_handshake(msg)
    else {
        return None;
    };
    let mut out = ServerHello {
        at,
        legacy_version: ProtocolVersion(sh.version.0),
        cipher: sh.cipher.0,
        retry: sh.random == HRR_RANDOM,
        random: sh.random.try_into().unwrap_or([0; 32]),
        ..ServerHello::default()
    };
    for (ty, data, _) in extensions(sh.ext.unwrap_or_default()).take(MAX_LIST) {
        match ty {
            EXT_SUPPORTED_VERSIONS => out.supported_version = be16(data).map(ProtocolVersion),
            EXT_KEY_SHARE => out.key_share = be16(data),
            EXT_ALPN => out.alpn = chosen_alpn(data),
            _ => {}
        }
    }
    Some(out)
}

/// The protocol of a server's ALPN extension: a u16 list length, then one
/// u8-length name.
fn chosen_alpn(data: &[u8]) -> Option<String> {
    let n = data.get(2).copied().unwrap_or(0) as usize;
    data.get(3..3 + n).map(text)
}

/// The ALPN protocol of a TLS 1.3 EncryptedExtensions body (a u16 block
/// length, then the extensions).
pub fn alpn_of_extensions(body: &[u8]) -> Option<String> {
    extensions(body.get(2..)?)
        .take(MAX_LIST)
        .find(|(ty, _, _)| *ty == EXT_ALPN)
        .and_then(|(_, data, _)| chosen_alpn(data))
}

/// Short name of a version for JA4 ("13", "12", ...).
fn ja4_version(v: ProtocolVersion) -> &'static str {
    match v {
        ProtocolVersion::TLS13 => "13",
        ProtocolVersion::TLS12 => "12",
        ProtocolVersion::TLS11 => "11",
        ProtocolVersion::TLS10 => "10",
        ProtocolVersion::SSL3 => "s3",
        ProtocolVersion::SSL2 | ProtocolVersion::SSL2_MAJOR_MINOR => "s2",
        ProtocolVersion::DTLS10 => "d1",
        ProtocolVersion::DTLS12 => "d2",
        ProtocolVersion::DTLS13 => "d3",
        _ => "00",
    }
}

fn join<T: ToString>(v: impl Iterator<Item = T>, sep: &str) -> String {
    v.map(|x| x.to_string()).collect::<Vec<_>>().join(sep)
}

fn hex12(s: &str) -> String {
    if s.is_empty() {
        return "000000000000".to_string();
    }
    let d = Sha256::digest(s.as_bytes());
    d.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

impl ClientHello {
    /// The JA3 string: version, ciphers, extensions, groups and point
    /// formats in decimal, GREASE removed.
    pub fn ja3_full(&self) -> String {
        let nog = |v: &[u16]| join(v.iter().filter(|x| !is_grease(**x)), "-");
        format!(
            "{},{},{},{},{}",
            self.legacy_version.0,
            nog(&self.ciphers),
            nog(&self.extensions),
            nog(&self.groups),
            join(self.ec_point_formats.iter(), "-")
        )
    }

    /// The JA3 fingerprint: MD5 of [`ClientHello::ja3_full`].
    pub fn ja3(&self) -> String {
        Md5::digest(self.ja3_full().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The JA4 fingerprint (FoxIO's JA4 TLS client fingerprint, over TCP).
    pub fn ja4(&self) -> String {
        let version = self
            .supported_versions
            .iter()
            .copied()
            .filter(|v| !v.is_grease())
            .max()
            .unwrap_or(self.legacy_version);
        let ciphers: Vec<u16> = self
            .ciphers
            .iter()
            .copied()
            .filter(|c| !is_grease(*c))
            .collect();
        let exts: Vec<u16> = self
            .extensions
            .iter()
            .copied()
            .filter(|e| !is_grease(*e))
            .collect();
        let alpn = match self.alpn.first().map(|a| a.as_bytes()) {
            Some([first, .., last])
                if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() =>
            {
                format!("{}{}", *first as char, *last as char)
            }
            Some([only]) if only.is_ascii_alphanumeric() => format!("{0}{0}", *only as char),
            Some(a) if !a.is_empty() => {
                let hex: String = a.iter().map(|b| format!("{b:02x}")).collect();
                let (f, l) = (hex.chars().next(), hex.chars().last());
                format!("{}{}", f.unwrap_or('0'), l.unwrap_or('0'))
            }
            _ => "00".to_string(),
        };
        let a = format!(
            "t{}{}{:02}{:02}{}",
            ja4_version(version),
            if self.sni.is_some() { 'd' } else { 'i' },
            ciphers.len().min(99),
            exts.len().min(99),
            alpn
        );
        let mut sorted = ciphers.clone();
        sorted.sort_unstable();
        let b = hex12(&join(sorted.iter().map(|c| format!("{c:04x}")), ","));
        let mut e: Vec<u16> = exts
            .into_iter()
            .filter(|e| *e != EXT_SNI && *e != EXT_ALPN)
            .collect();
        e.sort_unstable();
        let mut c = join(e.iter().map(|x| format!("{x:04x}")), ",");
        if !self.signature_algorithms.is_empty() {
            c.push('_');
            c.push_str(&join(
                self.signature_algorithms.iter().map(|s| format!("{s:04x}")),
                ",",
            ));
        }
        format!(
            "{a}_{b}_{}",
            if e.is_empty() {
                "000000000000".to_string()
            } else {
                hex12(&c)
            }
        )
    }

    /// The highest version offered (`supported_versions`, else
    /// `legacy_version`), GREASE skipped.
    pub fn max_version(&self) -> ProtocolVersion {
        self.offered_versions()
            .into_iter()
            .max()
            .unwrap_or(self.legacy_version)
    }

    /// Every version offered, GREASE skipped: `supported_versions`, else
    /// `legacy_version` and what it implies (every version up to it from
    /// TLS 1.0).
    pub fn offered_versions(&self) -> Vec<ProtocolVersion> {
        let sv: Vec<ProtocolVersion> = self
            .supported_versions
            .iter()
            .copied()
            .filter(|v| !v.is_grease())
            .collect();
        if !sv.is_empty() {
            return sv;
        }
        let tls10 = ProtocolVersion::TLS10;
        (tls10.0..=self.legacy_version.max(tls10).0)
            .rev()
            .map(ProtocolVersion)
            .collect()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The ClientHello of RFC 8448 §3 ("Simple 1-RTT Handshake"), whose
    /// JA3 string follows from its listed values.
    const RFC8448_CH: &str = "010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006130113031302010000910000000b0009000006736572766572ff01000100000a00140012001d0017001800190100010101020103010400230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b0003020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d00020101001c00024001";

    /// The RFC 8448 ClientHello, for other modules' tests.
    pub fn rfc8448_client_hello_bytes() -> Vec<u8> {
        unhex(RFC8448_CH)
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc8448_client_hello() {
        let ch = client_hello(&unhex(RFC8448_CH), At::default()).unwrap();
        assert_eq!(ch.legacy_version, ProtocolVersion::TLS12);
        assert_eq!(ch.sni.as_deref(), Some("server"));
        assert_eq!(ch.ciphers, vec![0x1301, 0x1303, 0x1302]);
        assert_eq!(ch.supported_versions, vec![ProtocolVersion::TLS13]);
        assert_eq!(ch.key_shares, vec![0x001d]);
        assert_eq!(ch.extensions, vec![0, 0xff01, 10, 35, 51, 43, 13, 45, 28]);
        assert_eq!(
            ch.groups,
            vec![0x1d, 0x17, 0x18, 0x19, 0x100, 0x101, 0x102, 0x103, 0x104]
        );
        assert_eq!(
            ch.ja3_full(),
            "771,4865-4867-4866,0-65281-10-35-51-43-13-45-28,29-23-24-25-256-257-258-259-260,"
        );
        assert_eq!(ch.max_version(), ProtocolVersion::TLS13);
        let ja4 = ch.ja4();
        assert!(ja4.starts_with("t13d030900_"), "{ja4}");
    }

    #[test]
    fn grease_is_left_out_of_the_fingerprints() {
        // A Chrome-like hello: GREASE in ciphers, extensions, groups and
        // versions, as RFC 8701 has clients send them.
        let ch = ClientHello {
            legacy_version: ProtocolVersion::TLS12,
            sni: Some("example.com".into()),
            alpn: vec!["h2".into(), "http/1.1".into()],
            supported_versions: vec![
                ProtocolVersion(0x3a3a), // GREASE
                ProtocolVersion::TLS13,
                ProtocolVersion::TLS12,
            ],
            ciphers: vec![0x8a8a, 0x1301, 0x1302, 0xc02b],
            extensions: vec![0xdada, 0, 16, 43, 10, 13, 0x1a1a],
            groups: vec![0x4a4a, 0x001d, 0x0017],
            signature_algorithms: vec![0x0403, 0x0804],
            ec_point_formats: vec![0],
            ..ClientHello::default()
        };
        assert_eq!(ch.ja3_full(), "771,4865-4866-49195,0-16-43-10-13,29-23,0");
        assert_eq!(ch.max_version(), ProtocolVersion::TLS13);
        assert_eq!(
            ch.offered_versions(),
            vec![ProtocolVersion::TLS13, ProtocolVersion::TLS12]
        );
        let ja4 = ch.ja4();
        // 3 suites, 5 extensions (SNI and ALPN counted), ALPN "h2".
        assert!(ja4.starts_with("t13d0305h2_"), "{ja4}");
        let same_without_grease = ClientHello {
            supported_versions: vec![ProtocolVersion::TLS13, ProtocolVersion::TLS12],
            ciphers: vec![0x1301, 0x1302, 0xc02b],
            extensions: vec![0, 16, 43, 10, 13],
            groups: vec![0x001d, 0x0017],
            ..ch.clone()
        };
        assert_eq!(ja4, same_without_grease.ja4());
        assert_eq!(ch.ja3(), same_without_grease.ja3());
    }

    #[test]
    fn truncated_hellos_are_none() {
        let ch = unhex(RFC8448_CH);
        for n in 0..ch.len() {
            // Never panics; a cut message is rejected or read partially.
            let _ = client_hello(&ch[..n], At::default());
            let _ = server_hello(&ch[..n], At::default());
        }
    }
}
