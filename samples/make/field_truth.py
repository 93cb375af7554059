#!/usr/bin/env python3
"""Write the .truth.json of a field-shaped sample (see field-midstream.sh,
field-snap.sh, field-ring.sh and samples/README.md, "Field-shaped captures").

usage: field_truth.py TARGET --logs NAME --out FILE [--reference FULL]
                      [--keylog KEYS] [--tls] [--midstream] [--made-by TEXT]

TARGET is a capture, or a ring directory (its files are merged with
`mergecap -w` into a temporary file, and every frame is also given as the
file it is in and its number there). FULL is a capture of the same traffic
taken at the same time with the whole packets (the snaplen samples; a ring
that wrapped): the WebSocket and TLS decoding is done on FULL, and each
packet is found again in TARGET by its TCP addressing (ports, raw sequence
and acknowledgement numbers, length, flags, window; the n-th copy of a key
is matched with the n-th). Without --reference, TARGET is decoded itself.

Decoding: tshark with `-d tcp.port==P,http` (or `-d tcp.port==P,websocket`
with --midstream, where no upgrade is in the capture; with --tls, `-d
tcp.port==P,tls -d tls.port==P,http` and the key log) gives every
WebSocket Close frame, the upgrade's status and the TLS alerts. For
plaintext captures an independent decoder here (`raw`) walks each
direction's reassembled bytes from the end of the HTTP header (or, mid-
stream, from the first data segment) frame by frame, unmasks Close
payloads and checks tshark's Close frames; it also gives, mid-stream, the
first frame whose TCP payload starts with a WebSocket frame header in each
direction. Endpoint logs are samples/field-logs/NAME-PORT-{client,server}.log.
"""
import argparse
import glob
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
LOGDIR = os.path.join(HERE, "..", "field-logs")

# Which program ran on each server port, and what the script made it do.
SCENARIOS = {
    8900: ("server-1001", "Python websockets client", "server Close 1001 'going away'"),
    8901: ("client-1000", "Node ws client", "client Close 1000 'client done'"),
    8902: ("server-4000", "Python websockets client", "server Close 4000 'session expired'"),
    8903: ("server-1011", "Node ws client", "server handler raises RuntimeError; websockets closes with 1011"),
    8904: ("client-killed", "Python websockets client", "client process SIGKILLed, no Close frame"),
    8905: ("deflate-1000", "Python websockets client", "permessage-deflate, client Close 1000 'done'"),
    8906: ("idle-1001", "Python websockets client", "silent during the capture; server Close 1001 'going away', client echo"),
    8910: ("client-1000", "Python websockets client", "client Close 1000 'client done'"),
    8911: ("server-1001", "Python websockets client", "server Close 1001 'going away'"),
    8912: ("client-4000", "Node ws client", "client Close 4000 'app shutdown'"),
    8913: ("refuse-403", "Python websockets client", "upgrade refused with HTTP 403"),
    8914: ("server-killed", "Python websockets client", "server process SIGKILLed, no Close frame"),
    8915: ("big-1000", "Python websockets client", "messages of 1500, 5000, 100000 bytes, then client Close 1000"),
    8920: ("client-1000", "Python websockets client (wss)", "client Close 1000 'client done'"),
    8921: ("server-1001", "Python websockets client (wss)", "server Close 1001 'going away'"),
    8922: ("server-4000", "Python websockets client (wss)", "server Close 4000 'session expired'"),
    8923: ("tls-reject", "Python websockets sync client (wss)",
           "server certificate from the rogue root: the client rejects it (unknown CA)"),
    8930: ("client-1000", "Python websockets client", "client Close 1000 'client done'"),
    8931: ("server-1001", "Python websockets client", "server Close 1001 'going away'"),
    8932: ("server-4000", "Python websockets client", "server Close 4000 'session expired'"),
    8933: ("client-4000", "Node ws client", "client Close 4000 'app shutdown'"),
    8934: ("client-killed", "Python websockets client", "client process SIGKILLed, no Close frame"),
    8935: ("server-1011", "Python websockets client", "server handler raises; 1011"),
}

FIELDS = ["frame.number", "frame.time_epoch", "frame.len", "frame.cap_len", "tcp.stream",
          "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack",
          "tcp.flags.fin", "tcp.flags.reset", "tcp.seq_raw", "tcp.ack_raw", "tcp.len",
          "tcp.window_size_value", "tcp.payload", "http.request.method", "http.request.uri",
          "http.response.code", "websocket.opcode", "websocket.mask",
          "websocket.payload.close.status_code", "websocket.payload.close.reason",
          "tls.record.content_type", "tls.alert_message.level", "tls.alert_message.desc",
          "tls.handshake.type"]
ALERTS = {0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 40: "handshake_failure",
          42: "bad_certificate", 45: "certificate_expired", 46: "certificate_unknown",
          48: "unknown_ca", 50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
          80: "internal_error", 116: "certificate_required"}


def tshark(*args):
    r = subprocess.run(["tshark", *args], capture_output=True, text=True)
    if r.returncode not in (0, 2):
        raise SystemExit(f"tshark {args}: {r.stderr}")
    return r.stdout


def rows(cap, decode, extra=()):
    out = tshark("-r", cap, *decode, *extra, "-T", "fields", *sum([["-e", f] for f in FIELDS], []),
                 "-E", "separator=\t", "-E", "aggregator=\x1e", "-E", "occurrence=a")
    res = []
    for line in out.split("\n"):  # not splitlines(): it splits at the aggregator \x1e too
        if not line:
            continue
        v = dict(zip(FIELDS, line.split("\t")))
        res.append(v)
    return res


def ring_files(d):
    """Ring files in the order they were written: dumpcap's _NNNNN_ number,
    tcpdump's numeric suffix (x.pcap, x.pcap1, x.pcap2, ..., x.pcap10)."""
    names = [n for n in os.listdir(d) if ".pcap" in n and not n.endswith(".json")]

    def key(n):
        m = re.search(r"_(\d{5})_\d{14}\.", n)
        if m:
            return int(m.group(1))
        m = re.search(r"\.pcap(\d*)$", n)
        return int(m.group(1) or 0)
    return sorted(names, key=key)


def pkt_key(v):
    return (v["tcp.srcport"], v["tcp.dstport"], v["tcp.seq_raw"], v["tcp.ack_raw"], v["tcp.len"],
            v["tcp.flags.syn"], v["tcp.flags.fin"], v["tcp.flags.reset"], v["tcp.window_size_value"])


def frame_map(ref_rows, tgt_rows):
    """reference frame number -> target frame number (None if absent)."""
    where = {}
    for v in tgt_rows:
        where.setdefault(pkt_key(v), []).append(int(v["frame.number"]))
    m = {}
    seen = {}
    for v in ref_rows:
        k = pkt_key(v)
        i = seen.get(k, 0)
        seen[k] = i + 1
        lst = where.get(k, [])
        m[int(v["frame.number"])] = lst[i] if i < len(lst) else None
    return m


def ep(v, side):
    return f"{v['ip.' + side]}:{v['tcp.' + side + 'port']}"


def raw_decode(segs, midstream):
    """segs: [(frame, seq, payload bytes)] of one direction in frame order.
    Returns (http, frames, note): http = (frame, first line) or None;
    frames = [{header_frame, end_frame, fin, rsv, opcode, masked, length,
    code, reason}]; the first payload byte of a segment that begins a header
    is flagged by 'at_segment_start'."""
    data = b""
    starts = []  # (offset, frame)
    nxt = None
    for frame, seq, pl in segs:
        if not pl:
            continue
        if nxt is not None and seq != nxt:
            d = (seq - nxt) % (1 << 32)
            if d > (1 << 31):  # old data: keep only the new part
                skip = (nxt - seq) % (1 << 32)
                pl = pl[skip:]
                if not pl:
                    continue
            else:
                return None, [], f"gap of {d} bytes before frame {frame}"
        starts.append((len(data), frame))
        data += pl
        nxt = (seq + len(pl)) % (1 << 32) if nxt is None or seq == nxt else (nxt + len(pl)) % (1 << 32)

    def frame_at(off):
        f = None
        for o, fr in starts:
            if o <= off:
                f = fr
            else:
                break
        return f
    seg_starts = {o for o, _ in starts}
    off = 0
    http = None
    if data.startswith(b"GET ") or data.startswith(b"HTTP/"):
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return None, [], "HTTP header not complete"
        http = (frame_at(0), data[:data.find(b"\r\n")].decode())
        off = end + 4
        if data.startswith(b"HTTP/") and b" 101 " not in data[:20]:
            return http, [], "upgrade refused"
    frames = []
    while off < len(data):
        h = off
        if len(data) - off < 2:
            return http, frames, f"{len(data) - off} bytes left after the last frame"
        b0, b1 = data[off], data[off + 1]
        n = b1 & 0x7F
        off += 2
        if n == 126:
            n = struct.unpack_from(">H", data, off)[0]
            off += 2
        elif n == 127:
            n = struct.unpack_from(">Q", data, off)[0]
            off += 8
        key = None
        if b1 & 0x80:
            key = data[off:off + 4]
            off += 4
        payload = data[off:off + n]
        f = {"header_frame": frame_at(h), "end_frame": frame_at(min(off + n, len(data)) - 1),
             "at_segment_start": h in seg_starts, "fin": b0 >> 7, "rsv": (b0 >> 4) & 7,
             "opcode": b0 & 0xF, "masked": bool(key), "length": n}
        if len(payload) < n:
            f["incomplete"] = True
        if key:
            payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
        if f["opcode"] == 8:
            f["code"] = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
            f["reason"] = payload[2:].decode(errors="replace")
        frames.append(f)
        off += n
    return http, frames, None


def logged(name, port):
    out = {}
    for role in ("client", "server"):
        p = os.path.join(LOGDIR, f"{name}-{port}-{role}.log")
        if not os.path.exists(p):
            continue
        keep = []
        for line in open(p, errors="replace"):
            line = line.rstrip("\n")
            if re.search(r"ended:|Close|close|SIGKILL|refus|Error|error|connected to|opened|failed|Task exception", line) \
                    and not line.startswith(("  ", "Traceback", "$")):
                keep.append(line)
        out[role] = {"log": os.path.relpath(p, os.path.join(HERE, "..")), "lines": keep}
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("target")
    p.add_argument("--logs", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--reference")
    p.add_argument("--keylog")
    p.add_argument("--tls", action="store_true")
    p.add_argument("--midstream", action="store_true")
    p.add_argument("--made-by", default="")
    p.add_argument("--notes", default="")
    a = p.parse_args()

    tmp = tempfile.mkdtemp(prefix="wsf-truth.")
    files = None
    target = a.target
    if os.path.isdir(a.target):
        names = ring_files(a.target)
        merged = os.path.join(tmp, "merged.pcapng")
        subprocess.run(["mergecap", "-w", merged, *[os.path.join(a.target, n) for n in names]], check=True)
        files = []
        first = 1
        for n in names:
            c = len(tshark("-r", os.path.join(a.target, n), "-T", "fields", "-e", "frame.number").split())
            files.append({"file": n, "packets": c, "merged_frames": [first, first + c - 1] if c else None})
            first += c
        target = merged
    ref = a.reference or target

    # Which ports are ours: every server port of SCENARIOS seen in the capture.
    plain = rows(ref, [])
    ports = sorted({int(v[k]) for v in plain for k in ("tcp.srcport", "tcp.dstport")} & set(SCENARIOS))
    decode = []
    extra = []
    for port in ports:
        if a.tls:
            decode += ["-d", f"tcp.port=={port},tls", "-d", f"tls.port=={port},http"]
        elif a.midstream:
            decode += ["-d", f"tcp.port=={port},websocket"]
        else:
            decode += ["-d", f"tcp.port=={port},http"]
    if a.keylog:
        extra = ["-o", f"tls.keylog_file:{a.keylog}"]
    rr = rows(ref, decode, extra)
    tr = rows(target, []) if ref != target else rr
    fmap = frame_map(rr, tr) if ref != target else {int(v["frame.number"]): int(v["frame.number"]) for v in rr}
    tgt_by_frame = {int(v["frame.number"]): v for v in tr}
    # tshark's own view of the target (what it can decode there)
    own = rows(target, decode, extra) if ref != target else rr
    own_by_frame = {int(v["frame.number"]): v for v in own}
    # ... and with the ports decoded as WebSocket from their first byte on
    own_ws = rows(target, sum([["-d", f"tcp.port=={p},websocket"] for p in ports], [])) \
        if ref != target and not a.tls else []

    def where(ref_frame):
        f = fmap.get(ref_frame)
        d = {"frame": f}
        if files and f:
            for x in files:
                if x["merged_frames"] and x["merged_frames"][0] <= f <= x["merged_frames"][1]:
                    d["file"] = x["file"]
                    d["frame_in_file"] = f - x["merged_frames"][0] + 1
        return d

    conns = {}
    for v in rr:
        if not v["tcp.stream"]:
            continue
        sp, dp = int(v["tcp.srcport"]), int(v["tcp.dstport"])
        sport = dp if dp in SCENARIOS else sp
        client_side = dp == sport
        cl = ep(v, "src") if client_side else ep(v, "dst")
        sv = ep(v, "dst") if client_side else ep(v, "src")
        c = conns.setdefault((cl, sv), {"port": sport, "rows": []})
        c["rows"].append((client_side, v))

    out = []
    for (cl, sv), c in sorted(conns.items(), key=lambda kv: int(kv[1]["rows"][0][1]["frame.number"])):
        port = c["port"]
        scen = SCENARIOS[port]
        rws = c["rows"]
        present = [(cs, v) for cs, v in rws if fmap.get(int(v["frame.number"]))]
        if not present:
            continue
        conn = {"client": cl, "server": sv, "scenario": scen[0], "client_program": scen[1],
                "server_program": "Python websockets 17.4 server (asyncio)", "script_did": scen[2]}
        tf = [fmap[int(v["frame.number"])] for _, v in present]
        conn["first_frame"], conn["last_frame"], conn["packets"] = min(tf), max(tf), len(tf)
        if files:
            conn["first_file"] = where(int(present[0][1]["frame.number"])).get("file")
            conn["last_file"] = where(int(present[-1][1]["frame.number"])).get("file")
            conn["files_spanned"] = len({where(int(v["frame.number"])).get("file") for _, v in present})
        if ref != target:
            conn["packets_in_reference"] = len(rws)
        conn["syn_in_capture"] = any(v["tcp.flags.syn"] == "1" for _, v in present)
        sender = lambda cs: "client" if cs else "server"

        # upgrade
        up = {"request_frame": None, "response_frame": None, "http_status": None}
        for cs, v in present:
            fr = int(v["frame.number"])
            if v["http.request.method"] and up["request_frame"] is None:
                up["request_frame"] = where(fr)["frame"]
                up["request_uri"] = v["http.request.uri"]
            if v["http.response.code"] and up["response_frame"] is None:
                up["response_frame"] = where(fr)["frame"]
                up["http_status"] = int(v["http.response.code"].split("\x1e")[0])
        conn["upgrade"] = up

        # Close frames (tshark)
        closes = []
        for cs, v in present:
            ops = v["websocket.opcode"].split("\x1e") if v["websocket.opcode"] else []
            codes = v["websocket.payload.close.status_code"].split("\x1e") if v["websocket.payload.close.status_code"] else []
            reasons = v["websocket.payload.close.reason"].split("\x1e") if v["websocket.payload.close.reason"] else []
            ci = 0
            for op in ops:
                if op == "8":
                    fr = int(v["frame.number"])
                    d = {"sender": sender(cs), **where(fr),
                         "code": int(codes[ci]) if ci < len(codes) else None,
                         "reason": reasons[ci] if ci < len(reasons) else "", "source": "tshark"}
                    if ref != target:
                        d["reference_frame"] = fr
                    closes.append(d)
                    ci += 1
        ws_counts = {"client_to_server": {}, "server_to_client": {}}
        for cs, v in present:
            for op in (v["websocket.opcode"].split("\x1e") if v["websocket.opcode"] else []):
                k = "client_to_server" if cs else "server_to_client"
                ws_counts[k][op] = ws_counts[k].get(op, 0) + 1
        conn["tshark_websocket_opcodes"] = ws_counts

        # independent raw decode (plaintext only)
        if not a.tls:
            raw = {}
            for cs in (True, False):
                segs = [(int(v["frame.number"]), int(v["tcp.seq_raw"]), bytes.fromhex(v["tcp.payload"].replace(":", "")))
                        for s, v in rws if s == cs and v["tcp.len"] not in ("", "0")]
                http, frames, note = raw_decode(segs, a.midstream)
                k = "client_to_server" if cs else "server_to_client"
                raw[k] = {"frames": len(frames), "note": note,
                          "masked": sorted({f["masked"] for f in frames}),
                          "rsv1_frames": sum(1 for f in frames if f["rsv"] & 4),
                          "opcodes": {str(o): sum(1 for f in frames if f["opcode"] == o)
                                      for o in sorted({f["opcode"] for f in frames})}}
                rc = [f for f in frames if f["opcode"] == 8]
                raw[k]["close"] = [{**where(f["header_frame"]), "code": f["code"], "reason": f["reason"]} for f in rc]
                if a.midstream and frames:
                    f0 = frames[0]
                    raw[k]["first_header_frame"] = where(f0["header_frame"])["frame"]
                    raw[k]["first_header_at_segment_start"] = f0["at_segment_start"]
                elif frames and not any(fmap.get(int(v["frame.number"])) for _, v in rws if v["tcp.flags.syn"] == "1"):
                    # a ring that wrapped: the first frame kept here whose TCP payload starts with a header
                    f0 = next((f for f in frames if fmap.get(f["header_frame"]) and f["at_segment_start"]), None)
                    raw[k]["first_header_frame"] = where(f0["header_frame"])["frame"] if f0 else None
                    raw[k]["first_header_at_segment_start"] = True if f0 else None
                # tshark's and the raw decoder's Close frames must agree
                tk = [(x["frame"], x["code"], x["reason"]) for x in closes if x["sender"] == sender(cs)]
                rk = [(x["frame"], x["code"], x["reason"]) for x in raw[k]["close"]]
                raw[k]["close_agrees_with_tshark"] = tk == rk
                if tk != rk:
                    print(f"MISMATCH {cl} {k}: tshark {tk} raw {rk}", file=sys.stderr)
            conn["raw_decoder"] = raw
            if not conn["syn_in_capture"]:
                conn["first_ws_header_frame"] = {k: raw[k].get("first_header_frame") for k in raw}
        closes.sort(key=lambda x: x["frame"])
        conn["close_frames"] = closes

        # TLS alerts (plaintext ones, and decrypted ones with the key log)
        alerts = []
        for cs, v in present:
            if v["tls.alert_message.desc"]:
                for lvl, desc in zip(v["tls.alert_message.level"].split("\x1e"), v["tls.alert_message.desc"].split("\x1e")):
                    fr = int(v["frame.number"])
                    d = {"sender": sender(cs), **where(fr), "level": int(lvl), "code": int(desc),
                         "description": ALERTS.get(int(desc), desc)}
                    own_v = own_by_frame.get(fmap[fr], {})
                    d["readable_without_keys"] = bool(own_v.get("tls.alert_message.desc")) if not a.keylog else None
                    alerts.append(d)
        if a.tls:
            if a.keylog:
                plain_by = {int(v["frame.number"]): v for v in rows(ref, decode)}
                for x in alerts:
                    x["readable_without_keys"] = bool(plain_by.get(x.get("reference_frame") or
                                                                   [k for k, t in fmap.items() if t == x["frame"]][0], {}).get("tls.alert_message.desc"))
            conn["tls_alerts"] = alerts
            hs = sorted({t for _, v in present for t in v["tls.handshake.type"].split("\x1e") if t})
            conn["tls_handshake_types_seen"] = [int(t) for t in hs]
            conn["tls_application_data_records"] = sum(
                v["tls.record.content_type"].split("\x1e").count("23") for _, v in present)

        # TCP end
        ends = []
        for cs, v in present:
            for kind, flag in (("fin", "tcp.flags.fin"), ("rst", "tcp.flags.reset")):
                if v[flag] == "1":
                    ends.append({"kind": kind, "sender": sender(cs), **where(int(v["frame.number"]))})
        conn["tcp_end"] = {"ended_by": "rst" if any(e["kind"] == "rst" for e in ends) else "fin" if ends else "capture_end",
                           "first": ends[0] if ends else None, "fin_and_rst_frames": ends}

        # snaplen: is each Close frame whole in the target?
        for x in closes:
            t = tgt_by_frame.get(x["frame"])
            if t:
                x["target_frame_len"] = int(t["frame.len"])
                x["target_cap_len"] = int(t["frame.cap_len"])
                x["tcp_payload_captured"] = len(t["tcp.payload"].replace(":", "")) // 2
                x["tcp_payload_len"] = int(t["tcp.len"])
                ov = own_by_frame.get(x["frame"], {})
                x["tshark_decodes_it_in_this_file"] = "8" in ov.get("websocket.opcode", "").split("\x1e")
        if ref != target:
            conn["tshark_in_this_file"] = {
                "http_status": next((int(v["http.response.code"].split("\x1e")[0]) for v in own
                                     if v["http.response.code"] and int(v["frame.number"]) in tf and v["tcp.srcport"] == str(port)), None),
                "close_frames": [{"frame": int(v["frame.number"]),
                                  "code": v["websocket.payload.close.status_code"] or None,
                                  "reason": v["websocket.payload.close.reason"] or None}
                                 for v in own if int(v["frame.number"]) in tf and "8" in v["websocket.opcode"].split("\x1e")],
                "close_frames_with_decode_as_websocket": [
                    {"frame": int(v["frame.number"]),
                     "code": v["websocket.payload.close.status_code"] or None,
                     "reason": v["websocket.payload.close.reason"] or None}
                    for v in own_ws if int(v["frame.number"]) in tf and "8" in v["websocket.opcode"].split("\x1e")
                    # (the HTTP response itself reads as opcode 8: "H" is 0x48)
                    and int(v["frame.number"]) > (up["response_frame"] or 0)]
                if not a.tls else None,
                "plaintext_alerts": [{"frame": int(v["frame.number"]), "desc": v["tls.alert_message.desc"]}
                                     for v in own if int(v["frame.number"]) in tf and v["tls.alert_message.desc"]],
            }

        # expected verdict, from the rules of issue 18
        hs_failed = a.tls and alerts and not conn.get("tls_application_data_records") and not closes
        if a.tls and not closes and up["http_status"] is None and any(x["level"] == 2 for x in alerts):
            hs_failed = True
        if hs_failed:
            al = next(x for x in alerts if x["level"] == 2)
            exp = {"code": 1015, "category": "tls_handshake", "initiator": al["sender"], "http_status": None,
                   "alert": al["description"]}
        elif up["http_status"] not in (None, 101):
            exp = {"code": 1006, "category": "http_upgrade", "initiator": "server",
                   "http_status": up["http_status"], "alert": None}
        elif closes:
            f = closes[0]
            exp = {"code": f["code"] if f["code"] is not None else 1005, "category": "close_frame",
                   "initiator": f["sender"], "http_status": up["http_status"], "alert": None}
        elif ends:
            exp = {"code": 1006, "category": "tcp_abort", "initiator": ends[0]["sender"],
                   "http_status": up["http_status"], "alert": None}
        else:
            exp = {"code": 1006, "category": "capture_end", "initiator": "none",
                   "http_status": up["http_status"], "alert": None}
        conn["expected"] = exp
        conn["logged"] = logged(a.logs, port)
        out.append(conn)

    fmt = "pcapng" if open(target, "rb").read(4) == b"\x0a\x0d\x0d\x0a" else "pcap"
    doc = {"capture": os.path.basename(a.target.rstrip("/")),
           "format": fmt if not files else sorted({"pcapng" if open(os.path.join(a.target, x["file"]), "rb").read(4) == b"\x0a\x0d\x0d\x0a" else "pcap" for x in files}),
           "packets": len(tr),
           "made_by": a.made_by,
           "tshark_version": tshark("--version").splitlines()[0],
           "decoded_with": " ".join(["tshark", *decode, *(["-o", "tls.keylog_file:" + os.path.basename(a.keylog)] if a.keylog else [])]),
           "reference": os.path.basename(a.reference) + " (full packets, captured at the same time; not committed)" if a.reference else None,
           "notes": a.notes}
    if ref != target:
        doc["packets_in_reference"] = len(rr)
        doc["reference_packets_missing_here"] = sum(1 for f in fmap.values() if f is None)
    if files:
        doc["files"] = files
        doc["merged_with"] = "mergecap -w (files in the order they were written)"
    doc["connections"] = out
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    for c in out:
        e = c["expected"]
        print(f"{doc['capture']}: {c['client']} -> {c['server']} {c['scenario']}: {e['code']} {e['category']} "
              f"{e['initiator']} closes={[(x['frame'], x['sender'], x['code']) for x in c['close_frames']]} "
              f"end={c['tcp_end']['ended_by']}")
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
