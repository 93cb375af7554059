//! The verdict for a TLS connection: a handshake that did not complete is
//! `tls_handshake` (1015) with the cause the evidence allows (the alert,
//! the certificates judged at the capture's time, the versions and
//! ciphers offered and chosen, who closed and when), and how sure that
//! cause is; a completed handshake that ended inside the encrypted stream
//! is `encrypted`.

use crate::analyzers::session::{Analysis, Facts, TcpEnd};
use crate::analyzers::tls::cert::{judge, Judgement, Problem, TrustStore};
use crate::analyzers::tls::{
    is_grease, Alert, ClientHello, DecryptProblem, LostBoundary, ServerHello, TlsFacts,
};
use crate::capture::Timestamp;
use crate::flow::ConnRecord;
use crate::knowledge::tls::{
    alert as alert_info, alert_cause as alert_cause_word, cert_problem, cipher_name, version_name,
    Blame, CertProblem, EMPTY_RENEGOTIATION_INFO_SCSV, FALLBACK_SCSV,
};
use crate::vocab::tls::{AlertDescription, AlertLevelCode, ProtocolVersion};
use crate::vocab::websocket::CloseCode;
use crate::vocab::Dir;

use super::{end_lines, secs, Category, Cause, Confidence, Ctx, Disconnect, Evidence, Initiator};

/// A client that closes this soon after a completed handshake, having
/// sent nothing, rejected what it saw (Node checks the host name only
/// after OpenSSL's handshake).
const QUICK_REJECT_NS: i64 = 1_000_000_000;
/// A client that closes a TLS session without sending anything this long
/// after the handshake, while the certificate had a problem, may still
/// have rejected it (a loaded process checks late), but may as well have
/// idled: the verdict says so with less confidence. Past this, idling is
/// the better explanation.
const LATE_REJECT_NS: i64 = 30_000_000_000;

/// Cut lists in evidence lines at this many entries.
const SHOW: usize = 6;

fn days(from: i64, to: i64) -> String {
    let d = (to - from).abs() / 86_400;
    match d {
        0 => "less than a day".to_string(),
        1 => "1 day".to_string(),
        n => format!("{n} days"),
    }
}

fn versions(v: &[ProtocolVersion]) -> String {
    v.iter()
        .map(|v| version_name(*v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a client offered: its supported_versions, or "up to" its
/// legacy_version when it sent none (a TLS 1.2-or-older client cannot
/// say its minimum).
fn offered(ch: &ClientHello) -> String {
    if ch.supported_versions.iter().any(|v| !v.is_grease()) {
        versions(&ch.offered_versions())
    } else {
        format!("up to {}", version_name(ch.legacy_version))
    }
}

/// Cipher suites a client offered, without GREASE and the signalling
/// values (renegotiation info, fallback) that are not suites.
fn real_ciphers(ch: &ClientHello) -> impl Iterator<Item = u16> + '_ {
    ch.ciphers
        .iter()
        .copied()
        .filter(|c| !is_grease(*c) && *c != EMPTY_RENEGOTIATION_INFO_SCSV && *c != FALLBACK_SCSV)
}

fn list(names: impl Iterator<Item = String>, total: usize) -> String {
    let shown: Vec<String> = names.take(SHOW).collect();
    if total > shown.len() {
        format!("{} and {} more", shown.join(", "), total - shown.len())
    } else {
        shown.join(", ")
    }
}

fn client_hello_line(ch: &ClientHello) -> String {
    let sni = ch
        .sni
        .as_deref()
        .map_or("without SNI".to_string(), |s| format!("for {s}"));
    let alpn = if ch.alpn.is_empty() {
        String::new()
    } else {
        format!(", ALPN {}", ch.alpn.join(", "))
    };
    let ciphers = real_ciphers(ch).count();
    format!(
        "client sent ClientHello {sni} offering {} ({ciphers} cipher suites{alpn})",
        offered(ch)
    )
}

fn alert_text(a: &Alert) -> String {
    match (a.code, a.level) {
        (Some(c), level) => {
            let name = alert_name(c);
            let level = match level {
                Some(AlertLevelCode::WARNING) => "warning",
                Some(AlertLevelCode::FATAL) => "fatal",
                _ => "alert",
            };
            format!("{} sent {level} alert {c} {name}", a.dir.sender())
        }
        (None, _) => format!(
            "{} sent an encrypted alert (a record of an alert's size; its description cannot be read without keys)",
            a.dir.sender()
        ),
    }
}

/// Evidence for a session decrypted with a key log: what TLS was
/// negotiated, which key log line opened it, the alerts read inside, and
/// where decryption stopped, if it did.
pub(super) fn decrypted_lines(t: &TlsFacts, ctx: &Ctx, ev: &mut Vec<Evidence>) {
    if let (Some(sh), Some(x)) = (&t.server_hello, &t.decryption) {
        ev.push(ctx.line(
            sh.at,
            format!(
                "{} with {}, decrypted with key log line {}",
                version_name(sh.version()),
                cipher_name(sh.cipher),
                x.keylog.as_deref().unwrap_or("?")
            ),
        ));
    }
    for a in t.alerts.iter().take(4) {
        ev.push(ctx.line(a.at, alert_text(a)));
    }
    if let Some(p) = t.decryption.as_ref().and_then(|x| x.problem.as_ref()) {
        let p = decryption_problem_text(p);
        ev.push(Evidence::note(format!("decryption stopped: {p}")));
    }
}

/// How `decryption_problem` starts when the key logs had no line for the
/// session.
pub const NO_KEYS: &str = "no key log line for client random";

/// What kept records from being read, as the report writes it.
pub fn decryption_problem_text(p: &DecryptProblem) -> String {
    match p {
        DecryptProblem::NoKeys { client_random } => format!("{NO_KEYS} {client_random}"),
        DecryptProblem::CipherNotDecrypted { cipher } => format!(
            "{} is not decrypted (AES-GCM and ChaCha20-Poly1305 suites are)",
            cipher_name(*cipher)
        ),
        DecryptProblem::SuiteOfOtherVersion { version, cipher } => format!(
            "the ServerHello pairs {} with {}, a suite of another TLS version: not decrypted",
            version_name(*version),
            cipher_name(*cipher)
        ),
        DecryptProblem::NoHandshakeSecrets => {
            "the key log has no handshake traffic secrets for this TLS 1.3 session".to_string()
        }
        DecryptProblem::NoMasterSecret => {
            "the key log has no CLIENT_RANDOM master secret for this TLS 1.2 session".to_string()
        }
        DecryptProblem::Lost { at, dir, why } => format!(
            "frame {}: {} in the {}'s TLS stream; its later records cannot be decrypted",
            at.frame,
            match why {
                LostBoundary::NotRecords => "bytes that are not TLS records",
                LostBoundary::Gap => "a gap in the capture",
            },
            dir.sender()
        ),
        DecryptProblem::NotOpened { at, dir, too_short } => format!(
            "frame {}: a record from the {} did not decrypt ({}): wrong keys, or altered bytes",
            at.frame,
            dir.sender(),
            if *too_short {
                "too short"
            } else {
                "authentication failed"
            }
        ),
    }
}

/// The server's chain judged for the SNI at the time the Certificate
/// message was sent (seconds since the epoch, returned with it); `None`
/// when no certificate was seen in the clear.
pub fn tls_judgement(t: &TlsFacts, trust: &TrustStore) -> Option<(Judgement, i64)> {
    if t.certificates.is_empty() {
        return None;
    }
    let when = t
        .certificate_at
        .or(t.client_hello.as_ref().map(|c| c.at))
        .map_or(0, |a| a.ts.0.div_euclid(1_000_000_000));
    let sni = t.client_hello.as_ref().and_then(|c| c.sni.as_deref());
    Some((judge(&t.certificates, sni, when, trust), when))
}

/// One problem of a chain, as a phrase.
pub fn problem_text(p: &Problem, j: &Judgement, at: i64) -> String {
    let subject = |i: usize| {
        j.certs
            .get(i)
            .map_or("a certificate".to_string(), |c| c.subject.clone())
    };
    match p {
        Problem::Expired { index, not_after } => format!(
            "{}certificate {} expired on {} ({} before the capture)",
            if *index == 0 { "the server's " } else { "the chain's " },
            subject(*index),
            Timestamp::date_of_secs(*not_after),
            days(*not_after, at)
        ),
        Problem::NotYetValid { index, not_before } => format!(
            "certificate {} is not valid until {} ({} after the capture): a clock is wrong, or it was deployed too early",
            subject(*index),
            Timestamp::date_of_secs(*not_before),
            days(at, *not_before)
        ),
        Problem::SelfSigned => format!("the certificate {} is self-signed", subject(0)),
        Problem::UntrustedRoot { root } => {
            format!("the chain ends at root {root}, which is not among the trusted roots (Mozilla's, and --ca-file's)")
        }
        Problem::UnknownIssuer { issuer, leaf_only } => {
            if *leaf_only {
                format!("the server sent only its own certificate; its issuer {issuer} was not sent and is not among the trusted roots (a missing intermediate, or a private CA; give its root with --ca-file if the clients trust it)")
            } else {
                format!("the chain's top certificate is issued by {issuer}, which was not sent and is not among the trusted roots (a missing intermediate, or a private CA; give its root with --ca-file if the clients trust it)")
            }
        }
        Problem::NameMismatch { name, names } => format!(
            "the certificate is not valid for {name}: it names {}",
            if names.is_empty() {
                "no subject alternative names".to_string()
            } else {
                names.join(", ")
            }
        ),
        Problem::WeakKey { index, key } => {
            format!("certificate {} has a weak key ({key})", subject(*index))
        }
        Problem::NotForServers => {
            "the certificate's extended key usage does not allow TLS servers".to_string()
        }
        Problem::BadSignature(e) => format!("a signature in the chain does not verify ({e})"),
        Problem::Other(e) => format!("the chain could not be checked: {e}"),
    }
}

/// The kind of a problem, to look it up in the knowledge base.
fn problem_kind(p: &Problem) -> CertProblem {
    match p {
        Problem::Expired { .. } => CertProblem::Expired,
        Problem::NotYetValid { .. } => CertProblem::NotYetValid,
        Problem::SelfSigned => CertProblem::SelfSigned,
        Problem::UntrustedRoot { .. } => CertProblem::UntrustedRoot,
        Problem::UnknownIssuer { .. } => CertProblem::UnknownIssuer,
        Problem::NameMismatch { .. } => CertProblem::NameMismatch,
        Problem::WeakKey { .. } => CertProblem::WeakKey,
        Problem::NotForServers => CertProblem::NotForServers,
        Problem::BadSignature(_) => CertProblem::BadSignature,
        Problem::Other(_) => CertProblem::Other,
    }
}

/// One word for a problem, for the `cause` field.
fn problem_cause(p: &Problem) -> Cause {
    cert_problem(problem_kind(p)).cause
}

/// What to change for one problem.
fn problem_fix(p: &Problem) -> &'static str {
    cert_problem(problem_kind(p)).fix
}

/// The certificate problem an alert points at, from the judgement.
fn matching_problem(code: AlertDescription, j: &Judgement) -> Option<&Problem> {
    match alert_info(code)?.blames? {
        Blame::Any => j.problems.first(),
        blame => j
            .problems
            .iter()
            .find(|p| cert_problem(problem_kind(p)).reported_by == Some(blame)),
    }
}

/// The connection's verdict from its TLS facts.
pub(super) fn verdict(
    rec: &ConnRecord<Analysis>,
    t: &TlsFacts,
    ctx: &Ctx,
    judged: Option<&(Judgement, i64)>,
) -> Disconnect {
    let f = &rec.analysis;
    let mut ev = Vec::new();
    // The certificates, judged at the time they were sent.
    let judgement = judged.map(|(j, _)| j);
    let at_secs = judged.map_or(rec.first_seen.0.div_euclid(1_000_000_000), |(_, at)| *at);
    handshake_lines(t, ctx, &mut ev, judgement, at_secs);
    end_lines(rec, ctx, &mut ev);

    let failed = handshake_failure(rec, t, judgement, at_secs);
    match failed {
        Some(c) => Disconnect {
            cause: Some(c.cause),
            confidence: Some(c.confidence),
            ..Disconnect::inferred(
                Some(CloseCode::TLS_HANDSHAKE),
                Category::TlsHandshake,
                c.initiator,
                c.summary,
                ev,
                c.fix,
            )
        },
        None if rec.ended_by.unfinished() => Disconnect::inferred(
            Some(CloseCode::ABNORMAL),
            Category::CaptureEnd,
            Initiator::None,
            if picked_up_after_handshake(t) {
                "The TLS session (picked up after its handshake) was still open when the capture ended.".to_string()
            } else {
                "The TLS session was still open when the capture ended.".to_string()
            },
            ev,
            "Nothing to fix from this capture: capture longer to see how it ends.".to_string(),
        ),
        None => encrypted(f, t, ev),
    }
}

/// The handshake as the capture shows it: hellos, the chain judged at
/// `at_secs`, client certificates, alerts, bytes that were not records.
fn handshake_lines(
    t: &TlsFacts,
    ctx: &Ctx,
    ev: &mut Vec<Evidence>,
    judgement: Option<&Judgement>,
    at_secs: i64,
) {
    if let Some(ch) = &t.client_hello {
        ev.push(ctx.line(ch.at, client_hello_line(ch)));
    }
    if let Some(hrr) = &t.hello_retry {
        ev.push(ctx.line(
            hrr.at,
            format!(
                "server asked the client to retry (HelloRetryRequest) with key share group {}",
                hrr.key_share
                    .map_or("?".to_string(), crate::knowledge::tls::group_name)
            ),
        ));
    }
    if let Some(sh) = &t.server_hello {
        let alpn = sh
            .alpn
            .as_deref()
            .map(|a| format!(", ALPN {a}"))
            .unwrap_or_default();
        ev.push(ctx.line(
            sh.at,
            format!(
                "server chose {} with {}{alpn}",
                version_name(sh.version()),
                cipher_name(sh.cipher)
            ),
        ));
    }
    if let (Some(j), Some(at)) = (judgement, t.certificate_at) {
        let leaf = j.certs.first();
        let state = if j.problems.is_empty() {
            "valid at the capture's time".to_string()
        } else {
            j.problems
                .iter()
                .map(|p| problem_text(p, j, at_secs))
                .collect::<Vec<_>>()
                .join("; ")
        };
        ev.push(ctx.line(
            at,
            format!(
                "server sent {} certificate{} ({}): {state}",
                t.certificates.len(),
                if t.certificates.len() == 1 { "" } else { "s" },
                leaf.map_or("unreadable".to_string(), |c| c.subject.clone())
            ),
        ));
    }
    if let Some(at) = t.certificate_request {
        ev.push(ctx.line(
            at,
            "server asked for a client certificate (CertificateRequest)",
        ));
    }
    if let Some((at, n)) = t.client_certificate {
        ev.push(ctx.line(
            at,
            if n == 0 {
                "client answered with an empty Certificate message: it has no certificate to send"
                    .to_string()
            } else {
                format!(
                    "client sent {n} certificate{}",
                    if n == 1 { "" } else { "s" }
                )
            },
        ));
    }
    for a in t.alerts.iter().take(3) {
        ev.push(ctx.line(a.at, alert_text(a)));
    }
    for (d, at) in t.lost.iter().enumerate() {
        if let Some(at) = at {
            let dir = if d == 0 {
                Dir::ClientToServer
            } else {
                Dir::ServerToClient
            };
            ev.push(ctx.line(
                *at,
                format!(
                    "{} sent bytes that are not TLS records (or a gap hid the record boundaries)",
                    dir.sender()
                ),
            ));
        }
    }
}

/// A handshake that failed: who ended it, why, how to fix it.
struct Failure {
    initiator: Initiator,
    cause: Cause,
    /// certain (the wire says it), likely (the usual reason for what the
    /// wire shows), or unclear.
    confidence: Confidence,
    summary: String,
    fix: String,
}

/// The first FIN or RST: (who, RST?, where).
fn first_end(f: &Facts) -> Option<TcpEnd> {
    f.ends.first().copied()
}

fn handshake_failure(
    rec: &ConnRecord<Analysis>,
    t: &TlsFacts,
    j: Option<&Judgement>,
    at: i64,
) -> Option<Failure> {
    let f = &rec.analysis;
    let end = first_end(f);
    // An alert decides unless the other side had already closed: then it
    // is the answer to that close.
    let alert = t
        .first_fatal()
        .filter(|a| end.is_none_or(|e| a.dir == e.dir || a.at.frame <= e.at.frame));
    if let Some(a) = alert {
        let before_done = t.complete.is_none_or(|c| a.at.frame <= c.frame)
            || (a.dir == Dir::ServerToClient
                && t.encrypted[Dir::ServerToClient].records == 0
                && t.tls13());
        if before_done && a.code != Some(AlertDescription::CLOSE_NOTIFY) {
            return Some(alert_cause(t, a, j, at));
        }
    }
    if t.complete.is_some() {
        return rejected_after_handshake(t, end, j, at);
    }
    // Not completed, no alert that explains it.
    let initiator = end.map_or(Initiator::None, |e| Initiator::of(e.dir));
    let how = end.map_or("", |e| if e.rst { "reset" } else { "closed" });
    if let Some(lost) = t
        .lost
        .iter_dir()
        .find(|(d, l)| l.is_some() && t.lost_to_gap[*d])
        .and_then(|(d, l)| l.map(|l| (d, l)))
        .filter(|_| t.complete.is_none())
    {
        // What the gap hid (a ServerHello, a certificate, an alert) cannot
        // be judged: say so rather than guess.
        let (dir, at) = lost;
        return Some(Failure {
            initiator,
            cause: Cause::NotVisible,
            confidence: Confidence::Unclear,
            summary: format!(
                "Not visible: the capture lost the {}'s TLS handshake bytes from frame {} on (a snapshot length cut them, or the packets were not captured; see the capture's warnings), so why the handshake did not complete cannot be read.",
                dir.sender(),
                at.frame
            ),
            fix: "Capture again with the full packet length (tcpdump -s 0, the default) to see the handshake; the connection's end is shown in the evidence.".to_string(),
        });
    }
    if t.lost[Dir::ServerToClient].is_some() && t.server_hello.is_none() {
        return Some(Failure {
            initiator: Initiator::Server,
            cause: Cause::ServerNotTls,
            confidence: Confidence::Certain,
            summary: "The server answered the ClientHello with bytes that are not TLS: it does not speak TLS on this port.".to_string(),
            fix: "Connect with ws:// (or http://) to this port, or point wss:// at the port where TLS is served; if a proxy terminates TLS, check that the client reaches the proxy and not the plain backend.".to_string(),
        });
    }
    let Some(ch) = &t.client_hello else {
        // Mid-stream, or not even a hello: nothing to judge.
        return (t.complete.is_none() && t.encrypted.iter().all(|e| e.records == 0)).then(|| Failure {
            initiator,
            cause: Cause::NoHandshakeSeen,
            confidence: Confidence::Unclear,
            summary: "The connection carried TLS records but no handshake the capture shows; it ended before any application data.".to_string(),
            fix: "Capture from the start of the connection to see the handshake.".to_string(),
        });
    };
    let Some(sh) = &t.server_hello else {
        return unanswered_hello(rec, ch, end, how);
    };
    after_server_hello(rec, t, sh, end, j, at, how)
}

/// A completed handshake after which the client left at once without a
/// byte of data: it rejected what it saw (the chain's first problem).
fn rejected_after_handshake(
    t: &TlsFacts,
    end: Option<TcpEnd>,
    j: Option<&Judgement>,
    at: i64,
) -> Option<Failure> {
    // Completed, but the client left at once without a byte of data:
    // it rejected what it saw after the handshake.
    let (
        Some(done),
        Some(TcpEnd {
            dir: Dir::ClientToServer,
            at: e,
            ..
        }),
    ) = (t.complete, end)
    else {
        return None;
    };
    let quiet = t.encrypted[Dir::ClientToServer].records == 0;
    let after = e.ts.since(done.ts);
    let problem = j.and_then(|j| j.problems.first().map(|p| (p, j)));
    match (quiet && after <= LATE_REJECT_NS, problem) {
        (true, Some((p, j))) => Some(Failure {
            initiator: Initiator::Client,
            cause: problem_cause(p),
            confidence: if after <= QUICK_REJECT_NS {
                Confidence::Likely
            } else {
                Confidence::Unclear
            },
            summary: format!(
                "The client closed {} after the TLS handshake completed, without sending any data: it rejected the server's certificate after the handshake (Node.js checks the host name there, and sends no alert), {} because {}.",
                secs(after),
                if after <= QUICK_REJECT_NS {
                    "most likely"
                } else {
                    "possibly (the delay leaves room for a client that simply stayed idle)"
                },
                problem_text(p, j, at)
            ),
            fix: problem_fix(p).to_string(),
        }),
        _ => None,
    }
}

/// A ClientHello that no ServerHello answered.
fn unanswered_hello(
    rec: &ConnRecord<Analysis>,
    ch: &ClientHello,
    end: Option<TcpEnd>,
    how: &str,
) -> Option<Failure> {
    let waited = end.map(|e| e.at.ts).unwrap_or(rec.last_seen);
    let silence = secs(waited.since(ch.at.ts));
    if end.is_none() && rec.ended_by.unfinished() && waited.since(ch.at.ts) < 5_000_000_000 {
        return None;
    }
    Some(match end {
        Some(TcpEnd { dir: Dir::ServerToClient, .. }) => Failure {
            initiator: Initiator::Server,
            cause: Cause::ClosedWithoutAlert,
            confidence: Confidence::Unclear,
            summary: format!(
                "The server {how} the connection {silence} after the ClientHello without answering it and without an alert: it found nothing it accepts in the hello (protocol version, cipher suites, groups, SNI) on a stack that sends no alert, or it is not a TLS server."
            ),
            fix: format!(
                "Compare the server's TLS settings with what the client offered ({}); the server's log says which it rejected. Try `openssl s_client -connect HOST:PORT -servername {}` with -tls1_2 or -tls1_3.",
                offered(ch),
                ch.sni.as_deref().unwrap_or("NAME")
            ),
        },
        Some(TcpEnd { dir: Dir::ClientToServer, .. }) => Failure {
            initiator: Initiator::Client,
            cause: Cause::NoServerAnswer,
            confidence: Confidence::Certain,
            summary: format!(
                "The client gave up {silence} after its ClientHello: the server never answered."
            ),
            fix: "The server accepted the TCP connection but never answered the TLS handshake: check that it is a TLS endpoint, is not overloaded (accept queue, worker pool), and that nothing in between drops the ClientHello (a firewall or proxy that inspects SNI).".to_string(),
        },
        None => Failure {
            initiator: Initiator::None,
            cause: Cause::NoServerAnswer,
            confidence: Confidence::Certain,
            summary: format!("The server never answered the ClientHello ({silence} until the capture ended)."),
            fix: "Check that the server is a TLS endpoint and is not overloaded, and that nothing in between drops the ClientHello.".to_string(),
        },
    })
}

/// A ServerHello, no completion, no alert: who closed, and what the
/// chain (when it was seen) says about why.
fn after_server_hello(
    rec: &ConnRecord<Analysis>,
    t: &TlsFacts,
    sh: &ServerHello,
    end: Option<TcpEnd>,
    j: Option<&Judgement>,
    at: i64,
    how: &str,
) -> Option<Failure> {
    let cert_seen = j.map(|j| (j.problems.first(), j));
    Some(match end {
        Some(TcpEnd {
            dir: Dir::ClientToServer,
            at: e,
            ..
        }) => {
            let (cause, confidence, why, fix) = match cert_seen {
                Some((Some(p), j)) => (
                    problem_cause(p),
                    Confidence::Likely,
                    format!("most likely because {}", problem_text(p, j, at)),
                    problem_fix(p).to_string(),
                ),
                Some((None, _)) => (
                    Cause::ClosedWithoutAlert,
                    Confidence::Unclear,
                    "although the certificate chain is valid for the name at that time: check what the client trusts and its TLS settings".to_string(),
                    "Run the client with TLS debugging (Node: NODE_DEBUG=tls; Python: ssl errors in the traceback; curl -v) to see its reason; its trust store may lack the root.".to_string(),
                ),
                None if sh.version() == ProtocolVersion::TLS13 => (
                    Cause::ClosedWithoutAlert,
                    Confidence::Likely,
                    "without an alert: Node.js clients, and Python asyncio clients (which drop the alert OpenSSL made), close like this when they reject the server's certificate (expired, unknown CA, wrong name); TLS 1.3 encrypts the certificate, so the capture cannot confirm which".to_string(),
                    "Check the server's certificate as this client sees it: `openssl s_client -connect HOST:PORT -servername NAME -showcerts`, and the client's error message.".to_string(),
                ),
                None => (
                    Cause::ClosedWithoutAlert,
                    Confidence::Unclear,
                    "without an alert".to_string(),
                    "See the client's error message; a capture of the server's certificate (TLS 1.2) would show whether it is the cause.".to_string(),
                ),
            };
            Failure {
                initiator: Initiator::Client,
                cause,
                confidence,
                summary: format!(
                    "The client {how} the connection {} after the server's handshake messages, without finishing the handshake, {why}.",
                    secs(e.ts.since(sh.at.ts))
                ),
                fix,
            }
        }
        Some(TcpEnd {
            dir: Dir::ServerToClient,
            ..
        }) => {
            let cert_req = t.certificate_request.is_some()
                || t.client_certificate.is_some_and(|(_, n)| n == 0);
            Failure {
                initiator: Initiator::Server,
                cause: if cert_req {
                    Cause::ClientCertificateRequired
                } else {
                    Cause::ClosedWithoutAlert
                },
                confidence: if cert_req {
                    Confidence::Likely
                } else {
                    Confidence::Unclear
                },
                summary: if cert_req {
                    "The server closed the handshake after asking for a client certificate, without an alert: the client's certificate was missing or rejected.".to_string()
                } else {
                    format!(
                        "The server {how} the connection during the handshake, without an alert."
                    )
                },
                fix: if cert_req {
                    "Give the client a certificate the server trusts (mutual TLS), or stop requiring one for this endpoint (nginx: ssl_verify_client).".to_string()
                } else {
                    "The server's TLS log says why; check its key, certificate and client-certificate settings.".to_string()
                },
            }
        }
        None => {
            if rec.ended_by.unfinished() {
                return None;
            }
            Failure {
                initiator: Initiator::None,
                cause: Cause::Incomplete,
                confidence: Confidence::Unclear,
                summary: "The TLS handshake did not complete and neither side was seen closing."
                    .to_string(),
                fix: "Capture longer, on a point that sees both directions.".to_string(),
            }
        }
    })
}

/// The cause when an encrypted alert (TLS 1.3) ended the handshake: its
/// sender and its place in the handshake are all the wire shows.
fn encrypted_alert_cause(t: &TlsFacts, a: &Alert) -> Failure {
    // Encrypted (TLS 1.3): shape and timing only.
    let before_client_finished =
        t.finished[Dir::ClientToServer].is_none_or(|f| a.at.frame < f.frame);
    match (a.dir, before_client_finished) {
        (Dir::ClientToServer, _) => Failure {
            initiator: Initiator::Client,
            cause: Cause::EncryptedAlert,
            confidence: Confidence::Likely,
            summary: "The client aborted the TLS 1.3 handshake with an encrypted alert after the server's encrypted handshake messages: it rejected them, most often the server's certificate (expired, unknown CA, wrong host name). TLS 1.3 encrypts both the certificate and the alert, so the capture cannot say which.".to_string(),
            fix: "Check the server's certificate as this client sees it: `openssl s_client -connect HOST:PORT -servername NAME -showcerts` (look at 'Verify return code'), and the client's own error message; with a key log (--keylog) the alert can be read.".to_string(),
        },
        (Dir::ServerToClient, true) => Failure {
            initiator: Initiator::Server,
            cause: Cause::EncryptedAlert,
            confidence: Confidence::Unclear,
            summary: "The server aborted the TLS 1.3 handshake with an encrypted alert before the client finished it.".to_string(),
            fix: "The server's TLS log says which alert it sent; with a key log (--keylog) the alert can be read.".to_string(),
        },
        (Dir::ServerToClient, false) => Failure {
            initiator: Initiator::Server,
            cause: Cause::EncryptedAlert,
            confidence: Confidence::Likely,
            summary: "The server answered the client's last handshake flight with an encrypted alert and no data: it rejected the client's certificate or its absence (certificate_required), the usual reason at this point of TLS 1.3.".to_string(),
            fix: "If the server requires mutual TLS, give the client a certificate the server trusts (Node: key/cert options; Python: load_cert_chain; curl: --cert/--key), or stop requiring one (nginx: ssl_verify_client optional/off).".to_string(),
        },
    }
}

/// What a readable alert says once the rest of the evidence is read with
/// it: the cause word, why the handshake failed in a phrase, and what to
/// change.
struct Reading {
    cause: Cause,
    why: String,
    fix: String,
}

/// The cause when an alert ended the handshake: the reading of its
/// description, worded as a summary that names the alert and its sender.
fn alert_cause(t: &TlsFacts, a: &Alert, j: Option<&Judgement>, at: i64) -> Failure {
    let Some(code) = a.code else {
        return encrypted_alert_cause(t, a);
    };
    let Reading { cause, why, fix } = read_alert(t, a, code, j, at);
    let (name, sender) = (alert_name(code), a.dir.sender());
    Failure {
        initiator: Initiator::of(a.dir),
        cause,
        confidence: Confidence::Certain,
        summary: format!(
            "The TLS handshake failed: {why} (alert {code} {name} from the {sender})."
        ),
        fix,
    }
}

/// The registry name of an alert description, or "unknown alert".
fn alert_name(code: AlertDescription) -> &'static str {
    alert_info(code).map_or("unknown alert", |i| i.name)
}

/// The registry's advice for an alert, or where to look when the
/// registry does not know it.
fn generic_fix(code: AlertDescription) -> String {
    alert_info(code).map_or(
        "Look up the alert in the sending side's TLS log.".to_string(),
        |i| i.fix.to_string(),
    )
}

/// Which reading an alert gets: the alerts about certificates first, then
/// the descriptions whose meaning depends on who sent them and how far
/// the handshake got, else the registry's own cause and advice.
fn read_alert(
    t: &TlsFacts,
    a: &Alert,
    code: AlertDescription,
    j: Option<&Judgement>,
    at: i64,
) -> Reading {
    let sender = a.dir.sender();
    let ch = t.client_hello.as_ref();
    let from_server = a.dir == Dir::ServerToClient;
    match code {
        c if alert_info(c).is_some_and(|i| i.blames.is_some()) => {
            certificate_rejected(t, sender, code, j, at)
        }
        AlertDescription::PROTOCOL_VERSION => no_common_version(t, a.dir),
        AlertDescription::HANDSHAKE_FAILURE | AlertDescription::INSUFFICIENT_SECURITY
            if t.server_hello.is_none() && from_server =>
        {
            no_shared_cipher(ch)
        }
        AlertDescription::HANDSHAKE_FAILURE | AlertDescription::CERTIFICATE_REQUIRED
            if from_server
                && (t.certificate_request.is_some()
                    || code == AlertDescription::CERTIFICATE_REQUIRED) =>
        {
            client_certificate_required(t)
        }
        AlertDescription::UNRECOGNIZED_NAME => name_not_served(ch, code),
        AlertDescription::NO_APPLICATION_PROTOCOL => no_common_alpn(ch, code),
        _ => Reading {
            cause: alert_cause_word(code),
            why: format!("the {sender} sent {}", alert_name(code)),
            fix: generic_fix(code),
        },
    }
}

/// unrecognized_name: the name the client asked for.
fn name_not_served(ch: Option<&ClientHello>, code: AlertDescription) -> Reading {
    Reading {
        cause: Cause::UnrecognizedName,
        why: format!(
            "the server has no certificate for the requested name {}",
            ch.and_then(|c| c.sni.clone())
                .unwrap_or_else(|| "(no SNI sent)".to_string())
        ),
        fix: generic_fix(code),
    }
}

/// no_application_protocol: the ALPN protocols the client offered.
fn no_common_alpn(ch: Option<&ClientHello>, code: AlertDescription) -> Reading {
    Reading {
        cause: Cause::NoApplicationProtocol,
        why: format!(
            "no common application protocol: the client offered ALPN {}",
            ch.map_or(String::new(), |c| c.alpn.join(", "))
        ),
        fix: generic_fix(code),
    }
}

/// An alert about the server's certificate, read with the chain's
/// judgement: the problem it reports when the chain has it, a trust store
/// or clock that differs when the chain is valid, else the alert alone.
fn certificate_rejected(
    t: &TlsFacts,
    sender: &str,
    code: AlertDescription,
    j: Option<&Judgement>,
    at: i64,
) -> Reading {
    let (name, generic) = (alert_name(code), generic_fix(code));
    match j.and_then(|j| matching_problem(code, j).map(|p| (p, j))) {
        Some((p, j)) => Reading {
            cause: problem_cause(p),
            why: format!("the {} rejected the server's certificate: {}", sender, problem_text(p, j, at)),
            fix: problem_fix(p).to_string(),
        },
        None if j.is_some_and(|j| j.problems.is_empty()) => Reading {
            cause: Cause::BadCertificate,
            why: format!("{sender} rejected the server's certificate, which is valid against Mozilla's roots at the capture's time: the {sender}'s trust store or clock differs"),
            fix: format!("Check the {sender}'s trust store (a private CA not installed, an outdated CA bundle) and its clock. {generic}"),
        },
        _ => Reading {
            cause: alert_cause_word(code),
            why: format!("the {sender} rejected the server's certificate ({name}){}", if t.tls13() { "; TLS 1.3 encrypts the certificate, so the capture cannot show it" } else { "" }),
            fix: generic,
        },
    }
}

/// protocol_version: from the server, what the client offered and what
/// that says about the server's range; from the client, the version the
/// server chose that the client refused.
fn no_common_version(t: &TlsFacts, sent_by: Dir) -> Reading {
    let ch = t.client_hello.as_ref();
    let list = ch.map(|c| c.offered_versions()).unwrap_or_default();
    let shown = ch.map_or("nothing".to_string(), offered);
    let max = ch.map(|c| c.max_version()).unwrap_or_default();
    let min = list.iter().copied().min().unwrap_or_default();
    if sent_by == Dir::ServerToClient {
        let server = if min >= ProtocolVersion::TLS13 {
            "the server does not accept TLS 1.3: it supports TLS 1.2 at most".to_string()
        } else if max <= ProtocolVersion::TLS12 {
            format!("the server accepts nothing up to {}: it requires a newer version (likely TLS 1.3 only)", version_name(max))
        } else {
            "the server accepts none of them".to_string()
        };
        Reading {
            cause: Cause::ProtocolVersion,
            why: format!("no common TLS version: the client offered {shown} only; {server}"),
            fix: "Make the version ranges overlap: raise the client's maximum or lower the server's minimum (nginx: ssl_protocols; Node: minVersion/maxVersion; Python: ssl.SSLContext.minimum_version/maximum_version; OpenSSL: -tls1_2/-tls1_3, MinProtocol in openssl.cnf; Java: jdk.tls.client.protocols). TLS 1.2 and 1.3 together are the usual setting.".to_string(),
        }
    } else {
        let chosen = t
            .server_hello
            .as_ref()
            .map_or("a version".to_string(), |s| version_name(s.version()));
        Reading {
            cause: Cause::ProtocolVersion,
            why: format!("the server chose {chosen}, which the client does not accept (it offered {shown})"),
            fix: "Make the version ranges overlap (server: nginx ssl_protocols, client: minVersion/minimum_version).".to_string(),
        }
    }
}

/// A server that refused the ClientHello itself (handshake_failure or
/// insufficient_security before any ServerHello): the suites it was
/// offered.
fn no_shared_cipher(ch: Option<&ClientHello>) -> Reading {
    let n = ch.map_or(0, |c| real_ciphers(c).count());
    let names = ch.map_or(String::new(), |c| list(real_ciphers(c).map(cipher_name), n));
    Reading {
        cause: Cause::NoSharedCipher,
        why: format!("the server found nothing it accepts in the ClientHello, most often no cipher suite in common (the client offered {n}: {names}), else no common group or signature algorithm"),
        fix: "Align the cipher suites: modern clients and servers share TLS_AES_*/TLS_CHACHA20_* (TLS 1.3) and ECDHE-*-AES-GCM (TLS 1.2); check the server's list (nginx: ssl_ciphers; OpenSSL: -cipher/-ciphersuites) and that its key type (RSA or ECDSA) matches suites the client offers.".to_string(),
    }
}

/// A server that asked for a client certificate and ended the handshake:
/// what the client answered.
fn client_certificate_required(t: &TlsFacts) -> Reading {
    Reading {
        cause: Cause::ClientCertificateRequired,
        why: format!(
            "the server requires a client certificate and {}",
            match t.client_certificate {
                Some((_, 0)) => "the client sent none (empty Certificate message)",
                Some(_) => "rejected the one the client sent",
                None => "did not get one",
            }
        ),
        fix: "Give the client a certificate the server trusts (Node: key/cert options; Python: load_cert_chain; curl: --cert/--key), or stop requiring one for this endpoint (nginx: ssl_verify_client optional/off).".to_string(),
    }
}

/// A session read with the key log that carried no WebSocket upgrade: it
/// ended before (or without) any request.
fn decrypted_without_websocket(
    t: &TlsFacts,
    d: &crate::analyzers::tls::Decryption,
    end: Option<TcpEnd>,
    initiator: Initiator,
    mut ev: Vec<Evidence>,
) -> Disconnect {
    let after = match (t.complete, end) {
        (Some(done), Some(TcpEnd { at: e, .. })) => format!(
            " {} after the handshake completed",
            secs(e.ts.since(done.ts))
        ),
        _ => String::new(),
    };
    let how = match end {
        Some(TcpEnd { rst: true, .. }) => "reset the connection",
        Some(TcpEnd { rst: false, .. }) => "closed the connection",
        None => "ended the session",
    };
    ev.push(Evidence::note(format!(
        "decrypted with the key log: {} bytes of application data client to server, {} server to client, no WebSocket upgrade request among them",
        d.plaintext[Dir::ClientToServer], d.plaintext[Dir::ServerToClient]
    )));
    let fix = if initiator == Initiator::Client {
        "The client opened a TLS connection and left without asking for a WebSocket: look at the client's log at that time (a certificate or host-name check it makes after the handshake, a cancelled connect, a pool opening connections ahead of use)."
    } else {
        "The server ended a TLS session before the client asked for anything: look at the server's or proxy's log at that time (a handshake-to-request timeout, a connection limit, a client-certificate check after the handshake)."
    };
    Disconnect::inferred(
        Some(CloseCode::ABNORMAL),
        Category::TcpAbort,
        initiator,
        format!(
            "The TLS session (read with the key log) carried no WebSocket upgrade: the {initiator} {how}{after}, before any request."
        ),
        ev,
        fix.to_string(),
    )
}

/// A completed handshake that ended inside the encrypted stream.
/// Whether the session was picked up after its handshake: neither hello
/// is in the capture.
fn picked_up_after_handshake(t: &TlsFacts) -> bool {
    t.client_hello.is_none() && t.server_hello.is_none()
}

fn encrypted(f: &Facts, t: &TlsFacts, mut ev: Vec<Evidence>) -> Disconnect {
    let notify = t.alerts.iter().find(|a| {
        a.code == Some(AlertDescription::CLOSE_NOTIFY)
            || (a.encrypted && t.complete.is_some_and(|c| a.at.frame > c.frame))
    });
    let end = first_end(f);
    // A close_notify that answers the peer's FIN does not start the end.
    let notify = notify.filter(|a| end.is_none_or(|e| a.dir == e.dir || a.at.frame < e.at.frame));
    let initiator = notify
        .map(|a| Initiator::of(a.dir))
        .or(end.map(|e| Initiator::of(e.dir)))
        .unwrap_or(Initiator::None);
    if let Some(d) = t
        .decryption
        .as_ref()
        .filter(|d| d.problem.is_none() && d.decrypted())
    {
        return decrypted_without_websocket(t, d, end, initiator, ev);
    }
    let how = match (notify, end) {
        (Some(a), _) => format!(
            "the {} ended the TLS session (a close_notify{})",
            a.dir.sender(),
            if a.encrypted {
                ", by the size of its encrypted alert record"
            } else {
                ""
            }
        ),
        (
            None,
            Some(TcpEnd {
                dir: d, rst: true, ..
            }),
        ) => {
            format!("the {} reset the TCP connection", d.sender())
        }
        (
            None,
            Some(TcpEnd {
                dir: d, rst: false, ..
            }),
        ) => {
            format!("the {} closed TCP without a close_notify", d.sender())
        }
        (None, None) => "it ended".to_string(),
    };
    let data = t.encrypted[Dir::ClientToServer].records + t.encrypted[Dir::ServerToClient].records;
    ev.push(Evidence::note(format!(
        "{} encrypted application data records went by ({} bytes client to server, {} bytes server to client)",
        data, t.encrypted[Dir::ClientToServer].bytes, t.encrypted[Dir::ServerToClient].bytes
    )));
    let problem = t
        .decryption
        .as_ref()
        .and_then(|x| x.problem.as_ref())
        .map(decryption_problem_text);
    if picked_up_after_handshake(t) {
        // The session's secrets are found in a key log by the
        // ClientHello's random, which the capture does not hold.
        ev.push(Evidence::note(
            "the capture began after the TLS handshake: its records were already encrypted"
                .to_string(),
        ));
        return Disconnect {
            confidence: Some(Confidence::Likely),
            ..Disconnect::inferred(
                None,
                Category::Encrypted,
                initiator,
                format!(
                    "The capture began after the TLS handshake, and the connection ended inside the encrypted stream: {how}. The WebSocket Close frames, if any, are encrypted."
                ),
                ev,
                "Not readable from this capture, even with a key log: a session's secrets are found by its ClientHello, which was sent before the capture began. Capture from before the connection opens (with the key log) to get the close code.".to_string(),
            )
        };
    }
    let fix = match problem {
        Some(p) => {
            ev.push(Evidence::note(format!("the key log did not open it: {p}")));
            format!("The key log given cannot read this session ({p}). Give the key log written by this client or server process during the capture (SSLKEYLOGFILE was set for that run), or check that the capture is complete.")
        }
        None => "Give the TLS key log of the client or server (--keylog FILE, or SSLKEYLOGFILE when the capture was made) to read the WebSocket frames inside and get the close code.".to_string(),
    };
    Disconnect::inferred(
        None,
        Category::Encrypted,
        initiator,
        format!(
            "The TLS handshake completed and the connection ended inside the encrypted stream: {how}. The WebSocket Close frames, if any, are encrypted."
        ),
        ev,
        fix,
    )
}
