//! WebSocket code points as the wire has them, with the properties RFC 6455
//! gives them; their names and advice are in `knowledge::close_codes`.

use serde::{Deserialize, Serialize};

use super::code_point;

code_point! {
    /// A Close frame's status code (RFC 6455 §7.4), or one a receiver
    /// reports when the wire had none (1005, 1006, 1015). Serialized as the
    /// bare number.
    #[derive(Serialize, Deserialize)]
    #[serde(transparent)]
    CloseCode(u16) {
        /// Normal Closure: the purpose of the connection is fulfilled.
        NORMAL = 1000,
        /// Going Away: a server going down or a browser leaving the page.
        GOING_AWAY = 1001,
        /// Protocol Error.
        PROTOCOL_ERROR = 1002,
        /// Unsupported Data: a data type the endpoint cannot accept.
        UNSUPPORTED_DATA = 1003,
        /// No Status Received: a Close without a code (never on the wire).
        NO_STATUS = 1005,
        /// Abnormal Closure: no Close at all (never on the wire).
        ABNORMAL = 1006,
        /// Invalid Frame Payload Data: e.g. text that is not UTF-8.
        INVALID_PAYLOAD = 1007,
        /// Policy Violation.
        POLICY_VIOLATION = 1008,
        /// Message Too Big.
        MESSAGE_TOO_BIG = 1009,
        /// Mandatory Extension: the server did not negotiate one the client needs.
        MANDATORY_EXTENSION = 1010,
        /// Internal Error.
        INTERNAL_ERROR = 1011,
        /// Service Restart (IANA registry).
        SERVICE_RESTART = 1012,
        /// Try Again Later (IANA registry).
        TRY_AGAIN_LATER = 1013,
        /// Bad Gateway (IANA registry).
        BAD_GATEWAY = 1014,
        /// TLS handshake failure (never on the wire).
        TLS_HANDSHAKE = 1015,
    }
}

impl CloseCode {
    /// Whether an endpoint may send this code in a Close frame (RFC 6455
    /// §7.4.1 and §7.4.2, with the IANA registry's 1012-1014): the defined
    /// codes that are not reserved for reporting, and the registered and
    /// private ranges 3000-4999. Any other code on the wire is a protocol
    /// error.
    pub fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// Whether a Close with this code ends a session as intended: 1000 or
    /// 1001. Every other code, and every disconnect without a Close, is
    /// abnormal.
    pub fn is_clean(self) -> bool {
        self == CloseCode::NORMAL || self == CloseCode::GOING_AWAY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reporting_codes_are_not_sendable() {
        for c in [
            CloseCode::NO_STATUS,
            CloseCode::ABNORMAL,
            CloseCode::TLS_HANDSHAKE,
        ] {
            assert!(!c.is_sendable(), "{c}");
        }
        assert!(!CloseCode(1004).is_sendable());
        assert!(!CloseCode(2999).is_sendable());
        assert!(!CloseCode(5000).is_sendable());
        assert!(CloseCode(3000).is_sendable() && CloseCode(4999).is_sendable());
        assert!(CloseCode::TRY_AGAIN_LATER.is_sendable());
    }

    #[test]
    fn serializes_as_the_number() {
        let json = serde_json::to_string(&Some(CloseCode::ABNORMAL)).unwrap();
        assert_eq!(json, "1006");
        let back: CloseCode = serde_json::from_str("4001").unwrap();
        assert_eq!(back, CloseCode(4001));
    }
}
