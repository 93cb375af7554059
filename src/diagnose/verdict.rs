//! The verdict as types: what [`diagnose`](super::diagnose) decides about a
//! connection (category, who closed, the cause and how sure it is, the
//! evidence in frame order) before any report renders it. Each enum
//! serializes as the snake_case word of DESIGN.md's JSON contract.

use serde::{Serialize, Serializer};

use crate::vocab::{At, Dir};

/// An enum of the JSON contract's words: each variant with its word, and
/// `as_str`, `from_word`, `ALL`, `Display` and `Serialize` from that one
/// table.
macro_rules! words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $word:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The word of the JSON contract.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }

            /// The value of a contract word, e.g. read back from NDJSON.
            pub fn from_word(word: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == word)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

words! {
    /// DESIGN.md's disconnect categories: what kind of ending a verdict is.
    Category {
        /// A Close frame was seen; the first one sent decides.
        CloseFrame => "close_frame",
        /// The TLS handshake never completed.
        TlsHandshake => "tls_handshake",
        /// The HTTP upgrade did not yield a valid 101.
        HttpUpgrade => "http_upgrade",
        /// TCP ended after the upgrade without a Close frame.
        TcpAbort => "tcp_abort",
        /// The analyzer saw a frame that breaks RFC 6455 and no Close followed.
        ProtocolViolation => "protocol_violation",
        /// The connection ended inside TLS that could not be read.
        Encrypted => "encrypted",
        /// The SYN was refused or never answered.
        TcpRefused => "tcp_refused",
        /// The capture stopped while the connection was open.
        CaptureEnd => "capture_end",
    }
}

words! {
    /// Who ended the connection.
    Initiator {
        /// The side that sent the SYN.
        Client => "client",
        /// The other side.
        Server => "server",
        /// Neither (the capture ended, or nothing said who).
        None => "none",
    }
}

impl Initiator {
    /// The side that sends in `dir`.
    pub fn of(dir: Dir) -> Initiator {
        match dir {
            Dir::ClientToServer => Initiator::Client,
            Dir::ServerToClient => Initiator::Server,
        }
    }
}

impl From<Dir> for Initiator {
    fn from(dir: Dir) -> Initiator {
        Initiator::of(dir)
    }
}

words! {
    /// How sure a verdict's cause is.
    Confidence {
        /// The wire says it (an alert in the clear, a Close frame).
        Certain => "certain",
        /// The usual reason for what the wire shows.
        Likely => "likely",
        /// Several explanations fit.
        Unclear => "unclear",
    }
}

words! {
    /// Why a TLS handshake failed, as one word of the `cause` field.
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

/// One line of evidence: where it is in the capture (if it cites a frame)
/// and the line as reports print it ("frame 12 (+0.004 s): ...").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// The frame and time it cites; `None` for a line about the whole
    /// connection or capture, which comes after the cited ones.
    pub at: Option<At>,
    /// The line.
    pub text: String,
}

impl Evidence {
    /// A line that cites no frame.
    pub fn note(text: impl Into<String>) -> Evidence {
        Evidence {
            at: None,
            text: text.into(),
        }
    }
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// Evidence in frame order (stable); lines that cite no frame last.
pub fn in_frame_order(evidence: &mut [Evidence]) {
    evidence.sort_by_key(|e| e.at.map_or(u64::MAX, |at| at.frame));
}

/// Whether a verdict of this category and code is abnormal: anything but
/// a clean 1000 or 1001 Close frame.
pub fn is_abnormal(category: Category, code: Option<u16>) -> bool {
    !(category == Category::CloseFrame && matches!(code, Some(1000 | 1001)))
}

/// The verdict on how a connection ended.
#[derive(Clone, Debug, Serialize)]
pub struct Disconnect {
    /// Close code (observed or inferred); null when unknown.
    pub code: Option<u16>,
    /// Its name.
    pub name: String,
    /// What kind of ending.
    pub category: Category,
    /// Who ended it.
    pub initiator: Initiator,
    /// Whether the code was read from a Close frame.
    pub observed: bool,
    /// Reason text of the Close frame.
    pub reason: Option<String>,
    /// HTTP status of a failed upgrade.
    pub http_status: Option<u16>,
    /// For a failed TLS handshake, the cause; null otherwise.
    pub cause: Option<Cause>,
    /// How sure the cause is; null when there is no cause.
    pub confidence: Option<Confidence>,
    /// One sentence: what happened.
    pub summary: String,
    /// Frames and times that show it.
    pub evidence: Vec<Evidence>,
    /// What to change.
    pub fix: String,
}

impl Disconnect {
    /// Anything but a clean 1000 or 1001 close.
    pub fn abnormal(&self) -> bool {
        is_abnormal(self.category, self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_round_trip_through_their_words() {
        for &c in Category::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(Category::from_word(c.as_str()), Some(c));
        }
        assert_eq!(Category::from_word("closed"), None);
    }

    #[test]
    fn cited_lines_sort_by_frame_and_notes_go_last() {
        let at = |frame| {
            Some(At {
                frame,
                ts: crate::capture::Timestamp(0),
            })
        };
        let mut ev = vec![
            Evidence::note("about the connection"),
            Evidence {
                at: at(12),
                text: "b".into(),
            },
            Evidence {
                at: at(3),
                text: "a".into(),
            },
        ];
        in_frame_order(&mut ev);
        let texts: Vec<&str> = ev.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["a", "b", "about the connection"]);
    }

    #[test]
    fn only_clean_closes_are_normal() {
        assert!(!is_abnormal(Category::CloseFrame, Some(1000)));
        assert!(!is_abnormal(Category::CloseFrame, Some(1001)));
        assert!(is_abnormal(Category::CloseFrame, Some(1011)));
        assert!(is_abnormal(Category::TcpAbort, Some(1000)));
    }
}
