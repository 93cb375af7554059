//! The binary end to end: bad inputs, exit status, formats, determinism.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may panic: that is how they fail

mod common;

use std::process::Command;

use common::*;

fn wsf(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wsforensics"))
        .args(args)
        .env_remove("SSLKEYLOGFILE")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A gzip'd tar archive of `members` (name, bytes).
fn tar_gz(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, &bytes[..]).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

fn good_capture() -> tempfile::TempPath {
    let f: Vec<_> = simple_conversation(b"GET / HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n")
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            (
                1_700_000_000_000_000_000 + i as i64,
                p.clone(),
                p.len() as u32,
            )
        })
        .collect();
    temp_capture("wsf-good", &pcap(101, &f, false, false))
}

fn json(args: &[&str]) -> (i32, serde_json::Value, String) {
    let mut a = vec!["--format", "json"];
    a.extend_from_slice(args);
    let (code, out, err) = wsf(&a);
    (
        code,
        serde_json::from_str(&out).expect("stdout is one JSON document"),
        err,
    )
}

#[test]
fn bad_inputs_are_named_with_offset_and_others_still_reported() {
    let good = good_capture();
    let empty = temp_capture("wsf-empty", b"");
    let text = temp_capture("wsf-text", b"this is not a capture, just text\n");
    let short = temp_capture("wsf-short", &[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
    // A valid header, then a record whose caplen claims 4 GB.
    let mut huge = pcap(101, &[], false, false);
    huge.extend_from_slice(&[0; 8]);
    huge.extend_from_slice(&0xffff_fff0u32.to_le_bytes());
    huge.extend_from_slice(&0xffff_fff0u32.to_le_bytes());
    huge.extend_from_slice(&[0x45; 64]);
    let huge = temp_capture("wsf-huge", &huge);
    let missing = "/nonexistent/wsf-missing.pcap";
    let paths: Vec<String> = [&empty, &text, &short, &huge]
        .iter()
        .map(|p| p.to_str().unwrap().to_string())
        .chain([missing.to_string(), good.to_str().unwrap().to_string()])
        .collect();
    let args: Vec<&str> = paths.iter().map(|s| s.as_str()).collect();
    let (code, doc, err) = json(&args);
    assert_eq!(code, 1);
    let caps = doc["captures"].as_array().unwrap();
    assert_eq!(caps.len(), 6);
    let error_of = |i: usize| caps[i]["error"].as_str().unwrap_or_default().to_string();
    assert!(
        error_of(0).contains("offset 0: empty file"),
        "{}",
        error_of(0)
    );
    assert!(
        error_of(1).contains("offset 0: not a pcap or pcapng capture"),
        "{}",
        error_of(1)
    );
    assert!(
        error_of(2).contains("offset 0: file ends inside the capture header"),
        "{}",
        error_of(2)
    );
    assert!(
        error_of(3).contains("offset 24: record claims 4294967280 bytes"),
        "{}",
        error_of(3)
    );
    assert!(error_of(4).contains("wsf-missing.pcap"), "{}", error_of(4));
    assert!(caps[5]["error"].is_null());
    assert_eq!(caps[5]["packets"], 8);
    assert_eq!(doc["connections"].as_array().unwrap().len(), 1);
    // Every problem also went to stderr, naming its file.
    for p in &paths[..5] {
        let name = std::path::Path::new(p)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        assert!(err.contains(name), "stderr lacks {name}: {err}");
    }
}

#[test]
fn truncated_last_record_keeps_complete_packets_with_one_warning() {
    let good = good_capture();
    let bytes = std::fs::read(&good).unwrap();
    let cut = temp_capture("wsf-cut", &bytes[..bytes.len() - 7]);
    let (code, doc, _) = json(&[cut.to_str().unwrap()]);
    assert_eq!(
        code, 0,
        "a cut last record is a warning, not an unread input"
    );
    let cap = &doc["captures"][0];
    assert_eq!(cap["packets"], 7);
    let w = cap["warnings"].as_array().unwrap();
    assert_eq!(w.len(), 1);
    let last_record = bytes.len() - (16 + 40);
    assert!(
        w[0].as_str().unwrap().contains(&format!(
            "offset {last_record}: file ends inside a packet record"
        )),
        "{w:?}"
    );
}

#[test]
fn compressed_copies_give_the_same_connections() {
    let good = good_capture();
    let raw = std::fs::read(&good).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    let gz = temp_capture("wsf-gz", &gz.finish().unwrap());
    let zst = temp_capture("wsf-zst", &zstd::encode_all(&raw[..], 3).unwrap());
    let (_, a, _) = json(&[good.to_str().unwrap()]);
    for p in [&gz, &zst] {
        let (code, b, _) = json(&[p.to_str().unwrap()]);
        assert_eq!(code, 0);
        assert_eq!(a["connections"][0]["bytes"], b["connections"][0]["bytes"]);
        assert_eq!(
            a["connections"][0]["last_frame"],
            b["connections"][0]["last_frame"]
        );
    }
    let (_, b, _) = json(&[gz.to_str().unwrap()]);
    assert_eq!(b["captures"][0]["compression"], "gzip");
}

#[test]
fn output_is_identical_for_any_jobs_and_ndjson_is_one_object_per_line() {
    let good = good_capture();
    let p = good.to_str().unwrap();
    let (_, one, _) = wsf(&["--format", "json", "--jobs", "1", p]);
    let (_, two, _) = wsf(&["--format", "json", "--jobs", "2", p]);
    let (_, eight, _) = wsf(&["--format", "json", "--jobs", "8", p]);
    assert_eq!(one, two);
    assert_eq!(one, eight);
    let (code, nd, _) = wsf(&["--format", "ndjson", p]);
    assert_eq!(code, 0);
    let lines: Vec<_> = nd.lines().collect();
    assert_eq!(lines.len(), 1);
    let c: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(c["client"], "10.0.0.1:40000");
    assert_eq!(c["ended_by"], "fin");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(wsf(&[]).0, 2);
    assert_eq!(wsf(&["--format", "yaml", "x.pcap"]).0, 2);
    assert_eq!(wsf(&["--jobs", "0", "x.pcap"]).0, 2);
}

/// A `--keylog` file that is missing is a usage error naming the flag and
/// the file, and nothing is reported.
#[test]
fn missing_keylog_names_the_flag_and_the_file() {
    let good = good_capture();
    let missing = "/nonexistent/wsf-keys.log";
    let (code, out, err) = wsf(&["--keylog", missing, good.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains(&format!(
            "wsforensics: --keylog {missing}: cannot be read ("
        )),
        "{err}"
    );
}

/// The same for a `--ca-file` that is missing, and for one that holds no
/// certificate.
#[test]
fn bad_ca_file_names_the_flag_and_the_file() {
    let good = good_capture();
    let missing = "/nonexistent/wsf-ca.pem";
    let (code, out, err) = wsf(&["--ca-file", missing, good.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains(&format!("wsforensics: --ca-file {missing}: ")),
        "{err}"
    );
    let empty = temp_capture("wsf-not-pem", b"no certificate here\n");
    let (code, _, err) = wsf(&["--ca-file", empty.to_str().unwrap(), good.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "wsforensics: --ca-file {}: no PEM certificate in it",
            empty.display()
        )),
        "{err}"
    );
}

#[test]
fn output_file_and_text_report() {
    let good = good_capture();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.txt");
    let (code, stdout, _) = wsf(&["-o", out.to_str().unwrap(), good.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stdout.is_empty());
    let text = std::fs::read_to_string(out).unwrap();
    assert!(text.contains("10.0.0.1:40000 -> 10.0.0.2:8080"), "{text}");
    assert!(text.contains("summary: 1 connection(s) (fin 1)"), "{text}");
}

#[test]
fn codes_lists_the_catalogue_and_explain_gives_meaning_when_and_fix() {
    let (code, out, _) = wsf(&["codes"]);
    assert_eq!(code, 0);
    for c in 1000..=1015 {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("{c} "))),
            "codes lacks {c}:\n{out}"
        );
    }
    assert!(out.contains("4000-4999") && out.contains("3000-3999") && out.contains("1016-2999"));
    let (code, out, _) = wsf(&["explain", "1006"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("1006 Abnormal Closure"), "{out}");
    assert!(
        out.contains("What it means")
            && out.contains("When you see it")
            && out.contains("How to fix it")
    );
    let (_, out, _) = wsf(&["explain", "4404"]);
    assert!(
        out.starts_with("4404 Private Use (range 4000-4999)"),
        "{out}"
    );
    assert_eq!(wsf(&["explain", "close"]).0, 2);
    assert_eq!(wsf(&["explain", "70000"]).0, 2);
    assert_eq!(wsf(&["explain", "alert:3"]).0, 2);
}

#[test]
fn alerts_lists_tls_alerts_and_explain_takes_a_name_or_number() {
    let (code, out, _) = wsf(&["alerts"]);
    assert_eq!(code, 0);
    for (n, name) in [
        (0, "close_notify"),
        (45, "certificate_expired"),
        (48, "unknown_ca"),
        (70, "protocol_version"),
        (116, "certificate_required"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("{n} ")) && l.contains(name)),
            "alerts lacks {n} {name}:\n{out}"
        );
    }
    let (code, by_name, _) = wsf(&["explain", "certificate_expired"]);
    assert_eq!(code, 0);
    assert!(
        by_name.starts_with("TLS alert 45 certificate_expired"),
        "{by_name}"
    );
    assert!(by_name.contains("What it means") && by_name.contains("How to fix it"));
    let (_, by_number, _) = wsf(&["explain", "alert:45"]);
    assert_eq!(by_name, by_number);
}

/// A directory as a platform team keeps one: nested folders, compressed
/// captures under names that say nothing, a tar.gz of captures with a
/// README in it, a corrupt capture, a text file, a hidden folder and a
/// symlink loop. Every connection of every good capture is reported once,
/// named by its file or archive member; the corrupt file is listed with its
/// error; the exit status is 1.
#[test]
fn archive_directory_is_walked_and_read() {
    use std::io::Write;
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("host1/eth0")).unwrap();
    std::fs::create_dir_all(root.join("host2")).unwrap();
    std::fs::create_dir_all(root.join(".cache")).unwrap();
    let read = |name: &str| std::fs::read(samples.join(name)).unwrap();
    // Plain, under a name without an extension.
    std::fs::write(root.join("host1/eth0/rotated-0001"), read("ws-1008.pcap")).unwrap();
    // gzip and zstd.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&read("ws-1009.pcap")).unwrap();
    std::fs::write(
        root.join("host1/eth0/rotated-0002.gz"),
        gz.finish().unwrap(),
    )
    .unwrap();
    let zst = zstd::encode_all(&read("ws-two-interfaces.pcapng")[..], 3).unwrap();
    std::fs::write(root.join("host2/dump.zst"), zst).unwrap();
    // A tar.gz of two captures and a README.
    let archive = tar_gz(&[
        ("day1/ws-403.pcap", read("ws-403.pcap")),
        ("day1/README", b"not a capture\n".to_vec()),
        ("day2/tls12-expired.pcap", read("tls12-expired.pcap")),
    ]);
    std::fs::write(root.join("host2/archive.tar.gz"), archive).unwrap();
    // A capture whose second record claims 2 GB.
    let mut corrupt = read("ws-1011.pcap");
    let second = 24 + 16 + u32::from_le_bytes(corrupt[32..36].try_into().unwrap()) as usize;
    corrupt[second + 8..second + 12].copy_from_slice(&0x8000_0000u32.to_le_bytes());
    std::fs::write(root.join("host2/corrupt.pcap"), corrupt).unwrap();
    // Not captures, or not to be read.
    std::fs::write(root.join("host1/notes.txt"), "hello").unwrap();
    std::fs::write(root.join(".cache/hidden.pcap"), read("ws-1012.pcap")).unwrap();
    std::os::unix::fs::symlink("..", root.join("host1/eth0/loop")).unwrap();

    let (code, r, err) = json(&[root.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    let paths: Vec<String> = r["captures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["path"]
                .as_str()
                .unwrap()
                .replace(root.to_str().unwrap(), "")
        })
        .collect();
    assert_eq!(
        paths,
        [
            "/host1/eth0/rotated-0001",
            "/host1/eth0/rotated-0002.gz",
            "/host2/archive.tar.gz:day1/ws-403.pcap",
            "/host2/archive.tar.gz:day2/tls12-expired.pcap",
            "/host2/corrupt.pcap",
            "/host2/dump.zst",
        ]
    );
    let corrupt = &r["captures"][4];
    assert!(
        corrupt["error"].as_str().unwrap().contains("corrupt.pcap"),
        "{corrupt}"
    );
    assert!(err.contains("corrupt.pcap"), "{err}");
    // Each good capture's connections, once each, under its name.
    let per: Vec<(String, usize)> = r["captures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let p = c["path"].as_str().unwrap();
            let n = r["connections"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| x["capture"] == p)
                .count();
            (p.replace(root.to_str().unwrap(), ""), n)
        })
        .collect();
    let want = [1, 1, 1, 1, 1, 2];
    for ((p, n), w) in per.iter().zip(want) {
        if !p.ends_with("corrupt.pcap") {
            assert_eq!(*n, w, "{p}");
        }
    }
    assert_eq!(r["summary"]["skipped_files"], 2, "notes.txt and the README");
    assert_eq!(r["connections"][2]["disconnect"]["http_status"], 403);
    assert_eq!(
        r["connections"][3]["disconnect"]["cause"],
        "certificate_expired"
    );
}

/// --only, --code, --server, --since/--until keep what they say and the
/// summary counts only what is kept; --fail-on abnormal exits 3.
#[test]
fn filters_and_fail_on() {
    let samples = format!("{}/samples", env!("CARGO_MANIFEST_DIR"));
    let (_, all, _) = json(&[&samples]);
    let total = all["summary"]["connections"].as_u64().unwrap();
    let (code, r, _) = json(&["--only", "abnormal", "--code", "1015,1006", &samples]);
    assert_eq!(code, 0);
    let conns = r["connections"].as_array().unwrap();
    assert!(!conns.is_empty());
    for c in conns {
        let d = &c["disconnect"];
        assert!(d["code"] == 1015 || d["code"] == 1006, "{d}");
    }
    assert_eq!(
        r["summary"]["connections"].as_u64().unwrap(),
        conns.len() as u64
    );
    assert_eq!(
        r["summary"]["filtered_out"].as_u64().unwrap() + conns.len() as u64,
        total
    );
    // By the name the client asked for, with the port.
    let (_, r, _) = json(&["--server", "localhost:8840", &samples]);
    let conns = r["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0]["server"], "127.0.0.1:8840");
    // By address, and a time window that holds nothing.
    let (_, r, _) = json(&["--server", "10.77.8.3", &samples]);
    assert_eq!(r["connections"].as_array().unwrap().len(), 1);
    let (_, r, _) = json(&["--until", "2000-01-01T00:00:00Z", &samples]);
    assert_eq!(r["summary"]["connections"], 0);
    let one = format!("{samples}/ws-loopback.pcap");
    let bad = format!("{samples}/ws-1011.pcap");
    assert_eq!(wsf(&["--fail-on", "abnormal", &one]).0, 0);
    assert_eq!(wsf(&["--fail-on", "abnormal", &bad]).0, 3);
    assert_eq!(wsf(&["--code", "12x", &one]).0, 2);
    assert_eq!(wsf(&["--since", "yesterday", &one]).0, 2);
}

/// The batch summary: disconnects by server, capture and hour, and the
/// servers with the most abnormal disconnects first.
#[test]
fn batch_summary_by_server_capture_and_hour() {
    let s = |n: &str| format!("{}/samples/{n}", env!("CARGO_MANIFEST_DIR"));
    let (_, r, _) = json(&[
        &s("tls12-expired.pcap"),
        &s("ws-retry-refused.pcap"),
        &s("wss-retry-expired.pcap"),
    ]);
    let sum = &r["summary"];
    let top: Vec<(&str, u64)> = sum["top_abnormal_servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["server"].as_str().unwrap(),
                t["abnormal"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        top,
        [
            ("127.0.0.1:8861", 4),
            ("127.0.0.1:8860", 3),
            ("127.0.0.1:8840", 1)
        ]
    );
    assert_eq!(sum["top_abnormal_servers"][0]["codes"][0], "1015 x4");
    let refused = &sum["by_server"]["127.0.0.1:8860"];
    assert_eq!(refused["disconnects"], 4);
    assert_eq!(refused["by_code"]["1006"], 3);
    assert_eq!(refused["by_code"]["1000"], 1);
    assert_eq!(
        sum["by_capture"][s("wss-retry-expired.pcap")]["abnormal"],
        4
    );
    let hours: u64 = sum["by_hour"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t["disconnects"].as_u64().unwrap())
        .sum();
    assert_eq!(hours, sum["connections"].as_u64().unwrap());
}

/// --shard K/N over the same inputs: the shards are disjoint and together
/// read every capture once.
#[test]
fn shards_partition_the_inputs() {
    let samples = format!("{}/samples", env!("CARGO_MANIFEST_DIR"));
    let (_, all, _) = json(&[&samples]);
    let paths = |r: &serde_json::Value| -> Vec<String> {
        r["captures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["path"].as_str().unwrap().to_string())
            .collect()
    };
    let mut seen = Vec::new();
    for k in 1..=3 {
        let (code, r, _) = json(&["--shard", &format!("{k}/3"), &samples]);
        assert_eq!(code, 0);
        let p = paths(&r);
        assert!(!p.is_empty(), "shard {k} is empty");
        seen.extend(p);
    }
    let mut want = paths(&all);
    seen.sort();
    want.sort();
    assert_eq!(seen, want);
    assert_eq!(wsf(&["--shard", "0/3", &samples]).0, 2);
}

/// Sharded NDJSON outputs merged: the same summary as one run over
/// everything, ids renumbered 1..n, and links between connections still
/// pointing at the right one.
#[test]
fn merge_of_shards_equals_one_run() {
    let samples = format!("{}/samples", env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let mut parts = Vec::new();
    for k in 1..=3 {
        let p = dir.path().join(format!("part-{k}.ndjson"));
        let shard = format!("{k}/3");
        let args = [
            "--shard",
            &shard,
            "--format",
            "ndjson",
            "-o",
            p.to_str().unwrap(),
            &samples,
        ];
        assert_eq!(wsf(&args).0, 0);
        parts.push(p.to_str().unwrap().to_string());
    }
    let mut args = vec!["merge"];
    args.extend(parts.iter().map(String::as_str));
    let (code, out, err) = wsf(&args);
    assert_eq!(code, 0, "{err}");
    let merged: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (_, whole, _) = json(&[&samples]);
    for k in [
        "connections",
        "by_code",
        "abnormal",
        "by_ended_by",
        "by_server",
        "by_capture",
        "by_hour",
        "top_abnormal_servers",
    ] {
        assert_eq!(merged["summary"][k], whole["summary"][k], "{k}");
    }
    let conns = merged["connections"].as_array().unwrap();
    for (i, c) in conns.iter().enumerate() {
        assert_eq!(c["id"], (i + 1).to_string());
    }
    // Every "connection N:" evidence line names a connection of the same
    // capture.
    let mut links = 0;
    for c in conns {
        for line in c["disconnect"]["evidence"].as_array().into_iter().flatten() {
            let Some(rest) = line.as_str().unwrap().strip_prefix("connection ") else {
                continue;
            };
            let id: usize = rest.split(':').next().unwrap().parse().unwrap();
            assert_eq!(conns[id - 1]["capture"], c["capture"], "{line}");
            links += 1;
        }
    }
    assert!(links >= 10, "only {links} links");
    let bad = dir.path().join("bad.ndjson");
    std::fs::write(&bad, "{\"not\": \"a connection\"}\n").unwrap();
    assert_eq!(wsf(&["merge", bad.to_str().unwrap()]).0, 1);
}

/// `merge` reads each line back into the report model and writes it with
/// a run's own writers: one run's NDJSON merged alone comes back byte for
/// byte (every field read back, none lost), and as one document it is the
/// run's JSON but for the captures, which NDJSON does not carry.
#[test]
fn merge_reads_back_what_a_run_wrote() {
    let samples = format!("{}/samples", env!("CARGO_MANIFEST_DIR"));
    // One key log: the other TLS sessions are counted as having no keys.
    let keys = format!("{samples}/decrypt-13-aes128-py.keys");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("all.ndjson");
    let p = p.to_str().unwrap();
    let run = ["--keylog", &keys, &samples];
    let mut args = vec!["--format", "ndjson", "-o", p];
    args.extend(run);
    assert_eq!(wsf(&args).0, 0);
    let (code, out, err) = wsf(&["merge", "--format", "ndjson", p]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, std::fs::read_to_string(p).unwrap());
    let (_, merged, _) = {
        let (code, out, err) = wsf(&["merge", p]);
        (
            code,
            serde_json::from_str::<serde_json::Value>(&out).unwrap(),
            err,
        )
    };
    let (_, mut whole, _) = json(&run);
    assert!(whole["summary"]["no_keys"].as_u64().unwrap() > 0);
    whole["captures"] = serde_json::json!([]);
    for k in ["captures", "unreadable_captures", "skipped_files"] {
        whole["summary"][k] = merged["summary"][k].clone();
    }
    assert_eq!(merged, whole);
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, _) = wsf(&["completions", shell]);
        assert_eq!(code, 0);
        assert!(
            out.contains("wsforensics") && out.contains("only"),
            "{shell}"
        );
    }
    let (code, out, _) = wsf(&["man"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(".TH wsforensics 1") && out.contains("ca\\-file"),
        "{}",
        &out[..200]
    );
    assert_eq!(wsf(&["completions", "tcsh"]).0, 2);
}

/// Colour on a terminal (a real pseudo-terminal from util-linux `script`),
/// none when piped, none with NO_COLOR, and --color always/never win.
#[test]
fn colour_only_on_a_terminal() {
    let bin = env!("CARGO_BIN_EXE_wsforensics");
    let sample = format!("{}/samples/ws-1011.pcap", env!("CARGO_MANIFEST_DIR"));
    let tty = |env: &[(&str, &str)], extra: &str| {
        let out = Command::new("script")
            .args(["-qec", &format!("{bin} {extra} {sample}"), "/dev/null"])
            .env_remove("NO_COLOR")
            .envs(env.iter().copied())
            .output()
            .expect("script (util-linux) runs the tool on a pseudo-terminal");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let esc = "\x1b[1;31m== 1011";
    assert!(tty(&[], "").contains(esc), "no colour on a terminal");
    assert!(
        !tty(&[("NO_COLOR", "1")], "").contains('\x1b'),
        "NO_COLOR ignored"
    );
    assert!(!tty(&[], "--color never").contains('\x1b'));
    let (_, piped, _) = wsf(&[&sample]);
    assert!(!piped.contains('\x1b'), "colour in a pipe");
    let (_, forced, _) = wsf(&["--color", "always", &sample]);
    assert!(forced.contains(esc));
}

/// NDJSON is written capture by capture while a batch runs; the lines are
/// the JSON report's connections, in the same order.
#[test]
fn streamed_ndjson_equals_the_json_report() {
    let samples = format!("{}/samples", env!("CARGO_MANIFEST_DIR"));
    let (_, doc, _) = json(&[&samples]);
    let (code, out, _) = wsf(&["--format", "ndjson", &samples]);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(&lines, doc["connections"].as_array().unwrap());
    assert!(lines.len() > 50);
}

/// The progress bar: drawn on a terminal's stderr (a pseudo-terminal from
/// util-linux `script`; WSF_PROGRESS_AFTER_MS=0 so a short run shows it),
/// never with --quiet, never when stderr is not a terminal.
#[test]
fn progress_bar_only_on_a_terminal() {
    let bin = env!("CARGO_BIN_EXE_wsforensics");
    let samples = format!("{}/samples", env!("CARGO_MANIFEST_DIR"));
    let tty = |extra: &str| {
        let out = Command::new("script")
            .args([
                "-qec",
                &format!("{bin} --jobs 1 --format json -o /dev/null {extra} {samples} {samples} {samples}"),
                "/dev/null",
            ])
            .env("WSF_PROGRESS_AFTER_MS", "0")
            .output()
            .expect("script (util-linux) runs the tool on a pseudo-terminal");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = tty("");
    assert!(
        shown.contains(" files, ") && shown.contains(" connections"),
        "{shown}"
    );
    assert!(!tty("--quiet").contains(" files, "));
    let out = Command::new(bin)
        .args(["--format", "json", "-o", "/dev/null", &samples])
        .env("WSF_PROGRESS_AFTER_MS", "0")
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `s` escaped as the HTML report escapes text from a capture.
fn html_escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The HTML report: one page that needs nothing from the network, shows
/// every abnormal connection with its verdict, evidence and fix, counts
/// the clean ones, and escapes what came off the wire (a Close reason
/// with markup in it).
#[test]
fn html_report_is_self_contained_and_complete() {
    let samples = format!("{}/samples", env!("CARGO_MANIFEST_DIR"));
    // A server Close 1011 whose reason is markup.
    let reason = b"<img src=x onerror=alert(1)>";
    let mut response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n".to_vec();
    response.extend_from_slice(&[0x88, 2 + reason.len() as u8, 0x03, 0xf3]);
    response.extend_from_slice(reason);
    let request = b"GET /chat HTTP/1.1\r\nHost: <b>evil</b>\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let f: Vec<_> = simple_conversation(request, &response)
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            (
                1_700_000_000_000_000_000 + i as i64 * 1000,
                p.clone(),
                p.len() as u32,
            )
        })
        .collect();
    let crafted = temp_capture("wsf-markup", &pcap(101, &f, false, false));
    let crafted = crafted.to_str().unwrap();
    let (code, doc, _) = json(&[&samples, crafted]);
    assert_eq!(code, 0);
    let (code, page, err) = wsf(&["--format", "html", &samples, crafted]);
    assert_eq!(code, 0, "{err}");
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.trim_end().ends_with("</html>"));
    // Nothing is fetched when the page is opened.
    for banned in [
        "<script", "<link", "<img", "<iframe", "src=\"", "url(", "@import",
    ] {
        assert!(!page.contains(banned), "page contains {banned}");
    }
    for href in page
        .match_indices("href=\"")
        .map(|(i, _)| &page[i + 6..i + 7])
    {
        assert_eq!(href, "#", "links stay inside the page");
    }
    assert!(page.contains(&html_escaped("<img src=x onerror=alert(1)>")));
    // Elements the page opens are closed.
    for tag in [
        "section", "article", "table", "tbody", "details", "svg", "g", "ol", "p",
    ] {
        let opened =
            page.matches(&format!("<{tag}>")).count() + page.matches(&format!("<{tag} ")).count();
        let closed = page.matches(&format!("</{tag}>")).count();
        assert_eq!(
            opened, closed,
            "<{tag}> opened {opened} times, closed {closed}"
        );
    }
    let conns = doc["connections"].as_array().unwrap();
    let mut abnormal = 0;
    let mut clean = 0;
    for c in conns {
        let Some(d) = c["disconnect"].as_object() else {
            continue;
        };
        let id = c["id"].as_str().unwrap();
        if d["category"] == "close_frame" && matches!(d["code"].as_u64(), Some(1000 | 1001)) {
            clean += 1;
            continue;
        }
        abnormal += 1;
        let at = page
            .find(&format!("<article id=\"conn-{id}\""))
            .unwrap_or_else(|| panic!("abnormal connection {id} missing"));
        let end = at + page[at..].find("</article>").unwrap();
        let entry = &page[at..end];
        for key in ["summary", "fix"] {
            let text = html_escaped(d[key].as_str().unwrap());
            assert!(entry.contains(&text), "{id}: {key} missing");
        }
        for e in d["evidence"].as_array().unwrap() {
            assert!(
                entry.contains(&html_escaped(e.as_str().unwrap())),
                "{id}: {e}"
            );
        }
    }
    assert_eq!(doc["summary"]["abnormal"].as_u64(), Some(abnormal));
    assert!(abnormal > 40 && clean > 10);
    assert!(page.contains(&format!("Abnormal disconnects: {abnormal}</h2>")));
    assert!(page.contains(&format!("Clean closes: {clean}</h2>")));
    assert_eq!(page.matches("<article id=\"conn-").count() as u64, abnormal);
    // The timeline has a row for the crafted server, with its 1011.
    assert!(page.contains("10.0.0.2:8080 (1/1)"));
    assert!(page.contains("1011 Internal Error: 1"));
}

/// Run the binary with `stdin` written into a pipe (not a seekable file),
/// a few hundred bytes per write. The writer stops quietly when the tool
/// stops reading.
fn wsf_piped(args: &[&str], stdin: Vec<u8>) -> (i32, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsforensics"))
        .args(args)
        .env_remove("SSLKEYLOGFILE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for piece in stdin.chunks(300) {
            if pipe.write_all(piece).is_err() {
                return;
            }
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run the binary with a file as its standard input (`wsforensics - <
/// file`).
fn wsf_redirected(args: &[&str], file: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wsforensics"))
        .args(args)
        .env_remove("SSLKEYLOGFILE")
        .stdin(std::fs::File::open(file).unwrap())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `wsforensics -` reads standard input, piped or redirected, plain,
/// gzip, zstd or pcapng, with any number of workers, and reports what the
/// file's path reports, with `-` for the path (in `captures[].path`,
/// `connections[].capture` and the warnings that name the file).
#[test]
fn stdin_gives_the_report_of_the_file_with_dash_for_its_path() {
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    for sample in [
        "ws-loopback.pcap",
        "ws-loopback.pcap.gz",
        "ws-loopback.pcap.zst",
        "ws-two-interfaces.pcapng",
        "ws-truncated.pcap",
    ] {
        let path = samples.join(sample);
        let p = path.to_str().unwrap();
        let (code, by_path, _) = wsf(&["--format", "json", p]);
        assert_eq!(code, 0, "{sample}");
        let want = by_path.replace(p, "-");
        let doc: serde_json::Value = serde_json::from_str(&want).unwrap();
        assert_eq!(doc["captures"][0]["path"], "-", "{sample}");
        assert!(!doc["connections"].as_array().unwrap().is_empty());
        for c in doc["connections"].as_array().unwrap() {
            assert_eq!(c["capture"], "-", "{sample}");
        }
        let bytes = std::fs::read(&path).unwrap();
        for jobs in ["1", "4"] {
            let args = ["--format", "json", "--jobs", jobs, "-"];
            let (code, piped, err) = wsf_piped(&args, bytes.clone());
            assert_eq!((code, err.as_str()), (0, ""), "{sample}");
            assert_eq!(piped, want, "{sample} piped, --jobs {jobs}");
            let (code, redirected, _) = wsf_redirected(&args, &path);
            assert_eq!(code, 0, "{sample}");
            assert_eq!(redirected, want, "{sample} redirected, --jobs {jobs}");
        }
    }
    // Text: the capture is named `-` too.
    let (code, text, _) = wsf_piped(&["-"], std::fs::read(samples.join("ws-1009.pcap")).unwrap());
    assert_eq!(code, 0);
    assert!(text.contains("capture - (pcap)"), "{text}");
}

/// Standard input among other paths keeps its place in the order.
#[test]
fn stdin_between_files_keeps_its_place() {
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let a = samples.join("ws-1009.pcap");
    let b = samples.join("ws-1008.pcap");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let gz = std::fs::read(samples.join("ws-loopback.pcap.gz")).unwrap();
    let (code, out, _) = wsf_piped(&["--format", "json", a, "-", b], gz);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let paths: Vec<&str> = doc["captures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, [a, "-", b]);
    assert_eq!(doc["captures"][1]["compression"], "gzip");
}

/// A stream cut inside a record, a gzip stream cut short, bytes that are
/// no capture, nothing at all: each is reported as for a file, naming `-`
/// and the offset, with the packets before the cut analysed.
#[test]
fn truncated_or_garbage_stdin_is_named_with_offset() {
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let pcap = std::fs::read(samples.join("ws-loopback.pcap")).unwrap();
    let gz = std::fs::read(samples.join("ws-loopback.pcap.gz")).unwrap();
    // Cut inside a record: a warning, the complete packets read, exit 0,
    // the same as the cut file gives.
    let cut = pcap[..2000].to_vec();
    let file = temp_capture("wsf-stdin-cut", &cut);
    let (_, from_file, _) = wsf(&["--format", "json", file.to_str().unwrap()]);
    let (code, out, _) = wsf_piped(&["--format", "json", "-"], cut);
    assert_eq!(code, 0);
    assert_eq!(out, from_file.replace(file.to_str().unwrap(), "-"));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let w = doc["captures"][0]["warnings"][0].as_str().unwrap();
    assert!(
        w.starts_with("-: offset ") && w.contains("file ends inside a packet record"),
        "{w}"
    );
    assert!(doc["captures"][0]["packets"].as_u64().unwrap() > 0);
    // gzip cut short: an error with the offset in the decompressed data,
    // exit 1, the packets before it still reported.
    let (code, out, err) = wsf_piped(&["--format", "json", "-"], gz[..gz.len() / 2].to_vec());
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let e = doc["captures"][0]["error"].as_str().unwrap();
    assert!(
        e.starts_with("-: offset ") && e.contains("decompression failed"),
        "{e}"
    );
    assert!(err.contains(e), "{err}");
    // Not a capture, and nothing at all.
    for (bytes, want) in [
        (
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            "-: offset 0: not a pcap or pcapng capture (starts with 47 45 54",
        ),
        (
            pcap[..10].to_vec(),
            "-: offset 0: file ends inside the capture header",
        ),
        (
            Vec::new(),
            "-: offset 0: nothing came on standard input, not a capture",
        ),
    ] {
        let (code, out, err) = wsf_piped(&["--format", "json", "-"], bytes);
        assert_eq!(code, 1, "{want}");
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        let e = doc["captures"][0]["error"].as_str().unwrap();
        assert!(e.starts_with(want), "{e}");
        assert!(err.contains(want), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Standard input can be read once: `-` twice is a usage error (exit 2,
/// nothing on stdout); a file named `-` is given as `./-`.
#[test]
fn dash_twice_is_a_usage_error() {
    let (code, out, err) = wsf_piped(&["-", "-"], Vec::new());
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("more than once") && err.contains("./-"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    std::fs::copy(samples.join("ws-1009.pcap"), dir.path().join("-")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wsforensics"))
        .args(["--format", "json", "./-"])
        .current_dir(dir.path())
        .env_remove("SSLKEYLOGFILE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["captures"][0]["path"], "./-");
}

/// A tar archive (here gzip'd) on standard input is read member by
/// member, like an archive file, its members named `-:MEMBER`.
#[test]
fn tar_archive_on_stdin() {
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let bytes = tar_gz(&[
        (
            "a/ws-1009.pcap",
            std::fs::read(samples.join("ws-1009.pcap")).unwrap(),
        ),
        ("a/README", b"not a capture\n".to_vec()),
        (
            "b/ws-two-interfaces.pcapng",
            std::fs::read(samples.join("ws-two-interfaces.pcapng")).unwrap(),
        ),
    ]);
    let archive = temp_capture("wsf-stdin-tar", &bytes);
    let a = archive.to_str().unwrap();
    let (code, by_path, _) = wsf(&["--format", "json", a]);
    assert_eq!(code, 0);
    let (code, piped, _) = wsf_piped(&["--format", "json", "-"], std::fs::read(&archive).unwrap());
    assert_eq!(code, 0);
    assert_eq!(piped, by_path.replace(&format!("{a}:"), "-:"));
    let doc: serde_json::Value = serde_json::from_str(&piped).unwrap();
    let paths: Vec<&str> = doc["captures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["-:a/ws-1009.pcap", "-:b/ws-two-interfaces.pcapng"]);
}

/// With standard input among the inputs the total size is not known: the
/// progress bar on a terminal is a spinner with the bytes read, no ETA.
#[test]
fn progress_on_stdin_has_no_total() {
    let bin = env!("CARGO_BIN_EXE_wsforensics");
    let sample = format!("{}/samples/ws-loopback.pcap", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("script")
        .args([
            "-qec",
            &format!("(cat {sample}; sleep 0.3) | {bin} --jobs 1 --format json -o /dev/null -"),
            "/dev/null",
        ])
        .env("WSF_PROGRESS_AFTER_MS", "0")
        .output()
        .expect("script (util-linux) runs the tool on a pseudo-terminal");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("0/1 files, "), "{shown}");
    assert!(!shown.contains("eta"), "{shown}");
}
