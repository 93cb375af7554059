//! TLS names and advice: every alert of the IANA "TLS Alerts" registry
//! (RFC 8446 §6, RFC 5246 §7.2 and the RFCs that added codes), the protocol
//! versions seen on the wire, the IANA "TLS Supported Groups", and cipher
//! suite names with a short judgement of each suite's weakness. Each alert
//! says what it means, which stacks send it and why, and what to change.
//! The text is ours; the meanings follow the RFCs and the registries.
//! Cipher suite names and properties come from the `tls-parser` crate's copy
//! of the IANA "TLS Cipher Suites" registry rather than a hand-written list.

use crate::vocab::tls::{is_grease, AlertDescription, ProtocolVersion};
use crate::vocab::words;
use tls_parser::{
    TlsCipherAu, TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherMac, TlsCipherSuite,
};

/// One alert description of the IANA "TLS Alerts" registry.
#[derive(Clone, Copy, Debug)]
pub struct AlertInfo {
    /// The `AlertDescription` byte.
    pub code: AlertDescription,
    /// Registry name, in the snake case of RFC 8446 (`certificate_expired`).
    pub name: &'static str,
    /// Where it is defined, and whether it is now reserved.
    pub reference: &'static str,
    /// What it means.
    pub meaning: &'static str,
    /// When one typically sees it: which stacks send it and why.
    pub when: &'static str,
    /// What to change.
    pub fix: &'static str,
    /// Who usually sends it: "client", "server" or "either".
    pub sent_by: &'static str,
    /// The handshake cause it names by itself, when nothing more specific
    /// explains it (`None`: the `alert` cause).
    pub cause: Option<Cause>,
    /// Which problems of the server's chain it reports, if it is about
    /// the certificate at all.
    pub blames: Option<Blame>,
}

/// The problems of a chain an alert about certificates reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blame {
    /// A certificate outside its validity (certificate_expired).
    Validity,
    /// An issuer the sender does not trust (unknown_ca).
    Issuer,
    /// Whatever is wrong with it (bad_certificate, certificate_unknown).
    Any,
}

words! {
    /// Why a TLS handshake failed, as one word of the verdict's `cause`
    /// field.
    Cause {
        /// A certificate of the chain had expired.
        CertificateExpired => "certificate_expired",
        /// A certificate was not valid yet.
        CertificateNotYetValid => "certificate_not_yet_valid",
        /// The leaf is self-signed.
        SelfSigned => "self_signed",
        /// The chain does not lead to a trusted root.
        UnknownCa => "unknown_ca",
        /// The leaf does not name the host asked for.
        NameMismatch => "name_mismatch",
        /// A key too small to be accepted.
        WeakKey => "weak_key",
        /// A certificate was rejected for another reason.
        BadCertificate => "bad_certificate",
        /// No TLS version both sides support.
        ProtocolVersion => "protocol_version",
        /// No cipher suite both sides support.
        NoSharedCipher => "no_shared_cipher",
        /// The handshake_failure alert, nothing more specific known.
        HandshakeFailure => "handshake_failure",
        /// The insufficient_security alert.
        InsufficientSecurity => "insufficient_security",
        /// The unrecognized_name alert.
        UnrecognizedName => "unrecognized_name",
        /// The server requires a client certificate the client did not give.
        ClientCertificateRequired => "client_certificate_required",
        /// The no_application_protocol alert (no common ALPN).
        NoApplicationProtocol => "no_application_protocol",
        /// Another alert.
        Alert => "alert",
        /// A TLS 1.3 alert whose description is encrypted.
        EncryptedAlert => "encrypted_alert",
        /// A side closed during the handshake without an alert.
        ClosedWithoutAlert => "closed_without_alert",
        /// The server answered with something that is not TLS.
        ServerNotTls => "server_not_tls",
        /// The server never answered the ClientHello.
        NoServerAnswer => "no_server_answer",
        /// The handshake did not finish before the capture ended.
        Incomplete => "incomplete",
        /// The handshake is not in the capture (cut by the snapshot length).
        NotVisible => "not_visible",
        /// No handshake was seen, only its end.
        NoHandshakeSeen => "no_handshake_seen",
    }
}

const TLS13: &str = "RFC 8446 §6.2; RFC 5246 §7.2.2";
const TLS13_ONLY: &str = "RFC 8446 §6.2";
const RFC6066: &str = "RFC 6066 §9; RFC 8446 §6.2";

/// A kind of problem that judging a server's chain finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertProblem {
    /// A certificate had expired.
    Expired,
    /// A certificate was not valid yet.
    NotYetValid,
    /// The leaf is self-signed.
    SelfSigned,
    /// The chain ends at a root that is not trusted.
    UntrustedRoot,
    /// The top certificate's issuer was not sent and is not trusted.
    UnknownIssuer,
    /// The leaf does not name the host asked for.
    NameMismatch,
    /// A key too small to be accepted.
    WeakKey,
    /// The leaf may not be used by servers.
    NotForServers,
    /// A signature does not verify.
    BadSignature,
    /// Anything else the check found.
    Other,
}

/// What a certificate problem is called in a verdict, which alert reports
/// it, and what to change.
#[derive(Clone, Copy, Debug)]
pub struct CertProblemInfo {
    /// The problem.
    pub problem: CertProblem,
    /// Its cause word.
    pub cause: Cause,
    /// The alerts that report it specifically (bad_certificate and
    /// certificate_unknown report any problem).
    pub reported_by: Option<Blame>,
    /// What to change.
    pub fix: &'static str,
    /// Where the check is defined.
    pub reference: &'static str,
}

const RFC5280: &str = "RFC 5280 §6.1";

/// Every problem, with its advice.
pub static CERT_PROBLEMS: &[CertProblemInfo] = &[
    CertProblemInfo {
        problem: CertProblem::Expired,
        cause: Cause::CertificateExpired,
        reported_by: Some(Blame::Validity),
        fix: "Renew the certificate and reload the server (check the renewal job: certbot/ACME timers, cert-manager); if it looks valid, check the clock of the side that judged it.",
        reference: "RFC 5280 §4.1.2.5",
    },
    CertProblemInfo {
        problem: CertProblem::NotYetValid,
        cause: Cause::CertificateNotYetValid,
        reported_by: Some(Blame::Validity),
        fix: "Check the clocks (NTP) of client and server; a certificate issued in the future is a clock problem on the issuing side.",
        reference: "RFC 5280 §4.1.2.5",
    },
    CertProblemInfo {
        problem: CertProblem::SelfSigned,
        cause: Cause::SelfSigned,
        reported_by: Some(Blame::Issuer),
        fix: "Use a certificate from a CA the clients trust, or give the clients this certificate as a trusted root (Node: ca option or NODE_EXTRA_CA_CERTS; Python: ssl context load_verify_locations; curl: --cacert).",
        reference: RFC5280,
    },
    CertProblemInfo {
        problem: CertProblem::UntrustedRoot,
        cause: Cause::UnknownCa,
        reported_by: Some(Blame::Issuer),
        fix: "Add that root to the clients' trust store (Node: ca / NODE_EXTRA_CA_CERTS; Python: load_verify_locations; curl: --cacert; Java: keytool -importcert), or get a certificate from a public CA.",
        reference: RFC5280,
    },
    CertProblemInfo {
        problem: CertProblem::UnknownIssuer,
        cause: Cause::UnknownCa,
        reported_by: Some(Blame::Issuer),
        fix: "Serve the full chain: leaf followed by every intermediate (nginx: ssl_certificate pointing to fullchain.pem); if the issuer is a private CA, install its root on the clients.",
        reference: "RFC 8446 §4.4.2 (the chain a server sends); RFC 5280 §6.1",
    },
    CertProblemInfo {
        problem: CertProblem::NameMismatch,
        cause: Cause::NameMismatch,
        reported_by: None,
        fix: "Serve a certificate whose subject alternative names include the host name the client connects to, or connect with the name the certificate has; with several sites on one address, check the server's SNI configuration (nginx: server_name per server block).",
        reference: "RFC 6125 §6; RFC 9525",
    },
    CertProblemInfo {
        problem: CertProblem::WeakKey,
        cause: Cause::WeakKey,
        reported_by: None,
        fix: "Reissue the certificate with an RSA key of at least 2048 bits or an ECDSA P-256 key.",
        reference: "CA/Browser Forum Baseline Requirements §6.1.5",
    },
    CertProblemInfo {
        problem: CertProblem::NotForServers,
        cause: Cause::BadCertificate,
        reported_by: None,
        fix: "Reissue the certificate with extendedKeyUsage serverAuth.",
        reference: "RFC 5280 §4.2.1.12",
    },
    CertProblemInfo {
        problem: CertProblem::BadSignature,
        cause: Cause::BadCertificate,
        reported_by: None,
        fix: "Reissue the chain: a signature is broken or uses an algorithm clients refuse (SHA-1, MD5, RSA keys under 2048 bits).",
        reference: RFC5280,
    },
];

/// Any other problem (not in [`CERT_PROBLEMS`]).
pub static OTHER_CERT_PROBLEM: CertProblemInfo = CertProblemInfo {
    problem: CertProblem::Other,
    cause: Cause::BadCertificate,
    reported_by: None,
    fix: "Check the chain with `openssl s_client -connect HOST:PORT -servername NAME -showcerts`.",
    reference: RFC5280,
};

/// The advice for a certificate problem.
pub fn cert_problem(p: CertProblem) -> &'static CertProblemInfo {
    CERT_PROBLEMS
        .iter()
        .find(|i| i.problem == p)
        .unwrap_or(&OTHER_CERT_PROBLEM)
}

/// The cause word of an alert nothing more specific explains.
pub fn alert_cause(code: AlertDescription) -> Cause {
    alert(code).and_then(|a| a.cause).unwrap_or(Cause::Alert)
}

/// Every code of the IANA "TLS Alerts" registry, in code order.
pub static ALERTS: &[AlertInfo] = &[
    AlertInfo {
        code: AlertDescription(0),
        name: "close_notify",
        reference: "RFC 8446 §6.1; RFC 5246 §7.2.1",
        meaning: "The sender will send no more data on this connection: an orderly shutdown of the TLS layer, not an error.",
        when: "The normal end of a connection: a server closing an idle keep-alive connection (nginx keepalive_timeout, proxy idle timeouts) or a client finishing its work. Many clients skip it and just close TCP; a FIN or RST without a close_notify before it means the stream may have been truncated.",
        fix: "Nothing to fix if the close was expected. If it was not, see which side sent it first and after how much silence: an idle timeout on a server or proxy is the usual cause, cured by WebSocket pings more often than the shortest timeout on the path or by raising that timeout.",
        sent_by: "either",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(10),
        name: "unexpected_message",
        reference: TLS13,
        meaning: "A message arrived that is not allowed at this point of the protocol, such as a handshake message out of order or application data before the handshake finished.",
        when: "Hand-written or buggy TLS stacks, middleboxes that inject, drop or reorder records, a peer trying to renegotiate or send a HelloRequest the other side does not expect, and TLS 1.3 peers tripping over a stray ChangeCipherSpec.",
        fix: "The capture shows the message just before the alert: that is the one the sender rejected. Update the TLS library on the side that produced it and test without any proxy or inspection device in the path.",
        sent_by: "either",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(20),
        name: "bad_record_mac",
        reference: TLS13,
        meaning: "A record failed its integrity check: the AEAD tag or HMAC did not verify, so the record was altered or the two sides hold different keys.",
        when: "Bytes changed in transit (faulty NIC offloads, a middlebox rewriting payload), a load balancer that moves a connection to another backend mid-stream, or a key-derivation bug in one stack, often around session resumption or 0-RTT. TLS 1.1 and later also send it for bad CBC padding.",
        fix: "If it hits the very first encrypted record, suspect a key mismatch: update both stacks and try without resumption or early data. If it hits at random points later, look for corruption: disable TCP offloads for a test and take proxies and inspection devices out of the path.",
        sent_by: "either",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(21),
        name: "decryption_failed",
        reference: "RFC 2246 (TLS 1.0); reserved since RFC 4346 and in RFC 8446",
        meaning: "Reserved. TLS 1.0 used it when a record decrypted to bad padding; later versions send bad_record_mac instead so that an attacker cannot tell padding errors from MAC errors.",
        when: "Only from SSL 3.0 or TLS 1.0 era stacks, such as old embedded devices.",
        fix: "Treat it as bad_record_mac, and upgrade or retire the stack that sent it: it is still running a pre-TLS 1.1 code path.",
        sent_by: "either",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(22),
        name: "record_overflow",
        reference: TLS13,
        meaning: "A record was longer than the protocol allows (16 KiB of plaintext plus the cipher's expansion) or longer than the limit the two sides negotiated.",
        when: "Embedded stacks with small receive buffers (mbedTLS built with a reduced MBEDTLS_SSL_IN_CONTENT_LEN) meeting a peer that ignores max_fragment_length or record_size_limit, or a broken sender that miscounts lengths.",
        fix: "Make the sizes agree: enlarge the receiver's input buffer to the full 16 KiB, or have the sender honour the negotiated max_fragment_length / record_size_limit extension. Update the sender if it produced a record above 2^14 bytes on its own.",
        sent_by: "either",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(30),
        name: "decompression_failure",
        reference: "RFC 5246 §7.2.2; reserved by RFC 8446",
        meaning: "Reserved. TLS record compression produced invalid or oversized output; compression was dropped after the CRIME attack and TLS 1.3 forbids it.",
        when: "Only from legacy peers that still negotiate DEFLATE record compression.",
        fix: "Turn TLS compression off on both sides (OpenSSL has had it off by default since 1.1.0; SSL_OP_NO_COMPRESSION forces it). Compress at the application layer instead, for WebSocket with permessage-deflate.",
        sent_by: "either",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(40),
        name: "handshake_failure",
        reference: TLS13,
        meaning: "The two sides could not agree on a set of security parameters; the generic 'negotiation failed' alert.",
        when: "No cipher suite, group or signature algorithm in common: a legacy client offering only CBC or RSA suites to a modern server, a server that allows only P-384 while the client offers X25519, an ECDSA certificate for a client that only verifies RSA. TLS 1.2 stacks (OpenSSL, nginx with ssl_verify_client on) also send it when a required client certificate is missing.",
        fix: "Compare the ClientHello's offers with the server's settings and enable an overlap: ssl_ciphers and ssl_ecdh_curve in nginx, -cipher, -ciphersuites and -groups in OpenSSL, ciphers and ecdhCurve in Node, SSLContext.set_ciphers in Python, jdk.tls.disabledAlgorithms and jdk.tls.namedGroups in Java, CipherSuites and CurvePreferences in Go. If the server requires a client certificate, configure one on the client.",
        sent_by: "server",
        cause: Some(Cause::HandshakeFailure),
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(41),
        name: "no_certificate",
        reference: "SSL 3.0 (RFC 6101); reserved since RFC 2246 and in RFC 8446",
        meaning: "Reserved. An SSL 3.0 client's answer to a certificate request when it had no certificate; TLS replaced it with an empty Certificate message.",
        when: "Only from SSL 3.0 peers, which no current stack should accept.",
        fix: "Disable SSL 3.0. On TLS, a missing client certificate shows up as handshake_failure (TLS 1.2) or certificate_required (TLS 1.3): configure the client's certificate and key.",
        sent_by: "client",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(42),
        name: "bad_certificate",
        reference: TLS13,
        meaning: "A certificate was corrupt, its signature did not verify, or it was unacceptable for another reason the sender chose to report this way.",
        when: "Servers rejecting a client certificate in mutual TLS; Go servers also send it, in TLS 1.2, when a required client certificate is missing. Go's crypto/tls sends it for every verification failure of a server certificate (untrusted issuer and expiry included), and OpenSSL-based stacks (curl, Python, nginx) for a host name mismatch or a certificate that is not yet valid.",
        fix: "Inspect the certificate the other side sent (visible in TLS 1.2 captures; TLS 1.3 encrypts it) with openssl x509 -text: check the chain, the names, the validity dates and the extended key usage (serverAuth for servers, clientAuth for clients), and that the issuer is one the judging side trusts (ssl_client_certificate in nginx for client certificates).",
        sent_by: "either",
        cause: Some(Cause::BadCertificate),
        blames: Some(Blame::Any),
    },
    AlertInfo {
        code: AlertDescription(43),
        name: "unsupported_certificate",
        reference: TLS13,
        meaning: "The certificate is of a type or uses an algorithm the receiver cannot handle.",
        when: "Ed25519, Ed448, RSA-PSS-only or P-521 keys presented to older clients, DSA certificates, or experimental post-quantum signatures. OpenSSL also sends it when the extended key usage does not allow the role, such as a server-only certificate used as a client certificate.",
        fix: "Use an RSA 2048+ or ECDSA P-256 certificate for broad compatibility, or serve both (nginx accepts several ssl_certificate / ssl_certificate_key pairs and picks by client support). Issue certificates with the right keyUsage and extendedKeyUsage (serverAuth, clientAuth).",
        sent_by: "either",
        cause: Some(Cause::BadCertificate),
        blames: Some(Blame::Any),
    },
    AlertInfo {
        code: AlertDescription(44),
        name: "certificate_revoked",
        reference: TLS13,
        meaning: "The certificate was revoked by its issuer.",
        when: "The judging side checked OCSP or a CRL (or a stapled OCSP response) and found the certificate revoked: after a key compromise, a CA mass revocation, or a reissue where the old certificate was revoked but some server still presents it.",
        fix: "Install the replacement certificate on every endpoint that serves the name (all load balancers, CDNs and backends) and reload them; clear any cached OCSP staple so the server stops sending the old status.",
        sent_by: "client",
        cause: Some(Cause::BadCertificate),
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(45),
        name: "certificate_expired",
        reference: TLS13,
        meaning: "A certificate in the chain is outside its validity period by the clock of the side that judged it.",
        when: "A renewal that was forgotten or not deployed everywhere (a server not reloaded, a second load balancer still holding the old file), an expired intermediate left in the served chain, or a wrong clock on the judging machine (no real-time clock, a VM restored from a snapshot, no NTP). OpenSSL sends it only for expired certificates (not yet valid is bad_certificate); Go sends bad_certificate and Java certificate_unknown instead.",
        fix: "Renew the certificate and reload every endpoint that serves it; check notBefore and notAfter of each certificate in the served chain (openssl s_client -showcerts). If the certificate is valid, fix the clock of the side that sent the alert.",
        sent_by: "client",
        cause: Some(Cause::CertificateExpired),
        blames: Some(Blame::Validity),
    },
    AlertInfo {
        code: AlertDescription(46),
        name: "certificate_unknown",
        reference: TLS13,
        meaning: "The certificate was unacceptable for a reason none of the more specific alerts names; a catch-all for verification failures.",
        when: "Java (SunJSSE) sends it for most PKIX failures, including an untrusted issuer ('unable to find valid certification path'), so a server log full of 'alert certificate unknown' usually means Java clients do not trust the chain. OpenSSL uses it for verification errors it has no more specific alert for, such as a rejection by the application's verify callback.",
        fix: "Treat it like unknown_ca first: serve the full chain and make sure the client trusts the root (for Java, import the CA into the truststore with keytool -importcert or point javax.net.ssl.trustStore at one that has it). Then check names and dates.",
        sent_by: "client",
        cause: Some(Cause::BadCertificate),
        blames: Some(Blame::Any),
    },
    AlertInfo {
        code: AlertDescription(47),
        name: "illegal_parameter",
        reference: TLS13,
        meaning: "A handshake field parsed correctly but its value was out of range or inconsistent with the rest of the handshake.",
        when: "A server choosing a version, cipher suite or group the client never offered (often a TLS-intercepting middlebox or a load balancer with a broken TLS 1.3 implementation), a key share for an unoffered group, an invalid ECDH public value, malformed ECH, or a client detecting the TLS 1.3 downgrade marker in ServerHello.random.",
        fix: "Find the field the receiver rejected in the message just before the alert, then update the side that produced it. If a middlebox terminates or inspects TLS, test without it or update its firmware.",
        sent_by: "either",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(48),
        name: "unknown_ca",
        reference: TLS13,
        meaning: "The certificate chain could not be tied to any trust anchor the receiver holds.",
        when: "Usually the client does not trust the issuer: the server sends its leaf without the intermediates (browsers may fetch them, libraries and CLI tools do not), a private or self-signed CA is missing from the client's store, or a TLS-intercepting proxy re-signs traffic with a root the application does not know (Node, Python certifi and Java use their own stores, not the OS one). OpenSSL-based stacks send 48 for this, Go sends bad_certificate and Java certificate_unknown; in mutual TLS the server sends it when the client's CA is not in its list.",
        fix: "Serve the full chain: leaf followed by intermediates in the file nginx's ssl_certificate points to (fullchain.pem from certbot). For a private or proxy CA, add it to the client's store: NODE_EXTRA_CA_CERTS for Node, SSL_CERT_FILE or REQUESTS_CA_BUNDLE for Python, keytool -importcert for Java, update-ca-certificates for the system. For mutual TLS, add the client's CA to the server's list (ssl_client_certificate in nginx).",
        sent_by: "client",
        cause: Some(Cause::UnknownCa),
        blames: Some(Blame::Issuer),
    },
    AlertInfo {
        code: AlertDescription(49),
        name: "access_denied",
        reference: TLS13,
        meaning: "The certificate or identity was valid, but the sender's access control refused to let this peer continue.",
        when: "Mutual TLS or PSK endpoints that check the client's identity against an allow-list (subject, SAN or PSK identity) during the handshake. Rare: most servers finish the handshake and answer HTTP 403 instead.",
        fix: "Grant the identity access in the server's authorization rules, or use a certificate or PSK identity the server allows; the server's log names the rule that fired.",
        sent_by: "server",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(50),
        name: "decode_error",
        reference: TLS13,
        meaning: "A message could not be parsed: a length was wrong or a field fell outside its allowed range.",
        when: "Malformed or truncated handshake messages from buggy or hand-built stacks (fuzzers, scanners, old embedded clients), and middleboxes that mangle large ClientHellos such as those carrying post-quantum key shares.",
        fix: "Look at the message before the alert for a length that does not add up, and update the side that produced it. If a large ClientHello is involved, test without middleboxes, or disable the hybrid post-quantum group on the client to confirm.",
        sent_by: "either",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(51),
        name: "decrypt_error",
        reference: TLS13,
        meaning: "A cryptographic check in the handshake failed: a signature did not verify, the Finished message did not match, or a key exchange could not be completed.",
        when: "A client certificate whose CertificateVerify signature fails (wrong key, smart card or HSM signing problems), a server whose key and certificate do not belong together, a certificate in the chain whose signature does not verify (OpenSSL), PSKs that differ between the two sides, or a middlebox altering handshake bytes so the transcripts differ.",
        fix: "Check that each certificate matches its key (compare openssl x509 -noout -pubkey with openssl pkey -pubout), check HSM or PKCS#11 signing, make PSKs identical, and test without middleboxes.",
        sent_by: "either",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(60),
        name: "export_restriction",
        reference: "RFC 2246 (TLS 1.0); reserved since RFC 4346 and in RFC 8446",
        meaning: "Reserved. TLS 1.0 used it to refuse key exchange parameters that broke the 1990s US export limits.",
        when: "Only from TLS 1.0 era stacks still configured with EXPORT cipher suites.",
        fix: "Remove all EXPORT cipher suites and upgrade the stack; the alert should never appear today.",
        sent_by: "either",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(70),
        name: "protocol_version",
        reference: TLS13,
        meaning: "The peer's protocol version is recognized but not one the sender is willing to use.",
        when: "A client offering only TLS 1.0 or 1.1 (old Java, Android before 5, .NET Framework defaults, embedded devices) to a server that requires 1.2 or later, or a client that requires TLS 1.3 reaching a server whose maximum is 1.2. The capture shows the offered versions in the ClientHello's supported_versions.",
        fix: "Align the version range: ssl_protocols in nginx, MinProtocol in openssl.cnf or -tls1_2 / -tls1_3 with openssl s_client, minVersion / maxVersion in Node, ssl.SSLContext.minimum_version in Python, jdk.tls.client.protocols and jdk.tls.disabledAlgorithms in Java, MinVersion / MaxVersion in Go's tls.Config. Prefer upgrading an old client over re-enabling TLS 1.0 or 1.1.",
        sent_by: "server",
        cause: Some(Cause::ProtocolVersion),
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(71),
        name: "insufficient_security",
        reference: TLS13,
        meaning: "Negotiation failed because the sender requires stronger parameters than any the peer offered.",
        when: "A strict server (or a security level such as OpenSSL's @SECLEVEL=2 or higher) meeting a client that offers only weak suites, such as RC4, 3DES, EXPORT or small Diffie-Hellman groups.",
        fix: "Upgrade the client or enable ECDHE suites with AES-GCM or ChaCha20-Poly1305 on it. Lowering the server's requirements should be the last resort.",
        sent_by: "server",
        cause: Some(Cause::InsufficientSecurity),
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(80),
        name: "internal_error",
        reference: TLS13,
        meaning: "The sender failed for a reason unrelated to the peer's messages: a bug or a resource problem on its side.",
        when: "Failed memory allocation, an HSM, KMS or PKCS#11 signer that did not answer, an exception in a certificate-selection or SNI callback (Node's SNICallback, Java KeyManagers), a server with no certificate usable for any offered signature algorithm in some stacks.",
        fix: "Read the log of the side that sent the alert at that moment; the cause is there, not on the wire. Fix its configuration or callback, or update the library.",
        sent_by: "either",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(86),
        name: "inappropriate_fallback",
        reference: "RFC 7507; RFC 8446 §6.2",
        meaning: "The client marked its ClientHello with TLS_FALLBACK_SCSV (a retry at a lower version), but the server supports a higher version, so it refuses to let the connection be downgraded.",
        when: "A client whose first, higher-version attempt failed (a network error, or a middlebox that drops TLS 1.3 or large ClientHellos) and that retried with a lower maximum version. Mostly older browsers and HTTP libraries with a fallback loop.",
        fix: "Find why the first attempt failed: look for the earlier connection to the same server in the capture and how it ended (reset, timeout, alert). Fix that path or middlebox; do not turn off the fallback protection.",
        sent_by: "server",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(90),
        name: "user_canceled",
        reference: TLS13,
        meaning: "The handshake was abandoned for a reason unrelated to a protocol failure; usually followed by close_notify.",
        when: "A user dismissing a client-certificate prompt or closing a tab mid-handshake, or an application that cancels a connection it no longer needs.",
        fix: "Usually nothing to fix. If it repeats, look at the application or user action that cancels the handshake.",
        sent_by: "either",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(100),
        name: "no_renegotiation",
        reference: "RFC 5246 §7.2.2; reserved by RFC 8446 (TLS 1.3 has no renegotiation)",
        meaning: "The sender refuses a request to renegotiate the TLS 1.2 (or older) session; usually a warning.",
        when: "A server asking for a client certificate only for some paths via renegotiation (Apache SSLVerifyClient in a Location, IIS) with a client that refuses, or a client renegotiating with a server that forbids it (nginx refuses client-initiated renegotiation; HTTP/2 forbids it outright).",
        fix: "Avoid renegotiation: ask for client certificates in the initial handshake (server-wide ssl_verify_client or SSLVerifyClient), use TLS 1.3 post-handshake authentication, or reconnect instead of renegotiating.",
        sent_by: "either",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(109),
        name: "missing_extension",
        reference: TLS13_ONLY,
        meaning: "A TLS 1.3 handshake message lacked an extension that is required in it.",
        when: "A TLS 1.3 ClientHello without supported_groups, key_share or signature_algorithms, a PSK offer without psk_key_exchange_modes, hand-built or fuzzed handshakes, or middleboxes that strip extensions.",
        fix: "Update the stack that built the message, and test without proxies that rewrite the ClientHello.",
        sent_by: "either",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(110),
        name: "unsupported_extension",
        reference: "RFC 5246 §7.2.2; RFC 8446 §6.2",
        meaning: "A reply carried an extension that was never offered, or an extension appeared in a message where it is not allowed.",
        when: "A server or middlebox that answers with an extension the client did not send (for example ALPN or a ticket extension), or a TLS 1.3 extension placed in the wrong message by a buggy stack.",
        fix: "Update the server or middlebox that produced the extra extension; testing without the middlebox tells which one it is.",
        sent_by: "client",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(111),
        name: "certificate_unobtainable",
        reference: "RFC 6066 §9; reserved by RFC 8446",
        meaning: "Reserved. The server could not fetch the client certificate from the URL given with the client_certificate_url extension.",
        when: "Practically never: client certificate URLs were used by a few constrained devices only.",
        fix: "Have the client send its certificate directly in the handshake.",
        sent_by: "server",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(112),
        name: "unrecognized_name",
        reference: RFC6066,
        meaning: "The server has no identity matching the host name in the client's Server Name Indication (SNI).",
        when: "No virtual host or certificate is configured for the requested name on the server, CDN or load balancer; a client connecting by IP address or with a typo in the host. Apache sends it as a warning when no ServerName matches, and old Java clients treated that warning as fatal.",
        fix: "Add the name to the server (server_name in nginx, ServerName or ServerAlias in Apache, the domain list of the CDN or load balancer), or give it a default server with a matching certificate. Make the client send the right name: connect by host name, or set servername in Node's tls.connect, server_hostname in Python's wrap_socket, -servername in openssl s_client.",
        sent_by: "server",
        cause: Some(Cause::UnrecognizedName),
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(113),
        name: "bad_certificate_status_response",
        reference: RFC6066,
        meaning: "The OCSP response the server stapled to its certificate was invalid, expired or for a different certificate.",
        when: "A server stapling a stale or wrong-issuer OCSP response, often because it cannot reach the CA's responder to refresh it; clients that check staples strictly, for example for certificates with the Must-Staple extension.",
        fix: "Refresh stapling: in nginx, ssl_stapling on with ssl_stapling_verify, a working resolver and ssl_trusted_certificate holding the issuer. Make sure the server can reach the OCSP responder, then reload to drop the cached response.",
        sent_by: "client",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(114),
        name: "bad_certificate_hash_value",
        reference: "RFC 6066 §9; reserved by RFC 8446",
        meaning: "Reserved. A client certificate fetched via client_certificate_url did not match the hash the client gave.",
        when: "Practically never: it belongs to the client certificate URL mechanism, which is out of use.",
        fix: "Have the client send its certificate directly in the handshake.",
        sent_by: "server",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(115),
        name: "unknown_psk_identity",
        reference: "RFC 4279; RFC 8446 §6.2",
        meaning: "The server does not know the pre-shared key identity the client offered.",
        when: "PSK deployments (IoT devices, MQTT brokers such as mosquitto with psk_file) where the client's identity is missing or misspelled on the server. TLS 1.3 servers usually fall back to a full handshake for unknown resumption tickets instead of sending it.",
        fix: "Configure the same identity and key on both sides (psk_file in mosquitto, -psk_identity and -psk with openssl s_client and s_server).",
        sent_by: "server",
        cause: None,
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(116),
        name: "certificate_required",
        reference: TLS13_ONLY,
        meaning: "A TLS 1.3 server requires a client certificate and the client sent none.",
        when: "Mutual TLS endpoints (nginx ssl_verify_client on, Envoy require_client_certificate, Go tls.RequireAndVerifyClientCert, Node requestCert with rejectUnauthorized) and a client without a certificate: curl without --cert, Node without key/cert, Python without load_cert_chain, a browser without the certificate installed. A client also sends none if its certificate is not from a CA the server listed. In TLS 1.3 the client may already have sent its first request, so the alert can arrive after the WebSocket upgrade request.",
        fix: "Configure the client's certificate and key, issued by one of the CAs the server accepts (openssl s_client shows them as 'Acceptable client certificate CA names'). If certificates should be optional, make the server ask without requiring (ssl_verify_client optional). TLS 1.2 stacks report the same problem as handshake_failure.",
        sent_by: "server",
        cause: Some(Cause::ClientCertificateRequired),
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(120),
        name: "no_application_protocol",
        reference: "RFC 7301 §3.2; RFC 8446 §6.2",
        meaning: "None of the application protocols the client offered in ALPN is supported by the server.",
        when: "A server that speaks only h2 (gRPC endpoints, Node http2.createSecureServer without allowHTTP1) and a WebSocket client that offers only http/1.1, which the Upgrade handshake needs; or a client offering only h2 to a server that enforces ALPN and speaks only http/1.1.",
        fix: "Add http/1.1 to the server's ALPN list (allowHTTP1: true in Node, the HTTP/1.1 listener of the proxy), or make the client offer a protocol the server speaks. WebSocket over h2 needs RFC 8441 extended CONNECT support on both sides.",
        sent_by: "server",
        cause: Some(Cause::NoApplicationProtocol),
        blames: None,
    },
    AlertInfo {
        code: AlertDescription(121),
        name: "ech_required",
        reference: "draft-ietf-tls-esni (TLS Encrypted Client Hello)",
        meaning: "The client offered Encrypted Client Hello, the server did not accept it, and the client refuses to continue without it; it may retry with the configuration the server returned.",
        when: "The ECH configuration published in the DNS HTTPS record is stale after the server rotated its keys, or the front end does not do ECH for that name. Browsers retry once automatically with the server's retry configuration.",
        fix: "Publish the current ECHConfigList in the DNS HTTPS/SVCB record after each key rotation, keep old keys for a while, and check that the client-facing server holds the keys matching what DNS publishes.",
        sent_by: "client",
        cause: None,
        blames: None,
    },
];

/// The entry for alert description `code`, if the registry has one.
pub fn alert(code: AlertDescription) -> Option<&'static AlertInfo> {
    ALERTS.iter().find(|a| a.code == code)
}

/// One protocol version as it appears in a record header, a hello or the
/// `supported_versions` extension.
#[derive(Clone, Copy, Debug)]
pub struct VersionInfo {
    /// The two-byte version number.
    pub id: ProtocolVersion,
    /// Common name ("TLS 1.3").
    pub name: &'static str,
    /// Standing: "current", or the RFC that deprecated or prohibited it.
    pub status: &'static str,
    /// What it means in practice: who still accepts it, what to set.
    pub note: &'static str,
}

/// Every TLS, SSL and DTLS version, in id order.
pub static VERSIONS: &[VersionInfo] = &[
    VersionInfo {
        id: ProtocolVersion::SSL2,
        name: "SSL 2.0",
        status: "prohibited by RFC 6176",
        note: "Broken since the 1990s; no current server accepts it and OpenSSL removed it in 1.1.0. An SSL 2.0-style ClientHello in a capture comes from a very old client or a scanner.",
    },
    VersionInfo {
        id: ProtocolVersion::SSL3,
        name: "SSL 3.0",
        status: "prohibited by RFC 7568",
        note: "Broken by POODLE; browsers dropped it in 2014-2015 and OpenSSL builds have it off by default. A peer that can only do SSL 3.0 must be upgraded, not accommodated.",
    },
    VersionInfo {
        id: ProtocolVersion::TLS10,
        name: "TLS 1.0",
        status: "deprecated by RFC 8996",
        note: "Off by default in browsers since 2020, in Java since 8u291 / 11.0.11 (jdk.tls.disabledAlgorithms), in Node since 12 (minVersion TLSv1.2) and in Go clients since 1.18. Only old clients (Android before 5, Java 7, .NET Framework without updates) still need it; set ssl_protocols TLSv1.2 TLSv1.3 in nginx.",
    },
    VersionInfo {
        id: ProtocolVersion::TLS11,
        name: "TLS 1.1",
        status: "deprecated by RFC 8996",
        note: "Disabled together with TLS 1.0 by the same defaults; it was never widely used on its own. Set the minimum to TLS 1.2 on both sides.",
    },
    VersionInfo {
        id: ProtocolVersion::TLS12,
        name: "TLS 1.2",
        status: "current (RFC 5246)",
        note: "The floor every current stack accepts; safe with ECDHE and AEAD suites (AES-GCM, ChaCha20-Poly1305). A TLS 1.3 ClientHello also carries 0x0303 in its legacy version field; the real offer is in supported_versions.",
    },
    VersionInfo {
        id: ProtocolVersion::TLS13,
        name: "TLS 1.3",
        status: "current (RFC 8446)",
        note: "The first choice of OpenSSL 1.1.1+, Java 11+ (and 8u261+), Go 1.13+, Node 12+, and all current browsers. Negotiated through the supported_versions extension; certificates are encrypted, so a capture shows alerts but not the certificate chain.",
    },
    VersionInfo {
        id: ProtocolVersion::DTLS13,
        name: "DTLS 1.3",
        status: "current (RFC 9147)",
        note: "TLS 1.3 over UDP; support is still limited (wolfSSL, some embedded stacks). Not used by WebSocket, which runs over TCP.",
    },
    VersionInfo {
        id: ProtocolVersion::DTLS12,
        name: "DTLS 1.2",
        status: "current (RFC 6347)",
        note: "TLS 1.2 over UDP, used by WebRTC, VPNs and CoAP. Not used by WebSocket, which runs over TCP.",
    },
    VersionInfo {
        id: ProtocolVersion::DTLS10,
        name: "DTLS 1.0",
        status: "deprecated by RFC 8996",
        note: "TLS 1.1 over UDP; replace with DTLS 1.2. Not used by WebSocket, which runs over TCP.",
    },
];

/// The entry for version `id`, if it is a known version.
pub fn version(id: ProtocolVersion) -> Option<&'static VersionInfo> {
    VERSIONS.iter().find(|v| v.id == id)
}

/// A printable name for version `id`: the known name, "GREASE (0x0a0a)",
/// "TLS 1.3 draft n" for the pre-RFC drafts (0x7f00 | n), else the number
/// in hex ("0x7e01").
pub fn version_name(id: ProtocolVersion) -> String {
    if let Some(v) = version(id) {
        return v.name.to_owned();
    }
    if id.is_grease() {
        return format!("GREASE ({id:#06x})");
    }
    // draft-ietf-tls-tls13: draft n put 0x7f00 | n on the wire.
    let [major, draft] = id.0.to_be_bytes();
    if major == 0x7f && draft != 0 {
        return format!("TLS 1.3 draft {draft}");
    }
    format!("{id:#06x}")
}

/// One entry of the IANA "TLS Supported Groups" registry (named curves,
/// finite-field groups and post-quantum key exchanges).
#[derive(Clone, Copy, Debug)]
pub struct GroupInfo {
    /// The two-byte `NamedGroup` value.
    pub id: u16,
    /// Registry name ("x25519", "secp256r1", "X25519MLKEM768").
    pub name: &'static str,
    /// How common it is and who supports it.
    pub note: &'static str,
}

const BINARY_CURVE: &str = "legacy binary curve, deprecated by RFC 8422; disabled by modern stacks";
const SMALL_CURVE: &str =
    "legacy curve below 128-bit security, deprecated by RFC 8422; disabled by modern stacks";
const BRAINPOOL12: &str = "Brainpool curve for TLS 1.2 and earlier (RFC 7027); rare outside some European government profiles";
const BRAINPOOL13: &str =
    "Brainpool curve for TLS 1.3 (RFC 8734); rare outside some European government profiles";
const GOST: &str = "Russian GOST curve (RFC 9189); only in GOST-enabled builds";
const FFDHE: &str = "finite-field Diffie-Hellman group (RFC 7919); offered by some clients, far slower than ECDHE and rarely chosen";
const MLKEM: &str =
    "pure post-quantum ML-KEM without a classical part (draft-ietf-tls-mlkem), TLS 1.3 only; rare";
const EXPLICIT: &str =
    "explicit curve parameters, deprecated by RFC 8422; never offered by current stacks";

/// Every registered group, plus the pre-standard Kyber hybrids browsers
/// shipped, in id order.
pub static GROUPS: &[GroupInfo] = &[
    GroupInfo { id: 0x0001, name: "sect163k1", note: BINARY_CURVE },
    GroupInfo { id: 0x0002, name: "sect163r1", note: BINARY_CURVE },
    GroupInfo { id: 0x0003, name: "sect163r2", note: BINARY_CURVE },
    GroupInfo { id: 0x0004, name: "sect193r1", note: BINARY_CURVE },
    GroupInfo { id: 0x0005, name: "sect193r2", note: BINARY_CURVE },
    GroupInfo { id: 0x0006, name: "sect233k1", note: BINARY_CURVE },
    GroupInfo { id: 0x0007, name: "sect233r1", note: BINARY_CURVE },
    GroupInfo { id: 0x0008, name: "sect239k1", note: BINARY_CURVE },
    GroupInfo { id: 0x0009, name: "sect283k1", note: BINARY_CURVE },
    GroupInfo { id: 0x000a, name: "sect283r1", note: BINARY_CURVE },
    GroupInfo { id: 0x000b, name: "sect409k1", note: BINARY_CURVE },
    GroupInfo { id: 0x000c, name: "sect409r1", note: BINARY_CURVE },
    GroupInfo { id: 0x000d, name: "sect571k1", note: BINARY_CURVE },
    GroupInfo { id: 0x000e, name: "sect571r1", note: BINARY_CURVE },
    GroupInfo { id: 0x000f, name: "secp160k1", note: SMALL_CURVE },
    GroupInfo { id: 0x0010, name: "secp160r1", note: SMALL_CURVE },
    GroupInfo { id: 0x0011, name: "secp160r2", note: SMALL_CURVE },
    GroupInfo { id: 0x0012, name: "secp192k1", note: SMALL_CURVE },
    GroupInfo { id: 0x0013, name: "secp192r1", note: SMALL_CURVE },
    GroupInfo { id: 0x0014, name: "secp224k1", note: SMALL_CURVE },
    GroupInfo { id: 0x0015, name: "secp224r1", note: SMALL_CURVE },
    GroupInfo {
        id: 0x0016,
        name: "secp256k1",
        note: "the Bitcoin curve; deprecated for TLS by RFC 8422 and not offered by mainstream stacks",
    },
    GroupInfo {
        id: 0x0017,
        name: "secp256r1",
        note: "common (NIST P-256, prime256v1 in OpenSSL); supported by every stack",
    },
    GroupInfo {
        id: 0x0018,
        name: "secp384r1",
        note: "common (NIST P-384); required by some government profiles",
    },
    GroupInfo {
        id: 0x0019,
        name: "secp521r1",
        note: "NIST P-521; supported by OpenSSL, Java and Go but not offered by Chrome",
    },
    GroupInfo { id: 0x001a, name: "brainpoolP256r1", note: BRAINPOOL12 },
    GroupInfo { id: 0x001b, name: "brainpoolP384r1", note: BRAINPOOL12 },
    GroupInfo { id: 0x001c, name: "brainpoolP512r1", note: BRAINPOOL12 },
    GroupInfo {
        id: 0x001d,
        name: "x25519",
        note: "common; the first choice of most clients and servers",
    },
    GroupInfo {
        id: 0x001e,
        name: "x448",
        note: "supported by OpenSSL and a few others; rarely chosen",
    },
    GroupInfo { id: 0x001f, name: "brainpoolP256r1tls13", note: BRAINPOOL13 },
    GroupInfo { id: 0x0020, name: "brainpoolP384r1tls13", note: BRAINPOOL13 },
    GroupInfo { id: 0x0021, name: "brainpoolP512r1tls13", note: BRAINPOOL13 },
    GroupInfo { id: 0x0022, name: "GC256A", note: GOST },
    GroupInfo { id: 0x0023, name: "GC256B", note: GOST },
    GroupInfo { id: 0x0024, name: "GC256C", note: GOST },
    GroupInfo { id: 0x0025, name: "GC256D", note: GOST },
    GroupInfo { id: 0x0026, name: "GC512A", note: GOST },
    GroupInfo { id: 0x0027, name: "GC512B", note: GOST },
    GroupInfo { id: 0x0028, name: "GC512C", note: GOST },
    GroupInfo {
        id: 0x0029,
        name: "curveSM2",
        note: "Chinese SM2 curve for TLS 1.3 (RFC 8998); only in stacks with ShangMi support",
    },
    GroupInfo { id: 0x0100, name: "ffdhe2048", note: FFDHE },
    GroupInfo { id: 0x0101, name: "ffdhe3072", note: FFDHE },
    GroupInfo { id: 0x0102, name: "ffdhe4096", note: FFDHE },
    GroupInfo { id: 0x0103, name: "ffdhe6144", note: FFDHE },
    GroupInfo { id: 0x0104, name: "ffdhe8192", note: FFDHE },
    GroupInfo { id: 0x0200, name: "MLKEM512", note: MLKEM },
    GroupInfo { id: 0x0201, name: "MLKEM768", note: MLKEM },
    GroupInfo { id: 0x0202, name: "MLKEM1024", note: MLKEM },
    GroupInfo {
        id: 0x11eb,
        name: "SecP256r1MLKEM768",
        note: "post-quantum hybrid (P-256 + ML-KEM-768), TLS 1.3 only; needs OpenSSL 3.5+ or a recent Go, Java or rustls",
    },
    GroupInfo {
        id: 0x11ec,
        name: "X25519MLKEM768",
        note: "post-quantum hybrid, TLS 1.3 only; default in current Chrome and Firefox, Go 1.24+ and OpenSSL 3.5+. Its 1.2 KB key share pushes the ClientHello past one TCP segment, which some middleboxes mishandle",
    },
    GroupInfo {
        id: 0x11ed,
        name: "SecP384r1MLKEM1024",
        note: "post-quantum hybrid (P-384 + ML-KEM-1024), TLS 1.3 only; needs OpenSSL 3.5+ or a recent Go, Java or rustls",
    },
    GroupInfo {
        id: 0x6399,
        name: "X25519Kyber768Draft00",
        note: "obsolete pre-standard post-quantum hybrid shipped by Chrome and Go in 2024; replaced by X25519MLKEM768",
    },
    GroupInfo {
        id: 0x639a,
        name: "SecP256r1Kyber768Draft00",
        note: "obsolete pre-standard post-quantum hybrid; replaced by SecP256r1MLKEM768",
    },
    GroupInfo { id: 0xff01, name: "arbitrary_explicit_prime_curves", note: EXPLICIT },
    GroupInfo { id: 0xff02, name: "arbitrary_explicit_char2_curves", note: EXPLICIT },
];

/// The entry for group `id`, if the registry has one.
pub fn group(id: u16) -> Option<&'static GroupInfo> {
    GROUPS.iter().find(|g| g.id == id)
}

/// A printable name for group `id`: the registry name, "GREASE (0x0a0a)",
/// else the number in hex ("0x1234").
pub fn group_name(id: u16) -> String {
    if let Some(g) = group(id) {
        return g.name.to_owned();
    }
    if is_grease(id) {
        return format!("GREASE ({id:#06x})");
    }
    format!("{id:#06x}")
}

/// RFC 5746: not a cipher suite but "I support secure renegotiation".
pub const EMPTY_RENEGOTIATION_INFO_SCSV: u16 = 0x00ff;
/// RFC 7507: not a cipher suite but "this is a downgraded retry".
pub const FALLBACK_SCSV: u16 = 0x5600;

/// A printable name for cipher suite `id`: the IANA name, "GREASE (0x0a0a)",
/// the two signalling values (`TLS_EMPTY_RENEGOTIATION_INFO_SCSV`,
/// `TLS_FALLBACK_SCSV`), else the number in hex ("0x1234").
pub fn cipher_name(id: u16) -> String {
    if is_grease(id) {
        return format!("GREASE ({id:#06x})");
    }
    match id {
        EMPTY_RENEGOTIATION_INFO_SCSV => "TLS_EMPTY_RENEGOTIATION_INFO_SCSV".to_owned(),
        FALLBACK_SCSV => "TLS_FALLBACK_SCSV".to_owned(),
        _ => {
            TlsCipherSuite::from_id(id).map_or_else(|| format!("{id:#06x}"), |c| c.name.to_owned())
        }
    }
}

/// Whether `id` is a TLS 1.3 cipher suite (0x1301-0x1305, plus the other
/// registered TLS 1.3-only suites such as `TLS_SM4_GCM_SM3`). A `ServerHello`
/// choosing one has negotiated TLS 1.3.
pub fn cipher_is_tls13(id: u16) -> bool {
    (0x1301..=0x1305).contains(&id)
        || TlsCipherSuite::from_id(id).is_some_and(|c| c.kx == TlsCipherKx::Tls13)
}

const W_NULL: &str =
    "NULL encryption: records are not encrypted at all; never enable outside debugging.";
const W_EXPORT: &str =
    "EXPORT grade: 40- or 56-bit keys, breakable today (FREAK, Logjam); disable.";
const W_ANON: &str = "anonymous key exchange: the server is not authenticated, so any man in the middle can read the traffic; disable.";
const W_RC4: &str = "RC4: biased keystream, prohibited by RFC 7465; disable.";
const W_DES: &str = "single DES: 56-bit key, brute-forced in hours; disable.";
const W_3DES: &str = "3DES: 64-bit blocks open to Sweet32 on long connections; off by default since OpenSSL 1.1.0 and in browsers.";
const W_OLD_BLOCK: &str = "RC2 or IDEA: obsolete 64-bit block cipher, removed in TLS 1.2; disable.";
const W_MD5: &str =
    "HMAC-MD5 record MAC: obsolete; prefer ECDHE with AEAD (AES-GCM, ChaCha20-Poly1305).";
const W_RSA_CBC: &str = "RSA key exchange (no forward secrecy) and CBC with HMAC (Lucky13-prone); prefer ECDHE with AES-GCM or ChaCha20-Poly1305.";
const W_RSA: &str = "RSA key exchange: no forward secrecy, a leaked server key decrypts recorded traffic; prefer ECDHE suites.";
const W_STATIC_CBC: &str = "static DH, ECDH or PSK key exchange (no forward secrecy) and CBC with HMAC (Lucky13-prone); prefer ECDHE with AEAD.";
const W_STATIC: &str =
    "static DH, ECDH or PSK key exchange: no forward secrecy; prefer ECDHE (or ECDHE_PSK) suites.";
const W_CBC_SHA1: &str = "CBC with HMAC-SHA1 (MAC-then-encrypt): Lucky13-prone; prefer AEAD (AES-GCM, ChaCha20-Poly1305).";
const W_CBC: &str =
    "CBC with HMAC (MAC-then-encrypt): Lucky13-prone; prefer AEAD (AES-GCM, ChaCha20-Poly1305).";
const W_CCM8: &str = "CCM_8: 8-byte authentication tag meant for constrained devices; IANA marks it not recommended for general use.";

/// A short judgement of cipher suite `id`'s weakness, worst problem first;
/// `None` for sound suites (ECDHE or DHE with AEAD, TLS 1.3 suites) and for
/// values that are not real suites (unknown, GREASE, SCSVs).
pub fn cipher_weakness(id: u16) -> Option<&'static str> {
    if is_grease(id) || id == EMPTY_RENEGOTIATION_INFO_SCSV || id == FALLBACK_SCSV {
        return None;
    }
    let c = TlsCipherSuite::from_id(id)?;
    if c.enc == TlsCipherEnc::Null {
        return Some(W_NULL);
    }
    if c.name.contains("EXPORT") {
        return Some(W_EXPORT);
    }
    if c.au == TlsCipherAu::Null {
        return Some(W_ANON);
    }
    match c.enc {
        TlsCipherEnc::Rc4 => return Some(W_RC4),
        TlsCipherEnc::Des => return Some(W_DES),
        TlsCipherEnc::TripleDes => return Some(W_3DES),
        TlsCipherEnc::Rc2 | TlsCipherEnc::Idea => return Some(W_OLD_BLOCK),
        _ => {}
    }
    if c.mac == TlsCipherMac::HmacMd5 {
        return Some(W_MD5);
    }
    let cbc = c.enc_mode == TlsCipherEncMode::Cbc;
    // Plain PSK only: the PSK_DHE suites carry the DHE part in `au`.
    let static_kx = matches!(
        c.kx,
        TlsCipherKx::Dh | TlsCipherKx::Ecdh | TlsCipherKx::Krb5
    ) || (c.kx == TlsCipherKx::Psk && c.au == TlsCipherAu::Psk);
    match (c.kx == TlsCipherKx::Rsa, static_kx, cbc) {
        (true, _, true) => return Some(W_RSA_CBC),
        (true, _, false) => return Some(W_RSA),
        (false, true, true) => return Some(W_STATIC_CBC),
        (false, true, false) => return Some(W_STATIC),
        _ => {}
    }
    if cbc {
        return Some(if c.mac == TlsCipherMac::HmacSha1 {
            W_CBC_SHA1
        } else {
            W_CBC
        });
    }
    if c.name.contains("CCM_8") {
        return Some(W_CCM8);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_certificate_problem_has_its_own_advice() {
        use CertProblem::*;
        let all = [
            Expired,
            NotYetValid,
            SelfSigned,
            UntrustedRoot,
            UnknownIssuer,
            NameMismatch,
            WeakKey,
            NotForServers,
            BadSignature,
        ];
        for p in all {
            assert_eq!(
                cert_problem(p).problem,
                p,
                "{p:?} falls back to the catch-all"
            );
        }
        assert_eq!(cert_problem(Other).problem, Other);
    }

    #[test]
    fn certificate_alerts_name_the_problems_they_report() {
        let a = AlertDescription;
        assert_eq!(alert(a(45)).and_then(|a| a.blames), Some(Blame::Validity));
        assert_eq!(alert(a(48)).and_then(|a| a.blames), Some(Blame::Issuer));
        assert_eq!(alert(a(42)).and_then(|a| a.blames), Some(Blame::Any));
        assert_eq!(alert_cause(a(116)), Cause::ClientCertificateRequired);
        assert_eq!(alert_cause(a(10)), Cause::Alert);
    }

    fn strictly_increasing(ids: &[u32]) -> bool {
        ids.windows(2).all(|w| w[0] < w[1])
    }

    #[test]
    fn tables_are_sorted_without_duplicates() {
        let a: Vec<u32> = ALERTS.iter().map(|a| u32::from(a.code.0)).collect();
        let v: Vec<u32> = VERSIONS.iter().map(|v| u32::from(v.id.0)).collect();
        let g: Vec<u32> = GROUPS.iter().map(|g| u32::from(g.id)).collect();
        assert!(strictly_increasing(&a), "ALERTS");
        assert!(strictly_increasing(&v), "VERSIONS");
        assert!(strictly_increasing(&g), "GROUPS");
    }

    #[test]
    fn every_entry_has_text() {
        for a in ALERTS {
            for (field, text) in [
                ("name", a.name),
                ("reference", a.reference),
                ("meaning", a.meaning),
                ("when", a.when),
                ("fix", a.fix),
            ] {
                assert!(!text.trim().is_empty(), "alert {} {field}", a.code);
            }
            assert!(
                matches!(a.sent_by, "client" | "server" | "either"),
                "alert {}",
                a.code
            );
            assert!(
                a.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "alert {} name is snake_case",
                a.code
            );
        }
        for v in VERSIONS {
            assert!(
                !v.name.is_empty() && !v.status.is_empty() && !v.note.is_empty(),
                "{:#06x}",
                v.id
            );
        }
        for g in GROUPS {
            assert!(!g.name.is_empty() && !g.note.is_empty(), "{:#06x}", g.id);
        }
    }

    #[test]
    fn the_whole_alert_registry_is_there() {
        let registry: [u8; 35] = [
            0, 10, 20, 21, 22, 30, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 60, 70, 71, 80,
            86, 90, 100, 109, 110, 111, 112, 113, 114, 115, 116, 120, 121,
        ];
        let ours: Vec<u8> = ALERTS.iter().map(|a| a.code.0).collect();
        assert_eq!(ours, registry);
        assert!(alert(AlertDescription(1)).is_none() && alert(AlertDescription(255)).is_none());
    }

    #[test]
    fn known_lookups() {
        let a = AlertDescription;
        assert_eq!(alert(a(45)).map(|a| a.name), Some("certificate_expired"));
        assert_eq!(alert(a(48)).map(|a| a.name), Some("unknown_ca"));
        assert_eq!(alert(a(0)).map(|a| a.name), Some("close_notify"));
        let v = ProtocolVersion;
        assert_eq!(version_name(v(0x0304)), "TLS 1.3");
        assert_eq!(version_name(v(0x0303)), "TLS 1.2");
        assert_eq!(version_name(v(0x0300)), "SSL 3.0");
        assert_eq!(version_name(v(0x7f1c)), "TLS 1.3 draft 28");
        assert_eq!(version_name(v(0x7f00)), "0x7f00");
        assert_eq!(version_name(v(0x2a2a)), "GREASE (0x2a2a)");
        assert_eq!(version_name(v(0x7e01)), "0x7e01");
        assert_eq!(
            version(v(0x0301)).map(|v| v.status),
            Some("deprecated by RFC 8996")
        );
        assert_eq!(group_name(0x001d), "x25519");
        assert_eq!(group_name(0x0017), "secp256r1");
        assert_eq!(group_name(0x11ec), "X25519MLKEM768");
        assert_eq!(group_name(0x2a2a), "GREASE (0x2a2a)");
        assert_eq!(group_name(0x1234), "0x1234");
        assert_eq!(cipher_name(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(cipher_name(0x1301), "TLS_AES_128_GCM_SHA256");
        assert_eq!(cipher_name(0x2a2a), "GREASE (0x2a2a)");
        assert_eq!(cipher_name(0x00ff), "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
        assert_eq!(cipher_name(0x5600), "TLS_FALLBACK_SCSV");
        assert_eq!(cipher_name(0xfeed), "0xfeed");
    }

    #[test]
    fn grease_values() {
        let grease: Vec<u16> = (0..=u16::MAX).filter(|&v| is_grease(v)).collect();
        assert_eq!(grease.len(), 16);
        assert_eq!(grease.first(), Some(&0x0a0a));
        assert_eq!(grease.last(), Some(&0xfafa));
        assert!(!is_grease(0x0a1a) && !is_grease(0x0b0b) && !is_grease(0x0303));
    }

    #[test]
    fn weakness_judgements() {
        let w = |id| cipher_weakness(id).unwrap_or("");
        assert!(w(0x000a).contains("3DES"), "{}", w(0x000a));
        assert!(w(0x0005).contains("RC4"), "{}", w(0x0005));
        let rsa_cbc = w(0x002f);
        assert!(
            rsa_cbc.contains("RSA key exchange") && rsa_cbc.contains("CBC"),
            "{rsa_cbc}"
        );
        assert!(w(0x009c).contains("forward secrecy"), "{}", w(0x009c));
        assert!(w(0xc013).contains("HMAC-SHA1"), "{}", w(0xc013));
        assert!(w(0xc027).contains("CBC"), "{}", w(0xc027));
        assert!(w(0x0000).contains("NULL"), "{}", w(0x0000));
        assert!(w(0x0003).contains("EXPORT"), "{}", w(0x0003));
        assert!(w(0x0034).contains("anonymous"), "{}", w(0x0034));
        assert_eq!(cipher_weakness(0xc02b), None);
        assert_eq!(cipher_weakness(0xc02f), None);
        assert_eq!(cipher_weakness(0xcca8), None);
        assert_eq!(cipher_weakness(0x1301), None);
        assert_eq!(cipher_weakness(0x1302), None);
        assert_eq!(cipher_weakness(0x1303), None);
        assert_eq!(cipher_weakness(0x2a2a), None);
        assert_eq!(cipher_weakness(0x00ff), None);
        assert_eq!(cipher_weakness(0x5600), None);
        assert_eq!(cipher_weakness(0xfeed), None);
    }

    #[test]
    fn tls13_suites() {
        for id in 0x1301..=0x1305 {
            assert!(cipher_is_tls13(id), "{id:#06x}");
        }
        assert!(!cipher_is_tls13(0xc02f) && !cipher_is_tls13(0x1300) && !cipher_is_tls13(0x002f));
    }
}
