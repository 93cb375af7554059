//! Time limits in verdicts: a silence before a connection's end, or its
//! whole duration, set against the documented defaults of
//! `knowledge::timeouts`, worded for a fix. In: the two durations and the
//! proxy the connection names, if any. Out: the sentences.

use crate::knowledge::timeouts::{matching, Clock, TimeLimit};

use super::secs;

/// The limits `measured_ns` matches on `clock`; when the connection names
/// a proxy (`named`, e.g. "nginx/1.22.1, a reverse proxy") that one of
/// them is, only its own.
fn candidates(clock: Clock, measured_ns: i64, named: Option<&str>) -> Vec<&'static TimeLimit> {
    let all: Vec<&TimeLimit> = matching(clock, measured_ns).collect();
    let named = named.map(str::to_ascii_lowercase);
    let own: Vec<&TimeLimit> = all
        .iter()
        .copied()
        .filter(|l| {
            l.token
                .zip(named.as_deref())
                .is_some_and(|(t, n)| n.contains(t))
        })
        .collect();
    if own.is_empty() {
        all
    } else {
        own
    }
}

/// "nginx (proxy_read_timeout), AWS Application Load Balancer
/// (idle_timeout.timeout_seconds)".
fn list(limits: &[&TimeLimit]) -> String {
    let names: Vec<String> = limits
        .iter()
        .map(|l| format!("{} ({})", l.who, l.setting))
        .collect();
    names.join(", ")
}

/// What a silence of `idle_ns` before the end, and a WebSocket open for
/// `open_ns` since its upgrade (when the upgrade was seen), say about
/// the documented limits on the path: a sentence per match, or `None`
/// when neither matches a default.
pub(super) fn limits_matched(
    idle_ns: i64,
    open_ns: Option<i64>,
    named: Option<&str>,
) -> Option<String> {
    let mut out = Vec::new();
    let idle = candidates(Clock::Idle, idle_ns, named);
    if let Some(first) = idle.first() {
        out.push(format!(
            "A silence of {} is the default idle limit ({} s) of {}: send WebSocket pings more often than that (traffic either way resets these clocks), or raise the limit for WebSocket routes.",
            secs(idle_ns),
            first.default_s,
            list(&idle)
        ));
    }
    if let Some(open) = open_ns {
        let life = candidates(Clock::Lifetime, open, named);
        if let Some(first) = life.first() {
            out.push(format!(
                "The WebSocket had been open {} since its upgrade, the default maximum lifetime ({} s) of {}: such a limit ends a connection however busy it is, so raise it or make the client reconnect before it.",
                secs(open),
                first.default_s,
                list(&life)
            ));
        }
    }
    (!out.is_empty()).then(|| out.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn a_named_proxy_narrows_the_candidates() {
        let any = limits_matched(60 * S + 4_000_000, None, None).unwrap();
        assert!(any.contains("nginx (proxy_read_timeout)"), "{any}");
        assert!(any.contains("AWS Application Load Balancer"), "{any}");
        let nginx = limits_matched(60 * S, None, Some("nginx/1.22.1, a reverse proxy")).unwrap();
        assert!(nginx.contains("nginx (proxy_read_timeout)"), "{nginx}");
        assert!(nginx.contains("ingress-nginx"), "{nginx}");
        assert!(!nginx.contains("AWS"), "{nginx}");
        // A proxy that has no entry at this time: every candidate.
        let other = limits_matched(60 * S, None, Some("a proxy (Via: 1.1 varnish)")).unwrap();
        assert!(other.contains("AWS"), "{other}");
        assert!(limits_matched(42 * S, Some(42 * S), None).is_none());
        let life = limits_matched(3 * S, Some(300 * S + 50_000_000), None).unwrap();
        assert!(
            life.contains("Google Cloud Run") && !life.contains("silence"),
            "{life}"
        );
    }
}
