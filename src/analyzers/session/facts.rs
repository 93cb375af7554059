//! The facts model of the session layer: what one connection's analysis
//! found (handshake, frames and messages each way, Close frames, RFC 6455
//! findings, the last data, how TCP ended), serializable so that ended
//! connections can wait on disk. The diagnose layer reads it.

use crate::analyzers::http::{Request, Response};
use crate::analyzers::tls::TlsFacts;
use crate::capture::Timestamp;
use crate::flow::EndedBy;
use crate::limits::LimitSet;
use crate::vocab::websocket::CloseCode;
use crate::vocab::{At, Dir, PerDir};

/// A FIN or RST one side sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TcpEnd {
    /// Its sender's direction.
    pub dir: Dir,
    /// RST rather than FIN.
    pub rst: bool,
    /// Where.
    pub at: At,
}

/// A Close frame on the wire.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CloseFrame {
    /// Who sent it.
    pub dir: Dir,
    /// Status code, if the payload had one.
    pub code: Option<CloseCode>,
    /// Reason text (lossy UTF-8).
    pub reason: String,
    /// Whether the reason was valid UTF-8.
    pub reason_utf8: bool,
    /// The peer's message in progress when this Close was sent, else its
    /// last complete one (for 1009: the message that crossed the limit).
    pub peer_message: Option<Message>,
    /// Payload length (1 is a violation).
    pub len: u64,
    /// Where it was.
    pub at: At,
}

/// An RFC 6455 rule broken on the wire.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    /// Who broke it.
    pub dir: Dir,
    /// Where.
    pub at: At,
    /// What, in a few words.
    pub what: String,
    /// The close code a compliant peer must answer with (§7.4.1).
    pub code: CloseCode,
}

/// A message as the receiving application sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    /// Bytes the application gets (inflated when compressed); so far, if
    /// the message is not complete; a lower bound if `capped`.
    pub size: u64,
    /// Payload bytes on the wire.
    pub wire: u64,
    /// The last frame of it seen.
    pub frame: u64,
    /// When.
    pub ts: Timestamp,
    /// Text (1) or binary (2).
    pub opcode: u8,
    /// Sent compressed (permessage-deflate, RSV1).
    pub compressed: bool,
    /// Its last fragment was seen.
    pub complete: bool,
    /// `size` is exact (false when a compressed message could not be
    /// inflated: then it is the wire size).
    pub exact: bool,
    /// Inflation stopped at the cap; `size` is a lower bound.
    pub capped: bool,
    /// Sizes come from a frame header whose payload had not all gone by:
    /// what the sender announced, not what was seen.
    pub announced: bool,
}

impl Message {
    /// "text" or "binary".
    pub fn kind(&self) -> &'static str {
        if self.opcode == 1 {
            "text"
        } else {
            "binary"
        }
    }
}

/// Frame statistics of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DirFrames {
    /// Frames.
    pub frames: u64,
    /// Complete messages.
    pub messages: u64,
    /// Pings.
    pub pings: u64,
    /// Pongs.
    pub pongs: u64,
    /// Messages sent compressed.
    pub compressed: u64,
    /// Largest complete message (by application size).
    pub largest: Message,
    /// Message in progress.
    pub current: Option<Message>,
    /// The last complete message.
    pub last: Option<Message>,
}

/// What was learned about one connection.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Facts {
    /// The upgrade request, if the client sent an HTTP head.
    pub request: Option<Request>,
    /// Where the request head was.
    pub request_at: Option<At>,
    /// Keep-alive requests on the connection before the upgrade request.
    pub earlier_requests: u32,
    /// The server's response head.
    pub response: Option<Response>,
    /// Where it was.
    pub response_at: Option<At>,
    /// The client's first bytes were a TLS handshake record: what TLS
    /// told.
    pub tls: Option<Box<TlsFacts>>,
    /// Per direction.
    pub frames: PerDir<DirFrames>,
    /// Close frames in order.
    pub closes: Vec<CloseFrame>,
    /// Violations, in order.
    pub findings: Vec<Finding>,
    /// Violations beyond those kept.
    pub more_findings: u64,
    /// Frame parsing stopped (gap on a header, impossible header).
    pub unparsed: PerDir<Option<u64>>,
    /// Last payload each way.
    pub last_data: PerDir<Option<At>>,
    /// FIN and RST, in order.
    pub ends: Vec<TcpEnd>,
    /// Data frames a side sent after its own Close.
    pub data_after_close: Option<(Dir, At)>,
    /// How TCP ended.
    pub ended_by: Option<EndedBy>,
    /// Caps of the analyzers this connection hit.
    pub limits_hit: LimitSet,
    /// The connection was picked up after its upgrade and recognised as
    /// WebSocket by its framing alone.
    pub picked_up: Option<PickedUp>,
    /// A head each way cut short by a gap (a snapshot length): what of it
    /// was visible is in `request` / `response`.
    pub heads_cut: PerDir<bool>,
    /// Where frames were followed again after a gap hit a header or cut
    /// the HTTP head, each way.
    pub resumed: PerDir<Option<At>>,
}

/// How a connection seen without its upgrade was recognised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PickedUp {
    /// Where each direction's recognised frames begin.
    pub from: PerDir<Option<At>>,
    /// Evidence the framing gave when the connection was recognised, in
    /// bits (see [`midstream`]).
    pub bits: u32,
    /// Where it was recognised.
    pub at: At,
}

impl PickedUp {
    /// The first frame of the recognised WebSocket bytes.
    pub fn first(&self) -> Option<At> {
        self.from.iter().flatten().min_by_key(|a| a.frame).copied()
    }
}

/// What a connection's analysis found: [`Facts`], boxed only for
/// connections that carried something (payload, FIN or RST). A SYN flood's
/// connections then cost 8 bytes here instead of a kilobyte; reading an
/// empty one gives the default facts.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Analysis(Option<Box<Facts>>);

impl Analysis {
    /// The facts of a connection that saw these events.
    pub fn new(facts: Facts) -> Analysis {
        Analysis(Some(Box::new(facts)))
    }
}

impl std::ops::Deref for Analysis {
    type Target = Facts;
    fn deref(&self) -> &Facts {
        static EMPTY: std::sync::OnceLock<Facts> = std::sync::OnceLock::new();
        self.0
            .as_deref()
            .unwrap_or_else(|| EMPTY.get_or_init(Facts::default))
    }
}

impl Facts {
    /// Whether the connection carried, or tried to carry, WebSocket.
    pub fn is_websocket(&self) -> bool {
        self.request.as_ref().is_some_and(|r| r.upgrade) || self.picked_up.is_some()
    }

    /// Whether the upgrade succeeded (101 with a valid accept), or the
    /// connection was picked up carrying WebSocket frames.
    pub fn upgraded(&self) -> bool {
        self.picked_up.is_some()
            || self
                .response
                .as_ref()
                .is_some_and(|r| r.status == 101 && r.accept_valid != Some(false))
    }

    /// The permessage-deflate parameters the server accepted (RFC 7692
    /// §7.1), if it accepted the extension.
    pub fn deflate_params(&self) -> Option<Vec<String>> {
        let r = self.response.as_ref()?;
        let ext = r.extensions.iter().find(|e| {
            e.split(';')
                .next()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case("permessage-deflate"))
        })?;
        Some(
            ext.split(';')
                .skip(1)
                .map(|p| p.trim().to_ascii_lowercase())
                .collect(),
        )
    }
}
