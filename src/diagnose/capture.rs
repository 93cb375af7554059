//! The capture-level pass of the diagnose layer: every connection of one
//! capture gets its verdict, linked to its neighbours (retries, happy
//! eyeballs, proxy legs) and, for a refusal, kept only on a port that
//! carries WebSocket or TLS elsewhere in the capture.
//! In: the capture's records, a block at a time, twice. Out: finished
//! verdicts, handed to a [`Receiver`] (the report), which renders them.

use std::collections::BTreeSet;

use rayon::prelude::*;

use crate::analyzers::session::Analysis;
use crate::analyzers::tls::cert::{Judgement, TrustStore};
use crate::capture::ring::FrameNames;
use crate::flow::{CaptureResult, ConnRecord};

use super::link::{link_attempts, link_proxy_legs, Edit, Edits, Linkable, Outline};
use super::refusal::{refusal, refusal_outline, service_port};
use super::{diagnose, tls_judgement, CaptureView, Disconnect};

/// The verdicts of one capture's connections, in two passes over its
/// records (read a block at a time, so they need not all be in memory):
/// [`CapturePass::survey`] gathers what linking needs of each, and
/// [`CapturePass::link`] links them; then [`Verdicts::block`] gives each
/// record its finished verdict. A refusal counts only on a port that
/// carries WebSocket or TLS elsewhere in the capture, which is known only
/// after the first pass.
pub struct CapturePass<'a> {
    trust: &'a TrustStore,
    view: CaptureView,
    ports: BTreeSet<u16>,
    conns: Vec<(usize, Linkable)>,
    refusals: Vec<(usize, u16, Linkable)>,
}

/// One connection's finished verdict, with its server's chain as judged.
pub struct Judged {
    /// The chain judged at the capture's time ([`tls_judgement`]).
    pub chain: Option<(Judgement, i64)>,
    /// The verdict, if the connection carried or tried WebSocket or TLS.
    pub verdict: Option<Box<Disconnect>>,
}

impl<'a> CapturePass<'a> {
    /// A pass over a capture whose chains are judged against `trust`.
    pub fn new(trust: &'a TrustStore, view: CaptureView) -> CapturePass<'a> {
        CapturePass {
            trust,
            view,
            ports: BTreeSet::new(),
            conns: Vec::new(),
            refusals: Vec::new(),
        }
    }

    /// Pass one: the records of connections `start..start + recs.len()`.
    pub fn survey(&mut self, start: usize, recs: &[ConnRecord<Analysis>]) {
        let (trust, view) = (self.trust, &self.view);
        let outlines: Vec<(Option<Linkable>, Option<Linkable>)> = recs
            .par_iter()
            .map(|rec| {
                let judged = rec
                    .analysis
                    .tls
                    .as_ref()
                    .and_then(|t| tls_judgement(t, trust));
                match diagnose(rec, judged.as_ref(), view) {
                    Some(d) => (Some(Linkable::of(rec, Outline::of(&d))), None),
                    None => (None, refusal_outline(rec).map(|o| Linkable::of(rec, o))),
                }
            })
            .collect();
        for (k, (rec, (verdict, refusal))) in recs.iter().zip(outlines).enumerate() {
            self.ports.extend(service_port(rec));
            if let Some(l) = verdict {
                self.conns.push((start + k, l));
            } else if let Some(l) = refusal {
                self.refusals.push((start + k, rec.meta.server.port, l));
            }
        }
    }

    /// Link the connections surveyed; `id` names a connection by its
    /// index in the capture.
    pub fn link(self, id: &dyn Fn(usize) -> String) -> Verdicts<'a> {
        let CapturePass {
            trust,
            view,
            ports,
            mut conns,
            refusals,
        } = self;
        let refused: BTreeSet<usize> = refusals
            .iter()
            .filter(|(_, port, _)| ports.contains(port))
            .map(|(i, _, _)| *i)
            .collect();
        if !refused.is_empty() {
            conns.extend(
                refusals
                    .into_iter()
                    .filter(|(i, _, _)| refused.contains(i))
                    .map(|(i, _, l)| (i, l)),
            );
            conns.sort_by_key(|(i, _)| *i);
        }
        let mut edits: Edits = Vec::new();
        link_proxy_legs(&conns, id, &mut edits);
        link_attempts(&conns, id, &mut edits);
        // Stable: each connection's changes stay in the order made.
        edits.sort_by_key(|(i, _)| *i);
        Verdicts {
            trust,
            view,
            refused,
            edits: edits.into_iter().peekable(),
        }
    }
}

/// The second pass of a [`CapturePass`]: finished verdicts, block by block.
pub struct Verdicts<'a> {
    trust: &'a TrustStore,
    view: CaptureView,
    refused: BTreeSet<usize>,
    edits: std::iter::Peekable<std::vec::IntoIter<(usize, Edit)>>,
}

impl Verdicts<'_> {
    /// The finished verdicts of connections `start..start + recs.len()`,
    /// in order; blocks come in order.
    pub fn block(&mut self, start: usize, recs: &[ConnRecord<Analysis>]) -> Vec<Judged> {
        let end = start + recs.len();
        let mut block_edits: Vec<Vec<Edit>> = vec![Vec::new(); recs.len()];
        while let Some((i, e)) = self.edits.next_if(|(i, _)| *i < end) {
            if let Some(v) = i.checked_sub(start).and_then(|j| block_edits.get_mut(j)) {
                v.push(e);
            }
        }
        let (trust, view, refused) = (self.trust, &self.view, &self.refused);
        recs.par_iter()
            .zip(block_edits.into_par_iter())
            .enumerate()
            .map(|(j, (rec, changes))| {
                let chain = rec
                    .analysis
                    .tls
                    .as_ref()
                    .and_then(|t| tls_judgement(t, trust));
                let verdict = diagnose(rec, chain.as_ref(), view)
                    .or_else(|| {
                        refused
                            .contains(&(start + j))
                            .then(|| refusal(rec, view))
                            .flatten()
                    })
                    .map(|mut d| {
                        for c in changes {
                            c.apply(&mut d);
                        }
                        Box::new(d)
                    });
                Judged { chain, verdict }
            })
            .collect()
    }
}

/// What [`judge_capture`] hands its verdicts to, block by block: the
/// report, which renders them and may write each block out before the
/// next is read.
pub trait Receiver {
    /// How many connections to read back and judge at a time.
    fn block_len(&self) -> usize;

    /// Pass one read the records of connections `start..start + recs.len()`.
    fn surveyed(&mut self, start: usize, recs: &[ConnRecord<Analysis>]);

    /// Pass one is over: `n` connections follow (fewer than the capture
    /// holds when its records could not all be read back; `lost` says
    /// why).
    fn begin(&mut self, n: usize, lost: Option<&str>);

    /// The id the receiver gives connection `index` of the capture (after
    /// [`Receiver::begin`]), which link evidence cites.
    fn id(&self, index: usize) -> String;

    /// The finished verdicts of connections `start..start + recs.len()`,
    /// in order; `more` is false for the last block.
    fn judged(
        &mut self,
        start: usize,
        recs: &[ConnRecord<Analysis>],
        judged: Vec<Judged>,
        more: bool,
    );

    /// Pass two could not read the records back, for the reason `e`: no
    /// more blocks come.
    fn lost(&mut self, e: &str);

    /// Every verdict of the capture has been handed over.
    fn end(&mut self);
}

/// Judge every connection of `r` against `trust`, linked to its
/// neighbours, handing the verdicts to `rx` a block at a time: records
/// the engine kept on disk are read back for each of the two passes, so
/// they are never all in memory. Returns why the records could not all
/// be read back, or `None`.
pub fn judge_capture(
    r: &CaptureResult<Analysis>,
    trust: &TrustStore,
    rx: &mut dyn Receiver,
) -> Option<String> {
    let view = CaptureView {
        names: FrameNames::of(&r.pieces),
        stopped_early: r.error.as_ref().map(|e| e.to_string()),
    };
    let step = rx.block_len().max(1);
    let mut n = r.connection_count();
    let mut lost: Option<String> = None;
    let mut pass = CapturePass::new(trust, view);
    for start in (0..n).step_by(step) {
        match r.records(start..(start + step).min(n)) {
            Ok(recs) => {
                rx.surveyed(start, &recs);
                pass.survey(start, &recs);
            }
            Err(e) => {
                n = start;
                lost = Some(e.to_string());
                break;
            }
        }
    }
    rx.begin(n, lost.as_deref());
    let mut verdicts = pass.link(&|i| rx.id(i));
    for start in (0..n).step_by(step) {
        let end = (start + step).min(n);
        match r.records(start..end) {
            Ok(recs) => {
                let judged = verdicts.block(start, &recs);
                rx.judged(start, &recs, judged, end < n);
            }
            Err(e) => {
                let e = e.to_string();
                rx.lost(&e);
                lost.get_or_insert(e);
                break;
            }
        }
    }
    rx.end();
    lost
}
