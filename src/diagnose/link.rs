//! Linking, a capture-level pass of the diagnose layer: the verdicts of
//! one capture's connections, seen together. A retry repeats a failed
//! attempt, a happy-eyeballs client races two address families, and a
//! reverse proxy closes both of its legs at once; each such link is an
//! [`Edit`] to a verdict (one more evidence line, or a new summary and fix).
//! In: a few facts per connection ([`Linkable`]). Out: the edits.

use crate::analyzers::session::{Analysis, Facts};
use crate::capture::Timestamp;
use crate::flow::ConnRecord;
use crate::knowledge::{close_codes, proxies};
use crate::vocab::websocket::CloseCode;
use crate::vocab::{Dir, Endpoint};

use super::timeouts::limits_matched;
use super::{last_data, proxy_in_response, secs, Category, Disconnect, Evidence, Initiator};

/// Closes of two legs this close together are one proxy's doing.
const SAME_MOMENT_NS: i64 = 100_000_000;

/// What linking needs of a connection with a verdict: a few fields of its
/// record and of its verdict, so that a capture's connections can be
/// linked without keeping their records (see [`Linkable::of`]).
#[derive(Clone, Debug)]
pub struct Linkable {
    first_seen: Timestamp,
    last_seen: Timestamp,
    client: std::net::IpAddr,
    server: Endpoint,
    /// TLS SNI or the Host header ([`asked_name`]).
    asked_name: Option<Box<str>>,
    /// The first FIN or RST: who sent it, and when.
    first_end: Option<(Dir, Timestamp)>,
    /// The upgrade request's path.
    path: Option<Box<str>>,
    /// The upgrade request's first forwarding header, as written: the
    /// client is a proxy.
    forwarded: Option<Box<str>>,
    /// The proxy the server's answer names ([`proxy_in_response`]).
    proxy: Option<Box<str>>,
    /// The last payload either way.
    last_data: Option<Timestamp>,
    verdict: Outline,
}

/// The parts of a verdict that linking reads.
#[derive(Clone, Copy, Debug)]
pub struct Outline {
    pub(super) code: Option<CloseCode>,
    pub(super) category: Category,
    pub(super) initiator: Initiator,
    pub(super) abnormal: bool,
}

impl Outline {
    /// Whether the attempt failed, so that the next one may retry it: an
    /// abnormal ending, but not the capture's end, and not a Close whose
    /// code ends a session on purpose (`4000 "user left"` is abnormal in
    /// the summary, yet what follows it is a new session).
    fn failed(&self) -> bool {
        let on_purpose = self.category == Category::CloseFrame
            && self.code.is_some_and(|c| close_codes::lookup(c).on_purpose);
        self.abnormal && self.category != Category::CaptureEnd && !on_purpose
    }

    /// The outline of `d`.
    pub fn of(d: &Disconnect) -> Outline {
        Outline {
            code: d.code,
            category: d.category,
            initiator: d.initiator,
            abnormal: d.abnormal(),
        }
    }
}

impl Linkable {
    /// The linking facts of `rec`, whose verdict `outline` sums up.
    pub fn of(rec: &ConnRecord<Analysis>, outline: Outline) -> Linkable {
        let f = &rec.analysis;
        Linkable {
            first_seen: rec.first_seen,
            last_seen: rec.last_seen,
            client: rec.meta.client.ip,
            server: rec.meta.server,
            asked_name: asked_name(f).map(Box::from),
            first_end: f.ends.first().map(|e| (e.dir, e.at.ts)),
            path: f.request.as_ref().map(|r| Box::from(r.path.as_str())),
            forwarded: f
                .request
                .as_ref()
                .and_then(|r| r.forwarded.as_deref())
                .map(Box::from),
            proxy: f
                .response
                .as_ref()
                .and_then(proxy_in_response)
                .map(Box::from),
            last_data: last_data(f).map(|at| at.ts),
            verdict: outline,
        }
    }
}

/// A change linking makes to a verdict, applied with [`Edit::apply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// One more line of evidence.
    Evidence(String),
    /// A new summary and fix.
    Retell {
        /// The summary.
        summary: String,
        /// The fix.
        fix: String,
    },
}

impl Edit {
    /// Make the change to `d`.
    pub fn apply(self, d: &mut Disconnect) {
        match self {
            Edit::Evidence(line) => d.evidence.push(Evidence::note(line)),
            Edit::Retell { summary, fix } => {
                d.summary = summary;
                d.fix = fix;
            }
        }
    }
}

/// Changes to the verdicts of a capture's connections: (index, change), in
/// the order they are to be applied.
pub type Edits = Vec<(usize, Edit)>;

/// A reverse proxy that drops an idle WebSocket closes both of its legs at
/// once: the client's, where it is the server, and its own upstream
/// connection, where it is the client and names itself nowhere. Find such
/// upstream legs among one capture's connections and say so in their
/// verdicts. A front leg is one the server (the proxy) ended without a
/// Close frame; its upstream leg is one the proxy's address opened after
/// the front leg began, to another server, and ended as client within
/// [`SAME_MOMENT_NS`] of the front leg's end. Timing and addresses decide,
/// since a proxy may rewrite the path (`location /ws/ { proxy_pass
/// http://backend/; }` sends `/ws/echo` on as `/echo`); the same or a
/// rewritten path, and forwarding headers, are told as extra evidence.
/// When several front legs fit, the one that ended closest in time wins,
/// and a front leg is given one upstream leg at most. `conns` holds the
/// connections with a verdict as (index in the capture, facts); `id`
/// names a connection by its index.
pub fn link_proxy_legs(
    conns: &[(usize, Linkable)],
    id: &dyn Fn(usize) -> String,
    edits: &mut Edits,
) {
    struct Front<'a> {
        c: &'a Linkable,
        ended: Timestamp,
        index: usize,
        taken: bool,
    }
    let aborted = |c: &Linkable, by: Initiator| {
        c.verdict.category == Category::TcpAbort && c.verdict.initiator == by
    };
    let mut fronts: Vec<Front> = conns
        .iter()
        .filter(|(_, c)| aborted(c, Initiator::Server))
        .filter_map(|(i, c)| {
            let (Dir::ServerToClient, ended) = c.first_end? else {
                return None;
            };
            Some(Front {
                c,
                ended,
                index: *i,
                taken: false,
            })
        })
        .collect();
    if fronts.is_empty() {
        return;
    }
    for (i, up) in conns {
        let Some((Dir::ClientToServer, at)) = up.first_end else {
            continue;
        };
        if !aborted(up, Initiator::Client) {
            continue;
        }
        let front = fronts
            .iter_mut()
            .filter(|fr| {
                !fr.taken
                    && fr.c.server.ip == up.client
                    && fr.c.server != up.server
                    && fr.c.first_seen <= up.first_seen
                    && at.since(fr.ended).abs() <= SAME_MOMENT_NS
            })
            .min_by_key(|fr| at.since(fr.ended).abs());
        let Some(front) = front else {
            continue;
        };
        front.taken = true;
        let idle_ns = up.last_data.map_or(0, |l| at.since(l));
        let idle = secs(idle_ns);
        let fid = id(front.index);
        let proxy = front.c.proxy.as_deref().map_or_else(
            || format!("the proxy at {}", front.c.server),
            str::to_string,
        );
        edits.push((
            *i,
            Edit::Evidence(format!(
                "connection {fid}: {proxy} closed the client's leg{} at the same moment ({} apart); this connection comes from the proxy's address{}",
                front.c.path.as_deref().map(|p| format!(" of {p}")).unwrap_or_default(),
                secs(at.since(front.ended).abs()),
                leg_clues(front.c, up),
            )),
        ));
        edits.push((
            front.index,
            Edit::Evidence(format!(
                "connection {}: the proxy's own leg to the backend {} ended at the same moment, the proxy its client",
                id(*i),
                up.server
            )),
        ));
        edits.push((*i, Edit::Retell {
            summary: format!(
                "The client, the proxy's upstream side of connection {fid} ({proxy}), closed (FIN or RST) the TCP connection {idle} after the last data, without a Close frame."
            ),
            fix: format!(
                "This is the upstream leg of a reverse proxy: its client is {proxy} (connection {fid} is the same session's leg to the real client), which closed both legs together after {idle} without traffic: {}",
                limits_matched(idle_ns, None, Some(&proxy)).unwrap_or_else(proxies::idle_timeout_advice)
            ),
        }));
    }
}

/// What else ties an upstream leg to its front leg: the path, as it was or
/// rewritten, and the forwarding headers the proxy added.
fn leg_clues(front: &Linkable, up: &Linkable) -> String {
    let mut clues = String::new();
    match (front.path.as_deref(), up.path.as_deref()) {
        (Some(f), Some(u)) if f == u => clues.push_str(&format!(", asks for the same path {u}")),
        (Some(f), Some(u)) if f.ends_with(u) || u.ends_with(f) => {
            clues.push_str(&format!(", asks for {u} (the proxy rewrote {f})"))
        }
        _ => {}
    }
    if let Some(h) = up.forwarded.as_deref() {
        clues.push_str(&format!(" and carries {h}"));
    }
    clues
}

/// Retries this soon after a failed attempt are linked to it (DESIGN.md:
/// attempts of one client to one server within a second).
const RETRY_NS: i64 = 1_000_000_000;

/// RFC 8305's recommended delay between happy-eyeballs attempts is 250 ms;
/// an attempt over the other family this soon after a failed one that
/// named no host is taken for the same client's next try.
const HAPPY_EYEBALLS_NS: i64 = 300_000_000;

/// Whether two attempts ask for the same thing, as far as both show it:
/// the same host name (SNI or Host) and the same path (its query left out:
/// a retry may carry a new token). A refused SYN shows neither, and
/// matches any.
fn same_request(a: &Linkable, b: &Linkable) -> bool {
    fn agree(a: Option<&str>, b: Option<&str>) -> bool {
        a.zip(b).is_none_or(|(a, b)| a == b)
    }
    fn path(c: &Linkable) -> Option<&str> {
        c.path.as_deref().map(|p| p.split('?').next().unwrap_or(p))
    }
    agree(a.asked_name.as_deref(), b.asked_name.as_deref()) && agree(path(a), path(b))
}

/// The host name a connection asked for: TLS SNI, else the Host header
/// without its port.
fn asked_name(f: &Facts) -> Option<&str> {
    if let Some(sni) = f
        .tls
        .as_ref()
        .and_then(|t| t.client_hello.as_ref()?.sni.as_deref())
    {
        return Some(sni);
    }
    let host = f.request.as_ref()?.host.as_deref()?;
    Some(crate::analyzers::http::split_host_port(host).0)
}

/// Link the attempts of one client to one server: a connection that
/// starts within [`RETRY_NS`] after a failed one from the same client
/// address to the same server address and port ends, or one to the same
/// host name and port over the other address family that starts within
/// [`RETRY_NS`] of it (happy eyeballs), when it asks for the same
/// ([`same_request`]). A close on purpose is no failure
/// ([`Outline::failed`]). Both verdicts get a line naming the
/// other. `conns` holds the connections with a verdict as (index in the
/// capture, facts), in capture order; `id` names a connection by its
/// index.
pub fn link_attempts(conns: &[(usize, Linkable)], id: &dyn Fn(usize) -> String, edits: &mut Edits) {
    use std::collections::HashMap;
    // Position in `conns`, facts, and whether it failed.
    type Attempt<'r> = (usize, &'r Linkable, bool);
    let mut order: Vec<Attempt<'_>> = conns
        .iter()
        .enumerate()
        .map(|(k, (_, c))| (k, c, c.verdict.failed()))
        .collect();
    if !order.iter().any(|&(_, _, failed)| failed) {
        return;
    }
    // In start order, indexed two ways: by client address and server
    // (retries), and by server port and address family (happy eyeballs),
    // so each failed one looks only at its own.
    order.sort_by_key(|&(k, c, _)| (c.first_seen, k));
    let mut by_pair: HashMap<(std::net::IpAddr, Endpoint), Vec<Attempt<'_>>> = HashMap::new();
    let mut by_port: HashMap<(u16, bool), Vec<Attempt<'_>>> = HashMap::new();
    for &attempt in &order {
        let c = attempt.1;
        by_pair
            .entry((c.client, c.server))
            .or_default()
            .push(attempt);
        by_port
            .entry((c.server.port, c.client.is_ipv4()))
            .or_default()
            .push(attempt);
    }
    // (earlier, later, gap in ns, same family), as positions in `conns`
    let mut links: Vec<(usize, usize, i64, bool)> = Vec::new();
    for &(a, ca, failed) in &order {
        if !failed {
            continue;
        }
        // The same client to the same server asking the same again: the
        // first such start after this one ended.
        if let Some(same) = by_pair.get(&(ca.client, ca.server)) {
            let pos = same.partition_point(|&(k, c, _)| (c.first_seen, k) <= (ca.first_seen, a));
            let retry = same
                .iter()
                .skip(pos)
                .map(|&(b, cb, _)| (b, cb, cb.first_seen.since(ca.last_seen)))
                .take_while(|&(_, _, after_end)| after_end <= RETRY_NS)
                // A busy client has many starts in a second: look at the
                // first few.
                .take(64)
                .find(|&(_, cb, after_end)| after_end >= 0 && same_request(ca, cb));
            if let Some((b, _, after_end)) = retry {
                links.push((a, b, after_end, true));
                continue;
            }
        }
        // The other family, same port, starting soon after.
        let Some(other) = by_port.get(&(ca.server.port, !ca.client.is_ipv4())) else {
            continue;
        };
        let name_a = ca.asked_name.as_deref();
        let from = other.partition_point(|&(_, c, _)| c.first_seen < ca.first_seen);
        // A busy port has many starts in a second: look at the first few.
        for &(b, cb, _) in other.iter().skip(from).take(64) {
            let since_start = cb.first_seen.since(ca.first_seen);
            if since_start > RETRY_NS {
                break;
            }
            let after_end = cb.first_seen.since(ca.last_seen);
            // A refused or unanswered SYN names no host: then only a
            // start within one happy-eyeballs delay ties the two.
            let tied = same_request(ca, cb)
                && match name_a {
                    Some(n) => Some(n) == cb.asked_name.as_deref(),
                    None => since_start.min(after_end.max(0)) <= HAPPY_EYEBALLS_NS,
                };
            if tied {
                links.push((a, b, since_start, false));
                break;
            }
        }
    }
    for (a, b, gap, same) in links {
        let (Some((ia, ca)), Some((ib, _))) = (conns.get(a), conns.get(b)) else {
            continue;
        };
        let (ida, idb) = (id(*ia), id(*ib));
        let v = &ca.verdict;
        let what = v
            .code
            .map_or(v.category.to_string(), |c| format!("{c}, {}", v.category));
        edits.push((*ia, Edit::Evidence(if same {
            format!("connection {idb}: the same client connected to the same server again {} after this one ended (a retry)", secs(gap))
        } else {
            format!("connection {idb}: a connection to the same port over the other address family started {} after this one (happy eyeballs: probably the same client trying the host's other address)", secs(gap))
        })));
        edits.push((*ib, Edit::Evidence(if same {
            format!("connection {ida}: the previous attempt of this client to this server ended {} before this one ({what})", secs(gap))
        } else {
            format!("connection {ida}: an attempt to the same port over the other address family started {} before this one ({what}; happy eyeballs: probably this client's first try)", secs(gap))
        })));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outline(category: Category, code: Option<CloseCode>) -> Outline {
        Outline {
            code,
            category,
            initiator: Initiator::Client,
            abnormal: super::super::verdict::is_abnormal(category, code),
        }
    }

    #[test]
    fn only_failures_are_retried() {
        // An application's own close is abnormal in the summary, but not
        // a failure a retry would follow.
        assert!(!outline(Category::CloseFrame, Some(CloseCode(4000))).failed());
        assert!(!outline(Category::CloseFrame, Some(CloseCode::NO_STATUS)).failed());
        assert!(!outline(Category::CloseFrame, Some(CloseCode::NORMAL)).failed());
        assert!(outline(Category::CloseFrame, Some(CloseCode::INTERNAL_ERROR)).failed());
        assert!(outline(Category::CloseFrame, Some(CloseCode::TRY_AGAIN_LATER)).failed());
        assert!(outline(Category::TcpAbort, Some(CloseCode::ABNORMAL)).failed());
        assert!(outline(Category::TlsHandshake, Some(CloseCode::TLS_HANDSHAKE)).failed());
        assert!(!outline(Category::CaptureEnd, Some(CloseCode::ABNORMAL)).failed());
    }
}
