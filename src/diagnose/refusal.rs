//! Refusals: connections that never got past the SYN (`tcp_refused`), or a
//! request cut before its Upgrade header was visible, which count only on
//! a port that carries WebSocket or TLS elsewhere in the capture.
//! In: one connection's record and the capture's view. Out: its verdict.

use crate::analyzers::session::{Analysis, Facts};
use crate::flow::ConnRecord;
use crate::vocab::websocket::CloseCode;
use crate::vocab::{At, Dir};

use super::link::Outline;
use super::websocket::upgrade_failed;
use super::{
    in_frame_order, is_abnormal, secs, CaptureView, Category, Confidence, Ctx, Disconnect,
    Evidence, Initiator,
};

/// The server port of a connection that carries WebSocket or TLS: the
/// ports where a [`refusal`] counts.
pub fn service_port(rec: &ConnRecord<Analysis>) -> Option<u16> {
    (rec.analysis.is_websocket() || rec.analysis.tls.is_some()).then_some(rec.meta.server.port)
}

/// The verdict for a connection that never got past the SYN: `tcp_refused`,
/// 1006, which applies only if its server port carries WebSocket or TLS
/// elsewhere in the capture ([`service_port`]; the caller checks, once it
/// has seen them all). `None` for anything else.
///
/// The same holds for a GET whose headers a snapshot length cut before any
/// Upgrade header could be read, answered with an error status: on such a
/// port it is taken for a refused upgrade (`http_upgrade`, confidence
/// `likely`), and the evidence says what was not visible.
pub fn refusal(rec: &ConnRecord<Analysis>, view: &CaptureView) -> Option<Disconnect> {
    let (outline, refused) = refused_at(rec)?;
    let c = &rec.stats[Dir::ClientToServer];
    let ctx = Ctx {
        start: rec.first_seen,
        view,
    };
    let rst = match refused {
        Refused::Syn(rst) => rst,
        Refused::CutRequest => return Some(cut_request_refused(rec, &ctx)),
    };
    let syn = At {
        frame: rec.first_frame,
        ts: rec.first_seen,
    };
    let tries = if c.syns > 1 {
        format!(
            " ({} SYNs: the first and {} retransmission{})",
            c.syns,
            c.syns - 1,
            if c.syns == 2 { "" } else { "s" }
        )
    } else {
        String::new()
    };
    let mut ev = vec![ctx.line(
        syn,
        format!("client sent SYN to {}{tries}", rec.meta.server),
    )];
    let (summary, fix) = match rst {
        Some(at) => {
            ev.push(ctx.line(
                at,
                "server answered with RST: nothing accepts connections on that port",
            ));
            (
                format!("The connection to {} was refused: the SYN was answered by RST, so no process listened on that port at that moment.", rec.meta.server),
                "The WebSocket/TLS server was not running or not listening on that address and port (a restart, a crash, a deploy in progress, or a client configured with the wrong port or address family, e.g. IPv6 while the server listens on IPv4 only). Check the server's process and its listen address; a load balancer should take such a backend out of rotation.".to_string(),
            )
        }
        None => {
            let waited = secs(rec.last_seen.since(rec.first_seen));
            (
                format!("The SYN to {} was never answered: {waited} of silence{}. The host is down or unreachable, or a firewall drops the traffic.", rec.meta.server, if c.syns > 1 { format!(" and {} SYNs", c.syns) } else { String::new() }),
                "Nothing answered at all, not even a refusal: check that the server host is up and routable from the client, and firewall or security-group rules for that port (a DROP rule looks exactly like this).".to_string(),
            )
        }
    };
    Some(Disconnect::inferred(
        outline.code,
        outline.category,
        outline.initiator,
        summary,
        ev,
        fix,
    ))
}

/// The verdict for a [`Refused::CutRequest`]: the refused upgrade, with
/// what the cut hid said.
fn cut_request_refused(rec: &ConnRecord<Analysis>, ctx: &Ctx) -> Disconnect {
    let f = &rec.analysis;
    let mut ev = Vec::new();
    if let (Some(r), Some(at)) = (&f.request, f.request_at) {
        ev.push(ctx.line(
            at,
            format!(
                "client sent {} {}; the capture's snapshot length cut its headers, so whether it asked for WebSocket is not visible",
                r.method, r.path
            ),
        ));
    }
    ev.push(Evidence::note(format!(
        "port {} carries WebSocket or TLS elsewhere in this capture: the request is taken for a refused upgrade",
        rec.meta.server.port
    )));
    let mut d = upgrade_failed(rec, ctx, ev);
    d.confidence = Some(Confidence::Likely);
    in_frame_order(&mut d.evidence);
    d
}

/// The outline of a [`refusal`] without its text (for linking, which
/// needs only that), or `None` when the connection got past the SYN.
pub fn refusal_outline(rec: &ConnRecord<Analysis>) -> Option<Outline> {
    refused_at(rec).map(|(o, _)| o)
}

/// Whether `rec` counts only if its port carries WebSocket or TLS
/// elsewhere ([`refusal`]): then its verdict's outline and how it failed.
fn refused_at(rec: &ConnRecord<Analysis>) -> Option<(Outline, Refused)> {
    let refused = if cut_refusal(&rec.analysis) {
        Refused::CutRequest
    } else {
        let [c, s] = &rec.stats.0;
        if c.syns == 0 || s.syns > 0 || c.bytes + s.bytes > 0 {
            return None;
        }
        Refused::Syn(
            rec.analysis
                .ends
                .iter()
                .find(|e| e.dir == Dir::ServerToClient && e.rst)
                .map(|e| e.at),
        )
    };
    let (category, initiator) = match refused {
        Refused::CutRequest => (Category::HttpUpgrade, Initiator::Server),
        Refused::Syn(Some(_)) => (Category::TcpRefused, Initiator::Server),
        Refused::Syn(None) => (Category::TcpRefused, Initiator::None),
    };
    let code = Some(CloseCode::ABNORMAL);
    let outline = Outline {
        code,
        category,
        initiator,
        abnormal: is_abnormal(category, code),
    };
    Some((outline, refused))
}

/// How a connection that counts only on a WebSocket port failed.
enum Refused {
    /// The SYN was answered by this RST, or not at all.
    Syn(Option<At>),
    /// A request cut before its Upgrade header was refused.
    CutRequest,
}

/// A plain GET whose head a gap (a snapshot length) cut before an Upgrade
/// header was seen, answered with a 4xx or 5xx: a refused upgrade if its
/// port carries WebSocket elsewhere ([`refusal`]).
fn cut_refusal(f: &Facts) -> bool {
    f.tls.is_none()
        && f.heads_cut[Dir::ClientToServer]
        && f.request
            .as_ref()
            .is_some_and(|r| !r.upgrade && r.method == "GET")
        && f.response.as_ref().is_some_and(|r| r.status >= 400)
}
