//! The per-connection analyzer: finds an HTTP/1.1 WebSocket upgrade by
//! content, follows the frames of both directions after it, and collects
//! the facts the diagnose layer turns into a verdict: the handshake, frame
//! and message counts, every Close frame, RFC 6455 violations, the last
//! data each way, and how TCP ended.

mod facts;
mod plain;
mod rules;

use std::sync::Arc;

use crate::analyzers::tls::{self, keylog::KeyLog, TlsSession};
use crate::flow::{ConnMeta, EndedBy, Observer, ObserverFactory, TcpEvent};
use crate::limits::{Limit, Limits};
use crate::vocab::{At, Dir, PerDir};

pub use facts::*;
use plain::Plain;

/// What every session of a run shares.
#[derive(Debug, Default)]
pub struct Settings {
    /// Secrets to decrypt TLS with, if a key log was given.
    pub keylog: Option<Arc<KeyLog>>,
    /// The analyzers' caps (HTTP head, inflation, TLS handshake message).
    pub limits: Limits,
}

/// Makes a [`Session`] per connection.
#[derive(Clone, Debug, Default)]
pub struct SessionFactory {
    settings: Arc<Settings>,
}

impl SessionFactory {
    /// Sessions that decrypt with `keylog` (when given) and keep to `limits`.
    pub fn new(keylog: Option<Arc<KeyLog>>, limits: Limits) -> SessionFactory {
        SessionFactory {
            settings: Arc::new(Settings { keylog, limits }),
        }
    }

    /// The settings its sessions get.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

impl ObserverFactory for SessionFactory {
    type Observer = Session;
    fn create(&self, _meta: &ConnMeta) -> Session {
        Session {
            plain: None,
            probed: false,
            tls: None,
            settings: Arc::clone(&self.settings),
            decrypted: PerDir::default(),
        }
    }
}

/// The analyzer of one connection.
#[derive(Default)]
pub struct Session {
    /// HTTP and WebSocket, on the TCP bytes or on what TLS decrypted;
    /// made at the connection's first event (payload, FIN or RST), so
    /// that connections that never carry anything stay small.
    plain: Option<Box<Plain>>,
    /// The connection's first bytes were looked at for TLS.
    probed: bool,
    /// The connection is TLS.
    tls: Option<Box<TlsSession>>,
    settings: Arc<Settings>,
    /// Decrypted bytes handed to `plain` so far each way: the offsets of
    /// the decrypted streams.
    decrypted: PerDir<u64>,
}

impl Observer for Session {
    type Output = Analysis;

    fn codec() -> Option<crate::flow::Codec<Analysis>> {
        Some(crate::flow::Codec::postcard())
    }

    fn event(&mut self, ev: &TcpEvent<'_>) {
        let limits = &self.settings.limits;
        let plain = self
            .plain
            .get_or_insert_with(|| Box::new(Plain::new(limits)));
        match *ev {
            TcpEvent::Data {
                dir,
                offset,
                bytes,
                frame,
                ts,
            } => {
                let at = At { frame, ts };
                // Inside decrypted TLS, the last data is the last
                // application data, not the last record (a close_notify).
                if !self.tls.as_ref().is_some_and(|t| t.decrypting()) {
                    plain.t.facts.last_data[dir] = Some(at);
                }
                if !self.probed {
                    self.probed = true;
                    let tls_start = match dir {
                        Dir::ClientToServer => tls::looks_like_tls(bytes),
                        Dir::ServerToClient => tls::looks_like_tls_from_server(bytes),
                    };
                    if tls_start {
                        let keylog = self.settings.keylog.clone();
                        let tls = TlsSession::with_keylog(keylog)
                            .max_handshake(self.settings.limits.tls_handshake);
                        self.tls = Some(Box::new(tls));
                    }
                }
                let Session { tls, decrypted, .. } = self;
                match tls.as_mut() {
                    Some(tls) => tls.data(dir, bytes, at, &mut |dir, text, at| {
                        plain.t.facts.last_data[dir] = Some(at);
                        let off = &mut decrypted[dir];
                        plain.data(dir, *off, text, at);
                        *off += text.len() as u64;
                    }),
                    None => plain.data(dir, offset, bytes, at),
                }
            }
            TcpEvent::Gap {
                dir,
                len,
                frame,
                ts,
                ..
            } => {
                let at = At { frame, ts };
                match self.tls.as_mut() {
                    Some(tls) => {
                        tls.gap(dir, at);
                        let off = self.decrypted[dir];
                        if off > 0 {
                            plain.lost(dir, off);
                        }
                    }
                    None => plain.gap(dir, len, at),
                }
            }
            TcpEvent::Fin { dir, frame, ts } => plain.t.facts.ends.push(TcpEnd {
                dir,
                rst: false,
                at: At { frame, ts },
            }),
            TcpEvent::Rst { dir, frame, ts } => plain.t.facts.ends.push(TcpEnd {
                dir,
                rst: true,
                at: At { frame, ts },
            }),
        }
    }

    fn finish(self, end: EndedBy) -> Analysis {
        let Some(plain) = self.plain else {
            return Analysis::default();
        };
        let starved = plain
            .t
            .dec
            .iter()
            .any(|d| d.inflater.as_ref().is_some_and(|i| i.starved));
        let mut facts = plain.t.facts;
        // The facts are kept until the capture's report is written: give
        // back what the lists reserved while growing.
        facts.closes.shrink_to_fit();
        facts.findings.shrink_to_fit();
        facts.ends.shrink_to_fit();
        // How the bodies after the heads were delimited only mattered for
        // finding the next head; the record (which may be stored on disk,
        // see Observer::codec) does not keep it.
        if let Some(r) = &mut facts.request {
            r.body = Default::default();
        }
        if let Some(r) = &mut facts.response {
            r.body_len = Default::default();
        }
        facts.ended_by = Some(end);
        facts.tls = self.tls.map(|t| Box::new(t.finish()));
        if starved {
            facts.limits_hit.insert(Limit::InflateMemory);
        }
        if facts.tls.as_ref().is_some_and(|t| t.skipped > 0) {
            facts.limits_hit.insert(Limit::TlsHandshake);
        }
        Analysis::new(facts)
    }
}
