//! The documented time limits of proxies, load balancers and platforms
//! that end WebSocket connections: idle limits (silence for so long) and
//! lifetime limits (open for so long, busy or not), each with its setting,
//! its default, what the wire shows when it fires, and where it is
//! documented. When a connection's silence before its end, or its whole
//! duration, is one of these defaults, that number is the diagnosis.
//!
//! Only limits with a documented default are here (HAProxy's `timeout
//! tunnel` has none; `proxies::PROXIES` names it when a proxy is seen).

/// What a limit measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Time without data; traffic resets it.
    Idle,
    /// Time since the connection (or its upgrade) began, whatever it
    /// carried.
    Lifetime,
}

/// One documented limit.
#[derive(Clone, Copy, Debug)]
pub struct TimeLimit {
    /// The product that enforces it.
    pub who: &'static str,
    /// How the product names itself in a `Server` or `Via` header
    /// (lowercase, matched as a substring, as `proxies::PROXIES` does),
    /// when it does.
    pub token: Option<&'static str>,
    /// The setting that changes it, as its documentation spells it.
    pub setting: &'static str,
    /// Idle or lifetime.
    pub clock: Clock,
    /// Its default, in seconds.
    pub default_s: u32,
    /// What the capture shows when it fires, as far as documented.
    pub wire: &'static str,
    /// Where the default is documented.
    pub source: &'static str,
}

/// No Close frame: the proxy closes both TCP connections.
const BOTH_LEGS_FIN: &str = "no Close frame; both TCP connections closed";

/// Every limit, idle ones first, each group by default.
pub static TIME_LIMITS: &[TimeLimit] = &[
    TimeLimit {
        who: "Heroku router",
        token: None,
        setting: "55 s rolling idle window (not configurable)",
        clock: Clock::Idle,
        default_s: 55,
        wire: "no Close frame; the router drops the connection (error H15 in its log)",
        source: "https://devcenter.heroku.com/articles/websockets#timeouts",
    },
    TimeLimit {
        who: "nginx",
        token: Some("nginx"),
        setting: "proxy_read_timeout",
        clock: Clock::Idle,
        default_s: 60,
        wire: BOTH_LEGS_FIN,
        source: "https://nginx.org/en/docs/http/websocket.html",
    },
    TimeLimit {
        who: "Kubernetes ingress-nginx",
        token: Some("nginx"),
        setting: "nginx.ingress.kubernetes.io/proxy-read-timeout",
        clock: Clock::Idle,
        default_s: 60,
        wire: BOTH_LEGS_FIN,
        source: "https://kubernetes.github.io/ingress-nginx/user-guide/miscellaneous/#websockets",
    },
    TimeLimit {
        who: "AWS Application Load Balancer",
        token: Some("awselb"),
        setting: "idle_timeout.timeout_seconds",
        clock: Clock::Idle,
        default_s: 60,
        wire: "no Close frame; the load balancer closes both connections",
        source: "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-load-balancer-attributes.html",
    },
    TimeLimit {
        who: "AWS Classic Load Balancer",
        token: Some("awselb"),
        setting: "ConnectionSettings.IdleTimeout",
        clock: Clock::Idle,
        default_s: 60,
        wire: "no Close frame; the load balancer closes both connections",
        source: "https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/config-idle-timeout.html",
    },
    TimeLimit {
        who: "Fly.io proxy",
        token: None,
        setting: "idle timeout of public services",
        clock: Clock::Idle,
        default_s: 60,
        wire: "no Close frame; clients see a reset (ECONNRESET)",
        source: "https://fly.io/docs/reference/services/",
    },
    TimeLimit {
        who: "Oracle Cloud Load Balancer (HTTP listener)",
        token: None,
        setting: "idle_timeout (each direction on its own)",
        clock: Clock::Idle,
        default_s: 60,
        wire: "no Close frame",
        source: "https://docs.oracle.com/en/engineered-systems/private-cloud-appliance/3.0-latest/concept/concept-lb-timeout.html",
    },
    TimeLimit {
        who: "Phoenix (Elixir) server",
        token: None,
        setting: "socket websocket: [timeout: ...] (silence from the client)",
        clock: Clock::Idle,
        default_s: 60,
        wire: "the server closes the connection",
        source: "https://github.com/phoenixframework/phoenix/blob/main/lib/phoenix/endpoint.ex",
    },
    TimeLimit {
        who: "Cloudflare",
        token: Some("cloudflare"),
        setting: "Proxy Read Timeout (documented for HTTP; Enterprise plans change it)",
        clock: Clock::Idle,
        default_s: 100,
        wire: "no Close frame (an HTTP request would get 524)",
        source: "https://developers.cloudflare.com/fundamentals/reference/connection-limits/",
    },
    TimeLimit {
        who: "Azure Load Balancer",
        token: None,
        setting: "idleTimeoutInMinutes",
        clock: Clock::Idle,
        default_s: 240,
        wire: "nothing: the flow is dropped silently, or both sides get a RST when enableTcpReset is on",
        source: "https://learn.microsoft.com/azure/load-balancer/load-balancer-tcp-idle-timeout",
    },
    TimeLimit {
        who: "Envoy (also Istio's sidecars and gateways)",
        token: Some("envoy"),
        setting: "stream_idle_timeout (route: idle_timeout)",
        clock: Clock::Idle,
        default_s: 300,
        wire: "no Close frame; the stream is reset (HTTP/1.1: the TCP connection closes)",
        source: "https://www.envoyproxy.io/docs/envoy/latest/faq/configuration/timeouts",
    },
    TimeLimit {
        who: "Azure Front Door",
        token: None,
        setting: "WebSocket idle timeout (not configurable)",
        clock: Clock::Idle,
        default_s: 300,
        wire: "no Close frame",
        source: "https://learn.microsoft.com/azure/frontdoor/standard-premium/websocket",
    },
    TimeLimit {
        who: "AWS Network Load Balancer",
        token: None,
        setting: "tcp.idle_timeout.seconds (fixed for TLS listeners)",
        clock: Clock::Idle,
        default_s: 350,
        wire: "no Close frame",
        source: "https://docs.aws.amazon.com/elasticloadbalancing/latest/network/update-idle-timeout.html",
    },
    TimeLimit {
        who: "AWS API Gateway WebSocket APIs",
        token: None,
        setting: "Idle Connection Timeout quota (not increasable)",
        clock: Clock::Idle,
        default_s: 600,
        wire: "the connection is closed by API Gateway",
        source: "https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html",
    },
    TimeLimit {
        who: "Google Cloud external Application Load Balancer",
        token: None,
        setting: "backend service timeoutSec (for WebSockets the longest a connection may stay open)",
        clock: Clock::Lifetime,
        default_s: 30,
        wire: "the connection is closed, busy or not",
        // Google's own page was not at hand; its ingress-gce WebSocket
        // example says it, as do GitLab issue 284074 and others.
        source: "https://pkg.go.dev/github.com/agau4779/ingress-gce/examples/websocket",
    },
    TimeLimit {
        who: "Google Cloud Run",
        token: None,
        setting: "request timeout (--timeout, at most 3600 s)",
        clock: Clock::Lifetime,
        default_s: 300,
        wire: "the client is disconnected when the request times out",
        source: "https://cloud.google.com/run/docs/triggering/websockets",
    },
    TimeLimit {
        who: "Vercel Functions",
        token: None,
        setting: "maxDuration",
        clock: Clock::Lifetime,
        default_s: 300,
        wire: "the connection closes when the function reaches its maximum duration",
        source: "https://vercel.com/docs/functions/websockets",
    },
    TimeLimit {
        who: "AWS API Gateway WebSocket APIs",
        token: None,
        setting: "Connection duration quota (not increasable)",
        clock: Clock::Lifetime,
        default_s: 7200,
        wire: "the connection is closed by API Gateway",
        source: "https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html",
    },
    TimeLimit {
        who: "Azure Front Door",
        token: None,
        setting: "WebSocket maximum lifetime",
        clock: Clock::Lifetime,
        default_s: 14400,
        wire: "the connection is closed",
        source: "https://learn.microsoft.com/azure/frontdoor/standard-premium/websocket",
    },
];

/// How far a measured time may lie from a limit and still be taken for
/// it: half a second early, because a capture on the far side of the
/// proxy sees the last data up to a round trip before the proxy's clock
/// started; and the larger of 1.5 s and 2 % late, for the event loop's
/// delay under load and the coarse timers of load balancers whose
/// documentation says "approximately".
fn close_to(measured_ns: i64, limit_s: u32) -> bool {
    let limit = i64::from(limit_s) * 1_000_000_000;
    let late = (limit / 50).max(1_500_000_000);
    (limit - 500_000_000..=limit + late).contains(&measured_ns)
}

/// The limits on `clock` whose default `measured_ns` (a silence, or a
/// connection's whole duration) matches, in table order.
pub fn matching(clock: Clock, measured_ns: i64) -> impl Iterator<Item = &'static TimeLimit> {
    TIME_LIMITS
        .iter()
        .filter(move |l| l.clock == clock && close_to(measured_ns, l.default_s))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn who(clock: Clock, ns: i64) -> Vec<&'static str> {
        matching(clock, ns).map(|l| l.who).collect()
    }

    #[test]
    fn a_silence_of_a_default_names_its_owners_and_no_other() {
        let sixty = who(Clock::Idle, 60 * S + 3_000_000);
        assert!(sixty.contains(&"nginx") && sixty.contains(&"AWS Application Load Balancer"));
        assert!(!sixty.contains(&"Heroku router"));
        assert_eq!(who(Clock::Idle, 55 * S + 200_000_000), ["Heroku router"]);
        // A capture on the client's leg sees the last data a little after
        // the proxy relayed it.
        assert!(who(Clock::Idle, 59 * S + 700_000_000).contains(&"nginx"));
        assert!(who(Clock::Idle, 58 * S).is_empty());
        assert!(who(Clock::Idle, 62 * S).is_empty());
        assert!(who(Clock::Idle, 3 * S).is_empty());
        // 2 % of 350 s is 7 s.
        assert!(who(Clock::Idle, 356 * S).contains(&"AWS Network Load Balancer"));
        // Idle and lifetime limits are told apart.
        assert!(!who(Clock::Lifetime, 60 * S).contains(&"nginx"));
        assert!(who(Clock::Lifetime, 300 * S).contains(&"Google Cloud Run"));
    }

    #[test]
    fn every_limit_is_sourced_and_positive() {
        for l in TIME_LIMITS {
            assert!(l.source.starts_with("https://"), "{}", l.who);
            assert!(l.default_s > 0 && !l.setting.is_empty(), "{}", l.who);
        }
    }
}
