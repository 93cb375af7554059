//! TLS code points as the wire has them, with the properties the
//! protocol gives them; their names and advice are in `knowledge::tls`.

/// Whether `v` is one of the GREASE values of RFC 8701 (0x0a0a, 0x1a1a, ...
/// 0xfafa): both bytes equal, each with low nibble 0xa. Clients put them in
/// cipher suite, group, version and extension lists so that servers learn to
/// ignore unknown values; they never mean anything.
pub fn is_grease(v: u16) -> bool {
    let [hi, lo] = v.to_be_bytes();
    hi == lo && lo & 0x0f == 0x0a
}

/// `ContentType` of a TLS record (RFC 8446 §5.1, RFC 6520 for heartbeat).
pub mod content {
    /// change_cipher_spec.
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    /// alert.
    pub const ALERT: u8 = 21;
    /// handshake.
    pub const HANDSHAKE: u8 = 22;
    /// application_data.
    pub const APPLICATION_DATA: u8 = 23;
    /// heartbeat (RFC 6520).
    pub const HEARTBEAT: u8 = 24;
}

/// `HandshakeType` of a handshake message (RFC 8446 §4, RFC 5246 §7.4).
pub mod handshake {
    /// client_hello.
    pub const CLIENT_HELLO: u8 = 1;
    /// server_hello (also a HelloRetryRequest in TLS 1.3).
    pub const SERVER_HELLO: u8 = 2;
    /// certificate.
    pub const CERTIFICATE: u8 = 11;
    /// certificate_request.
    pub const CERTIFICATE_REQUEST: u8 = 13;
    /// server_hello_done (TLS 1.2 and before).
    pub const SERVER_HELLO_DONE: u8 = 14;
}

/// `ProtocolVersion` values (RFC 8446 §4.2.1 and its predecessors).
pub mod version {
    /// SSL 3.0.
    pub const SSL3: u16 = 0x0300;
    /// TLS 1.0.
    pub const TLS10: u16 = 0x0301;
    /// TLS 1.1.
    pub const TLS11: u16 = 0x0302;
    /// TLS 1.2.
    pub const TLS12: u16 = 0x0303;
    /// TLS 1.3.
    pub const TLS13: u16 = 0x0304;
}

/// `AlertLevel` (RFC 5246 §7.2; TLS 1.3 ignores it but still sends it).
pub mod level {
    /// warning.
    pub const WARNING: u8 = 1;
    /// fatal.
    pub const FATAL: u8 = 2;
}

/// `AlertDescription` values the verdicts read (RFC 8446 §6; the whole
/// registry, with names and advice, is `knowledge::tls::ALERTS`).
pub mod alert {
    /// close_notify.
    pub const CLOSE_NOTIFY: u8 = 0;
    /// handshake_failure.
    pub const HANDSHAKE_FAILURE: u8 = 40;
    /// bad_certificate.
    pub const BAD_CERTIFICATE: u8 = 42;
    /// unsupported_certificate.
    pub const UNSUPPORTED_CERTIFICATE: u8 = 43;
    /// certificate_revoked.
    pub const CERTIFICATE_REVOKED: u8 = 44;
    /// certificate_expired.
    pub const CERTIFICATE_EXPIRED: u8 = 45;
    /// certificate_unknown.
    pub const CERTIFICATE_UNKNOWN: u8 = 46;
    /// unknown_ca.
    pub const UNKNOWN_CA: u8 = 48;
    /// protocol_version.
    pub const PROTOCOL_VERSION: u8 = 70;
    /// insufficient_security.
    pub const INSUFFICIENT_SECURITY: u8 = 71;
    /// unrecognized_name.
    pub const UNRECOGNIZED_NAME: u8 = 112;
    /// certificate_required.
    pub const CERTIFICATE_REQUIRED: u8 = 116;
    /// no_application_protocol.
    pub const NO_APPLICATION_PROTOCOL: u8 = 120;
}
