//! HTTP answers to a WebSocket upgrade other than 101 (RFC 6455 §4.1: a
//! client fails the connection on any other status), what each usually
//! means for a WebSocket server, and what to change. Statuses follow
//! RFC 9110 §15; the advice is ours.

/// What to do about one status (or range of statuses) refusing an upgrade.
#[derive(Clone, Copy, Debug)]
pub struct Refusal {
    /// First status it covers.
    pub from: u16,
    /// Last status it covers.
    pub to: u16,
    /// What to change.
    pub fix: &'static str,
    /// Whether a proxy in the path is worth checking for it (not when the
    /// status is the proxy's own: its backend did not answer).
    pub proxy_may_cause: bool,
    /// Where the status is defined.
    pub reference: &'static str,
}

/// Refusals with advice of their own, in status order.
pub static REFUSALS: &[Refusal] = &[
    Refusal {
        from: 400,
        to: 400,
        fix: "The server found the handshake malformed: check the Sec-WebSocket-Key, Sec-WebSocket-Version: 13, and the Upgrade and Connection headers the client (or a proxy) sends.",
        proxy_may_cause: true,
        reference: "RFC 9110 §15.5.1; RFC 6455 §4.2.1",
    },
    Refusal {
        from: 401,
        to: 401,
        fix: REJECTED_WHO,
        proxy_may_cause: true,
        reference: "RFC 9110 §15.5.2",
    },
    Refusal {
        from: 403,
        to: 403,
        fix: REJECTED_WHO,
        proxy_may_cause: true,
        reference: "RFC 9110 §15.5.4; RFC 6455 §4.2.2 (Origin)",
    },
    Refusal {
        from: 404,
        to: 404,
        fix: "No WebSocket endpoint at that path: check the URL the client uses against the server's routes, including any prefix a proxy adds or strips.",
        proxy_may_cause: true,
        reference: "RFC 9110 §15.5.5",
    },
    Refusal {
        from: 426,
        to: 426,
        fix: "The server wants another protocol version: send Sec-WebSocket-Version: 13, or the version the server's Sec-WebSocket-Version header lists.",
        proxy_may_cause: true,
        reference: "RFC 9110 §15.5.22; RFC 6455 §4.4",
    },
    Refusal {
        from: 429,
        to: 429,
        fix: "The server is rate-limiting: back off before reconnecting (exponential, with jitter) and look at its connection-rate limits.",
        proxy_may_cause: true,
        reference: "RFC 6585 §4",
    },
    Refusal {
        from: 502,
        to: 504,
        fix: "A proxy could not get an answer from the WebSocket server behind it: check that the backend is up and reachable from the proxy, and the proxy's upstream timeouts.",
        proxy_may_cause: false,
        reference: "RFC 9110 §15.6.3-15.6.5",
    },
];

const REJECTED_WHO: &str = "The server rejected who is asking: check the credentials or token sent with the upgrade, and that the page's Origin is in the server's allowed origins.";

/// Any other status.
pub static OTHER_REFUSAL: Refusal = Refusal {
    from: 0,
    to: u16::MAX,
    fix: "The server answered the upgrade with something other than 101: its logs at that time say why.",
    proxy_may_cause: true,
    reference: "RFC 6455 §4.1",
};

/// Added when a proxy is in the path and may be the cause.
pub const PROXY_FORWARDS: &str =
    "A proxy is in the path: make sure it forwards the upgrade headers.";

/// The advice for a refused upgrade with `status`.
pub fn refusal(status: u16) -> &'static Refusal {
    REFUSALS
        .iter()
        .find(|r| (r.from..=r.to).contains(&status))
        .unwrap_or(&OTHER_REFUSAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_finds_advice_and_ranges_do_not_overlap() {
        assert_eq!(refusal(503).from, 502);
        assert!(!refusal(503).proxy_may_cause);
        assert_eq!(refusal(418).fix, OTHER_REFUSAL.fix);
        for w in REFUSALS.windows(2) {
            assert!(w[0].to < w[1].from);
        }
    }
}
