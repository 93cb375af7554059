//! Diagnose layer: one connection's facts and the close-code knowledge base
//! in, one [`Disconnect`] verdict out (DESIGN.md's table), with evidence
//! lines that cite frame numbers and times, and a fix that uses what the
//! capture shows.

mod tls;
mod verdict;

use crate::analyzers::session::{Analysis, CloseFrame, Facts, TcpEnd};
use crate::analyzers::tls::cert::Judgement;

use crate::capture::ring::FrameNames;
use crate::capture::Timestamp;
use crate::flow::{ConnRecord, EndedBy};
use crate::knowledge::lookup;
use crate::limits::Limit;
use crate::vocab::{At, Dir, Endpoint};
pub use tls::{decryption_problem_text, problem_text, tls_judgement, NO_KEYS};
pub use verdict::{
    in_frame_order, is_abnormal, Category, Cause, Confidence, Disconnect, Evidence, Initiator,
};

impl Disconnect {
    /// A verdict whose code was inferred, not read from a Close frame, with
    /// no reason, HTTP status or cause; `None` for a code means the session
    /// ended inside encryption.
    fn inferred(
        code: Option<u16>,
        category: Category,
        initiator: Initiator,
        summary: String,
        evidence: Vec<Evidence>,
        fix: String,
    ) -> Disconnect {
        Disconnect {
            code,
            name: code.map_or("Encrypted".to_string(), |c| lookup(c).name.to_string()),
            category,
            initiator,
            observed: false,
            reason: None,
            http_status: None,
            cause: None,
            confidence: None,
            summary,
            evidence,
            fix,
        }
    }
}

/// Nanoseconds as "1.234 s".
fn secs(ns: i64) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

/// What verdicts need to know about the capture as a whole.
#[derive(Clone, Debug, Default)]
pub struct CaptureView {
    /// How to cite a frame of a capture read from several files.
    pub names: FrameNames,
    /// Why reading stopped before the capture's end, if it did: then a
    /// connection still open was not seen to its end for that reason.
    pub stopped_early: Option<String>,
}

struct Ctx<'a> {
    start: Timestamp,
    view: &'a CaptureView,
}

impl Ctx<'_> {
    /// A line citing `at`: its frame (and file, for a ring buffer) and
    /// its time since the connection's first packet.
    fn line(&self, at: At, text: impl std::fmt::Display) -> Evidence {
        let t = secs(at.ts.since(self.start));
        let text = match self.view.names.cite(at.frame) {
            Some(piece) => format!("frame {} ({piece}, +{t}): {text}", at.frame),
            None => format!("frame {} (+{t}): {text}", at.frame),
        };
        Evidence { at: Some(at), text }
    }
}

/// The verdict for a connection, or `None` if it never tried WebSocket or
/// TLS; `judged` is the server's chain judged by [`tls_judgement`], if it
/// was seen. Evidence lines come out in frame order; lines that cite no
/// frame last.
///
/// `view` cites frames as `file#frame` when the capture was read from
/// the pieces of a ring buffer (frame numbers count across the pieces),
/// and says whether reading stopped early.
pub fn diagnose(
    rec: &ConnRecord<Analysis>,
    judged: Option<&(Judgement, i64)>,
    view: &CaptureView,
) -> Option<Disconnect> {
    let mut d = verdict(rec, judged, view)?;
    if rec.analysis.picked_up.is_some() && d.confidence.is_none() {
        // Recognised by framing, not by a handshake: what followed is read
        // as surely as in a full capture, but the recognition is inferred
        // and whatever happened before the capture began is not visible.
        d.confidence = Some(Confidence::Likely);
    }
    in_frame_order(&mut d.evidence);
    Some(d)
}

fn verdict(
    rec: &ConnRecord<Analysis>,
    judged: Option<&(Judgement, i64)>,
    view: &CaptureView,
) -> Option<Disconnect> {
    let f = &rec.analysis;
    let ctx = Ctx {
        start: rec.first_seen,
        view,
    };
    let mut ev = Vec::new();
    if let Some(t) = &f.tls {
        // A WebSocket request inside TLS was read with a key log: the
        // session is judged like plain ws, with TLS in the evidence.
        if !f.is_websocket() {
            return Some(tls::verdict(rec, t, &ctx, judged));
        }
        tls::decrypted_lines(t, &ctx, &mut ev);
    }
    if !f.is_websocket() {
        return None;
    }
    if let Some(at) = f.picked_up.as_ref().and_then(|p| p.first()) {
        ev.push(ctx.line(
            at,
            format!(
                "the capture began after the upgrade: WebSocket recognised from frame {} by its framing",
                at.frame
            ),
        ));
    }
    if let (Some(r), Some(at)) = (&f.request, f.request_at) {
        ev.push(ctx.line(
            at,
            format!("client asked to upgrade {} to WebSocket", r.path),
        ));
    }
    if !f.upgraded() {
        return Some(upgrade_failed(rec, &ctx, ev));
    }
    if let Some(at) = f.response_at {
        let key = match f.response.as_ref().and_then(|r| r.accept_valid) {
            Some(_) => "valid accept key",
            None => "accept key not visible, so not checked",
        };
        ev.push(ctx.line(at, format!("server switched protocols (101, {key})")));
    }
    for (dir, cut) in f.heads_cut.iter_dir() {
        if *cut {
            let at = match dir {
                Dir::ClientToServer => f.request_at,
                Dir::ServerToClient => f.response_at,
            };
            let what = format!(
                "the capture's snapshot length cut the {} head: only its first line{} visible",
                if dir == Dir::ClientToServer {
                    "request"
                } else {
                    "response"
                },
                if dir == Dir::ClientToServer {
                    "s are"
                } else {
                    " is"
                }
            );
            match at {
                Some(at) => ev.push(ctx.line(at, what)),
                None => ev.push(Evidence::note(what)),
            }
        }
    }
    for (dir, at) in f.resumed.iter_dir() {
        if let Some(at) = at {
            ev.push(ctx.line(
                *at,
                format!(
                    "{} frames followed again from this segment, after bytes the capture lost",
                    dir.sender()
                ),
            ));
        }
    }
    if let Some(first) = f.closes.first() {
        return Some(close_frame(rec, &ctx, ev, first));
    }
    if let Some(v) = f.findings.first() {
        ev.push(ctx.line(
            v.at,
            format!("{} broke RFC 6455: {}", v.dir.sender(), v.what),
        ));
        end_lines(rec, &ctx, &mut ev);
        let info = lookup(v.code);
        return Some(Disconnect {
            code: Some(v.code),
            name: info.name.to_string(),
            category: Category::ProtocolViolation,
            initiator: Initiator::of(v.dir),
            observed: false,
            reason: None,
            http_status: None,
            cause: None,
            confidence: None,
            summary: format!(
                "The {} broke RFC 6455 and no Close frame followed: {}. A compliant peer closes with {}.",
                v.dir.sender(),
                v.what,
                v.code
            ),
            evidence: ev,
            fix: format!("Fix the {} that sent frame {}: {}", v.dir.sender(), v.at.frame, info.fix),
        });
    }
    Some(no_close(rec, &ctx, ev))
}

fn end_lines(rec: &ConnRecord<Analysis>, ctx: &Ctx, ev: &mut Vec<Evidence>) {
    for end in rec.analysis.ends.iter().take(3) {
        let what = if end.rst {
            "reset the TCP connection (RST)"
        } else {
            "closed its side of TCP (FIN)"
        };
        ev.push(ctx.line(end.at, format!("{} {what}", end.dir.sender())));
    }
}

fn upgrade_failed(rec: &ConnRecord<Analysis>, ctx: &Ctx, mut ev: Vec<Evidence>) -> Disconnect {
    let f = &rec.analysis;
    let cut = f.response.is_none() && f.limits_hit.contains(Limit::HttpHead);
    if let (true, Some(at)) = (cut, f.request_at) {
        ev.push(ctx.line(
            at,
            "the request head went on past the bytes this run reads of one head (--max-http-head) without ending",
        ));
    }
    let (summary, fix, status, initiator) = match (&f.response, f.response_at) {
        (Some(r), Some(at)) => {
            let status = r.status;
            if status == 101 {
                ev.push(ctx.line(
                    at,
                    "server answered 101 but its Sec-WebSocket-Accept does not match the key",
                ));
                (
                    "The server's 101 carried a Sec-WebSocket-Accept that does not match the client's key, so the client must fail the connection.".to_string(),
                    "Something between client and server rewrote the handshake, or the server computes the accept value wrongly: it must be base64(SHA-1(key + 258EAFA5-E914-47DA-95CA-C5AB0DC85B11)). Test without the proxy or middlebox in the path.".to_string(),
                    Some(status),
                    Initiator::Client,
                )
            } else {
                let body = r
                    .body
                    .as_deref()
                    .map(|b| format!(", body \"{}\"", b.trim()))
                    .unwrap_or_default();
                ev.push(ctx.line(
                    at,
                    format!("server refused the upgrade: {} {}{body}", status, r.reason),
                ));
                (
                    format!(
                        "The server refused the WebSocket upgrade with HTTP {} {}.",
                        status, r.reason
                    ),
                    refusal_fix(
                        status,
                        r.via.is_some() || r.server.as_deref().is_some_and(|s| s.contains("nginx")),
                    ),
                    Some(status),
                    Initiator::Server,
                )
            }
        }
        _ => {
            end_lines(rec, ctx, &mut ev);
            let first_end = f.ends.first();
            let initiator = first_end.map_or(Initiator::None, |e| Initiator::of(e.dir));
            (
                match rec.ended_by {
                    EndedBy::CaptureEnd => "The client asked to upgrade and the capture ended before any answer.".to_string(),
                    EndedBy::Evicted => "The client asked to upgrade and no answer came before the connection was evicted (too many connections open at once: --max-open-connections).".to_string(),
                    _ => format!("The client asked to upgrade and the connection ended without an HTTP answer ({} ended it).", initiator),
                },
                if cut {
                    "The client's upgrade request head was too long to read to its end: servers refuse heads this large (nginx: large_client_header_buffers, 8 KiB per line by default, answering 400 or closing; Node: --max-http-header-size, 16 KiB, answering 431) and may close without an answer. Look for an oversized cookie or header in what the client sends; if the head is legitimate, raise the server's limit (and --max-http-head to read it here).".to_string()
                } else {
                    "The server never answered the upgrade: check that the URL reaches a WebSocket endpoint, that a proxy in between forwards the Upgrade and Connection headers (for nginx: proxy_http_version 1.1 and the two proxy_set_header lines), and the server's logs at that time.".to_string()
                },
                None,
                initiator,
            )
        }
    };
    if f.response.is_some() {
        end_lines(rec, ctx, &mut ev);
    }
    Disconnect {
        code: Some(1006),
        name: lookup(1006).name.to_string(),
        category: Category::HttpUpgrade,
        initiator,
        observed: false,
        reason: None,
        http_status: status,
        cause: None,
        confidence: None,
        summary,
        evidence: ev,
        fix,
    }
}

fn refusal_fix(status: u16, proxy: bool) -> String {
    let s = match status {
        400 => "The server found the handshake malformed: check the Sec-WebSocket-Key, Sec-WebSocket-Version: 13, and the Upgrade and Connection headers the client (or a proxy) sends.",
        401 | 403 => "The server rejected who is asking: check the credentials or token sent with the upgrade, and that the page's Origin is in the server's allowed origins.",
        404 => "No WebSocket endpoint at that path: check the URL the client uses against the server's routes, including any prefix a proxy adds or strips.",
        426 => "The server wants another protocol version: send Sec-WebSocket-Version: 13, or the version the server's Sec-WebSocket-Version header lists.",
        429 => "The server is rate-limiting: back off before reconnecting (exponential, with jitter) and look at its connection-rate limits.",
        502..=504 => "A proxy could not get an answer from the WebSocket server behind it: check that the backend is up and reachable from the proxy, and the proxy's upstream timeouts.",
        _ => "The server answered the upgrade with something other than 101: its logs at that time say why.",
    };
    if proxy && !(502..=504).contains(&status) {
        format!("{s} A proxy is in the path: make sure it forwards the upgrade headers.")
    } else {
        s.to_string()
    }
}

fn close_frame(
    rec: &ConnRecord<Analysis>,
    ctx: &Ctx,
    mut ev: Vec<Evidence>,
    first: &CloseFrame,
) -> Disconnect {
    let f = &rec.analysis;
    let sender = first.dir.sender();
    let code = first.code.unwrap_or(1005);
    let info = lookup(code);
    let reason = (!first.reason.is_empty()).then(|| first.reason.clone());
    // The message that crossed a size limit, for 1009.
    let peer = first.dir.reverse();
    // The message that crossed a size limit, for 1009: the peer's message
    // in progress when the Close went out, else its last one.
    let big = (code == 1009)
        .then(|| first.peer_message.or(Some(f.frames[peer].largest)))
        .flatten()
        .filter(|m| m.wire > 0 || m.size > 0);
    if let Some(m) = big {
        ev.push(ctx.line(
            At {
                frame: m.frame,
                ts: m.ts,
            },
            format!("{} {}", first.dir.reverse().sender(), message_text(&m)),
        ));
    }
    let shown = match first.code {
        Some(c) => match &reason {
            Some(r) => format!("Close {c} \"{r}\""),
            None => format!("Close {c}"),
        },
        None => "Close with no status code".to_string(),
    };
    ev.push(ctx.line(first.at, format!("{sender} sent {shown}")));
    // What the peer did wrong before the Close, if anything: the reason for
    // a 1002 or 1007, seen on the wire.
    for v in f
        .findings
        .iter()
        .filter(|v| v.dir != first.dir && v.at.frame <= first.at.frame)
        .take(3)
    {
        ev.push(ctx.line(
            v.at,
            format!(
                "{} broke RFC 6455: {} (a compliant peer closes with {})",
                v.dir.sender(),
                v.what,
                v.code
            ),
        ));
    }
    // What was wrong with the Close frame itself (a 1-byte body, a code
    // that may not be sent, a reason that is not UTF-8).
    let own = f
        .findings
        .iter()
        .find(|v| v.dir == first.dir && v.at.frame == first.at.frame);
    if let Some(v) = own {
        ev.push(ctx.line(
            v.at,
            format!(
                "the {sender}'s Close itself broke RFC 6455: {} (a compliant peer answers with {})",
                v.what, v.code
            ),
        ));
    }
    let echo = f.closes.iter().find(|c| c.dir != first.dir);
    match echo {
        Some(e) => ev.push(ctx.line(
            e.at,
            format!(
                "{} answered with Close{}",
                e.dir.sender(),
                e.code.map(|c| format!(" {c}")).unwrap_or_default()
            ),
        )),
        None => ev.push(Evidence::note(format!(
            "the {} never answered with its own Close",
            first.dir.reverse().sender()
        ))),
    }
    if let Some((d, at)) = f.data_after_close {
        ev.push(ctx.line(
            at,
            format!("{} kept sending data after its Close", d.sender()),
        ));
    }
    end_lines(rec, ctx, &mut ev);
    let mut fix = info.fix.to_string();
    if let Some(m) = big {
        let size = if m.announced {
            format!("{} bytes (announced in its frame header)", m.wire)
        } else if m.capped || !m.complete {
            format!("at least {} bytes", m.size)
        } else {
            format!("{} bytes", m.size)
        };
        let compressed = if m.compressed && m.exact {
            " The limit applies to the inflated size: permessage-deflate shrank it on the wire, not in the receiver's memory."
        } else {
            ""
        };
        fix = format!(
            "The {sender} closed on a {} message of {size} from the {}: raise the {sender}'s maximum message size above {} bytes if such messages are legitimate, or split them into smaller messages.{compressed} Limits to look at: max_size in Python websockets, maxPayload in Node ws, the buffer limits of any proxy in between.",
            m.kind(),
            first.dir.reverse().sender(),
            if m.announced { m.wire } else { m.size }
        );
    }
    if let Some(v) = own {
        fix = format!(
            "The {sender}'s Close frame was malformed ({}): fix how the {sender} builds its Close (a status code of 1000-1003, 1007-1014 or 3000-4999 in two bytes, then an optional UTF-8 reason, 125 bytes in all). {fix}",
            v.what
        );
    }
    let summary = format!(
        "The {sender} closed the WebSocket with {} ({}){}.",
        first
            .code
            .map_or("no status code".to_string(), |c| c.to_string()),
        info.name,
        reason
            .as_deref()
            .map(|r| format!(": \"{r}\""))
            .unwrap_or_default()
    );
    Disconnect {
        code: Some(code),
        name: info.name.to_string(),
        category: Category::CloseFrame,
        initiator: Initiator::of(first.dir),
        observed: first.code.is_some(),
        reason,
        http_status: None,
        cause: None,
        confidence: None,
        summary,
        evidence: ev,
        fix,
    }
}

/// "sent a 4000-byte text message"; with the wire size when compressed,
/// and "had sent ... not finished" for a message still in progress.
fn message_text(m: &crate::analyzers::session::Message) -> String {
    let kind = m.kind();
    let wire = if m.compressed {
        format!(" ({} bytes compressed on the wire)", m.wire)
    } else {
        String::new()
    };
    if m.announced {
        return format!(
            "started a {kind} message whose frame header announces {} bytes{}; the rest had not arrived when the Close came",
            m.wire,
            if m.compressed { " (compressed)" } else { "" }
        );
    }
    match (m.complete, m.compressed && !m.exact, m.capped) {
        (_, true, _) => format!(
            "sent a compressed {kind} message of {} bytes on the wire{} (not inflated: bytes of it or before it are missing)",
            m.wire,
            if m.complete { "" } else { ", not finished" }
        ),
        (true, false, false) => format!("sent a {}-byte {kind} message{wire}", m.size),
        (true, false, true) => format!("sent a {kind} message of more than {} bytes{wire}", m.size),
        (false, false, _) => format!(
            "had sent at least {} bytes of a {kind} message{wire}, not finished",
            m.size
        ),
    }
}

/// What a proxy's idle timeout means and where to change it.
const PROXY_IDLE: &str = "that is a proxy's idle timeout, the likely cause (nginx: proxy_read_timeout, default 60 s; HAProxy: timeout tunnel; Envoy: idle_timeout; AWS ALB: idle timeout, default 60 s). Send WebSocket pings from the application more often than that timeout, or raise the timeout for WebSocket routes.";

/// Closes of two legs this close together are one proxy's doing.
const SAME_MOMENT_NS: i64 = 100_000_000;

/// The last data either way.
fn last_data(f: &Facts) -> Option<At> {
    f.last_data.iter().flatten().max_by_key(|a| a.ts).copied()
}

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
    /// The proxy the server's answer names ([`proxy_in_response`]).
    proxy: Option<Box<str>>,
    /// The last payload either way.
    last_data: Option<Timestamp>,
    verdict: Outline,
}

/// The parts of a verdict that linking reads.
#[derive(Clone, Copy, Debug)]
pub struct Outline {
    code: Option<u16>,
    category: Category,
    initiator: Initiator,
    abnormal: bool,
}

impl Outline {
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
/// once: the client's (where its `Server` header names it) and its own
/// upstream connection, where it is the client and names itself nowhere.
/// Find such upstream legs among one capture's connections (same path,
/// closed by the client within [`SAME_MOMENT_NS`] of the proxy closing a
/// client's leg) and say so in their verdicts. `conns` holds the
/// connections with a verdict as (index in the capture, facts); `id`
/// names a connection by its index.
pub fn link_proxy_legs(
    conns: &[(usize, Linkable)],
    id: &dyn Fn(usize) -> String,
    edits: &mut Edits,
) {
    struct Front<'a> {
        ts: Timestamp,
        path: &'a str,
        proxy: &'a str,
        index: usize,
    }
    let fronts: Vec<Front> = conns
        .iter()
        .filter_map(|(i, c)| {
            if c.verdict.category != Category::TcpAbort || c.verdict.initiator != Initiator::Server
            {
                return None;
            }
            Some(Front {
                ts: c.first_end?.1,
                path: c.path.as_deref()?,
                proxy: c.proxy.as_deref()?,
                index: *i,
            })
        })
        .collect();
    if fronts.is_empty() {
        return;
    }
    for (i, c) in conns {
        let (Some((Dir::ClientToServer, at)), Some(path)) = (c.first_end, c.path.as_deref()) else {
            continue;
        };
        if c.verdict.category != Category::TcpAbort {
            continue;
        }
        let Some(front) = fronts
            .iter()
            .find(|fr| fr.path == path && at.since(fr.ts).abs() <= SAME_MOMENT_NS)
        else {
            continue;
        };
        let idle = secs(c.last_data.map_or(0, |l| at.since(l)));
        let (id, proxy) = (id(front.index), front.proxy);
        edits.push((
            *i,
            Edit::Evidence(format!(
                "connection {id}: {proxy} closed the client's leg of {path} at the same moment ({} apart)",
                secs(at.since(front.ts).abs())
            )),
        ));
        edits.push((*i, Edit::Retell {
            summary: format!(
                "The client, the proxy's upstream side of connection {id} ({proxy}), closed (FIN or RST) the TCP connection {idle} after the last data, without a Close frame."
            ),
            fix: format!(
                "This is the upstream leg of a reverse proxy: its client is {proxy} (connection {id} is the same session's leg to the real client), which closed both legs together after {idle} without traffic: {PROXY_IDLE}"
            ),
        }));
    }
}

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
    let c = &rec.stats[0];
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
        let [c, s] = &rec.stats;
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
    let code = Some(1006);
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

/// Retries this soon after a failed attempt are linked to it (DESIGN.md:
/// attempts of one client to one server within a second).
const RETRY_NS: i64 = 1_000_000_000;

/// RFC 8305's recommended delay between happy-eyeballs attempts is 250 ms;
/// an attempt over the other family this soon after a failed one that
/// named no host is taken for the same client's next try.
const HAPPY_EYEBALLS_NS: i64 = 300_000_000;

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
/// [`RETRY_NS`] of it (happy eyeballs). Both verdicts get a line naming the
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
        .map(|(k, (_, c))| {
            (
                k,
                c,
                c.verdict.abnormal && c.verdict.category != Category::CaptureEnd,
            )
        })
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
        // The same client to the same server, next in start order.
        if let Some(same) = by_pair.get(&(ca.client, ca.server)) {
            let pos = same.partition_point(|&(k, c, _)| (c.first_seen, k) <= (ca.first_seen, a));
            if let Some(&(b, cb, _)) = same.get(pos) {
                let after_end = cb.first_seen.since(ca.last_seen);
                if (0..=RETRY_NS).contains(&after_end) {
                    links.push((a, b, after_end, true));
                    continue;
                }
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
            let tied = match name_a {
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

/// Proxies that answer WebSocket upgrades in their own name.
const PROXIES: &[&str] = &[
    "nginx",
    "envoy",
    "haproxy",
    "traefik",
    "caddy",
    "apache",
    "cloudflare",
    "awselb",
    "istio",
    "openresty",
    "varnish",
    "squid",
    "kong",
    "tengine",
];

/// The proxy the server's answer names (`Via`, or a `Server` that is a
/// known proxy), as "nginx/1.22.1, a reverse proxy".
fn proxy_in_response(r: &crate::analyzers::http::Response) -> Option<String> {
    if let Some(v) = &r.via {
        return Some(format!("a proxy (Via: {v})"));
    }
    let server = r.server.as_deref()?;
    let lower = server.to_ascii_lowercase();
    PROXIES
        .iter()
        .any(|p| lower.contains(p))
        .then(|| format!("{server}, a reverse proxy"))
}

/// A proxy on the client side: the request carries forwarding headers.
fn proxy_in_request(r: &crate::analyzers::http::Request) -> Option<String> {
    r.forwarded
        .as_ref()
        .map(|h| format!("a proxy (the upgrade request carries {h})"))
}

fn no_close(rec: &ConnRecord<Analysis>, ctx: &Ctx, mut ev: Vec<Evidence>) -> Disconnect {
    let f = &rec.analysis;
    let last_any = last_data(f);
    if let Some(l) = last_any {
        ev.push(ctx.line(l, "last data on the connection"));
    }
    end_lines(rec, ctx, &mut ev);
    let info = lookup(1006);
    match (rec.ended_by, f.ends.first()) {
        (EndedBy::Evicted, _) => Disconnect::inferred(
            Some(1006),
            Category::CaptureEnd,
            Initiator::None,
            "The WebSocket was still open, and idle, when more connections were open at once than this run follows; it was evicted and its end is not analysed.".to_string(),
            ev,
            "Nothing ended this connection as far as it was followed; run again with a larger --max-open-connections to see how it ends.".to_string(),
        ),
        (EndedBy::CaptureEnd, _) | (_, None) => match &ctx.view.stopped_early {
            Some(why) => Disconnect::inferred(
                Some(1006),
                Category::CaptureEnd,
                Initiator::None,
                format!("Reading stopped early while the WebSocket was still open: {why}."),
                ev,
                "Nothing ended this connection in what could be read; its end is in the part of the capture that could not be (a damaged or missing file): read a good copy to see how it ends.".to_string(),
            ),
            None => Disconnect::inferred(
                Some(1006),
                Category::CaptureEnd,
                Initiator::None,
                "The capture stopped while the WebSocket was still open.".to_string(),
                ev,
                "Nothing ended this connection inside the capture; capture for longer to see how it ends.".to_string(),
            ),
        },
        (_, Some(&TcpEnd { dir, rst, at })) => {
            let idle = last_any.map(|l| at.ts.since(l.ts)).unwrap_or(0);
            let how = if rst { "reset (RST)" } else { "closed (FIN)" };
            let mut fix = String::new();
            let proxy = match dir {
                Dir::ServerToClient => f.response.as_ref().and_then(proxy_in_response),
                Dir::ClientToServer => f.request.as_ref().and_then(proxy_in_request),
            };
            if let (true, Some(p)) = (idle >= 1_000_000_000, &proxy) {
                fix.push_str(&format!(
                    "The {} side of this connection is {p}, and it gave up after {} without traffic: {PROXY_IDLE}",
                    dir.sender(),
                    secs(idle)
                ));
            } else if idle >= 5_000_000_000 {
                let sixty = if (59_000_000_000..=61_000_000_000).contains(&idle) {
                    " 60 s is the default of nginx's proxy_read_timeout and of AWS load balancers' idle timeout."
                } else {
                    ""
                };
                fix.push_str(&format!(
                    "The {} gave up after {} without traffic: an idle timeout is the likely cause (a proxy's read timeout, a load balancer's idle timeout, a NAT mapping, or the peer's own).{sixty} Send WebSocket pings more often than the shortest idle timeout on the path, or raise that timeout.",
                    dir.sender(),
                    secs(idle)
                ));
            } else if rst {
                fix.push_str(&format!(
                    "The {} reset the connection with no idle period before it: look for a crash or kill of that process, or a firewall or proxy dropping the connection, at that time.",
                    dir.sender()
                ));
            } else {
                fix.push_str(&format!(
                    "The {} closed TCP without the WebSocket closing handshake: make it send a Close frame with a code before closing (a graceful shutdown path), and look for why it stopped.",
                    dir.sender()
                ));
            }
            Disconnect {
                code: Some(1006),
                name: info.name.to_string(),
                category: Category::TcpAbort,
                initiator: Initiator::of(dir),
                observed: false,
                reason: None,
                http_status: None,
                cause: None,
                confidence: None,
                summary: format!(
                    "The {}{} {how} the TCP connection {} after the last data, without a Close frame.",
                    dir.sender(),
                    proxy.map(|p| format!(" ({p})")).unwrap_or_default(),
                    secs(idle)
                ),
                evidence: ev,
                fix,
            }
        }
    }
}
