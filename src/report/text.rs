//! The text report: what a person at a terminal reads first.

use std::io::{self, Write};

use super::Report;

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// ANSI styling for a terminal; all methods return the text unchanged
/// when colour is off.
#[derive(Clone, Copy)]
struct Style {
    on: bool,
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

/// Abnormal disconnects first, grouped by code (most frequent first), each
/// with who, evidence and fix; then the clean closes in one line each.
fn disconnects(r: &Report, out: &mut dyn Write, st: Style) -> io::Result<()> {
    let with: Vec<_> = r
        .connections
        .iter()
        .filter_map(|c| c.disconnect.as_ref().map(|d| (c, d)))
        .collect();
    if with.is_empty() {
        return Ok(());
    }
    let mut abnormal: Vec<_> = with.iter().filter(|(_, d)| d.abnormal()).collect();
    let mut per_code = std::collections::BTreeMap::new();
    for (_, d) in &abnormal {
        *per_code.entry(d.code).or_insert(0usize) += 1;
    }
    let count = |code: Option<u16>| per_code.get(&code).copied().unwrap_or(0);
    // Stable: within a code, connections stay in report order.
    abnormal.sort_by_key(|(_, d)| (std::cmp::Reverse(count(d.code)), d.code));
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        st.bold(&format!("abnormal disconnects: {}", abnormal.len()))
    )?;
    let mut last_code = None;
    for (c, d) in &abnormal {
        if last_code != Some(d.code) {
            let code = d.code.map_or("-".to_string(), |c| c.to_string());
            let head = format!("== {code} {} ({} connection(s))", d.name, count(d.code));
            writeln!(out, "\n{}", st.alarm(&head))?;
            last_code = Some(d.code);
        }
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
        writeln!(
            out,
            "\n  {} [{}; {}; closed by {}{status}]",
            st.bold(&who),
            c.capture,
            d.category,
            d.initiator
        )?;
        writeln!(out, "  {}", d.summary)?;
        for e in &d.evidence {
            writeln!(out, "    {}", st.dim(e))?;
        }
        writeln!(out, "  {} {}", st.good("fix:"), d.fix)?;
    }
    let clean: Vec<_> = with.iter().filter(|(_, d)| !d.abnormal()).collect();
    if !clean.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            st.good(&format!("clean closes: {}", clean.len()))
        )?;
        for (c, d) in clean {
            let code = d.code.map_or("-".to_string(), |c| c.to_string());
            let reason = d
                .reason
                .as_deref()
                .map(|r| format!(" \"{r}\""))
                .unwrap_or_default();
            writeln!(
                out,
                "  #{} {} -> {}: {code} {}{reason}, by the {}",
                c.id, c.client, c.server, d.name, d.initiator
            )?;
        }
    }
    Ok(())
}

pub(super) fn write(r: &Report, out: &mut dyn Write, color: bool) -> io::Result<()> {
    let st = Style { on: color };
    writeln!(
        out,
        "wsforensics {}: {} capture(s), {} connection(s)",
        r.tool.version, r.summary.captures, r.summary.connections
    )?;
    disconnects(r, out, st)?;
    for c in &r.captures {
        writeln!(out)?;
        match (&c.format, &c.error) {
            (None, Some(e)) => {
                let line = format!("capture {}: NOT READ: {e}", c.path);
                writeln!(out, "{}", st.alarm(&line))?;
                continue;
            }
            _ => {
                let fmt = c.format.unwrap_or("?");
                let comp = c.compression.map(|z| format!(", {z}")).unwrap_or_default();
                writeln!(
                    out,
                    "capture {} ({fmt}{comp}): {} packets, {}, {} .. {}",
                    c.path,
                    c.packets,
                    human_bytes(c.bytes),
                    c.first_seen.as_deref().unwrap_or("-"),
                    c.last_seen.as_deref().unwrap_or("-"),
                )?;
            }
        }
        if let Some(e) = &c.error {
            writeln!(out, "  {}", st.alarm(&format!("error: {e}")))?;
        }
        for w in &c.warnings {
            writeln!(out, "  {}", st.warn(&format!("warning: {w}")))?;
        }
        let conns: Vec<_> = r
            .connections
            .iter()
            .filter(|k| k.capture == c.path)
            .collect();
        if conns.is_empty() {
            writeln!(out, "  no TCP connections")?;
            continue;
        }
        let ends = conns
            .iter()
            .map(|k| k.client.len() + k.server.len())
            .max()
            .unwrap_or(0)
            + 4;
        writeln!(
            out,
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
        )?;
        for k in conns {
            let pair = format!("{} -> {}", k.client, k.server);
            let frames = format!("{}-{}", k.first_frame, k.last_frame);
            let gaps = k.gaps.client_to_server + k.gaps.server_to_client;
            let gaps = if gaps == 0 {
                "-".to_string()
            } else {
                human_bytes(gaps)
            };
            let t = &k.tcp;
            let retrans = t.retransmissions.client_to_server + t.retransmissions.server_to_client;
            let reorder = t.out_of_order.client_to_server + t.out_of_order.server_to_client;
            let rr = if retrans + reorder == 0 {
                "-".to_string()
            } else {
                format!("{retrans}/{reorder}")
            };
            writeln!(
                out,
                "  {:>4}  {pair:<ends$}  {:<9}  {frames:>15}  {:>11}  {:>11}  {gaps:>9}  {:<11}  {rr:>16}",
                k.id,
                k.transport,
                human_bytes(k.bytes.client_to_server),
                human_bytes(k.bytes.server_to_client),
                k.ended_by,
            )?;
        }
    }
    writeln!(out)?;
    if !r.summary.by_code.is_empty() {
        let codes: Vec<String> = r
            .summary
            .by_code
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        writeln!(
            out,
            "disconnects by code: {} ({} abnormal)",
            codes.join(", "),
            r.summary.abnormal
        )?;
    }
    if !r.summary.top_abnormal_servers.is_empty() {
        writeln!(out, "{}", st.bold("top abnormal servers:"))?;
        for t in &r.summary.top_abnormal_servers {
            writeln!(
                out,
                "  {:<28} {} of {} abnormal: {} ({} .. {})",
                t.server,
                t.abnormal,
                t.disconnects,
                t.codes.join(", "),
                t.first,
                t.last
            )?;
        }
    }
    if r.summary.by_hour.len() > 1 {
        let hours: Vec<String> = r
            .summary
            .by_hour
            .iter()
            .map(|(h, t)| format!("{h}h {} ({} abnormal)", t.disconnects, t.abnormal))
            .collect();
        writeln!(out, "disconnects by hour (UTC): {}", hours.join(", "))?;
    }
    let ends: Vec<String> = r
        .summary
        .by_ended_by
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    writeln!(
        out,
        "summary: {} connection(s) ({}); {} capture(s) not fully read",
        r.summary.connections,
        if ends.is_empty() {
            "none".to_string()
        } else {
            ends.join(", ")
        },
        r.summary.unreadable_captures
    )
}
