//! Writing a report whose connections do not all fit in memory.
//!
//! A batch hands each capture's connections to a [`Spool`] as soon as the
//! capture is done ([`Spool::take`]) and drops them; the spool renders
//! them at once, in the chosen layout, into temporary storage that stays
//! in memory while small and moves to an unnamed temporary file when it
//! grows. [`Spool::finish`] writes the document around those pieces, in
//! the order a person reads it (abnormal disconnects grouped by code,
//! most frequent first, before the clean ones), by copying them back.
//! What stays in memory is the summary, one line per capture, and 16
//! bytes per abnormal connection (its code and where its text is).

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Seek, SeekFrom, Write};

use rayon::prelude::*;
use tempfile::SpooledTempFile;

use super::{
    document, pretty_at, pretty_field, CaptureReport, ConnectionReport, Report, Row, WRITE_BLOCK,
};
use crate::diagnose::Disconnect;
use crate::vocab::websocket::CloseCode;

/// How the report is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// For a person at a terminal; `color` adds ANSI colours.
    Text {
        /// ANSI colours on.
        color: bool,
    },
    /// One JSON document (DESIGN.md's contract).
    Json,
    /// One self-contained HTML page.
    Html,
}

/// Bytes a part keeps in memory before it moves to a temporary file.
const IN_MEMORY: usize = 8 << 20;

/// Rendered pieces in the order they were taken.
struct Part {
    file: SpooledTempFile,
    /// Bytes not yet written to `file`: once it has moved to disk, one
    /// write per connection would be a system call each.
    pending: Vec<u8>,
    len: u64,
    count: u64,
}

/// Bytes a part gathers before writing them to its storage.
const PENDING: usize = 256 << 10;

impl Part {
    fn new() -> Part {
        Part {
            file: SpooledTempFile::new(IN_MEMORY),
            pending: Vec::new(),
            len: 0,
            count: 0,
        }
    }

    /// Append bytes that are not a piece of their own (a separator).
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.pending.extend_from_slice(bytes);
        self.len += bytes.len() as u64;
        if self.pending.len() >= PENDING {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Append one piece; returns where it starts.
    fn push(&mut self, piece: &[u8]) -> io::Result<u64> {
        let at = self.len;
        self.append(piece)?;
        self.count += 1;
        Ok(at)
    }

    fn write_pending(&mut self) -> io::Result<()> {
        self.file.write_all(&self.pending)?;
        self.pending.clear();
        Ok(())
    }

    /// Copy `len` bytes from `at` to `out`.
    fn copy_range(&mut self, at: u64, len: u64, out: &mut dyn Write) -> io::Result<()> {
        self.write_pending()?;
        self.file.seek(SeekFrom::Start(at))?;
        let copied = io::copy(&mut (&mut self.file).take(len), out)?;
        if copied != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "temporary report storage came back short",
            ));
        }
        Ok(())
    }

    /// Copy everything to `out`.
    fn copy_all(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let len = self.len;
        self.copy_range(0, len, out)
    }
}

/// Abnormal disconnects, to be written grouped by code.
struct Grouped {
    part: Part,
    /// Code, start and length of each entry, in the order taken.
    entries: Vec<(Option<CloseCode>, u64, u32)>,
    /// Name of each code, as its first verdict gave it.
    names: BTreeMap<Option<CloseCode>, String>,
}

impl Grouped {
    fn new() -> Grouped {
        Grouped {
            part: Part::new(),
            entries: Vec::new(),
            names: BTreeMap::new(),
        }
    }

    fn push(&mut self, code: Option<CloseCode>, name: &str, piece: &[u8]) -> io::Result<()> {
        let at = self.part.push(piece)?;
        let len = u32::try_from(piece.len())
            .map_err(|_| io::Error::other("one connection's text is over 4 GB"))?;
        self.entries.push((code, at, len));
        self.names.entry(code).or_insert_with(|| name.to_string());
        Ok(())
    }

    /// Codes with their counts, most frequent first (then by code).
    fn order(&self) -> Vec<(Option<CloseCode>, u64)> {
        let mut counts: BTreeMap<Option<CloseCode>, u64> = BTreeMap::new();
        for (code, _, _) in &self.entries {
            *counts.entry(*code).or_insert(0) += 1;
        }
        let mut order: Vec<_> = counts.into_iter().collect();
        order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        order
    }

    /// For each code in [`Grouped::order`]: `head(code, name, count)`, then
    /// its entries in the order they were taken.
    fn write(
        &mut self,
        out: &mut dyn Write,
        mut head: impl FnMut(Option<CloseCode>, &str, u64) -> String,
    ) -> io::Result<()> {
        for (code, n) in self.order() {
            let name = self.names.get(&code).map_or("", String::as_str);
            out.write_all(head(code, name, n).as_bytes())?;
            for &(c, at, len) in &self.entries {
                if c == code {
                    self.part.copy_range(at, u64::from(len), out)?;
                }
            }
        }
        Ok(())
    }
}

/// How a layout for people (text, HTML) words each part of the
/// document; the spool decides what goes where and in which order.
pub(super) trait Document: Sync {
    /// One abnormal disconnect.
    fn abnormal_entry(&self, c: &ConnectionReport, d: &Disconnect) -> String;
    /// One clean close.
    fn clean_entry(&self, c: &ConnectionReport, d: &Disconnect) -> String;
    /// A rendered verdict, in the order taken (HTML draws its timeline).
    fn taken(&mut self, _c: &ConnectionReport, _d: &Disconnect) {}
    /// One capture and the table of its connections.
    fn capture_section(&self, cap: &CaptureReport, rows: &[Row]) -> String;
    /// Everything before the abnormal disconnects.
    fn head(&self, report: &Report) -> String;
    /// Above the abnormal disconnects; `clean` clean closes follow them.
    fn abnormal_title(&self, abnormal: u64, clean: u64) -> String;
    /// Above the `n` abnormal disconnects of one code.
    fn abnormal_group(&self, code: Option<CloseCode>, name: &str, n: u64) -> String;
    /// Above the clean closes.
    fn clean_title(&self, clean: u64) -> String;
    /// Above the captures' sections.
    fn captures_title(&self, report: &Report) -> String;
    /// After everything.
    fn tail(&self, report: &Report) -> String;
}

/// A report being written; see the module documentation.
pub struct Spool {
    /// Captures of the report already taken.
    captures_taken: usize,
    /// JSON: the connection objects. Text and HTML: the capture sections.
    body: Part,
    abnormal: Grouped,
    clean: Part,
    /// How text or HTML words it; `None` for JSON.
    doc: Option<Box<dyn Document + Send>>,
    /// Text and HTML: the rows of captures whose section is not written
    /// yet (the newest, while its connections are still coming), by path.
    rows: HashMap<String, Vec<Row>>,
}

impl Spool {
    /// An empty spool.
    pub fn new(layout: Layout) -> Spool {
        Spool {
            captures_taken: 0,
            body: Part::new(),
            abnormal: Grouped::new(),
            clean: Part::new(),
            doc: document(layout),
            rows: HashMap::new(),
        }
    }

    /// Render the captures added to `report` since the last call, and all
    /// its connections (the caller drops them afterwards, or not).
    pub fn take(&mut self, report: &Report) -> io::Result<()> {
        // The newest capture's section waits while it is still open.
        let complete = report
            .captures
            .len()
            .saturating_sub(usize::from(report.capture_open));
        let captures = report
            .captures
            .get(self.captures_taken..complete)
            .unwrap_or(&[]);
        self.captures_taken = self.captures_taken.max(complete);
        let Some(doc) = self.doc.as_mut() else {
            for block in report.connections.chunks(WRITE_BLOCK) {
                let texts = block
                    .par_iter()
                    .map(|c| pretty_at(c, 2))
                    .collect::<Result<Vec<_>, _>>()?;
                for t in texts {
                    let sep: &[u8] = if self.body.count == 0 {
                        b"    "
                    } else {
                        b",\n    "
                    };
                    self.body.append(sep)?;
                    self.body.push(&t)?;
                }
            }
            return Ok(());
        };
        for block in report.connections.chunks(WRITE_BLOCK) {
            let words: &dyn Document = &**doc;
            let pieces: Vec<_> = block
                .par_iter()
                .filter_map(|c| {
                    let d = c.disconnect.as_ref()?;
                    let piece = if d.abnormal() {
                        words.abnormal_entry(c, d)
                    } else {
                        words.clean_entry(c, d)
                    };
                    Some((c, d, piece))
                })
                .collect();
            for (c, d, piece) in pieces {
                if d.abnormal() {
                    self.abnormal.push(d.code, &d.name, piece.as_bytes())?;
                } else {
                    self.clean.push(piece.as_bytes())?;
                }
                doc.taken(c, d);
            }
        }
        for c in &report.connections {
            self.rows
                .entry(c.capture.clone())
                .or_default()
                .push(Row::of(c));
        }
        for cap in captures {
            let rows = self.rows.remove(&cap.path).unwrap_or_default();
            let section = doc.capture_section(cap, &rows);
            self.body.push(section.as_bytes())?;
        }
        Ok(())
    }

    /// Write the whole document: `report` gives the captures and the
    /// summary, the spool the connections it took.
    pub fn finish(mut self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let mut out = io::BufWriter::with_capacity(1 << 16, out);
        let Some(doc) = self.doc.as_ref() else {
            out.write_all(b"{\n")?;
            pretty_field(&mut out, "schema_version", &report.schema_version)?;
            out.write_all(b",\n")?;
            pretty_field(&mut out, "tool", &report.tool)?;
            out.write_all(b",\n")?;
            pretty_field(&mut out, "captures", &report.captures)?;
            out.write_all(b",\n")?;
            if self.body.count == 0 {
                out.write_all(b"  \"connections\": []")?;
            } else {
                out.write_all(b"  \"connections\": [\n")?;
                self.body.copy_all(&mut out)?;
                out.write_all(b"\n  ]")?;
            }
            out.write_all(b",\n")?;
            pretty_field(&mut out, "summary", &report.summary)?;
            out.write_all(b"\n}\n")?;
            return out.flush();
        };
        let (abnormal, clean) = (self.abnormal.entries.len() as u64, self.clean.count);
        out.write_all(doc.head(report).as_bytes())?;
        out.write_all(doc.abnormal_title(abnormal, clean).as_bytes())?;
        self.abnormal
            .write(&mut out, |code, name, n| doc.abnormal_group(code, name, n))?;
        out.write_all(doc.clean_title(clean).as_bytes())?;
        self.clean.copy_all(&mut out)?;
        out.write_all(doc.captures_title(report).as_bytes())?;
        self.body.copy_all(&mut out)?;
        out.write_all(doc.tail(report).as_bytes())?;
        out.flush()
    }
}
