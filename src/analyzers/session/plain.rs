//! The plaintext stream of a session (TCP bytes, or what TLS decrypted):
//! walks HTTP/1.1 heads, keep-alive requests and their bodies up to an
//! upgrade, recognises a WebSocket picked up after its upgrade by its
//! framing, and hands the frames to the [`Tracker`].

use crate::analyzers::http::{self, BodyLen, Head};
use crate::analyzers::websocket::midstream::{self, DirProbe, Kept};
use crate::analyzers::websocket::{FrameStream, StreamItem};
use crate::limits::{Limit, Limits};
use crate::vocab::{At, Dir, PerDir};

use super::facts::PickedUp;
use super::rules::{Sink, Tracker};

/// HTTP heads and WebSocket frames of a connection's two byte streams.
pub(super) struct Plain {
    pub(super) t: Tracker,
    pub(super) head: PerDir<Vec<u8>>,
    pub(super) head_done: PerDir<bool>,
    /// Stream offset of `head[dir][0]`.
    pub(super) head_at: PerDir<u64>,
    /// Body bytes of an earlier keep-alive request or response still to
    /// skip before the next head.
    pub(super) skip: PerDir<u64>,
    /// Heads read so far each way (keep-alive requests before an upgrade).
    pub(super) heads: PerDir<u32>,
    /// Which request (0-based) asked for the upgrade.
    pub(super) upgrade_index: Option<u32>,
    /// The method of each request before the upgrade, for bodies of
    /// responses to HEAD (none).
    pub(super) head_methods: u64,
    pub(super) streams: Option<PerDir<FrameStream>>,
    /// Bytes of one HTTP head kept, at most.
    pub(super) max_head: usize,
    /// Looking for WebSocket framing in a connection that showed no HTTP.
    pub(super) probe: Option<Box<Probe>>,
}

/// Where the search for WebSocket framing stands in one direction.
#[derive(Default)]
pub(super) enum Looking {
    /// Not started: the direction has not shown that it is not HTTP.
    #[default]
    Idle,
    /// Following candidate chains.
    At(DirProbe),
    /// A chain was recognised: the frame stream took over.
    Found,
    /// Nothing was found.
    Gone,
}

/// The search for WebSocket framing in a connection seen without its
/// upgrade (see [`midstream`]).
#[derive(Default)]
pub(super) struct Probe {
    dirs: PerDir<Looking>,
    /// The connection was recognised as WebSocket.
    accepted: bool,
}

/// Bits added when both directions' chains hold a Close with the same
/// code: a Close answered by its echo (RFC 6455 §5.5.1).
pub(super) const ECHO_BITS: u32 = 8;

/// Heads read per direction before giving up on finding an upgrade.
pub(super) const MAX_HEADS: u32 = 64;

/// What reading one head led to.
pub(super) enum Step {
    /// Not all of the head is here yet.
    NeedMore,
    /// The last head of the direction: WebSocket bytes (or nothing we
    /// follow) come after its `n` bytes.
    Done(usize),
    /// A keep-alive head of `n` bytes with a body of this many bytes;
    /// another head follows.
    Skip(usize, u64),
    /// Nothing more to read as HTTP.
    GiveUp,
}

impl Plain {
    pub(super) fn new(limits: &Limits) -> Plain {
        Plain {
            t: Tracker::new(limits),
            head: Default::default(),
            head_done: PerDir::default(),
            head_at: PerDir::default(),
            skip: PerDir::default(),
            heads: PerDir::default(),
            upgrade_index: None,
            head_methods: 0,
            streams: None,
            max_head: limits.http_head,
            probe: None,
        }
    }

    /// The frame streams, made stopped both ways if there were none (a
    /// direction starts when the search hands it a chain).
    pub(super) fn frame_streams(&mut self) -> &mut PerDir<FrameStream> {
        self.streams.get_or_insert_with(|| {
            PerDir::new(FrameStream::stopped_at(0), FrameStream::stopped_at(0))
        })
    }

    /// Whether a direction's bytes go to the framing search.
    pub(super) fn probing(&self, dir: Dir) -> bool {
        self.probe
            .as_ref()
            .is_some_and(|p| matches!(p.dirs[dir], Looking::At(_)))
    }

    /// Start the framing search in a direction, if the connection showed
    /// no HTTP head either way and the direction was not searched yet.
    pub(super) fn start_probe(&mut self, dir: Dir) -> bool {
        let no_http = self.t.facts.request.is_none()
            && self.t.facts.response.is_none()
            && self.heads.iter().all(|&n| n == 0);
        if !no_http {
            return false;
        }
        let probe = self.probe.get_or_insert_with(Box::default);
        if !matches!(probe.dirs[dir], Looking::Idle) {
            return false;
        }
        probe.dirs[dir] = Looking::At(DirProbe::new(dir == Dir::ClientToServer));
        self.head_done[dir] = true;
        self.head[dir] = Vec::new();
        true
    }

    /// Bytes of a direction being searched.
    pub(super) fn probe_data(&mut self, dir: Dir, offset: u64, bytes: &[u8], at: At) {
        if let Some(Looking::At(p)) = self.probe.as_mut().map(|p| &mut p.dirs[dir]) {
            p.data(offset, bytes, at.frame, at.ts);
        }
        self.settle(at);
    }

    /// A hole in a direction being searched.
    pub(super) fn probe_gap(&mut self, dir: Dir, len: u64, at: At) {
        if let Some(Looking::At(p)) = self.probe.as_mut().map(|p| &mut p.dirs[dir]) {
            p.gap(len, at.frame, at.ts);
        }
        self.settle(at);
    }

    /// Decide what the search found so far: the connection once its
    /// chains hold [`midstream::ACCEPT_BITS`] together (with
    /// [`ECHO_BITS`] for a Close echoed with its code), then each
    /// direction whose chain holds [`midstream::DIRECTION_BITS`] or echoes
    /// the other's Close.
    pub(super) fn settle(&mut self, at: At) {
        let Some(probe) = self.probe.as_mut() else {
            return;
        };
        fn best(l: &Looking) -> Option<&midstream::Chain> {
            match l {
                Looking::At(p) => p.best(),
                _ => None,
            }
        }
        let code = |d: Dir| best(&probe.dirs[d]).and_then(|c| c.close_code());
        let echoed = code(Dir::ClientToServer).is_some()
            && code(Dir::ClientToServer) == code(Dir::ServerToClient);
        if !probe.accepted {
            let bits: u32 = probe
                .dirs
                .iter()
                .filter_map(best)
                .map(|c| c.bits())
                .sum::<u32>()
                + if echoed { ECHO_BITS } else { 0 };
            if bits < midstream::ACCEPT_BITS {
                for l in probe.dirs.iter_mut() {
                    if matches!(l, Looking::At(p) if p.exhausted()) {
                        *l = Looking::Gone;
                    }
                }
                return;
            }
            probe.accepted = true;
            self.t.midstream = true;
            if self.t.facts.request.is_none() {
                self.t.facts.picked_up = Some(PickedUp {
                    from: PerDir::default(),
                    bits,
                    at,
                });
            }
            self.frame_streams();
        }
        let mut adopted = Vec::new();
        for dir in [Dir::ClientToServer, Dir::ServerToClient] {
            let Some(probe) = self.probe.as_mut() else {
                return;
            };
            let take = match &probe.dirs[dir] {
                Looking::At(p) => match p.best() {
                    Some(c) => c.bits() >= midstream::DIRECTION_BITS || (echoed && c.closed()),
                    None => false,
                },
                _ => false,
            };
            if take {
                if let Looking::At(p) = std::mem::replace(&mut probe.dirs[dir], Looking::Found) {
                    if let Some(chain) = p.take_best() {
                        adopted.push((dir, chain));
                    }
                }
            } else if matches!(&probe.dirs[dir], Looking::At(p) if p.exhausted()) {
                probe.dirs[dir] = Looking::Gone;
            }
        }
        if !adopted.is_empty() {
            self.adopt(adopted);
        }
    }

    /// Recognised chains become their directions' frame streams; the
    /// frames they parsed are told to the tracker in capture order, both
    /// directions merged (who closed first depends on it).
    pub(super) fn adopt(&mut self, chains: Vec<(Dir, midstream::Chain)>) {
        let mut told: Vec<(Dir, Kept)> = Vec::new();
        for (dir, chain) in chains {
            let from = At {
                frame: chain.start_frame,
                ts: chain.start_ts,
            };
            match self.t.facts.picked_up.as_mut() {
                Some(p) => p.from[dir] = Some(from),
                None => {
                    self.t.facts.resumed[dir] = Some(from);
                    self.t.facts.unparsed[dir] = None;
                }
            }
            let (stream, kept) = chain.into_parts();
            told.extend(kept.into_iter().map(|k| (dir, k)));
            self.frame_streams()[dir] = stream;
        }
        let frame_of = |k: &Kept| match &k.item {
            StreamItem::Frame { last_frame, .. } => *last_frame,
            _ => 0,
        };
        // Stable: frames of one segment keep their order.
        told.sort_by_key(|(_, k)| frame_of(k));
        for (dir, k) in told {
            let frame = frame_of(&k);
            self.t.item(dir, k.item, At { frame, ts: k.ts });
        }
    }

    /// In-order bytes of a direction at stream offset `offset`.
    pub(super) fn data(&mut self, dir: Dir, offset: u64, bytes: &[u8], at: At) {
        if self.probing(dir) {
            self.probe_data(dir, offset, bytes, at);
        } else if self.head_done[dir] {
            self.frames(dir, bytes, at);
        } else {
            if self.head[dir].is_empty() && self.skip[dir] == 0 {
                self.head_at[dir] = offset;
            }
            self.head_bytes(dir, bytes, at);
        }
    }

    /// A hole of `len` bytes in a direction.
    pub(super) fn gap(&mut self, dir: Dir, len: u64, at: At) {
        if self.probing(dir) {
            self.probe_gap(dir, len, at);
            return;
        }
        if !self.head_done[dir] {
            // A hole in the head: it cannot be read. Before any HTTP was
            // seen, what follows may be WebSocket picked up mid-stream.
            self.head_done[dir] = true;
            let cut = std::mem::take(&mut self.head[dir]);
            if self.cut_head(dir, &cut, at) {
                return;
            }
            if self.start_probe(dir) {
                self.probe_gap(dir, len, at);
            }
            return;
        }
        let Plain { t, streams, .. } = self;
        if let Some(streams) = streams.as_mut() {
            let was = streams[dir].stopped();
            streams[dir].gap(len, at.frame, &mut Sink { t, dir, at });
            if !was && streams[dir].stopped() {
                // The gap hit a header: look for the next frame from the
                // next segment on.
                self.resume(dir, true);
            }
        }
    }

    /// Look for frames again in a direction of a connection known to carry
    /// WebSocket, from its next segment.
    pub(super) fn resume(&mut self, dir: Dir, known: bool) {
        let probe = self.probe.get_or_insert_with(Box::default);
        probe.accepted |= known;
        probe.dirs[dir] = Looking::At(DirProbe::new(dir == Dir::ClientToServer));
        self.head_done[dir] = true;
        self.frame_streams();
    }

    /// The first head of a direction was cut by a gap (a snapshot length):
    /// keep what its visible lines say, and when they show an upgrade
    /// answered by 101, follow frames from the next segment that starts
    /// one. Returns whether the head was HTTP.
    pub(super) fn cut_head(&mut self, dir: Dir, cut: &[u8], at: At) -> bool {
        if self.heads[dir] > 0 || cut.is_empty() {
            return false;
        }
        match dir {
            Dir::ClientToServer => {
                let Some(req) = http::parse_request_cut(cut) else {
                    return false;
                };
                self.heads[dir] = 1;
                self.t.facts.heads_cut[dir] = true;
                self.t.facts.request_at = Some(at);
                self.upgrade_index = Some(0);
                let known = req.upgrade;
                self.t.facts.request = Some(req);
                self.resume(dir, known);
                true
            }
            Dir::ServerToClient => {
                let Some(resp) = http::parse_response_cut(cut) else {
                    return false;
                };
                self.heads[dir] = 1;
                self.t.facts.heads_cut[dir] = true;
                let switching = resp.status == 101;
                if let Some(r) = self.t.facts.request.as_mut() {
                    // A 101 (or a 426 asking for the upgrade) says the
                    // request the cut hid asked for WebSocket.
                    r.upgrade |= switching || resp.status == 426;
                }
                self.t.facts.response = Some(resp);
                self.t.facts.response_at = Some(at);
                if switching {
                    // The extensions the cut hid are unknown.
                    self.t.midstream = true;
                    if let Some(p) = self.probe.as_mut() {
                        p.accepted = true;
                    }
                    self.resume(dir, true);
                } else if let Some(p) = self.probe.as_mut() {
                    p.dirs[Dir::ClientToServer] = Looking::Gone;
                }
                true
            }
        }
    }

    /// The rest of a direction is lost, from stream offset `offset` (a
    /// decrypted stream whose records could no longer be read).
    pub(super) fn lost(&mut self, dir: Dir, offset: u64) {
        if !self.head_done[dir] {
            self.head_done[dir] = true;
            self.head[dir] = Vec::new();
            return;
        }
        if let Some(streams) = self.streams.as_mut() {
            if !streams[dir].stopped() {
                streams[dir] = FrameStream::stopped_at(offset);
                self.t.facts.unparsed[dir].get_or_insert(offset);
            }
        }
    }

    /// Bytes of a direction still in its HTTP part: heads of keep-alive
    /// requests and responses (and their bodies, skipped by length) until
    /// the upgrade request and its answer; what follows goes to the frames.
    pub(super) fn head_bytes(&mut self, dir: Dir, mut bytes: &[u8], at: At) {
        loop {
            if self.skip[dir] > 0 {
                let k = self.skip[dir].min(bytes.len() as u64);
                self.skip[dir] -= k;
                self.head_at[dir] += k;
                bytes = bytes.get(k as usize..).unwrap_or_default();
            }
            if bytes.is_empty() && self.head[dir].is_empty() {
                return;
            }
            let room = self.max_head.saturating_sub(self.head[dir].len());
            let take = bytes.len().min(room);
            let (taken, extra) = bytes.split_at_checked(take).unwrap_or((bytes, &[]));
            self.head[dir].extend_from_slice(taken);
            let buf = std::mem::take(&mut self.head[dir]);
            match self.head(dir, &buf, at) {
                Step::NeedMore if buf.len() < self.max_head => {
                    self.head[dir] = buf;
                    return;
                }
                Step::NeedMore => {
                    self.t.facts.limits_hit.insert(Limit::HttpHead);
                    self.head_done[dir] = true;
                    // A request cut by the cap still says what it asked
                    // for (it never ended, so no answer or frame follows).
                    let first = self.heads[dir] == 0 && dir == Dir::ClientToServer;
                    if let Some(req) = http::parse_request_cut(&buf).filter(|_| first) {
                        self.t.facts.request = Some(req);
                        self.t.facts.request_at = Some(at);
                    }
                    return;
                }
                Step::GiveUp => {
                    self.head_done[dir] = true;
                    if self.start_probe(dir) {
                        // Not HTTP: perhaps WebSocket picked up after its
                        // upgrade. The bytes kept as a head are the first.
                        let mut first = buf;
                        first.extend_from_slice(extra);
                        let offset = self.head_at[dir];
                        self.probe_data(dir, offset, &first, at);
                    }
                    return;
                }
                Step::Done(n) => {
                    self.head_done[dir] = true;
                    let rest = buf.get(n..).unwrap_or_default();
                    if !rest.is_empty() {
                        self.frames(dir, rest, at);
                    }
                    if !extra.is_empty() {
                        self.frames(dir, extra, at);
                    }
                    return;
                }
                Step::Skip(n, body) => {
                    // An earlier keep-alive exchange: skip its body and
                    // read the next head from what is left.
                    self.head_at[dir] += n as u64;
                    self.skip[dir] = body;
                    let rest = buf.get(n..).unwrap_or_default();
                    let k = (body.min(rest.len() as u64)) as usize;
                    self.skip[dir] -= k as u64;
                    self.head_at[dir] += k as u64;
                    self.head[dir] = rest.get(k..).unwrap_or_default().to_vec();
                    if extra.is_empty() && self.head[dir].is_empty() {
                        return;
                    }
                    bytes = extra;
                }
            }
        }
    }

    /// Read one head at the start of `buf`.
    pub(super) fn head(&mut self, dir: Dir, buf: &[u8], at: At) -> Step {
        if self.heads[dir] >= MAX_HEADS {
            return Step::GiveUp;
        }
        match dir {
            Dir::ClientToServer => match http::parse_request(buf) {
                Head::Done(req, n) => {
                    let index = self.heads[Dir::ClientToServer];
                    self.heads[Dir::ClientToServer] += 1;
                    if req.upgrade {
                        self.upgrade_index = Some(index);
                        let start = self.head_at[Dir::ClientToServer] + n as u64;
                        self.streams = Some(PerDir::new(
                            FrameStream::starting_at(start),
                            FrameStream::default(),
                        ));
                        self.t.facts.request = Some(req);
                        self.t.facts.request_at = Some(at);
                        self.t.facts.earlier_requests = index;
                        return Step::Done(n);
                    }
                    if index < 64 && req.method.eq_ignore_ascii_case("HEAD") {
                        self.head_methods |= 1 << index;
                    }
                    let body = req.body;
                    self.t.facts.request = Some(req);
                    self.t.facts.request_at = Some(at);
                    match body {
                        BodyLen::None => Step::Skip(n, 0),
                        BodyLen::Bytes(b) => Step::Skip(n, b),
                        // The next request cannot be found: what the
                        // connection did is told by its first request.
                        BodyLen::Unknown => Step::GiveUp,
                    }
                }
                Head::Partial => Step::NeedMore,
                Head::NotHttp => Step::GiveUp,
            },
            Dir::ServerToClient => {
                let key = self.t.facts.request.as_ref().and_then(|r| r.key.clone());
                match http::parse_response(buf, key.as_deref()) {
                    Head::Done(resp, n) => {
                        // An interim 1xx other than 101 answers nothing.
                        if resp.status / 100 == 1 && resp.status != 101 {
                            return Step::Skip(n, 0);
                        }
                        let index = self.heads[Dir::ServerToClient];
                        self.heads[Dir::ServerToClient] += 1;
                        let answers_upgrade = match self.upgrade_index {
                            Some(u) => index >= u,
                            None => resp.status == 101,
                        };
                        if !answers_upgrade {
                            let head_req = index < 64 && self.head_methods & (1 << index) != 0;
                            return match resp.body_len {
                                _ if head_req => Step::Skip(n, 0),
                                BodyLen::None => Step::Skip(n, 0),
                                BodyLen::Bytes(b) => Step::Skip(n, b),
                                BodyLen::Unknown => Step::GiveUp,
                            };
                        }
                        let switching = resp.status == 101;
                        self.t.facts.response = Some(resp);
                        if switching {
                            self.t.negotiated();
                        }
                        self.t.facts.response_at = Some(at);
                        let start = self.head_at[Dir::ServerToClient] + n as u64;
                        if let (true, Some(s)) = (switching, self.streams.as_mut()) {
                            s[Dir::ServerToClient] = FrameStream::starting_at(start);
                        } else if let Some(s) = self.streams.as_mut() {
                            // No WebSocket from the server after a refusal.
                            s[Dir::ServerToClient] = FrameStream::stopped_at(start);
                        }
                        Step::Done(n)
                    }
                    Head::Partial => Step::NeedMore,
                    Head::NotHttp => Step::GiveUp,
                }
            }
        }
    }

    pub(super) fn frames(&mut self, dir: Dir, bytes: &[u8], at: At) {
        let Plain { t, streams, .. } = self;
        let Some(streams) = streams.as_mut() else {
            return;
        };
        streams[dir].data(bytes, at.frame, &mut Sink { t, dir, at });
    }
}
