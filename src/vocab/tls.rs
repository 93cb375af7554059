//! TLS code points as the wire has them, with the properties the
//! protocol gives them; their names and advice are in `knowledge::tls`.

use serde::{Deserialize, Serialize};

use super::code_point;

/// Whether `v` is one of the GREASE values of RFC 8701 (0x0a0a, 0x1a1a, ...
/// 0xfafa): both bytes equal, each with low nibble 0xa. Clients put them in
/// cipher suite, group, version and extension lists so that servers learn to
/// ignore unknown values; they never mean anything.
pub fn is_grease(v: u16) -> bool {
    let [hi, lo] = v.to_be_bytes();
    hi == lo && lo & 0x0f == 0x0a
}

code_point! {
    /// `ContentType` of a TLS record (RFC 8446 §5.1, RFC 6520 for heartbeat).
    /// The default, 0, is [`ContentType::INVALID`]: no record has started.
    #[derive(Default)]
    ContentType(u8) {
        /// invalid (RFC 8446 §5.1): no record yet.
        INVALID = 0,
        /// change_cipher_spec.
        CHANGE_CIPHER_SPEC = 20,
        /// alert.
        ALERT = 21,
        /// handshake.
        HANDSHAKE = 22,
        /// application_data.
        APPLICATION_DATA = 23,
        /// heartbeat (RFC 6520).
        HEARTBEAT = 24,
    }
}

impl ContentType {
    /// Whether a record of this type can be followed: one of the types
    /// from change_cipher_spec to heartbeat. Anything else means the bytes
    /// are not TLS records, or their boundaries were lost.
    pub fn is_known(self) -> bool {
        (ContentType::CHANGE_CIPHER_SPEC..=ContentType::HEARTBEAT).contains(&self)
    }
}

code_point! {
    /// `HandshakeType` of a handshake message (RFC 8446 §4, RFC 5246 §7.4).
    HandshakeType(u8) {
        /// client_hello.
        CLIENT_HELLO = 1,
        /// server_hello (also a HelloRetryRequest in TLS 1.3).
        SERVER_HELLO = 2,
        /// encrypted_extensions (TLS 1.3; ALPN is chosen here).
        ENCRYPTED_EXTENSIONS = 8,
        /// certificate.
        CERTIFICATE = 11,
        /// certificate_request.
        CERTIFICATE_REQUEST = 13,
        /// server_hello_done (TLS 1.2 and before).
        SERVER_HELLO_DONE = 14,
        /// finished.
        FINISHED = 20,
        /// key_update (TLS 1.3).
        KEY_UPDATE = 24,
    }
}

code_point! {
    /// `ProtocolVersion` (RFC 8446 §4.2.1 and its predecessors), as a record
    /// header, a hello or `supported_versions` carries it. The default, 0,
    /// is no version: a hello not filled in.
    #[derive(Default, Serialize, Deserialize)]
    #[serde(transparent)]
    ProtocolVersion(u16) {
        /// SSL 2.0, as an SSL 2.0 hello writes it.
        SSL2 = 0x0002,
        /// SSL 2.0 written as major 2, minor 0 (older JA4 specifications
        /// list this value).
        SSL2_MAJOR_MINOR = 0x0200,
        /// SSL 3.0.
        SSL3 = 0x0300,
        /// TLS 1.0.
        TLS10 = 0x0301,
        /// TLS 1.1.
        TLS11 = 0x0302,
        /// TLS 1.2.
        TLS12 = 0x0303,
        /// TLS 1.3.
        TLS13 = 0x0304,
        /// DTLS 1.3 (RFC 9147).
        DTLS13 = 0xfefc,
        /// DTLS 1.2 (RFC 6347).
        DTLS12 = 0xfefd,
        /// DTLS 1.0 (RFC 4347).
        DTLS10 = 0xfeff,
    }
}

impl ProtocolVersion {
    /// Whether this is a GREASE value ([`is_grease`]), which a client puts
    /// in `supported_versions` and which names no version.
    pub fn is_grease(self) -> bool {
        is_grease(self.0)
    }
}

code_point! {
    /// `AlertLevel` of RFC 5246 §7.2 as the wire has it (TLS 1.3 ignores it
    /// but still sends it); the report words it as `report::tls::AlertLevel`.
    #[derive(Serialize, Deserialize)]
    #[serde(transparent)]
    AlertLevelCode(u8) {
        /// warning.
        WARNING = 1,
        /// fatal.
        FATAL = 2,
    }
}

code_point! {
    /// `AlertDescription` (RFC 8446 §6). The constants are the values the
    /// verdicts read; the whole registry, with names and advice, is
    /// `knowledge::tls::ALERTS`.
    #[derive(Serialize, Deserialize)]
    #[serde(transparent)]
    AlertDescription(u8) {
        /// close_notify.
        CLOSE_NOTIFY = 0,
        /// handshake_failure.
        HANDSHAKE_FAILURE = 40,
        /// bad_certificate.
        BAD_CERTIFICATE = 42,
        /// unsupported_certificate.
        UNSUPPORTED_CERTIFICATE = 43,
        /// certificate_revoked.
        CERTIFICATE_REVOKED = 44,
        /// certificate_expired.
        CERTIFICATE_EXPIRED = 45,
        /// certificate_unknown.
        CERTIFICATE_UNKNOWN = 46,
        /// unknown_ca.
        UNKNOWN_CA = 48,
        /// protocol_version.
        PROTOCOL_VERSION = 70,
        /// insufficient_security.
        INSUFFICIENT_SECURITY = 71,
        /// unrecognized_name.
        UNRECOGNIZED_NAME = 112,
        /// certificate_required.
        CERTIFICATE_REQUIRED = 116,
        /// no_application_protocol.
        NO_APPLICATION_PROTOCOL = 120,
    }
}
