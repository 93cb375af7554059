//! The text report: what a person at a terminal reads first. Rendered in
//! pieces (one abnormal connection, one clean close, one capture's table)
//! so that [`super::spool`] can set them aside while a batch runs.

use std::fmt::Write as _;

use super::spool::Document;
use super::Row;
use super::{CaptureReport, ConnectionReport, Report};
use crate::diagnose::Disconnect;
use crate::vocab::websocket::CloseCode;

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut unit = "KB";
    for next in UNITS.iter().skip(1) {
        if v < 1000.0 {
            break;
        }
        v /= 1000.0;
        unit = next;
    }
    format!("{v:.1} {unit}")
}

/// ANSI styling for a terminal; all methods return the text unchanged
/// when colour is off.
#[derive(Clone, Copy)]
pub(super) struct Style {
    pub(super) on: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn alarm(self, text: &str) -> String {
        self.paint("1;31", text)
    }
    fn good(self, text: &str) -> String {
        self.paint("32", text)
    }
    fn warn(self, text: &str) -> String {
        self.paint("33", text)
    }
    fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
    fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// The first line.
pub(super) fn head(r: &Report) -> String {
    format!(
        "wsforensics {}: {} capture(s), {} connection(s)\n",
        r.tool.version, r.summary.captures, r.summary.connections
    )
}

/// The line above the abnormal disconnects.
pub(super) fn abnormal_title(n: u64, st: Style) -> String {
    format!("\n{}\n", st.bold(&format!("abnormal disconnects: {n}")))
}

/// The heading of one code's group of abnormal disconnects.
pub(super) fn abnormal_group(code: Option<CloseCode>, name: &str, n: u64, st: Style) -> String {
    let code = code.map_or("-".to_string(), |c| c.to_string());
    let head = format!("== {code} {name} ({n} connection(s))");
    format!("\n{}\n", st.alarm(&head))
}

/// One abnormal disconnect: who, where, what, the evidence and the fix.
pub(super) fn abnormal_entry(c: &ConnectionReport, d: &Disconnect, st: Style) -> String {
    let mut status = d
        .http_status
        .map(|s| format!(", HTTP {s}"))
        .unwrap_or_default();
    if let Some(cause) = d.cause {
        status.push_str(&format!("; cause: {cause}"));
        if let Some(conf) = d.confidence {
            status.push_str(&format!(" ({conf})"));
        }
    }
    let who = format!("#{} {} -> {}", c.id, c.client, c.server);
    let mut s = format!(
        "\n  {} [{}; {}; closed by {}{status}]\n  {}\n",
        st.bold(&who),
        c.capture,
        d.category,
        d.initiator,
        d.summary
    );
    for e in &d.evidence {
        let _ = writeln!(s, "    {}", st.dim(&e.text));
    }
    let _ = writeln!(s, "  {} {}", st.good("fix:"), d.fix);
    s
}

/// The line above the clean closes.
pub(super) fn clean_title(n: u64, st: Style) -> String {
    format!("\n{}\n", st.good(&format!("clean closes: {n}")))
}

/// One clean close on one line.
pub(super) fn clean_line(c: &ConnectionReport, d: &Disconnect) -> String {
    let code = d.code.map_or("-".to_string(), |c| c.to_string());
    let reason = d
        .reason
        .as_deref()
        .map(|r| format!(" \"{r}\""))
        .unwrap_or_default();
    format!(
        "  #{} {} -> {}: {code} {}{reason}, by the {}\n",
        c.id, c.client, c.server, d.name, d.initiator
    )
}

/// One capture: what was read, warnings, and a table of its connections.
pub(super) fn capture_section(c: &CaptureReport, conns: &[Row], st: Style) -> String {
    let mut s = String::from("\n");
    if let (None, Some(e)) = (&c.format, &c.error) {
        let line = format!("capture {}: NOT READ: {e}", c.path);
        let _ = writeln!(s, "{}", st.alarm(&line));
        return s;
    }
    let fmt = c.format.unwrap_or("?");
    let comp = c.compression.map(|z| format!(", {z}")).unwrap_or_default();
    let _ = writeln!(
        s,
        "capture {} ({fmt}{comp}): {} packets, {}, {} .. {}",
        c.path,
        c.packets,
        human_bytes(c.bytes),
        c.first_seen.as_deref().unwrap_or("-"),
        c.last_seen.as_deref().unwrap_or("-"),
    );
    if let (Some(first), Some(last)) = (c.pieces.first(), c.pieces.last()) {
        let _ = writeln!(
            s,
            "  read as one capture from {} files of a ring buffer, in time order: {} .. {} (frames are numbered across them; evidence cites file#frame)",
            c.pieces.len(),
            first.path,
            last.path
        );
    }
    if let Some(e) = &c.error {
        let _ = writeln!(s, "  {}", st.alarm(&format!("error: {e}")));
    }
    for w in &c.warnings {
        let _ = writeln!(s, "  {}", st.warn(&format!("warning: {w}")));
    }
    if conns.is_empty() {
        s.push_str("  no TCP connections\n");
        return s;
    }
    let ends = conns
        .iter()
        .map(|k| k.client.len() + k.server.len())
        .max()
        .unwrap_or(0)
        + 4;
    let _ = writeln!(
        s,
        "  {:>4}  {:<ends$}  {:<9}  {:>15}  {:>11}  {:>11}  {:>9}  {:<11}  {:>16}",
        "id",
        "client -> server",
        "transport",
        "frames",
        "c->s",
        "s->c",
        "gaps",
        "ended",
        "retrans/reorder"
    );
    for k in conns {
        let pair = format!("{} -> {}", k.client, k.server);
        let frames = format!("{}-{}", k.first_frame, k.last_frame);
        let gaps = k.gaps;
        let gaps = if gaps == 0 {
            "-".to_string()
        } else {
            human_bytes(gaps)
        };
        let (retrans, reorder) = (k.retransmissions, k.out_of_order);
        let rr = if retrans + reorder == 0 {
            "-".to_string()
        } else {
            format!("{retrans}/{reorder}")
        };
        let _ = writeln!(
            s,
            "  {:>4}  {pair:<ends$}  {:<9}  {frames:>15}  {:>11}  {:>11}  {gaps:>9}  {:<11}  {rr:>16}",
            k.id,
            k.transport,
            human_bytes(k.bytes.client_to_server),
            human_bytes(k.bytes.server_to_client),
            k.ended_by,
        );
    }
    s
}

/// The summary at the end.
pub(super) fn tail(r: &Report, st: Style) -> String {
    let mut s = String::from("\n");
    if !r.summary.by_code.is_empty() {
        let codes: Vec<String> = r
            .summary
            .by_code
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let _ = writeln!(
            s,
            "disconnects by code: {} ({} abnormal)",
            codes.join(", "),
            r.summary.abnormal
        );
    }
    if !r.summary.top_abnormal_servers.is_empty() {
        let _ = writeln!(s, "{}", st.bold("top abnormal servers:"));
        for t in &r.summary.top_abnormal_servers {
            let _ = writeln!(
                s,
                "  {:<28} {} of {} abnormal: {} ({} .. {})",
                t.server,
                t.abnormal,
                t.disconnects,
                t.codes.join(", "),
                t.first,
                t.last
            );
        }
    }
    if r.summary.by_hour.len() > 1 {
        let hours: Vec<String> = r
            .summary
            .by_hour
            .iter()
            .map(|(h, t)| format!("{h}h {} ({} abnormal)", t.disconnects, t.abnormal))
            .collect();
        let _ = writeln!(s, "disconnects by hour (UTC): {}", hours.join(", "));
    }
    if r.summary.no_keys > 0 {
        let listed = &r.summary.no_keys_client_randoms;
        let _ = writeln!(
            s,
            "{}",
            st.warn(&format!(
                "{} TLS connection(s) could not be read: no keys for these client randoms in the key log(s): {}{}",
                r.summary.no_keys,
                listed.join(", "),
                if r.summary.no_keys > listed.len() as u64 { ", ..." } else { "" }
            ))
        );
    }
    let ends: Vec<String> = r
        .summary
        .by_ended_by
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(
        s,
        "summary: {} connection(s) ({}); {} capture(s) not fully read",
        r.summary.connections,
        if ends.is_empty() {
            "none".to_string()
        } else {
            ends.join(", ")
        },
        r.summary.unreadable_captures
    );
    s
}

/// The text layout's wording, with or without colours.
pub(super) struct Text {
    st: Style,
}

impl Text {
    pub(super) fn new(color: bool) -> Text {
        Text {
            st: Style { on: color },
        }
    }
}

impl Document for Text {
    fn abnormal_entry(&self, c: &ConnectionReport, d: &Disconnect) -> String {
        abnormal_entry(c, d, self.st)
    }

    fn clean_entry(&self, c: &ConnectionReport, d: &Disconnect) -> String {
        clean_line(c, d)
    }

    fn capture_section(&self, cap: &CaptureReport, rows: &[Row]) -> String {
        capture_section(cap, rows, self.st)
    }

    fn head(&self, report: &Report) -> String {
        head(report)
    }

    fn abnormal_title(&self, abnormal: u64, clean: u64) -> String {
        if abnormal + clean > 0 {
            abnormal_title(abnormal, self.st)
        } else {
            String::new()
        }
    }

    fn abnormal_group(&self, code: Option<CloseCode>, name: &str, n: u64) -> String {
        abnormal_group(code, name, n, self.st)
    }

    fn clean_title(&self, clean: u64) -> String {
        if clean > 0 {
            clean_title(clean, self.st)
        } else {
            String::new()
        }
    }

    fn captures_title(&self, _report: &Report) -> String {
        String::new()
    }

    fn tail(&self, report: &Report) -> String {
        tail(report, self.st)
    }
}
