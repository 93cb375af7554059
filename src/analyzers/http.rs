//! HTTP/1.1 heads as they open a WebSocket (RFC 6455 §4, RFC 9110):
//! the upgrade request and the server's answer, parsed with httparse, and
//! the `Sec-WebSocket-Accept` check of §4.2.2.

use base64::Engine;
use serde::Serialize;
use sha1::{Digest, Sha1};

/// Longest HTTP head we buffer; a longer one is not an upgrade we can read.
pub const MAX_HEAD: usize = 16 << 10;
const MAX_HEADERS: usize = 64;
/// Body bytes of a refusal kept for the report.
const BODY_SNIPPET: usize = 200;

/// The client's request.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq, serde::Deserialize)]
pub struct Request {
    /// Method.
    pub method: String,
    /// Request target.
    pub path: String,
    /// `Host`.
    pub host: Option<String>,
    /// `Origin`.
    pub origin: Option<String>,
    /// Whether `Upgrade: websocket` and `Connection: upgrade` were there.
    pub upgrade: bool,
    /// `Sec-WebSocket-Version`.
    pub version: Option<String>,
    /// `Sec-WebSocket-Key`.
    pub key: Option<String>,
    /// Offered subprotocols.
    pub protocols: Vec<String>,
    /// Offered extensions, as written.
    pub extensions: Vec<String>,
    /// The first forwarding header (`Via`, `Forwarded`, `X-Forwarded-For`,
    /// `X-Real-IP`) with its value: the client is a proxy.
    pub forwarded: Option<String>,
    /// How the body after the head is delimited.
    #[serde(skip)]
    pub body: BodyLen,
}

/// How long the body after a head is (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BodyLen {
    /// No body, or `Content-Length: 0`.
    #[default]
    None,
    /// `Content-Length`.
    Bytes(u64),
    /// Chunked, or until the connection closes: the next head on the
    /// connection cannot be found without decoding it.
    Unknown,
}

fn body_len(content_length: Option<&str>, chunked: bool, until_close: bool) -> BodyLen {
    if chunked {
        return BodyLen::Unknown;
    }
    match content_length.map(|v| v.trim().parse::<u64>()) {
        Some(Ok(0)) => BodyLen::None,
        Some(Ok(n)) => BodyLen::Bytes(n),
        Some(Err(_)) => BodyLen::Unknown,
        None if until_close => BodyLen::Unknown,
        None => BodyLen::None,
    }
}

/// The server's response.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq, serde::Deserialize)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// `Sec-WebSocket-Accept`.
    pub accept: Option<String>,
    /// Whether `accept` is the hash of the request's key (§4.2.2); `None`
    /// when there was nothing to check.
    pub accept_valid: Option<bool>,
    /// Chosen subprotocol.
    pub protocol: Option<String>,
    /// Accepted extensions.
    pub extensions: Vec<String>,
    /// `Server`.
    pub server: Option<String>,
    /// `Via`, a sign of a proxy.
    pub via: Option<String>,
    /// Start of the body, for refusals.
    pub body: Option<String>,
    /// Whether the response had `Upgrade: websocket` and `Connection: upgrade`.
    pub upgrade: bool,
    /// How the body after the head is delimited (for a 101: nothing).
    #[serde(skip)]
    pub body_len: BodyLen,
}

/// Outcome of parsing a head.
#[derive(Debug)]
pub enum Head<T> {
    /// Parsed; the head took this many bytes.
    Done(T, usize),
    /// More bytes are needed.
    Partial,
    /// Not HTTP/1.x.
    NotHttp,
}

fn header_list(v: &str) -> impl Iterator<Item = String> + '_ {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

fn canonical(name: &str) -> &'static str {
    match name {
        "via" => "Via",
        "forwarded" => "Forwarded",
        "x-forwarded-for" => "X-Forwarded-For",
        _ => "X-Real-IP",
    }
}

fn has_token(v: &str, token: &str) -> bool {
    v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Parse a request head at the start of `buf`.
pub fn parse_request(buf: &[u8]) -> Head<Request> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let n = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Head::Partial,
        Err(_) => return Head::NotHttp,
    };
    let mut r = Request {
        method: req.method.unwrap_or_default().to_string(),
        path: req.path.unwrap_or_default().to_string(),
        ..Request::default()
    };
    let (mut up, mut conn) = (false, false);
    let (mut length, mut chunked) = (None, false);
    for h in req.headers.iter() {
        let v = String::from_utf8_lossy(h.value);
        match h.name.to_ascii_lowercase().as_str() {
            "content-length" => length = Some(v.into_owned()),
            "transfer-encoding" => chunked |= has_token(&v, "chunked"),
            name @ ("via" | "forwarded" | "x-forwarded-for" | "x-real-ip")
                if r.forwarded.is_none() =>
            {
                r.forwarded = Some(format!("{}: {}", canonical(name), v.trim()));
            }
            "host" => r.host = Some(v.into_owned()),
            "origin" => r.origin = Some(v.into_owned()),
            "upgrade" => up |= has_token(&v, "websocket"),
            "connection" => conn |= has_token(&v, "upgrade"),
            "sec-websocket-version" => r.version = Some(v.into_owned()),
            "sec-websocket-key" => r.key = Some(v.trim().to_string()),
            "sec-websocket-protocol" => r.protocols.extend(header_list(&v)),
            "sec-websocket-extensions" => r.extensions.extend(header_list(&v)),
            _ => {}
        }
    }
    r.upgrade = up && conn;
    r.body = body_len(length.as_deref(), chunked, false);
    Head::Done(r, n)
}

/// Parse what there is of a request head that never ended within the
/// bytes kept (`buf` is full): its complete lines, as if the head ended
/// after the last of them. The request line and the headers before the
/// cut are then known.
pub fn parse_request_cut(buf: &[u8]) -> Option<Request> {
    let Some(end) = buf.windows(2).rposition(|w| w == b"\r\n") else {
        return request_line_cut(buf);
    };
    let mut head = buf.get(..end + 2)?.to_vec();
    head.extend_from_slice(b"\r\n");
    match parse_request(&head) {
        Head::Done(r, _) => Some(r),
        Head::Partial | Head::NotHttp => None,
    }
}

/// The start of a request line cut before its end ("GET /field/serv"):
/// the method, when it is one of RFC 9110's, and the path as far as it
/// goes.
fn request_line_cut(buf: &[u8]) -> Option<Request> {
    const METHODS: [&str; 9] = [
        "GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
    ];
    let sp = buf.iter().position(|&b| b == b' ')?;
    let method = std::str::from_utf8(buf.get(..sp)?).ok()?;
    if !METHODS.contains(&method) {
        return None;
    }
    let rest = buf.get(sp + 1..)?;
    let path = rest.split(|&b| b == b' ').next().unwrap_or_default();
    if path.is_empty() || !path.iter().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    Some(Request {
        method: method.to_string(),
        path: String::from_utf8_lossy(path).into_owned(),
        ..Request::default()
    })
}

/// Parse what there is of a response head cut short (by a snapshot length
/// or a gap): its complete lines as [`parse_request_cut`] does, else the
/// status line alone when its code is visible ("HTTP/1.1 101 Swi"). The
/// accept key is then not checkable: `accept_valid` stays `None`.
pub fn parse_response_cut(buf: &[u8]) -> Option<Response> {
    if let Some(end) = buf.windows(2).rposition(|w| w == b"\r\n") {
        let mut head = buf.get(..end + 2)?.to_vec();
        head.extend_from_slice(b"\r\n");
        if let Head::Done(r, _) = parse_response(&head, None) {
            return Some(r);
        }
    }
    let rest = buf.strip_prefix(b"HTTP/1.")?;
    let (digits, reason) = (rest.get(2..5)?, rest.get(5..).unwrap_or_default());
    if rest.get(1) != Some(&b' ') || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let status = std::str::from_utf8(digits).ok()?.parse().ok()?;
    let reason = reason.split(|&b| b == b'\r').next().unwrap_or_default();
    Some(Response {
        status,
        reason: String::from_utf8_lossy(reason).trim().to_string(),
        ..Response::default()
    })
}

/// Parse a response head at the start of `buf`; `key` is the request's
/// `Sec-WebSocket-Key`, to check the accept value against.
pub fn parse_response(buf: &[u8], key: Option<&str>) -> Head<Response> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let n = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Head::Partial,
        Err(_) => return Head::NotHttp,
    };
    let mut r = Response {
        status: resp.code.unwrap_or_default(),
        reason: resp.reason.unwrap_or_default().to_string(),
        ..Response::default()
    };
    let (mut up, mut conn) = (false, false);
    let (mut length, mut chunked) = (None, false);
    for h in resp.headers.iter() {
        let v = String::from_utf8_lossy(h.value);
        match h.name.to_ascii_lowercase().as_str() {
            "content-length" => length = Some(v.into_owned()),
            "transfer-encoding" => chunked |= has_token(&v, "chunked"),
            "sec-websocket-accept" => r.accept = Some(v.trim().to_string()),
            "sec-websocket-protocol" => r.protocol = Some(v.trim().to_string()),
            "sec-websocket-extensions" => r.extensions.extend(header_list(&v)),
            "server" => r.server = Some(v.into_owned()),
            "via" => r.via = Some(v.into_owned()),
            "upgrade" => up |= has_token(&v, "websocket"),
            "connection" => conn |= has_token(&v, "upgrade"),
            _ => {}
        }
    }
    r.upgrade = up && conn;
    // 1xx, 204 and 304 never have a body; other responses without a length
    // run until the connection closes.
    r.body_len = match r.status {
        100..=199 | 204 | 304 => BodyLen::None,
        _ => body_len(length.as_deref(), chunked, true),
    };
    if r.status == 101 || r.accept.is_some() {
        r.accept_valid = match (key, &r.accept) {
            (Some(k), Some(a)) => Some(accept_for(k) == *a),
            (Some(_), None) => Some(false),
            _ => None,
        };
    }
    if r.status != 101 {
        let body = buf.get(n..).unwrap_or_default();
        if !body.is_empty() {
            let cut = body.get(..BODY_SNIPPET).unwrap_or(body);
            r.body = Some(String::from_utf8_lossy(cut).into_owned());
        }
    }
    Head::Done(r, n)
}

/// `Sec-WebSocket-Accept` for a key: base64(SHA-1(key + GUID)), §4.2.2.
pub fn accept_for(key: &str) -> String {
    const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    let mut h = Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// Split `HOST[:PORT]`, `[v6]:PORT` or a bare IPv6 address.
pub fn split_host_port(s: &str) -> (&str, Option<u16>) {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, tail) = rest.split_once(']').unwrap_or((rest, ""));
        return (host, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => match p.parse() {
            Ok(port) => (h, Some(port)),
            Err(_) => (s, None),
        },
        _ => (s, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6455_example_key() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_for("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn upgrade_request_and_response() {
        let req = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n\x81";
        let Head::Done(r, n) = parse_request(req) else {
            panic!()
        };
        assert_eq!(n, req.len() - 1);
        assert!(r.upgrade);
        assert_eq!(r.path, "/chat");
        assert_eq!(r.protocols, ["chat", "superchat"]);
        let resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        let Head::Done(s, _) = parse_response(resp, r.key.as_deref()) else {
            panic!()
        };
        assert_eq!((s.status, s.accept_valid), (101, Some(true)));
        let bad = b"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: AAAA\r\n\r\n";
        let Head::Done(s, _) = parse_response(bad, r.key.as_deref()) else {
            panic!()
        };
        assert_eq!(s.accept_valid, Some(false));
        let refused = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nforbidden";
        let Head::Done(s, _) = parse_response(refused, None) else {
            panic!()
        };
        assert_eq!((s.status, s.body.as_deref()), (403, Some("forbidden")));
        assert!(matches!(parse_request(b"GET / HT"), Head::Partial));
        let cut = b"GET /chat HTTP/1.1\r\nHost: x.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Pad: aaaa";
        let r = parse_request_cut(cut).expect("the lines before the cut");
        assert_eq!(
            (r.path.as_str(), r.host.as_deref(), r.upgrade),
            ("/chat", Some("x.test"), true)
        );
        // A snapshot length can cut the request line itself.
        let line = parse_request_cut(b"GET /field/serv").expect("the request line's start");
        assert_eq!(
            (line.method.as_str(), line.path.as_str()),
            ("GET", "/field/serv")
        );
        assert_eq!(parse_request_cut(b"\x81\x85 not a request"), None);
        assert_eq!(parse_request_cut(b"FETCH /x"), None);
        let status = parse_response_cut(b"HTTP/1.1 101 Switching Protoc").expect("status");
        assert_eq!((status.status, status.accept_valid), (101, None));
        let lines = parse_response_cut(b"HTTP/1.1 403 Forbidden\r\nServer: ngi").expect("lines");
        assert_eq!((lines.status, lines.reason.as_str()), (403, "Forbidden"));
        assert_eq!(parse_response_cut(b"HTTP/1.1 1"), None);
        assert_eq!(parse_response_cut(b"\x17\x03\x03"), None);
        assert!(matches!(
            parse_request(b"\x16\x03\x01\x02\x00"),
            Head::NotHttp
        ));
    }
    #[test]
    fn hosts_and_ports() {
        assert_eq!(split_host_port("10.0.0.1:443"), ("10.0.0.1", Some(443)));
        assert_eq!(split_host_port("example.com"), ("example.com", None));
        assert_eq!(
            split_host_port("[2001:db8::1]:8080"),
            ("2001:db8::1", Some(8080))
        );
        assert_eq!(split_host_port("2001:db8::1"), ("2001:db8::1", None));
    }
}
