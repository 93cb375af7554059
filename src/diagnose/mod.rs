//! Diagnose layer: one connection's facts and the close-code knowledge base
//! in, one [`Disconnect`] verdict out (DESIGN.md's table), with evidence
//! lines that cite frame numbers and times, and a fix that uses what the
//! capture shows.

mod capture;
mod link;
mod refusal;
mod timeouts;
mod tls;
mod verdict;
mod websocket;

use crate::analyzers::session::{Analysis, Facts, Finding};
use crate::analyzers::tls::cert::Judgement;
use crate::capture::ring::FrameNames;
use crate::capture::Timestamp;
use crate::flow::ConnRecord;
use crate::knowledge::{lookup, proxies};
use crate::vocab::websocket::CloseCode;
use crate::vocab::{At, Dir};

pub use capture::{judge_capture, CapturePass, Judged, Receiver, Verdicts};
pub use link::{link_attempts, link_proxy_legs, Edit, Edits, Linkable, Outline};
pub use refusal::{refusal, refusal_outline, service_port};
pub use tls::{decryption_problem_text, problem_text, tls_judgement, NO_KEYS};
pub use verdict::{
    in_frame_order, is_abnormal, Category, Cause, Confidence, Disconnect, Evidence, Initiator,
};
use websocket::{close_frame, no_close, upgrade_failed};

impl Disconnect {
    /// A verdict whose code was inferred, not read from a Close frame, with
    /// no reason, HTTP status or cause; `None` for a code means the session
    /// ended inside encryption.
    fn inferred(
        code: Option<CloseCode>,
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
    upgraded_lines(f, &ctx, &mut ev);
    if let Some(first) = f.closes.first() {
        return Some(close_frame(rec, &ctx, ev, first));
    }
    if let Some(v) = f.findings.first() {
        return Some(violation(rec, &ctx, ev, v));
    }
    Some(no_close(rec, &ctx, ev))
}

/// The lines of an upgraded connection before its end: the 101, heads a
/// snapshot length cut, framing resumed after lost bytes.
fn upgraded_lines(f: &Facts, ctx: &Ctx, ev: &mut Vec<Evidence>) {
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
}

/// A frame that broke RFC 6455, and no Close after it: the code a
/// compliant peer must close with.
fn violation(
    rec: &ConnRecord<Analysis>,
    ctx: &Ctx,
    mut ev: Vec<Evidence>,
    v: &Finding,
) -> Disconnect {
    ev.push(ctx.line(
        v.at,
        format!("{} broke RFC 6455: {}", v.dir.sender(), v.what),
    ));
    end_lines(rec, ctx, &mut ev);
    let info = lookup(v.code);
    Disconnect::inferred(
        Some(v.code),
        Category::ProtocolViolation,
        Initiator::of(v.dir),
        format!(
            "The {} broke RFC 6455 and no Close frame followed: {}. A compliant peer closes with {}.",
            v.dir.sender(),
            v.what,
            v.code
        ),
        ev,
        format!("Fix the {} that sent frame {}: {}", v.dir.sender(), v.at.frame, info.fix),
    )
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

/// The last data either way.
fn last_data(f: &Facts) -> Option<At> {
    f.last_data.iter().flatten().max_by_key(|a| a.ts).copied()
}

/// The proxy the server's answer names (`Via`, or a `Server` that is a
/// known proxy), as "nginx/1.22.1, a reverse proxy".
fn proxy_in_response(r: &crate::analyzers::http::Response) -> Option<String> {
    if let Some(v) = &r.via {
        return Some(format!("a proxy (Via: {v})"));
    }
    let server = r.server.as_deref()?;
    proxies::named_in_server(server).map(|_| format!("{server}, a reverse proxy"))
}

/// A proxy on the client side: the request carries forwarding headers.
fn proxy_in_request(r: &crate::analyzers::http::Request) -> Option<String> {
    r.forwarded
        .as_ref()
        .map(|h| format!("a proxy (the upgrade request carries {h})"))
}
