//! The HTML report: one self-contained page to attach to an incident.
//! No script, no external file, no font or image fetched at view time:
//! the styles are inline and the timeline is inline SVG whose tooltips
//! are SVG `<title>` elements. Rendered in pieces, like the text report,
//! so that [`super::spool`] can set them aside while a batch runs.
//! Everything that came from the capture is escaped.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use super::filter::parse_time;
use super::spool::Document;
use super::Row;
use super::{CaptureReport, ConnectionReport, Report, Summary, Tally, TopServer};
use crate::capture::Timestamp;
use crate::diagnose::{is_abnormal, Category, Disconnect};
use crate::knowledge::lookup;
use crate::vocab::websocket::CloseCode;

/// `s` with the five characters HTML gives meaning to escaped.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The colour of a close code, the same in the timeline, the tables and
/// the headings. Clean closes are green, 1006 red, TLS failures purple;
/// application codes get one of a few blues and ambers by value.
pub(super) fn code_color(code: Option<CloseCode>) -> &'static str {
    let Some(c) = code else {
        return INSIDE_TLS_COLOR;
    };
    CODE_COLORS
        .iter()
        .find(|(k, _)| *k == c)
        .map(|(_, colour)| *colour)
        .or_else(|| {
            OTHER_COLORS
                .get(usize::from(c.0) % OTHER_COLORS.len())
                .copied()
        })
        .unwrap_or(INSIDE_TLS_COLOR)
}

/// A connection that ended inside TLS (no code).
const INSIDE_TLS_COLOR: &str = "#78909c";

/// The colour of each standard code.
const CODE_COLORS: &[(CloseCode, &str)] = &[
    (CloseCode::NORMAL, "#2e7d32"),
    (CloseCode::GOING_AWAY, "#81c784"),
    (CloseCode::PROTOCOL_ERROR, "#ad1457"),
    (CloseCode::UNSUPPORTED_DATA, "#827717"),
    (CloseCode::NO_STATUS, "#9e9e9e"),
    (CloseCode::ABNORMAL, "#d32f2f"),
    (CloseCode::INVALID_PAYLOAD, "#8d6e63"),
    (CloseCode::POLICY_VIOLATION, "#5d4037"),
    (CloseCode::MESSAGE_TOO_BIG, "#f9a825"),
    (CloseCode::MANDATORY_EXTENSION, "#00838f"),
    (CloseCode::INTERNAL_ERROR, "#ef6c00"),
    (CloseCode::SERVICE_RESTART, "#0277bd"),
    (CloseCode::TRY_AGAIN_LATER, "#00acc1"),
    (CloseCode::BAD_GATEWAY, "#4e342e"),
    (CloseCode::TLS_HANDSHAKE, "#7b1fa2"),
];

/// Other codes (application codes, invalid ones) by value.
const OTHER_COLORS: [&str; 8] = [
    "#1565c0", "#283593", "#4527a0", "#00695c", "#558b2f", "#9e9d24", "#ff8f00", "#c62828",
];

fn code_text(code: Option<CloseCode>) -> String {
    code.map_or("null".to_string(), |c| c.to_string())
}

fn code_name(code: Option<CloseCode>) -> &'static str {
    code.map_or("ended inside TLS", |c| lookup(c).name)
}

/// A coloured square and the code.
fn swatch(code: Option<CloseCode>) -> String {
    format!(
        "<span class=\"sw\" style=\"background:{}\"></span>{}",
        code_color(code),
        code_text(code)
    )
}

const STYLE: &str = "
:root{--fg:#1d2125;--mute:#5f6b76;--line:#d8dee4;--bg:#fff;--soft:#f5f7f9;--bad:#c62828;--ok:#2e7d32}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1180px;padding:24px;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.meta{color:var(--mute);margin:0}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:130px;background:var(--soft)}
.card b{display:block;font-size:22px}.card.bad b{color:var(--bad)}.card.ok b{color:var(--ok)}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:3px 10px 3px 0;text-align:left;vertical-align:top}
th{color:var(--mute);font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.sw{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;vertical-align:-1px}
article{border:1px solid var(--line);border-left:4px solid var(--c,#999);border-radius:4px;padding:8px 12px;margin:8px 0}
article .who{font-weight:600}article .where{color:var(--mute);font-size:12px}
article ol{margin:6px 0;padding-left:22px;font:12px/1.4 ui-monospace,'DejaVu Sans Mono',monospace;color:#37414b}
article .fix{margin:4px 0 0}article .fix b{color:var(--ok)}
.badge{display:inline-block;font-size:11px;border-radius:3px;padding:0 5px;margin-left:6px;background:var(--soft);border:1px solid var(--line)}
.err{color:var(--bad)}.warn{color:#8a6d00}
details{margin:6px 0}summary{cursor:pointer}
code,.mono{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:12px}
svg text{font:11px system-ui,'DejaVu Sans',sans-serif;fill:#37414b}
.none{color:var(--mute)}
.key{white-space:nowrap;margin-right:14px}
";

/// Everything before the timeline: the page head and the summary.
pub(super) fn page_head(r: &Report) -> String {
    let s = &r.summary;
    let mut h = String::with_capacity(8192);
    header(&mut h, r);
    h.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">\n");
    for (class, n, what) in cards(s) {
        let _ = writeln!(h, "<div class=\"card {class}\"><b>{n}</b>{what}</div>");
    }
    h.push_str("</div>\n");
    if !s.by_code.is_empty() {
        codes_table(&mut h, &s.by_code);
    }
    if !s.top_abnormal_servers.is_empty() {
        servers_table(&mut h, &s.top_abnormal_servers);
    }
    if s.by_hour.len() > 1 {
        hours_table(&mut h, &s.by_hour);
    }
    h.push_str("</section>\n");
    h
}

/// Write the document's head (with the styles) and the page header to
/// `h`: the tool, what was read, and the time the captures span.
fn header(h: &mut String, r: &Report) {
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        h,
        "<meta name=\"generator\" content=\"wsforensics {}\">",
        esc(r.tool.version)
    );
    h.push_str("<title>wsforensics report</title>\n<style>");
    h.push_str(STYLE);
    h.push_str("</style>\n</head>\n<body>\n<header>\n<h1>Why the connections closed</h1>\n");
    let first = r
        .captures
        .iter()
        .filter_map(|c| c.first_seen.as_deref())
        .min();
    let last = r
        .captures
        .iter()
        .filter_map(|c| c.last_seen.as_deref())
        .max();
    let span = match (first, last) {
        (Some(a), Some(b)) => format!(" &middot; {} to {}", esc(a), esc(b)),
        _ => String::new(),
    };
    let _ = writeln!(
        h,
        "<p class=\"meta\">wsforensics {} &middot; {} capture(s) &middot; {} connection(s){span}</p>\n</header>",
        esc(r.tool.version),
        r.summary.captures,
        r.summary.connections
    );
}

/// The summary's cards, in order, as (class, count, what is counted):
/// the four counts every report has, then those that are shown only
/// when something was left out or could not be read.
fn cards(s: &Summary) -> Vec<(&'static str, u64, &'static str)> {
    let disconnects: u64 = s.by_code.values().sum();
    let mut cards = vec![
        ("", s.connections, "connections"),
        ("", disconnects, "disconnects"),
        (
            if s.abnormal > 0 { "bad" } else { "ok" },
            s.abnormal,
            "abnormal",
        ),
        ("", s.captures, "captures"),
    ];
    let when_any = [
        ("bad", s.unreadable_captures, "captures not fully read"),
        ("", s.skipped_files, "files skipped (not captures)"),
        ("", s.filtered_out, "connections filtered out"),
        (
            "bad",
            s.no_keys,
            "TLS connections without keys in the key log",
        ),
    ];
    cards.extend(when_any.into_iter().filter(|&(_, n, _)| n > 0));
    cards
}

/// Write the table of disconnects per code to `h`, the most frequent
/// code first (ties by code, "null" first).
fn codes_table(h: &mut String, by_code: &BTreeMap<String, u64>) {
    h.push_str("<h3>Disconnects by code</h3>\n<table class=\"codes\">\n<thead><tr><th>code</th><th>name</th><th>disconnects</th></tr></thead>\n<tbody>\n");
    let mut codes: Vec<(Option<CloseCode>, u64)> = by_code
        .iter()
        .map(|(k, v)| (k.parse::<u16>().ok().map(CloseCode), *v))
        .collect();
    codes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (code, n) in codes {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{n}</td></tr>",
            swatch(code),
            esc(code_name(code))
        );
    }
    h.push_str("</tbody>\n</table>\n");
}

/// Write the table of the servers with the most abnormal disconnects
/// (`top`, in its order) to `h`.
fn servers_table(h: &mut String, top: &[TopServer]) {
    h.push_str("<h3>Servers with the most abnormal disconnects</h3>\n<table>\n<thead><tr><th>server</th><th>abnormal</th><th>of</th><th>codes</th><th>first</th><th>last</th></tr></thead>\n<tbody>\n");
    for t in top {
        let _ = writeln!(
            h,
            "<tr><td class=\"mono\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
            esc(&t.server),
            t.abnormal,
            t.disconnects,
            esc(&t.codes.join(", ")),
            esc(&t.first),
            esc(&t.last)
        );
    }
    h.push_str("</tbody>\n</table>\n");
}

/// Write the table of disconnects per hour (UTC, in time order) to `h`.
fn hours_table(h: &mut String, by_hour: &BTreeMap<String, Tally>) {
    h.push_str("<h3>Disconnects by hour (UTC)</h3>\n<table>\n<thead><tr><th>hour</th><th>disconnects</th><th>abnormal</th></tr></thead>\n<tbody>\n");
    for (hour, t) in by_hour {
        let _ = writeln!(
            h,
            "<tr><td class=\"mono\">{}:00</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(hour),
            t.disconnects,
            t.abnormal
        );
    }
    h.push_str("</tbody>\n</table>\n");
}

/// Opens the abnormal disconnects' section.
pub(super) fn abnormal_title(n: u64) -> String {
    let mut s = format!("<section id=\"abnormal\">\n<h2>Abnormal disconnects: {n}</h2>\n");
    if n == 0 {
        s.push_str("<p class=\"none\">None: every connection with a verdict closed cleanly.</p>\n");
    }
    s
}

/// The heading of one code's group.
pub(super) fn abnormal_group(code: Option<CloseCode>, name: &str, n: u64) -> String {
    format!(
        "<h3 id=\"code-{}\">{} {} <span class=\"badge\">{n} connection(s)</span></h3>\n",
        code_text(code),
        swatch(code),
        esc(name)
    )
}

/// One abnormal connection: verdict, evidence, fix.
pub(super) fn abnormal_entry(c: &ConnectionReport, d: &Disconnect) -> String {
    let mut s = String::with_capacity(1024);
    let _ = write!(
        s,
        "<article id=\"conn-{}\" style=\"--c:{}\">\n<div class=\"who\">#{} {} &rarr; {}",
        esc(&c.id),
        code_color(d.code),
        esc(&c.id),
        esc(&c.client),
        esc(&c.server)
    );
    let _ = write!(
        s,
        "<span class=\"badge\">{}</span>",
        esc(d.category.as_str())
    );
    let _ = write!(
        s,
        "<span class=\"badge\">closed by {}</span>",
        esc(d.initiator.as_str())
    );
    if let Some(st) = d.http_status {
        let _ = write!(s, "<span class=\"badge\">HTTP {st}</span>");
    }
    if let Some(cause) = d.cause {
        let conf = d.confidence.map(|c| format!(", {c}")).unwrap_or_default();
        let _ = write!(
            s,
            "<span class=\"badge\">cause: {}{}</span>",
            esc(cause.as_str()),
            esc(&conf)
        );
    }
    let _ = writeln!(
        s,
        "</div>\n<div class=\"where\">{} &middot; frames {}&ndash;{} &middot; {} to {}</div>",
        esc(&c.capture),
        c.first_frame,
        c.last_frame,
        esc(&c.first_seen),
        esc(&c.last_seen)
    );
    let _ = writeln!(s, "<p>{}</p>", esc(&d.summary));
    if !d.evidence.is_empty() {
        s.push_str("<ol>\n");
        for e in &d.evidence {
            let _ = writeln!(s, "<li>{}</li>", esc(&e.text));
        }
        s.push_str("</ol>\n");
    }
    let _ = writeln!(
        s,
        "<p class=\"fix\"><b>Fix:</b> {}</p>\n</article>",
        esc(&d.fix)
    );
    s
}

/// Closes the abnormal section and opens the clean closes' table.
pub(super) fn clean_title(n: u64) -> String {
    let mut s = format!("</section>\n<section id=\"clean\">\n<h2>Clean closes: {n}</h2>\n");
    if n == 0 {
        s.push_str("<p class=\"none\">None.</p>\n<table hidden>\n<tbody>\n");
    } else {
        s.push_str("<table>\n<thead><tr><th>#</th><th>client &rarr; server</th><th>code</th><th>reason</th><th>by</th><th>at</th><th>capture</th></tr></thead>\n<tbody>\n");
    }
    s
}

/// One clean close as a table row.
pub(super) fn clean_row(c: &ConnectionReport, d: &Disconnect) -> String {
    format!(
        "<tr><td>{}</td><td class=\"mono\">{} &rarr; {}</td><td>{} {}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td></tr>\n",
        esc(&c.id),
        esc(&c.client),
        esc(&c.server),
        swatch(d.code),
        esc(&d.name),
        esc(d.reason.as_deref().unwrap_or("")),
        esc(d.initiator.as_str()),
        esc(&c.last_seen),
        esc(&c.capture)
    )
}

/// Closes the clean table and opens the captures' section.
pub(super) fn captures_title(r: &Report) -> String {
    format!(
        "</tbody>\n</table>\n</section>\n<section id=\"captures\">\n<h2>Captures: {}</h2>\n",
        r.summary.captures
    )
}

/// One capture: what was read, its problems, and its connections (folded).
pub(super) fn capture_section(c: &CaptureReport, conns: &[Row]) -> String {
    let mut s = String::with_capacity(512 + 200 * conns.len());
    let _ = write!(
        s,
        "<details>\n<summary><span class=\"mono\">{}</span>",
        esc(&c.path)
    );
    match (c.format, &c.error) {
        (None, Some(e)) => {
            let _ = writeln!(
                s,
                " &middot; <span class=\"err\">not read: {}</span></summary>\n</details>",
                esc(e)
            );
            return s;
        }
        (fmt, _) => {
            let comp = c.compression.map(|z| format!(", {z}")).unwrap_or_default();
            let _ = writeln!(
                s,
                " &middot; {}{} &middot; {} packets &middot; {} connection(s){}</summary>",
                esc(fmt.unwrap_or("?")),
                esc(&comp),
                c.packets,
                conns.len(),
                if c.error.is_some() || !c.warnings.is_empty() {
                    " &middot; <span class=\"err\">problems</span>"
                } else {
                    ""
                }
            );
        }
    }
    let _ = writeln!(
        s,
        "<p class=\"meta\">{} bytes, {} to {}</p>",
        c.bytes,
        esc(c.first_seen.as_deref().unwrap_or("-")),
        esc(c.last_seen.as_deref().unwrap_or("-"))
    );
    if let Some(e) = &c.error {
        let _ = writeln!(s, "<p class=\"err\">error: {}</p>", esc(e));
    }
    for w in &c.warnings {
        let _ = writeln!(s, "<p class=\"warn\">warning: {}</p>", esc(w));
    }
    if !conns.is_empty() {
        s.push_str("<table>\n<thead><tr><th>#</th><th>client &rarr; server</th><th>transport</th><th>frames</th><th>c&rarr;s</th><th>s&rarr;c</th><th>gaps</th><th>ended</th><th>verdict</th></tr></thead>\n<tbody>\n");
        for k in conns {
            let verdict = k
                .verdict
                .as_ref()
                .map_or(String::new(), |(code, name, abnormal)| {
                    let text = format!("{} {}", swatch(*code), esc(name));
                    if *abnormal {
                        format!("<a href=\"#conn-{}\">{text}</a>", esc(&k.id))
                    } else {
                        text
                    }
                });
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td class=\"mono\">{} &rarr; {}</td><td>{}</td><td class=\"n\">{}&ndash;{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{verdict}</td></tr>",
                esc(&k.id),
                esc(&k.client),
                esc(&k.server),
                esc(k.transport.as_str()),
                k.first_frame,
                k.last_frame,
                k.bytes.client_to_server,
                k.bytes.server_to_client,
                k.gaps,
                esc(k.ended_by.as_str())
            );
        }
        s.push_str("</tbody>\n</table>\n");
    }
    s.push_str("</details>\n");
    s
}

/// The end of the page.
pub(super) fn page_end() -> &'static str {
    "</section>\n</body>\n</html>\n"
}

/// A duration in milliseconds the way a person says it: "250 ms",
/// "1.5 s", "1 min 54 s", "2 h 5 min".
fn human_ms(ms: i64) -> String {
    let s = ms / 1000;
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if s < 3600 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{} h {} min", s / 3600, s / 60 % 60)
    }
}

/// Cells the timeline keeps before it halves its resolution.
const MAX_CELLS: usize = 50_000;
/// Servers drawn (those with the most abnormal disconnects first).
const MAX_ROWS: usize = 40;
/// Columns drawn across the time span.
const COLUMNS: i64 = 120;

/// Disconnects per server, time bucket and code: what the timeline
/// draws. Memory is bounded by [`MAX_CELLS`], not by connections: when
/// there are more cells, buckets are made twice as wide.
#[derive(Default)]
pub(super) struct Timeline {
    servers: Vec<String>,
    index: HashMap<String, u32>,
    /// Abnormal and all disconnects per server.
    totals: Vec<(u64, u64)>,
    /// Bucket width in milliseconds (0 before the first disconnect).
    unit_ms: i64,
    cells: BTreeMap<(u32, i64, Option<CloseCode>), u64>,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
}

impl Timeline {
    /// Count one disconnect of `server` at `time` (RFC 3339).
    pub(super) fn add(
        &mut self,
        server: &str,
        time: &str,
        code: Option<CloseCode>,
        abnormal: bool,
    ) {
        let Ok(t) = parse_time(time) else {
            return;
        };
        let ms = t.0.div_euclid(1_000_000);
        let row = match self.index.get(server) {
            Some(&k) => k,
            None => {
                let k = self.servers.len() as u32;
                self.servers.push(server.to_string());
                self.index.insert(server.to_string(), k);
                self.totals.push((0, 0));
                k
            }
        };
        if let Some(tot) = self.totals.get_mut(row as usize) {
            tot.0 += u64::from(abnormal);
            tot.1 += 1;
        }
        self.first_ms = Some(self.first_ms.map_or(ms, |f| f.min(ms)));
        self.last_ms = Some(self.last_ms.map_or(ms, |l| l.max(ms)));
        if self.unit_ms == 0 {
            self.unit_ms = 1;
        }
        *self
            .cells
            .entry((row, ms.div_euclid(self.unit_ms), code))
            .or_insert(0) += 1;
        while self.cells.len() > MAX_CELLS {
            self.unit_ms = self.unit_ms.saturating_mul(2);
            let old = std::mem::take(&mut self.cells);
            for ((row, bucket, code), n) in old {
                *self
                    .cells
                    .entry((row, bucket.div_euclid(2), code))
                    .or_insert(0) += n;
            }
        }
    }

    /// The timeline section: one row per server, time across, each column
    /// a stack of the codes seen then (height grows with the count).
    pub(super) fn section(&self) -> String {
        let mut s = String::from("<section id=\"timeline\">\n<h2>Timeline of disconnects</h2>\n");
        let (Some(first), Some(last)) = (self.first_ms, self.last_ms) else {
            s.push_str("<p class=\"none\">No disconnects.</p>\n</section>\n");
            return s;
        };
        let (rows, hidden) = self.rows();
        let cols = self.columns(&rows, first, last);
        let height = TOP + ROW * rows.len() as f64 + 34.0;
        let _ = writeln!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\" role=\"img\" aria-label=\"disconnects per server over time, coloured by close code\">",
            LABEL + PLOT + 10.0,
            LABEL + PLOT + 10.0
        );
        self.draw_rows(&mut s, &rows);
        for (&(y, x), codes) in &cols.cells {
            let server = rows
                .get(y)
                .and_then(|&r| self.servers.get(r as usize))
                .map_or("", String::as_str);
            draw_stack(&mut s, &cols, server, (y, x), codes);
        }
        draw_axis(&mut s, &cols, rows.len());
        s.push_str("</svg>\n");
        self.draw_key(&mut s);
        let _ = writeln!(
            s,
            "<p class=\"meta\">UTC, {} to {}; each column {}. Row labels: abnormal/all disconnects.{}</p>\n</section>",
            Timestamp(first.saturating_mul(1_000_000)),
            Timestamp(last.saturating_mul(1_000_000)),
            human_ms(cols.col_ms),
            if hidden > 0 {
                format!(" {hidden} more server(s) not drawn; see the tables.")
            } else {
                String::new()
            }
        );
        s
    }

    /// The servers to draw, top row first: the most abnormal disconnects
    /// first, then the most disconnects, then by name; at most
    /// [`MAX_ROWS`]. Their indices, and how many servers were left out.
    fn rows(&self) -> (Vec<u32>, usize) {
        let mut rows: Vec<u32> = (0..self.servers.len() as u32).collect();
        rows.sort_by(|&a, &b| {
            let ta = self.totals.get(a as usize).copied().unwrap_or_default();
            let tb = self.totals.get(b as usize).copied().unwrap_or_default();
            tb.cmp(&ta).then(
                self.servers
                    .get(a as usize)
                    .cmp(&self.servers.get(b as usize)),
            )
        });
        let hidden = rows.len().saturating_sub(MAX_ROWS);
        rows.truncate(MAX_ROWS);
        (rows, hidden)
    }

    /// The cells of the servers in `rows` gathered into about
    /// [`COLUMNS`] columns from `first` to `last` (milliseconds), never
    /// narrower than a bucket.
    fn columns(&self, rows: &[u32], first: i64, last: i64) -> Columns {
        let slot: HashMap<u32, usize> = rows.iter().enumerate().map(|(i, &r)| (r, i)).collect();
        // Column width: the span over COLUMNS, at least one bucket.
        let span = (last - first).max(1);
        let col_ms = (span / COLUMNS + 1).max(self.unit_ms);
        let count = span / col_ms + 1;
        let mut cells: BTreeMap<(usize, i64), BTreeMap<Option<CloseCode>, u64>> = BTreeMap::new();
        for (&(row, bucket, code), &n) in &self.cells {
            let Some(&y) = slot.get(&row) else { continue };
            let ms = bucket.saturating_mul(self.unit_ms);
            let x = ((ms - first).max(0) / col_ms).min(count - 1);
            *cells.entry((y, x)).or_default().entry(code).or_insert(0) += n;
        }
        let most = cells
            .values()
            .map(|codes| codes.values().sum::<u64>())
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        Columns {
            first,
            span,
            col_ms,
            count,
            cells,
            most,
        }
    }

    /// Write the band and the label (name, abnormal/all disconnects) of
    /// each server in `rows` to `s`.
    fn draw_rows(&self, s: &mut String, rows: &[u32]) {
        for (y, &row) in rows.iter().enumerate() {
            let yy = TOP + ROW * y as f64;
            let name = self.servers.get(row as usize).map_or("", String::as_str);
            let (ab, all) = self.totals.get(row as usize).copied().unwrap_or_default();
            let _ = writeln!(
                s,
                "<rect x=\"{LABEL}\" y=\"{yy}\" width=\"{PLOT}\" height=\"{}\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{} ({ab}/{all})</text>",
                ROW - 2.0,
                if y % 2 == 0 { "#f5f7f9" } else { "#fbfcfd" },
                LABEL - 8.0,
                yy + ROW / 2.0 + 4.0,
                esc(name)
            );
        }
    }

    /// Write the key to `s`: every code the timeline counted, in order.
    fn draw_key(&self, s: &mut String) {
        let mut seen: Vec<Option<CloseCode>> = self.cells.keys().map(|k| k.2).collect();
        seen.sort();
        seen.dedup();
        s.push_str("<p>");
        for c in seen {
            let _ = write!(
                s,
                "<span class=\"key\">{} {}</span>",
                swatch(c),
                esc(code_name(c))
            );
        }
        s.push_str("</p>\n");
    }
}

/// Width of the timeline's server labels, in SVG units.
const LABEL: f64 = 230.0;
/// Width of the timeline's plot.
const PLOT: f64 = 860.0;
/// Height of one server's row.
const ROW: f64 = 22.0;
/// Space above the first row.
const TOP: f64 = 8.0;

/// The timeline laid out in columns of time: what [`Timeline::section`]
/// draws.
struct Columns {
    /// Time of the first disconnect, in milliseconds.
    first: i64,
    /// Milliseconds from the first disconnect to the last, at least 1.
    span: i64,
    /// Width of one column in milliseconds.
    col_ms: i64,
    /// Columns across the span.
    count: i64,
    /// Disconnects per (row drawn, column), by code.
    cells: BTreeMap<(usize, i64), BTreeMap<Option<CloseCode>, u64>>,
    /// The most disconnects in one cell (at least 1).
    most: f64,
}

/// Write the stack of the cell at (row `y`, column `x`) of `cols` to `s`,
/// with a tooltip naming `server`, the time and the count of each code:
/// its height grows with the count, abnormal codes at the bottom.
fn draw_stack(
    s: &mut String,
    cols: &Columns,
    server: &str,
    (y, x): (usize, i64),
    codes: &BTreeMap<Option<CloseCode>, u64>,
) {
    let n: u64 = codes.values().sum();
    let full = ROW - 4.0;
    let h = full * (0.35 + 0.65 * (1.0 + n as f64).ln() / (1.0 + cols.most).ln());
    let cw = PLOT / cols.count as f64;
    let x0 = LABEL + cw * x as f64;
    let from = Timestamp((cols.first + x * cols.col_ms).saturating_mul(1_000_000));
    let detail: Vec<String> = codes
        .iter()
        .map(|(c, k)| format!("{} {}: {k}", code_text(*c), code_name(*c)))
        .collect();
    let _ = write!(
        s,
        "<g><title>{} from {} ({}): {}</title>",
        esc(server),
        from,
        human_ms(cols.col_ms),
        esc(&detail.join(", "))
    );
    // Abnormal codes at the bottom of the stack, where they are seen.
    let mut order: Vec<(&Option<CloseCode>, &u64)> = codes.iter().collect();
    order.sort_by_key(|(c, _)| !is_abnormal(Category::CloseFrame, **c));
    let mut yy = TOP + ROW * y as f64 + ROW - 2.0;
    for (c, k) in order {
        let part = h * *k as f64 / n as f64;
        yy -= part;
        let _ = write!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{yy:.1}\" width=\"{:.1}\" height=\"{part:.1}\" fill=\"{}\"/>",
            cw.max(2.0) - 0.5,
            code_color(*c)
        );
    }
    s.push_str("</g>\n");
}

/// Write the time axis under `rows` rows of `cols` to `s`: five dashed
/// lines across the plot, each labelled with its time.
fn draw_axis(s: &mut String, cols: &Columns, rows: usize) {
    let axis = TOP + ROW * rows as f64 + 4.0;
    let day = cols.span > 86_400_000;
    for k in 0..=4 {
        let shown = axis_label(cols.first + cols.span * k / 4, day);
        let x = LABEL + PLOT * k as f64 / 4.0;
        let anchor = match k {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = writeln!(
            s,
            "<line x1=\"{x}\" x2=\"{x}\" y1=\"{TOP}\" y2=\"{}\" stroke=\"#c5ccd3\" stroke-dasharray=\"2 3\"/><text x=\"{x}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            axis,
            axis + 14.0,
            esc(&shown)
        );
    }
}

/// How the axis names the moment `ms` (milliseconds, UTC): the time of
/// day to the millisecond, or the date and minute when the timeline
/// spans more than a `day`.
fn axis_label(ms: i64, day: bool) -> String {
    let label = Timestamp(ms.saturating_mul(1_000_000)).to_string();
    // "2026-11-23T10:20:53.157597000Z".
    if day {
        label.get(..16).unwrap_or(&label).replace('T', " ")
    } else {
        label.get(11..23).unwrap_or(&label).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_html_gives_meaning_to() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn durations_read_like_speech() {
        assert_eq!(human_ms(250), "250 ms");
        assert_eq!(human_ms(1500), "1.5 s");
        assert_eq!(human_ms(113_732), "1 min 53 s");
        assert_eq!(human_ms(7_500_000), "2 h 5 min");
    }

    #[test]
    fn timeline_memory_is_bounded_by_cells_not_disconnects() {
        let mut t = Timeline::default();
        // 200,000 disconnects one second apart on 3 servers and 4 codes.
        for k in 0..200_000i64 {
            let time = Timestamp((1_700_000_000 + k) * 1_000_000_000).to_string();
            let server = format!("10.0.0.{}:443", k % 3);
            t.add(
                &server,
                &time,
                Some(CloseCode(1000 + (k % 4) as u16)),
                k % 2 == 0,
            );
        }
        assert!(t.cells.len() <= MAX_CELLS, "{} cells", t.cells.len());
        assert!(t.unit_ms > 1000, "buckets widened to {} ms", t.unit_ms);
        let total: u64 = t.cells.values().sum();
        assert_eq!(total, 200_000, "every disconnect still counted");
        let svg = t.section();
        assert!(svg.matches("<g><title>").count() <= 3 * 121);
        assert!(
            svg.contains("10.0.0.2:443 (33333/66666)"),
            "{}",
            &svg[..400]
        );
    }
}

/// The HTML page's wording, and the timeline it draws of the verdicts.
#[derive(Default)]
pub(super) struct Html {
    timeline: Timeline,
}

impl Document for Html {
    fn abnormal_entry(&self, c: &ConnectionReport, d: &Disconnect) -> String {
        abnormal_entry(c, d)
    }

    fn clean_entry(&self, c: &ConnectionReport, d: &Disconnect) -> String {
        clean_row(c, d)
    }

    fn taken(&mut self, c: &ConnectionReport, d: &Disconnect) {
        self.timeline
            .add(&c.server, &c.last_seen, d.code, d.abnormal());
    }

    fn capture_section(&self, cap: &CaptureReport, rows: &[Row]) -> String {
        capture_section(cap, rows)
    }

    fn head(&self, report: &Report) -> String {
        page_head(report) + &self.timeline.section()
    }

    fn abnormal_title(&self, abnormal: u64, _clean: u64) -> String {
        abnormal_title(abnormal)
    }

    fn abnormal_group(&self, code: Option<CloseCode>, name: &str, n: u64) -> String {
        abnormal_group(code, name, n)
    }

    fn clean_title(&self, clean: u64) -> String {
        clean_title(clean)
    }

    fn captures_title(&self, report: &Report) -> String {
        captures_title(report)
    }

    fn tail(&self, _report: &Report) -> String {
        page_end().to_string()
    }
}
