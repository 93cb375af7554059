//! `wsforensics codes`, `wsforensics alerts` and `wsforensics explain`:
//! the close-code and TLS alert knowledge base rendered for a person.

use std::io::{self, Write};

use crate::knowledge::{lookup, CLOSE_CODES};
use crate::vocab::tls::AlertDescription;
use crate::vocab::websocket::CloseCode;

/// The whole catalogue, one line per code or range.
pub fn codes(out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{:<11}  {:<48}  {:<10}  usually sent by",
        "code", "name", "class"
    )?;
    let mut rows: Vec<_> = CLOSE_CODES.iter().collect();
    rows.sort_by_key(|c| c.from);
    for c in rows {
        let code = if c.from == c.to {
            c.from.to_string()
        } else {
            format!("{}-{}", c.from, c.to)
        };
        writeln!(
            out,
            "{code:<11}  {:<48}  {:<10}  {}",
            c.name,
            c.class.as_str(),
            c.sender
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "wsforensics explain CODE tells what a code means, when you see it and how to fix it."
    )
}

/// One code in full.
pub fn explain(code: CloseCode, out: &mut dyn Write) -> io::Result<()> {
    let c = lookup(code);
    let range = if c.from == c.to {
        String::new()
    } else {
        format!(" (range {}-{})", c.from, c.to)
    };
    writeln!(out, "{code} {}{range}", c.name)?;
    writeln!(out, "class:     {}", c.class.as_str())?;
    writeln!(out, "sent by:   {}", c.sender)?;
    writeln!(out, "reference: {}", c.reference)?;
    writeln!(out)?;
    writeln!(out, "What it means\n  {}", c.meaning)?;
    writeln!(out)?;
    writeln!(out, "When you see it\n  {}", c.when)?;
    writeln!(out)?;
    writeln!(out, "How to fix it\n  {}", c.fix)
}

/// Every TLS alert, one line each.
pub fn alerts(out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{:<5}  {:<32}  usually sent by", "alert", "name")?;
    for a in crate::knowledge::tls::ALERTS {
        writeln!(out, "{:<5}  {:<32}  {}", a.code, a.name, a.sent_by)?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "wsforensics explain NAME (or alert:N) tells what an alert means, when you see it and how to fix it."
    )
}

/// One TLS alert in full; the caller checked that it exists.
pub fn explain_alert(code: AlertDescription, out: &mut dyn Write) -> io::Result<()> {
    let Some(a) = crate::knowledge::tls::alert(code) else {
        return writeln!(out, "alert {code}: not a registered TLS alert");
    };
    writeln!(out, "TLS alert {} {}", a.code, a.name)?;
    writeln!(out, "sent by:   {}", a.sent_by)?;
    writeln!(out, "reference: {}", a.reference)?;
    writeln!(out)?;
    writeln!(out, "What it means\n  {}", a.meaning)?;
    writeln!(out)?;
    writeln!(out, "When you see it\n  {}", a.when)?;
    writeln!(out)?;
    writeln!(out, "How to fix it\n  {}", a.fix)
}
