//! The verdict as types: what [`diagnose`](super::diagnose) decides about a
//! connection (category, who closed, the cause and how sure it is, the
//! evidence in frame order) before any report renders it. Each enum
//! serializes as the snake_case word of DESIGN.md's JSON contract.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::knowledge::tls::Cause;
use crate::vocab::words;

use crate::vocab::websocket::CloseCode;
use crate::vocab::{At, Dir};

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

/// A line read back from a report: its text; the frame it cited is in
/// the words only.
impl<'de> Deserialize<'de> for Evidence {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Evidence, D::Error> {
        String::deserialize(d).map(Evidence::note)
    }
}

/// Evidence in frame order (stable); lines that cite no frame last.
pub fn in_frame_order(evidence: &mut [Evidence]) {
    evidence.sort_by_key(|e| e.at.map_or(u64::MAX, |at| at.frame));
}

/// Whether a verdict of this category and code is abnormal: anything but
/// a clean 1000 or 1001 Close frame.
pub fn is_abnormal(category: Category, code: Option<CloseCode>) -> bool {
    !(category == Category::CloseFrame && code.is_some_and(CloseCode::is_clean))
}

/// The verdict on how a connection ended.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Disconnect {
    /// Close code (observed or inferred); null when unknown.
    pub code: Option<CloseCode>,
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
        assert!(!is_abnormal(Category::CloseFrame, Some(CloseCode::NORMAL)));
        assert!(!is_abnormal(
            Category::CloseFrame,
            Some(CloseCode::GOING_AWAY)
        ));
        assert!(is_abnormal(
            Category::CloseFrame,
            Some(CloseCode::INTERNAL_ERROR)
        ));
        assert!(is_abnormal(Category::TcpAbort, Some(CloseCode::NORMAL)));
    }
}
