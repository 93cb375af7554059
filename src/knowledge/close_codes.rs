//! The WebSocket close codes: every code of the IANA "WebSocket Close Code
//! Number Registry" (RFC 6455 §11.7, §7.4), the ranges it sets aside, and
//! the ranges that must never be sent. Each entry says what the code means,
//! who usually sends it, what typically causes it and what to change. The
//! text is ours; the meanings follow the RFC and the registry.

use crate::vocab::websocket::CloseCode;

/// How a code may be used on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeClass {
    /// Defined by RFC 6455 or registered with IANA, and may be sent in a
    /// Close frame.
    Standard,
    /// Reserved: an endpoint must never send it in a Close frame (1004,
    /// 1005, 1006, 1015). 1005, 1006 and 1015 are what a receiver reports
    /// when no code could be read.
    Reserved,
    /// 3000-3999: registered with IANA by libraries, frameworks and
    /// applications.
    Registered,
    /// 4000-4999: private use, meaning agreed between the two applications.
    Private,
    /// Not a valid close code on the wire (0-999, 1016-2999, 5000 and up).
    Invalid,
}

impl CodeClass {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeClass::Standard => "standard",
            CodeClass::Reserved => "reserved",
            CodeClass::Registered => "registered",
            CodeClass::Private => "private",
            CodeClass::Invalid => "invalid",
        }
    }
}

/// One code, or one range of codes.
#[derive(Clone, Copy, Debug)]
pub struct CloseCodeInfo {
    /// First code covered.
    pub from: u16,
    /// Last code covered (equal to `from` for a single code).
    pub to: u16,
    /// Registry name.
    pub name: &'static str,
    /// How it may be used.
    pub class: CodeClass,
    /// A Close frame with this code ends a session on purpose (done, going
    /// away, or an application's own decision), not because something
    /// failed: a new connection after it starts a new session rather than
    /// retrying a failed one.
    pub on_purpose: bool,
    /// Where it is defined.
    pub reference: &'static str,
    /// Who usually sends it (or reports it, for reserved codes).
    pub sender: &'static str,
    /// What it means.
    pub meaning: &'static str,
    /// When one typically sees it.
    pub when: &'static str,
    /// What to change.
    pub fix: &'static str,
}

const RFC: &str = "RFC 6455 §7.4.1; IANA WebSocket Close Code Number Registry";
const IANA: &str = "IANA WebSocket Close Code Number Registry (registered after RFC 6455)";

/// Every single code first, then the ranges, in code order within each.
pub static CLOSE_CODES: &[CloseCodeInfo] = &[
    CloseCodeInfo {
        from: 1000,
        to: 1000,
        name: "Normal Closure",
        class: CodeClass::Standard,
        on_purpose: true,
        reference: RFC,
        sender: "either side",
        meaning: "The connection did what it was opened for and is being shut down on purpose.",
        when: "A client leaving a page or finishing its work, a server ending a session it no longer needs. Not an error by itself.",
        fix: "Nothing to fix if the close was expected. If users did not expect it, look for the code path that closes with 1000: a logout, a session timeout in the application, or a client library closing when its object is garbage-collected.",
    },
    CloseCodeInfo {
        from: 1001,
        to: 1001,
        name: "Going Away",
        class: CodeClass::Standard,
        on_purpose: true,
        reference: RFC,
        sender: "either side",
        meaning: "The endpoint is going away: a server shutting down or a browser navigating away from the page.",
        when: "Deploys and restarts that drain connections, load balancers removing a backend, browser tabs closed or reloaded.",
        fix: "Expected during deploys: make clients reconnect with jittered backoff and drain servers gradually. If it comes from a proxy or load balancer outside deploys, check its health checks and idle or drain timeouts.",
    },
    CloseCodeInfo {
        from: 1002,
        to: 1002,
        name: "Protocol Error",
        class: CodeClass::Standard,
        on_purpose: false,
        reference: RFC,
        sender: "the side that received the bad frame",
        meaning: "The peer broke the WebSocket framing rules (RFC 6455 §5).",
        when: "Unmasked frames from a client or masked frames from a server, reserved opcodes, RSV bits without a negotiated extension, fragmented or oversized control frames, continuation frames without a start. Often a hand-written client, a buggy library, or an intermediary that rewrites frames.",
        fix: "Find the frame that broke the rule in the evidence and fix its sender: use a maintained WebSocket library, check that masking matches the role, and that extensions such as permessage-deflate were really negotiated before compressed frames are sent. If a proxy sits in between, test without it.",
    },
    CloseCodeInfo {
        from: 1003,
        to: 1003,
        name: "Unsupported Data",
        class: CodeClass::Standard,
        on_purpose: false,
        reference: RFC,
        sender: "the side that received the data",
        meaning: "The endpoint received a kind of data it cannot accept, such as binary data when it only handles text.",
        when: "A client sending binary frames to a text-only endpoint or the reverse, or a message type the application never expected.",
        fix: "Agree on the message type: send text (opcode 1) or binary (opcode 2) as the other side expects, or make the receiver accept both. A subprotocol (Sec-WebSocket-Protocol) is the place to pin this down.",
    },
    CloseCodeInfo {
        from: 1004,
        to: 1004,
        name: "Reserved",
        class: CodeClass::Reserved,
        on_purpose: false,
        reference: RFC,
        sender: "nobody (reserved)",
        meaning: "Reserved by RFC 6455 with no meaning; it must not appear in a Close frame.",
        when: "Only from broken or experimental implementations.",
        fix: "Treat it as a protocol error in the sender: it must use a defined code, usually 1000, 1008 or 1011.",
    },
    CloseCodeInfo {
        from: 1005,
        to: 1005,
        name: "No Status Received",
        class: CodeClass::Reserved,
        on_purpose: true,
        reference: RFC,
        sender: "reported by the receiver; never sent",
        meaning: "A Close frame arrived without a status code. Libraries report 1005 for it; it must never be sent on the wire.",
        when: "Clients and servers that call close() without a code, some proxies, older libraries.",
        fix: "Usually harmless. If the close was not expected, make the closing side send an explicit code and reason so the next capture says why.",
    },
    CloseCodeInfo {
        from: 1006,
        to: 1006,
        name: "Abnormal Closure",
        class: CodeClass::Reserved,
        on_purpose: false,
        reference: RFC,
        sender: "reported by the receiver; never sent",
        meaning: "The connection ended without any Close frame: the TCP connection was reset or closed, or the upgrade never completed.",
        when: "A process crashed or was killed, a network path dropped, a proxy or load balancer hit its idle timeout, a NAT forgot the mapping, or the HTTP upgrade was refused.",
        fix: "Look at who ended the TCP connection and after how much silence. Silence before the end points at an idle timeout: send pings more often than the shortest timeout on the path (proxy read timeouts, load balancer idle timeouts, NAT tables) or raise that timeout. A reset with no silence points at a crash or a firewall. A refused upgrade needs the HTTP status fixed.",
    },
    CloseCodeInfo {
        from: 1007,
        to: 1007,
        name: "Invalid Frame Payload Data",
        class: CodeClass::Standard,
        on_purpose: false,
        reference: RFC,
        sender: "the side that received the message",
        meaning: "A message's content did not match its type, most often a text message that is not valid UTF-8.",
        when: "Binary data sent as text, text cut in the middle of a multi-byte character when splitting messages, or Latin-1 strings sent as text.",
        fix: "Send bytes that are not UTF-8 as binary messages, encode text as UTF-8, and split long text only between characters. The evidence names the message and the offset of the first bad byte.",
    },
    CloseCodeInfo {
        from: 1008,
        to: 1008,
        name: "Policy Violation",
        class: CodeClass::Standard,
        on_purpose: false,
        reference: RFC,
        sender: "usually the server",
        meaning: "The endpoint refuses the connection or a message because it breaks its policy; a generic code when no more specific one fits.",
        when: "Authentication expired or failed after the upgrade, rate limits, forbidden Origin, messages the application rejects. The reason text usually says which.",
        fix: "Read the reason text and the server's logs for the rule that fired; refresh tokens before they expire, respect rate limits, and send only the messages the server's policy allows.",
    },
    CloseCodeInfo {
        from: 1009,
        to: 1009,
        name: "Message Too Big",
        class: CodeClass::Standard,
        on_purpose: false,
        reference: RFC,
        sender: "the side that received the message",
        meaning: "A message was larger than the receiver is willing to handle.",
        when: "A message crossed the receiver's size limit: large JSON documents, file uploads, snapshots, or compressed messages that inflate past the limit.",
        fix: "Either raise the receiver's maximum message size (for example max_size in Python websockets, maxPayload in Node ws, or the proxy's buffer limits) to fit the largest legitimate message, or split large payloads into several messages. The evidence gives the size of the message that crossed the limit.",
    },
    CloseCodeInfo {
        from: 1010,
        to: 1010,
        name: "Mandatory Extension",
        class: CodeClass::Standard,
        on_purpose: false,
        reference: RFC,
        sender: "the client",
        meaning: "The client expected the server to negotiate one or more extensions and the server's handshake response did not.",
        when: "A client that requires permessage-deflate or another extension talking to a server, or through a proxy, that strips it.",
        fix: "Enable the extension on the server (and let it pass through proxies), or make it optional in the client. The reason text lists the extensions the client needed.",
    },
    CloseCodeInfo {
        from: 1011,
        to: 1011,
        name: "Internal Error",
        class: CodeClass::Standard,
        on_purpose: false,
        reference: "RFC 6455 §7.4.1 (errata 3227: either side); IANA WebSocket Close Code Number Registry",
        sender: "usually the server",
        meaning: "The endpoint hit an unexpected condition that kept it from fulfilling the request.",
        when: "An unhandled exception in a message handler, a failed dependency (database, cache), running out of resources.",
        fix: "Find the error in the server's logs at the time of the Close frame; the frames just before it show which message triggered it. Handle the exception, or close with a more specific code.",
    },
    CloseCodeInfo {
        from: 1012,
        to: 1012,
        name: "Service Restart",
        class: CodeClass::Standard,
        on_purpose: false,
        reference: IANA,
        sender: "the server",
        meaning: "The server is restarting; the client should reconnect.",
        when: "Rolling deploys, configuration reloads, planned restarts.",
        fix: "Expected during restarts. Clients should reconnect after a short randomized delay so that they do not all return at once; servers can drain more slowly.",
    },
    CloseCodeInfo {
        from: 1013,
        to: 1013,
        name: "Try Again Later",
        class: CodeClass::Standard,
        on_purpose: false,
        reference: IANA,
        sender: "the server",
        meaning: "The server is overloaded or temporarily unable to serve; the client may reconnect later.",
        when: "Connection or capacity limits reached, a backend temporarily unavailable, load shedding.",
        fix: "Back off before reconnecting (exponential with jitter) and add capacity or raise the server's connection limits if it happens under normal load.",
    },
    CloseCodeInfo {
        from: 1014,
        to: 1014,
        name: "Bad Gateway",
        class: CodeClass::Standard,
        on_purpose: false,
        reference: IANA,
        sender: "a gateway or proxy",
        meaning: "A gateway or proxy received an invalid response from the server behind it, as HTTP 502 does.",
        when: "A WebSocket-aware proxy that lost or could not reach its upstream.",
        fix: "Look at the proxy's upstream: whether the backend is up, reachable from the proxy, and speaks WebSocket on the port the proxy uses.",
    },
    CloseCodeInfo {
        from: 1015,
        to: 1015,
        name: "TLS Handshake",
        class: CodeClass::Reserved,
        on_purpose: false,
        reference: RFC,
        sender: "reported by the client; never sent",
        meaning: "The connection was closed because the TLS handshake failed, so no WebSocket was ever set up. It must never be sent on the wire.",
        when: "Expired, not yet valid or untrusted certificates, a name that does not match the certificate, no common TLS version or cipher, a TLS-intercepting middlebox.",
        fix: "Read the TLS alert and the certificate in the capture: renew or replace the certificate, install the missing intermediate, make the name match, or align the TLS versions and ciphers both sides allow.",
    },
    CloseCodeInfo {
        from: 0,
        to: 999,
        name: "Not Used",
        class: CodeClass::Invalid,
        on_purpose: false,
        reference: "RFC 6455 §7.4.2",
        sender: "a broken implementation",
        meaning: "Codes below 1000 are not used; a Close frame carrying one is a protocol error.",
        when: "Uninitialized values, codes of another protocol passed through, byte-order mistakes.",
        fix: "Fix the sender to use a code from 1000-1015 (as allowed) or from 3000-4999.",
    },
    CloseCodeInfo {
        from: 1016,
        to: 2999,
        name: "Reserved for the Protocol",
        class: CodeClass::Invalid,
        on_purpose: false,
        reference: "RFC 6455 §7.4.2",
        sender: "a broken implementation",
        meaning: "Kept for future versions of the protocol and its extensions; none is assigned, so sending one is a protocol error.",
        when: "Applications inventing their own codes in the wrong range.",
        fix: "Move application codes to 4000-4999 (private) or register one in 3000-3999.",
    },
    CloseCodeInfo {
        from: 3000,
        to: 3999,
        name: "Registered (libraries, frameworks, applications)",
        class: CodeClass::Registered,
        on_purpose: true,
        reference: "RFC 6455 §7.4.2; IANA WebSocket Close Code Number Registry",
        sender: "the application",
        meaning: "Codes registered with IANA by libraries, frameworks and applications; the registry gives each one's meaning (for example 3000 Unauthorized, 3003 Forbidden, 3008 Timeout).",
        when: "Whatever the registrant defined: often authentication failures or application timeouts.",
        fix: "Look up the code in the IANA registry and the documentation of the framework that sent it; the reason text usually names the cause.",
    },
    CloseCodeInfo {
        from: 4000,
        to: 4999,
        name: "Private Use",
        class: CodeClass::Private,
        on_purpose: true,
        reference: "RFC 6455 §7.4.2",
        sender: "the application",
        meaning: "Codes for private use: their meaning is agreed between the two applications and is not registered anywhere.",
        when: "Application-defined reasons: session replaced, kicked, invalid token, room closed, and so on.",
        fix: "Look up the code in the application's own documentation or source; the reason text is the best clue in the capture.",
    },
    OUT_OF_RANGE,
];

/// Codes above 4999; also what [`lookup`] falls back to.
const OUT_OF_RANGE: CloseCodeInfo = CloseCodeInfo {
    from: 5000,
    to: u16::MAX,
    name: "Out of Range",
    class: CodeClass::Invalid,
    on_purpose: false,
    reference: "RFC 6455 §7.4.2",
    sender: "a broken implementation",
    meaning:
        "RFC 6455 defines no codes above 4999; a Close frame carrying one is a protocol error.",
    when: "Byte-order mistakes or codes of another protocol.",
    fix: "Fix the sender to use a valid code.",
};

/// The entry for `code`: its own if it has one, else its range's.
pub fn lookup(code: CloseCode) -> &'static CloseCodeInfo {
    let code = code.0;
    CLOSE_CODES
        .iter()
        .find(|c| c.from == code && c.to == code)
        .or_else(|| CLOSE_CODES.iter().find(|c| (c.from..=c.to).contains(&code)))
        // The ranges above cover 0..=u16::MAX (tested below).
        .unwrap_or(&OUT_OF_RANGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_exactly_one_most_specific_entry() {
        for code in 0..=u16::MAX {
            let singles = CLOSE_CODES
                .iter()
                .filter(|c| c.from == code && c.to == code)
                .count();
            let ranges = CLOSE_CODES
                .iter()
                .filter(|c| c.from != c.to && (c.from..=c.to).contains(&code))
                .count();
            assert!(
                singles <= 1 && ranges <= 1 && singles + ranges >= 1,
                "code {code}"
            );
        }
    }

    #[test]
    fn registry_codes_are_all_there_with_their_class() {
        for code in 1000..=1015 {
            let c = lookup(CloseCode(code));
            assert_eq!((c.from, c.to), (code, code), "{code} has its own entry");
            let reserved = matches!(code, 1004 | 1005 | 1006 | 1015);
            assert_eq!(c.class == CodeClass::Reserved, reserved, "{code}");
            assert!(!c.meaning.is_empty() && !c.when.is_empty() && !c.fix.is_empty());
        }
        assert_eq!(lookup(CloseCode(1009)).name, "Message Too Big");
        assert_eq!(lookup(CloseCode(3008)).class, CodeClass::Registered);
        assert_eq!(lookup(CloseCode(4321)).class, CodeClass::Private);
        assert_eq!(lookup(CloseCode(999)).class, CodeClass::Invalid);
        assert_eq!(lookup(CloseCode(1016)).class, CodeClass::Invalid);
        assert_eq!(lookup(CloseCode(2999)).class, CodeClass::Invalid);
        assert_eq!(lookup(CloseCode(5000)).class, CodeClass::Invalid);
    }
}
