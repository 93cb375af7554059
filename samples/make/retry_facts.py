#!/usr/bin/env python3
"""Record the facts of a retry sample as samples/<capture>.retry.json, from
tshark (see retry-samples.sh and samples/README.md, "Retries, refusals and
happy eyeballs").

usage: retry_facts.py CAPTURE --decode-as tcp.port==PORT,http|tls
                      [--log ROLE=FILE ...] [--happy-eyeballs NAME:S1,S2]
                      [--notes TEXT]

Per TCP stream (tshark's tcp.stream): client (sender of the first SYN),
server, first and last frame, packets, the frames of the client's SYNs,
what answered the first SYN (`syn-ack`, `rst` or `none`) and in which
frame, every RST and FIN frame with its sender, what the stream carried
(`websocket` when tshark decodes a WebSocket frame or a 101, `tls` when it
decodes a TLS record, else null) with the WebSocket Close frames (frame,
sender, code, reason) or the TLS alerts (frame, sender, level,
description; plaintext ones only, as tshark shows them), the host name the
client asked for (TLS SNI or HTTP Host), and the first and last frame's
time (`start_epoch`, `end_epoch`, as tshark prints frame.time_epoch).

`attempts`: the streams of one client address to one server address and
port, in order of their first frame, with `gaps_s`: for each stream after
the first, its start minus the previous stream's end, in seconds.
`happy_eyeballs` (from --happy-eyeballs NAME:S1,S2, given by the script
because a refused SYN carries no host name): the two streams, the name,
and the gap from the first one's start, and from its end, to the second's
start.

`logged`: what each program printed (--log ROLE=FILE), line by line,
verbatim, without Python traceback bodies (lines that do not start with a
timestamp) and, of Node's NODE_DEBUG=net output, only its `connect` lines.
The whole logs are in samples/retry-logs/.
"""
import argparse
import json
import os
import re
import subprocess


def tshark(*args):
    r = subprocess.run(["tshark", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"tshark {args}: {r.stderr}")
    return r.stdout


def endpoint(ip, port):
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


FIELDS = ["frame.number", "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst",
          "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin", "tcp.flags.reset",
          "frame.time_epoch", "tcp.len", "websocket.opcode", "websocket.payload.close.status_code",
          "websocket.payload.close.reason", "http.response.code", "http.host", "tls.record.content_type",
          "tls.handshake.type", "tls.handshake.extensions_server_name", "tls.alert_message.level",
          "tls.alert_message.desc"]


def keep_line(line):
    if line.startswith("NET "):
        return re.match(r"^NET \d+: connect", line) is not None
    return bool(re.match(r"^(\d{9,}\.\d+ |\$ )", line))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("capture")
    p.add_argument("--decode-as", required=True)
    p.add_argument("--log", action="append", default=[])
    p.add_argument("--happy-eyeballs")
    p.add_argument("--notes", default="")
    a = p.parse_args()
    rows = tshark("-r", a.capture, "-d", a.decode_as, "-T", "fields",
                  *sum([["-e", f] for f in FIELDS], []), "-E", "separator=|", "-E", "occurrence=a",
                  "-E", "aggregator=,")
    streams = {}
    for line in rows.splitlines():
        v = dict(zip(FIELDS, line.split("|")))
        if v["tcp.stream"] == "":
            continue
        num = int(v["frame.number"])
        src = endpoint(v["ip.src"] or v["ipv6.src"], v["tcp.srcport"])
        dst = endpoint(v["ip.dst"] or v["ipv6.dst"], v["tcp.dstport"])
        s = streams.setdefault(int(v["tcp.stream"]), {
            "frames": [], "client": None, "first": (src, dst), "start": v["frame.time_epoch"],
            "syns": [], "answer": None, "rsts": [], "fins": [], "ws": False, "tls": False,
            "closes": [], "alerts": [], "host": None, "status": None})
        s["frames"].append(num)
        s["end"] = v["frame.time_epoch"]
        syn, ack = v["tcp.flags.syn"] == "1", v["tcp.flags.ack"] == "1"
        if syn and not ack:
            s["client"] = s["client"] or (src, dst)
            s["syns"].append(num)
        client, server = s["client"] or s["first"]
        side = "client" if src == client else "server"
        if s["answer"] is None and side == "server" and s["syns"]:
            if syn and ack:
                s["answer"] = ("syn-ack", num)
            elif v["tcp.flags.reset"] == "1":
                s["answer"] = ("rst", num)
        if v["tcp.flags.reset"] == "1":
            s["rsts"].append({"frame": num, "from": side})
        if v["tcp.flags.fin"] == "1":
            s["fins"].append({"frame": num, "from": side})
        if v["websocket.opcode"] or v["http.response.code"] == "101":
            s["ws"] = True
        if v["http.response.code"]:
            s["status"] = int(v["http.response.code"])
        if v["http.host"]:
            s["host"] = v["http.host"].split(",")[0]
        if v["tls.handshake.extensions_server_name"]:
            s["host"] = v["tls.handshake.extensions_server_name"].split(",")[0]
        if v["tls.record.content_type"]:
            s["tls"] = True
        ops = v["websocket.opcode"].split(",") if v["websocket.opcode"] else []
        codes = v["websocket.payload.close.status_code"].split(",") if v["websocket.payload.close.status_code"] else []
        reasons = v["websocket.payload.close.reason"].split(",") if v["websocket.payload.close.reason"] else []
        for i, op in enumerate([o for o in ops if o == "8"]):
            s["closes"].append({"frame": num, "from": side,
                                "code": int(codes[i]) if i < len(codes) else None,
                                "reason": reasons[i] if i < len(reasons) else ""})
        if v["tls.alert_message.desc"]:
            for lvl, desc in zip(v["tls.alert_message.level"].split(","), v["tls.alert_message.desc"].split(",")):
                s["alerts"].append({"frame": num, "from": side, "level": int(lvl), "description": int(desc)})
    out_streams = []
    for idx in sorted(streams):
        s = streams[idx]
        client, server = s["client"] or s["first"]
        carried = "websocket" if s["ws"] else "tls" if s["tls"] else None
        e = {
            "stream": idx, "client": client, "server": server,
            "first_frame": s["frames"][0], "last_frame": s["frames"][-1], "packets": len(s["frames"]),
            "syn_frames": s["syns"],
            "syn_answer": s["answer"][0] if s["answer"] else "none",
            "syn_answer_frame": s["answer"][1] if s["answer"] else None,
            "rst_frames": s["rsts"], "fin_frames": s["fins"],
            "carried": carried, "host": s["host"],
        }
        if carried == "websocket":
            e["http_status"] = s["status"]
            e["close_frames"] = s["closes"]
        if carried == "tls":
            e["tls_alerts"] = s["alerts"]
        e["start_epoch"] = s["start"]
        e["end_epoch"] = s["end"]
        e["duration_s"] = round(float(s["end"]) - float(s["start"]), 6)
        out_streams.append(e)

    def ip_of(ep):
        return ep.rsplit(":", 1)[0].strip("[]")

    groups = {}
    for e in sorted(out_streams, key=lambda e: (float(e["start_epoch"]), e["stream"])):
        groups.setdefault((ip_of(e["client"]), e["server"]), []).append(e)
    attempts = []
    for (cip, server), es in groups.items():
        attempts.append({
            "client": cip, "server": server, "streams": [e["stream"] for e in es],
            "gaps_s": [round(float(b["start_epoch"]) - float(a_["end_epoch"]), 6) for a_, b in zip(es, es[1:])],
        })
    facts = {
        "capture": os.path.basename(a.capture),
        "tshark_version": tshark("--version").splitlines()[0],
        "decode_as": a.decode_as,
        "streams": out_streams,
        "attempts": attempts,
    }
    if a.happy_eyeballs:
        name, pair = a.happy_eyeballs.split(":")
        s1, s2 = (out_streams[int(x)] for x in pair.split(","))
        facts["happy_eyeballs"] = {
            "name": name, "streams": [s1["stream"], s2["stream"]],
            "families": ["IPv6" if ":" in ip_of(s["client"]) else "IPv4" for s in (s1, s2)],
            "gap_from_start_s": round(float(s2["start_epoch"]) - float(s1["start_epoch"]), 6),
            "gap_from_end_s": round(float(s2["start_epoch"]) - float(s1["end_epoch"]), 6),
        }
    logged = {}
    for spec in a.log:
        role, path = spec.split("=", 1)
        with open(path, errors="replace") as f:
            logged[role] = [ln.rstrip("\n") for ln in f if keep_line(ln.rstrip("\n"))]
    facts["logged"] = logged
    facts["notes"] = a.notes
    path = a.capture + ".retry.json"
    with open(path, "w") as f:
        json.dump(facts, f, indent=2)
        f.write("\n")
    print(path, len(out_streams), "streams")


if __name__ == "__main__":
    main()
