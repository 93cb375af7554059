//! capture::CaptureReader on arbitrary file bytes: format sniffing (pcap in
//! both byte orders and both precisions, pcapng, gzip and zstd around
//! them), record and block parsing, and the read-ahead path.
//!
//! Oracle: besides no panic / hang / OOM, reading with and without
//! `read_ahead` must give the same frames, the same error and the same
//! warnings. `next_frame` documents that after an error the reader is
//! finished and returns `None`, and that is asserted too (it did not hold
//! for decompression errors: regressions/capture_read-error-not-final.bin).
//! WSF_FUZZ_DEBUG=1 prints what was read.
#![no_main]

use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wsforensics::capture::{CaptureReader, Compression};

/// Frames read at most per input (keeps each run short).
const MAX_FRAMES: usize = 4096;

#[derive(Debug, PartialEq)]
struct Seen {
    frames: Vec<(u64, i64, u32, u32, Vec<u8>)>,
    error: Option<String>,
    /// What a call after the error returned.
    after_error: Option<String>,
    warnings: Vec<String>,
    position: u64,
}

fn read(data: &[u8], ahead: bool) -> Option<Seen> {
    let path = Path::new("fuzz.pcap");
    let mut r = match CaptureReader::from_stream(path, Box::new(Cursor::new(data.to_vec()))) {
        Ok(r) => r,
        Err(e) => {
            let _ = e.to_string();
            let _ = e.is_not_a_capture();
            return None;
        }
    };
    let _ = (r.format().as_str(), r.compression(), r.warnings().len());
    // With compression, read_ahead moves decompression to a thread of
    // its own; keep to one core by using that path only for plain data.
    if ahead && r.compression() == Compression::None {
        r.read_ahead();
    }
    let mut seen = Seen {
        frames: Vec::new(),
        error: None,
        after_error: None,
        warnings: Vec::new(),
        position: 0,
    };
    let mut last_number = 0;
    for _ in 0..MAX_FRAMES {
        match r.next_frame() {
            Ok(Some(f)) => {
                assert!(f.number > last_number, "frame numbers must grow");
                last_number = f.number;
                let _ = f.ts.to_string();
                seen.frames
                    .push((f.number, f.ts.0, f.linktype.0, f.orig_len, f.data.to_vec()));
            }
            Ok(None) => break,
            Err(e) => {
                seen.error = Some(e.to_string());
                // After an error the reader is finished.
                let again = r.next_frame();
                assert!(
                    matches!(again, Ok(None)),
                    "next_frame after an error: {again:?}"
                );
                seen.after_error = Some(match again {
                    Ok(None) => "None".to_string(),
                    Ok(Some(f)) => format!("frame {}", f.number),
                    Err(e) => format!("error {e}"),
                });
                break;
            }
        }
    }
    seen.warnings = r.take_warnings();
    seen.position = r.position();
    Some(seen)
}

fuzz_target!(|data: &[u8]| {
    let plain = read(data, false);
    if std::env::var_os("WSF_FUZZ_DEBUG").is_some() {
        if let Some(s) = &plain {
            eprintln!(
                "frames {} error {:?} after_error {:?} warnings {:?}",
                s.frames.len(),
                s.error,
                s.after_error,
                s.warnings
            );
        }
    }
    let ahead = read(data, true);
    assert_eq!(plain, ahead, "read_ahead changed what was read");
});
