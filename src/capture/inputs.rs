//! What the command line's paths stand for: capture files; directories,
//! walked recursively in name order (hidden entries skipped, each
//! directory visited once so symlink loops end), where captures are found
//! by their magic bytes and not their names; and tar archives (plain,
//! gzip or zstd), read as a stream on their own thread without unpacking
//! anything to disk, each member named `ARCHIVE:MEMBER`. The path `-`
//! stands for standard input, as for tcpdump, tshark and editcap: a
//! capture or a tar archive, plain or compressed, read as a stream (it
//! cannot be seeked or measured) and named `-` in the report.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crossbeam_channel::{bounded, Receiver, Sender};

use super::source;

/// Bytes of a tar member handed over at a time.
const CHUNK: usize = 256 << 10;

/// The path that stands for standard input, and its name in the report.
pub const STDIN: &str = "-";

/// Whether `path` is [`STDIN`] (a file of that name is given as `./-`).
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// One thing to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A file to read as a capture (given by name, or found in a
    /// directory by its magic bytes).
    File(PathBuf),
    /// A tar archive whose members are captures.
    Tar(PathBuf),
    /// A path that could not be read (missing, no permission, a dangling
    /// link), in its place in the order.
    Unreadable(PathBuf, String),
    /// Standard input (`-`): a capture or a tar archive, which only
    /// reading it tells.
    Stdin,
}

impl Item {
    /// The path as given, `-` for standard input.
    pub fn path(&self) -> &Path {
        match self {
            Item::File(p) | Item::Tar(p) | Item::Unreadable(p, _) => p,
            Item::Stdin => Path::new(STDIN),
        }
    }
}

/// The paths expanded.
#[derive(Debug, Default)]
pub struct Expanded {
    /// In the order given, directories in name order.
    pub items: Vec<Item>,
    /// Files in directories that are neither captures nor archives.
    pub skipped: u64,
}

/// What the first bytes of a file say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// pcap or pcapng, possibly gzip- or zstd-compressed.
    Capture,
    /// A tar archive, possibly compressed.
    Tar,
    /// Anything else.
    Other,
}

/// Whether `head` (the first decompressed bytes) starts a capture or a
/// tar archive.
pub fn kind_of(head: &[u8]) -> Kind {
    let magic = head.first_chunk::<4>().map(|m| u32::from_le_bytes(*m));
    match magic {
        Some(super::pcapng::SHB_MAGIC)
        | Some(0xa1b2_c3d4 | 0xa1b2_3c4d | 0xa1b2_cd34 | 0xd4c3_b2a1 | 0x4d3c_b2a1 | 0x34cd_b2a1) => {
            Kind::Capture
        }
        // POSIX ustar and GNU tar: "ustar" at offset 257.
        _ if head.get(257..262) == Some(b"ustar") => Kind::Tar,
        _ => Kind::Other,
    }
}

/// Read up to `n` bytes (fewer only at the end of the stream).
fn read_head(r: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    match read_head_or_error(r, n) {
        (_, Some(e)) => Err(e),
        (head, None) => Ok(head),
    }
}

/// Read up to `n` bytes; on an error, the bytes read before it and the
/// error.
fn read_head_or_error(r: &mut dyn Read, n: usize) -> (Vec<u8>, Option<io::Error>) {
    let mut head = vec![0; n];
    let mut got = 0;
    let mut error = None;
    while got < n {
        match r.read(head.get_mut(got..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    head.truncate(got);
    (head, error)
}

/// What a file is, from its first (decompressed) bytes.
pub fn kind_of_file(path: &Path) -> io::Result<Kind> {
    let (mut r, _) = source::sniff(File::open(path)?)?;
    Ok(kind_of(&read_head(&mut r, 512)?))
}

/// Expand the command line's paths.
pub fn expand(paths: &[PathBuf]) -> Expanded {
    let mut out = Expanded::default();
    let mut seen = HashSet::new();
    for p in paths {
        if is_stdin(p) {
            out.items.push(Item::Stdin);
            continue;
        }
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, &mut seen, &mut out),
            // A file named explicitly is read whatever it is: if it is no
            // capture, the reader says so.
            Ok(_) => match kind_of_file(p) {
                Ok(Kind::Tar) => out.items.push(Item::Tar(p.clone())),
                _ => out.items.push(Item::File(p.clone())),
            },
            Err(e) => out.items.push(Item::Unreadable(p.clone(), e.to_string())),
        }
    }
    out
}

fn walk(dir: &Path, seen: &mut HashSet<PathBuf>, out: &mut Expanded) {
    // A directory reached twice (a symlink loop, or two paths to one
    // place) is read once.
    match std::fs::canonicalize(dir) {
        Ok(c) => {
            if !seen.insert(c) {
                return;
            }
        }
        Err(e) => {
            out.items
                .push(Item::Unreadable(dir.to_path_buf(), e.to_string()));
            return;
        }
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            out.items
                .push(Item::Unreadable(dir.to_path_buf(), e.to_string()));
            return;
        }
    };
    let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    for p in names {
        if p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() => walk(&p, seen, out),
            Ok(m) if m.is_file() => match kind_of_file(&p) {
                Ok(Kind::Capture) => out.items.push(Item::File(p)),
                Ok(Kind::Tar) => out.items.push(Item::Tar(p)),
                Ok(Kind::Other) => out.skipped += 1,
                Err(e) => out.items.push(Item::Unreadable(p, e.to_string())),
            },
            // Sockets, fifos, devices: not captures.
            Ok(_) => out.skipped += 1,
            // A dangling symlink.
            Err(e) => out.items.push(Item::Unreadable(p, e.to_string())),
        }
    }
}

/// The bytes of one tar member, as they are read from the archive on its
/// own thread.
pub struct MemberReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for MemberReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.cur = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                // The archive thread is done with this member.
                Err(_) => return Ok(0),
            }
        }
        let mut rest = self.cur.get(self.pos..).unwrap_or_default();
        let n = rest.read(buf)?;
        self.pos += n;
        Ok(n)
    }
}

/// A member of an archive, or why the archive could not be read further.
pub enum Member {
    /// A regular file: its path inside the archive and its bytes.
    File {
        /// Path inside the archive.
        name: String,
        /// Its bytes.
        reader: MemberReader,
    },
    /// The archive is broken from here on.
    Error {
        /// Bytes of the (decompressed) archive read when it broke.
        offset: u64,
        /// What broke.
        message: String,
    },
}

/// A reader that counts the bytes read through it.
struct Position<R> {
    inner: R,
    read: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Position<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// Read a tar archive (plain, gzip or zstd) on its own thread; its
/// regular-file members come out in archive order. A member whose reader
/// is dropped early is skipped; memory stays at a few chunks.
pub fn tar_members(path: &Path) -> io::Result<Receiver<Member>> {
    let (src, _) = source::sniff(source::Counted(File::open(path)?))?;
    spawn_tar(src)
}

/// [`tar_members`] of an archive already open (and decompressed).
fn spawn_tar(src: Box<dyn Read + Send>) -> io::Result<Receiver<Member>> {
    let (tx, rx) = bounded(1);
    std::thread::Builder::new()
        .name("wsf-tar".into())
        .spawn(move || read_tar(src, tx))?;
    Ok(rx)
}

/// Standard input, opened.
pub enum Piped {
    /// A capture (or bytes that are none, which its reader then says).
    Capture {
        /// The decompressed bytes from the first one on.
        src: Box<dyn Read + Send>,
        /// The compression around them.
        compression: source::Compression,
    },
    /// A tar archive: its members, as [`tar_members`] gives them.
    Tar(Receiver<Member>),
}

/// Fails once with the error met while the first bytes were read, so that
/// it reaches the capture reader after those bytes, at its offset.
struct FailOnce(Option<io::Error>);

impl Read for FailOnce {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        self.0.take().map_or(Ok(0), Err)
    }
}

/// Open standard input as a capture or a tar archive, plain, gzip or
/// zstd. Nothing is seeked: the first (decompressed) bytes that tell a
/// capture from an archive are read and put back in front of the rest.
/// Fails only when standard input cannot be read at all.
pub fn open_stdin() -> io::Result<Piped> {
    open_stream(Box::new(source::Counted(io::stdin())))
}

/// [`open_stdin`] for any byte stream.
fn open_stream(raw: Box<dyn Read + Send>) -> io::Result<Piped> {
    let (mut src, compression) = source::sniff(raw)?;
    // A tar header is one 512-byte block.
    let (head, error) = read_head_or_error(&mut src, 512);
    let kind = kind_of(&head);
    let rest: Box<dyn Read + Send> = match error {
        Some(e) => Box::new(FailOnce(Some(e))),
        None => src,
    };
    let src: Box<dyn Read + Send> = Box::new(io::Cursor::new(head).chain(rest));
    match kind {
        Kind::Tar => spawn_tar(src).map(Piped::Tar),
        Kind::Capture | Kind::Other => Ok(Piped::Capture { src, compression }),
    }
}

fn read_tar(src: Box<dyn Read + Send>, tx: Sender<Member>) {
    let read = std::rc::Rc::new(std::cell::Cell::new(0));
    let broken = |e: io::Error| Member::Error {
        offset: read.get(),
        message: e.to_string(),
    };
    let mut archive = tar::Archive::new(Position {
        inner: src,
        read: read.clone(),
    });
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            let _ = tx.send(broken(e));
            return;
        }
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let _ = tx.send(broken(e));
                return;
            }
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| String::from_utf8_lossy(&entry.path_bytes()).into_owned());
        let (btx, brx) = bounded(4);
        let member = Member::File {
            name,
            reader: MemberReader {
                rx: brx,
                cur: Vec::new(),
                pos: 0,
            },
        };
        if tx.send(member).is_err() {
            return;
        }
        loop {
            let chunk = match read_head(&mut entry, CHUNK) {
                Ok(c) if c.is_empty() => break,
                Ok(c) => c,
                Err(e) => {
                    let _ = btx.send(Err(e));
                    return;
                }
            };
            if btx.send(Ok(chunk)).is_err() {
                // The reader gave up on this member; the archive reader
                // skips the rest of it.
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_decide() {
        assert_eq!(kind_of(&[0xd4, 0xc3, 0xb2, 0xa1, 0, 0]), Kind::Capture);
        assert_eq!(kind_of(&0x0A0D_0D0Au32.to_le_bytes()), Kind::Capture);
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(kind_of(&tar), Kind::Tar);
        assert_eq!(kind_of(b"hello world"), Kind::Other);
        assert_eq!(kind_of(&[]), Kind::Other);
    }

    #[test]
    fn dash_is_standard_input_and_dot_slash_dash_a_file() {
        let e = expand(&[PathBuf::from("-"), PathBuf::from("./-")]);
        assert_eq!(e.items.first(), Some(&Item::Stdin));
        assert!(matches!(e.items.get(1), Some(Item::Unreadable(p, _)) if p == Path::new("./-")));
        assert_eq!(Item::Stdin.path(), Path::new("-"));
    }

    /// A stream that starts with a capture is handed on from its first
    /// byte, compressed or not; one that is a tar archive gives members.
    #[test]
    fn streams_are_told_apart_without_seeking() {
        let mut pcap = Vec::new();
        for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 101] {
            pcap.extend_from_slice(&v.to_le_bytes());
        }
        let gz = {
            use std::io::Write as _;
            let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            z.write_all(&pcap).unwrap();
            z.finish().unwrap()
        };
        for (bytes, want) in [
            (pcap.clone(), source::Compression::None),
            (gz, source::Compression::Gzip),
        ] {
            let Ok(Piped::Capture {
                mut src,
                compression,
            }) = open_stream(Box::new(io::Cursor::new(bytes)))
            else {
                panic!("not a capture stream");
            };
            assert_eq!(compression, want);
            let mut out = Vec::new();
            src.read_to_end(&mut out).unwrap();
            assert_eq!(out, pcap);
        }
        let mut tar = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(pcap.len() as u64);
        h.set_cksum();
        tar.append_data(&mut h, "a.pcap", &pcap[..]).unwrap();
        let tar = tar.into_inner().unwrap();
        let Ok(Piped::Tar(members)) = open_stream(Box::new(io::Cursor::new(tar))) else {
            panic!("not a tar stream");
        };
        let names: Vec<String> = members
            .iter()
            .filter_map(|m| match m {
                Member::File { name, .. } => Some(name),
                Member::Error { .. } => None,
            })
            .collect();
        assert_eq!(names, ["a.pcap"]);
    }

    /// A decompressor that fails inside the first bytes: the bytes before
    /// the failure, then the failure, not an error before any byte.
    #[test]
    fn error_in_the_head_reaches_the_reader() {
        let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        gz.extend_from_slice(&[0xff; 40]);
        let Ok(Piped::Capture { mut src, .. }) = open_stream(Box::new(io::Cursor::new(gz))) else {
            panic!("the head's error came too early");
        };
        let mut out = Vec::new();
        assert!(src.read_to_end(&mut out).is_err());
    }
}
