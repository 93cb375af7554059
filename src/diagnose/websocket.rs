//! The verdict of a connection that tried a WebSocket upgrade: a refused
//! upgrade (`http_upgrade`), the first Close frame (`close_frame`), or an
//! end without one (`tcp_abort`, `capture_end`).
//! In: one connection's facts. Out: its [`Disconnect`].

use crate::analyzers::session::{Analysis, CloseFrame, Finding, Message, TcpEnd};
use crate::flow::{ConnRecord, EndedBy};
use crate::knowledge::close_codes::CodeClass;
use crate::knowledge::{http, lookup, proxies, subprotocols};
use crate::limits::Limit;
use crate::vocab::websocket::CloseCode;
use crate::vocab::{At, Dir};

use super::timeouts::limits_matched;
use super::{
    end_lines, last_data, proxy_in_request, proxy_in_response, secs, Category, Ctx, Disconnect,
    Evidence, Initiator,
};

pub(super) fn upgrade_failed(
    rec: &ConnRecord<Analysis>,
    ctx: &Ctx,
    mut ev: Vec<Evidence>,
) -> Disconnect {
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
                    .and_then(body_line)
                    .map(|b| format!(", body \"{b}\""))
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
        code: Some(CloseCode::ABNORMAL),
        name: lookup(CloseCode::ABNORMAL).name.to_string(),
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
    let advice = http::refusal(status);
    if proxy && advice.proxy_may_cause {
        format!("{} {}", advice.fix, http::PROXY_FORWARDS)
    } else {
        advice.fix.to_string()
    }
}

pub(super) fn close_frame(
    rec: &ConnRecord<Analysis>,
    ctx: &Ctx,
    mut ev: Vec<Evidence>,
    first: &CloseFrame,
) -> Disconnect {
    let f = &rec.analysis;
    let sender = first.dir.sender();
    let code = first.code.unwrap_or(CloseCode::NO_STATUS);
    let info = lookup(code);
    let reason = (!first.reason.is_empty()).then(|| first.reason.clone());
    let peer = first.dir.reverse();
    // The message that crossed a size limit, for 1009: the peer's message
    // in progress when the Close went out, else its last one.
    let big = (code == CloseCode::MESSAGE_TOO_BIG)
        .then(|| first.peer_message.or(Some(f.frames[peer].largest)))
        .flatten()
        .filter(|m| m.wire > 0 || m.size > 0);
    let own = f
        .findings
        .iter()
        .find(|v| v.dir == first.dir && v.at.frame == first.at.frame);
    close_lines(rec, ctx, &mut ev, first, big, own);
    end_lines(rec, ctx, &mut ev);
    // What the code means in the subprotocol the server chose, when that
    // one publishes its codes.
    let chosen = f.response.as_ref().and_then(|r| r.protocol.as_deref());
    let sub = chosen.and_then(subprotocols::named);
    let meant = sub.zip(first.code).and_then(|(p, c)| Some((p, p.code(c)?)));
    if let (Some(p), Some(at)) = (sub, f.response_at) {
        ev.push(ctx.line(
            at,
            format!(
                "the server's 101 chose the subprotocol {} ({})",
                chosen.unwrap_or_default(),
                p.name
            ),
        ));
    }
    // The subprotocol's meaning replaces the registry's advice, which can
    // only say "look it up" for an application's code.
    let advice = match meant {
        Some((p, m)) => {
            let mut said = format!("In {}, {} means {}.", p.name, m.code, m.meaning);
            if !m.fix.is_empty() {
                said.push(' ');
                said.push_str(m.fix);
            }
            if info.class == CodeClass::Standard {
                said.push(' ');
                said.push_str(info.fix);
            }
            said
        }
        None => info.fix.to_string(),
    };
    let fix = close_fix(&advice, first, big, own);
    let summary = format!(
        "The {sender} closed the WebSocket with {} ({}){}{}.",
        first
            .code
            .map_or("no status code".to_string(), |c| c.to_string()),
        info.name,
        reason
            .as_deref()
            .map(|r| format!(": \"{r}\""))
            .unwrap_or_default(),
        meant
            .map(|(p, m)| format!("; in {}: {}", p.name, m.meaning))
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

/// The evidence of a Close: the message behind a 1009, the Close, what
/// the peer broke before it, what was wrong with the Close itself, its
/// echo (or its absence), data sent after it.
fn close_lines(
    rec: &ConnRecord<Analysis>,
    ctx: &Ctx,
    ev: &mut Vec<Evidence>,
    first: &CloseFrame,
    big: Option<Message>,
    own: Option<&Finding>,
) {
    let f = &rec.analysis;
    let sender = first.dir.sender();
    let reason = (!first.reason.is_empty()).then_some(first.reason.as_str());
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
        Some(c) => match reason {
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
}

/// What to change after a Close: the code's advice, made specific for the
/// message behind a 1009 and for a malformed Close.
fn close_fix(
    advice: &str,
    first: &CloseFrame,
    big: Option<Message>,
    own: Option<&Finding>,
) -> String {
    let sender = first.dir.sender();
    let mut fix = advice.to_string();
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
    fix
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

pub(super) fn no_close(rec: &ConnRecord<Analysis>, ctx: &Ctx, mut ev: Vec<Evidence>) -> Disconnect {
    let f = &rec.analysis;
    let last_any = last_data(f);
    if let Some(l) = last_any {
        ev.push(ctx.line(l, "last data on the connection"));
    }
    end_lines(rec, ctx, &mut ev);
    match (rec.ended_by, f.ends.first()) {
        (EndedBy::Evicted, _) => Disconnect::inferred(
            Some(CloseCode::ABNORMAL),
            Category::CaptureEnd,
            Initiator::None,
            "The WebSocket was still open, and idle, when more connections were open at once than this run follows; it was evicted and its end is not analysed.".to_string(),
            ev,
            "Nothing ended this connection as far as it was followed; run again with a larger --max-open-connections to see how it ends.".to_string(),
        ),
        (EndedBy::CaptureEnd, _) | (_, None) => match &ctx.view.stopped_early {
            Some(why) => Disconnect::inferred(
                Some(CloseCode::ABNORMAL),
                Category::CaptureEnd,
                Initiator::None,
                format!("Reading stopped early while the WebSocket was still open: {why}."),
                ev,
                "Nothing ended this connection in what could be read; its end is in the part of the capture that could not be (a damaged or missing file): read a good copy to see how it ends.".to_string(),
            ),
            None => Disconnect::inferred(
                Some(CloseCode::ABNORMAL),
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
            let open = f.response_at.map(|r| at.ts.since(r.ts));
            let matched = limits_matched(idle, open, proxy.as_deref());
            if let (true, Some(p)) = (idle >= 1_000_000_000, &proxy) {
                fix.push_str(&format!(
                    "The {} side of this connection is {p}, and it gave up after {} without traffic: ",
                    dir.sender(),
                    secs(idle),
                ));
                match &matched {
                    Some(m) => fix.push_str(m),
                    None => fix.push_str(&proxies::idle_timeout_advice()),
                }
            } else if let Some(m) = matched {
                fix.push_str(&format!(
                    "The {} closed after {} without traffic. {m}",
                    dir.sender(),
                    secs(idle)
                ));
            } else if idle >= 5_000_000_000 {
                fix.push_str(&format!(
                    "The {} gave up after {} without traffic, a silence that is no documented default: an idle timeout set to that is the likely cause (a proxy's read timeout, a load balancer's idle timeout, a NAT mapping, or the peer's own). Send WebSocket pings more often than the shortest idle timeout on the path, or raise that timeout.",
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
            Disconnect::inferred(
                Some(CloseCode::ABNORMAL),
                Category::TcpAbort,
                Initiator::of(dir),
                format!(
                    "The {}{} {how} the TCP connection {} after the last data, without a Close frame.",
                    dir.sender(),
                    proxy.map(|p| format!(" ({p})")).unwrap_or_default(),
                    secs(idle)
                ),
                ev,
                fix,
            )
        }
    }
}

/// Characters of a refusal's body that its evidence line quotes.
const BODY_LINE_CHARS: usize = 120;

/// A refusal's body as one line of evidence: an HTML page's `<title>`,
/// else its first non-empty line, with runs of white space made one space
/// and cut to [`BODY_LINE_CHARS`]; `None` when nothing is left.
fn body_line(body: &str) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let title = lower.find("<title>").and_then(|start| {
        let start = start + "<title>".len();
        let len = lower.get(start..)?.find("</title>")?;
        body.get(start..start + len)
    });
    let line = title.or_else(|| body.lines().map(str::trim).find(|l| !l.is_empty()))?;
    // The body is the start the HTTP analyzer kept, so this is short.
    let mut out = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((cut, _)) = out.char_indices().nth(BODY_LINE_CHARS) {
        out.truncate(cut);
        out.push_str("...");
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::body_line;

    #[test]
    fn a_body_is_quoted_as_one_short_line() {
        let nginx = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n";
        assert_eq!(body_line(nginx).as_deref(), Some("502 Bad Gateway"));
        assert_eq!(
            body_line("<TITLE>\n  Forbidden \n</TITLE>").as_deref(),
            Some("Forbidden")
        );
        assert_eq!(
            body_line("\r\n\r\n  Upgrade   Required\nsecond line").as_deref(),
            Some("Upgrade Required")
        );
        assert_eq!(body_line(" \r\n\t\n"), None);
        let long = "é".repeat(300);
        let cut = body_line(&long).unwrap();
        assert_eq!(cut.chars().count(), 123);
        assert!(cut.ends_with("..."));
        // A title that never closes: the first line instead.
        assert_eq!(body_line("<title>x").as_deref(), Some("<title>x"));
    }
}
