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

pub(super) fn write(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "wsforensics {}: {} capture(s), {} connection(s)",
        r.tool.version, r.summary.captures, r.summary.connections
    )?;
    for c in &r.captures {
        writeln!(out)?;
        match (&c.format, &c.error) {
            (None, Some(e)) => {
                writeln!(out, "capture {}: NOT READ: {e}", c.path)?;
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
            writeln!(out, "  error: {e}")?;
        }
        for w in &c.warnings {
            writeln!(out, "  warning: {w}")?;
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
