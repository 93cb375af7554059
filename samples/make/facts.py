#!/usr/bin/env python3
"""Record what tshark sees in a capture, as samples/<capture>.facts.json.

usage: facts.py CAPTURE [--as NAME] [--truncated-at OFFSET] [--notes TEXT]

Per TCP stream (tshark's tcp.stream): client (sender of the first SYN
without ACK, else the first packet's sender), server, first and last frame,
packet count, how it ended, and each direction's reassembled payload from
`tshark -z follow,tcp,raw`, by length and SHA-256. The tests compare
wsforensics with these facts, so they never need tshark.

`link_types` are the DLT numbers in the file's own headers (the pcap file
header, or each pcapng Interface Description Block); `link_layers` are the
first protocol tshark names in each frame. `notes` is the --notes text,
followed by tshark's TCP analysis counts (retransmissions, out-of-order...).
`make/pcapcheck.py` checks the result independently of tshark.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pcapcheck import file_link_types  # noqa: E402


def tshark(*args):
    r = subprocess.run(["tshark", *args], capture_output=True, text=True)
    # tshark exits 2 on a file cut short, after printing every packet it read.
    if r.returncode not in (0, 2) or (r.returncode == 2 and "cut short" not in r.stderr):
        raise SystemExit(f"tshark {args}: {r.stderr}")
    return r.stdout


def endpoint(ip, port):
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("capture")
    p.add_argument("--as", dest="name")
    p.add_argument("--truncated-at", type=int)
    p.add_argument("--notes", default="")
    a = p.parse_args()
    cap = a.capture
    fields = ["frame.number", "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst",
              "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin", "tcp.flags.reset",
              "frame.protocols", "frame.time_epoch"]
    rows = tshark("-r", cap, "-T", "fields", *sum([["-e", f] for f in fields], []), "-E", "separator=|")
    packets = 0
    streams = {}
    link_types = set()
    for line in rows.splitlines():
        packets += 1
        (num, stream, ip4s, ip6s, sport, ip4d, ip6d, dport, syn, ack, fin, rst, protos, epoch) = line.split("|")
        link_types.add(protos.split(":")[0])
        if stream == "":
            continue
        src = endpoint(ip4s or ip6s, sport)
        dst = endpoint(ip4d or ip6d, dport)
        s = streams.setdefault(int(stream), {"frames": [], "client": None, "first": (src, dst),
                                             "fin": False, "rst": False, "time": epoch})
        s["frames"].append(int(num))
        if syn == "1" and ack == "0" and s["client"] is None:
            s["client"] = (src, dst)
        if syn == "1" and ack == "1" and s["client"] is None:
            s["client"] = (dst, src)
        s["fin"] |= fin == "1"
        s["rst"] |= rst == "1"
    conns = []
    for idx in sorted(streams):
        s = streams[idx]
        client, server = s["client"] or s["first"]
        out = tshark("-r", cap, "-q", "-z", f"follow,tcp,raw,{idx}")
        node0 = None
        data = {0: b"", 1: b""}
        for line in out.splitlines():
            if line.startswith("Node 0: "):
                node0 = line[len("Node 0: "):].strip()
            elif line.startswith("=") or line.startswith("Follow:") or line.startswith("Filter:") \
                    or line.startswith("Node 1:") or not line.strip():
                continue
            else:
                d = 1 if line.startswith("\t") else 0
                data[d] += bytes.fromhex(line.strip())
        # Node 0 is whoever sent the stream's first packet.
        c2s, s2c = (data[0], data[1]) if node0 == client else (data[1], data[0])
        conns.append({
            "stream": idx,
            "client": client,
            "server": server,
            "first_frame": s["frames"][0],
            # Seconds since the epoch, to the capture's precision.
            "first_time_epoch": s["time"],
            "last_frame": s["frames"][-1],
            "packets": len(s["frames"]),
            "bytes_client_to_server": len(c2s),
            "bytes_server_to_client": len(s2c),
            "sha256_client_to_server": hashlib.sha256(c2s).hexdigest(),
            "sha256_server_to_client": hashlib.sha256(s2c).hexdigest(),
            "ended_by": "rst" if s["rst"] else "fin" if s["fin"] else "capture_end",
        })
    fmt, dlts = file_link_types(cap)
    analysis = []
    for field, label in [("tcp.analysis.retransmission", "retransmissions"),
                         ("tcp.analysis.fast_retransmission", "fast retransmissions"),
                         ("tcp.analysis.spurious_retransmission", "spurious retransmissions"),
                         ("tcp.analysis.out_of_order", "out-of-order"),
                         ("tcp.analysis.lost_segment", "previous segment not captured"),
                         ("tcp.analysis.duplicate_ack", "duplicate ACKs")]:
        n = len(tshark("-r", cap, "-Y", field, "-T", "fields", "-e", "frame.number").split())
        if n:
            analysis.append(f"{n} {label}")
    notes = a.notes.strip()
    notes += (" " if notes else "") + "tshark tcp.analysis: " + (", ".join(analysis) or "nothing flagged") + "."
    name = a.name or os.path.basename(cap)
    facts = {
        "capture": name,
        "format": fmt,
        "packets": packets,
        "link_types": dlts,
        "link_layers": sorted(link_types),
        "tshark_version": tshark("--version").splitlines()[0],
        "connections": conns,
        "notes": notes,
    }
    if a.truncated_at is not None:
        facts["truncated_at_offset"] = a.truncated_at
        facts["complete_packets"] = packets
    path = os.path.join(os.path.dirname(os.path.abspath(cap)), name + ".facts.json")
    with open(path, "w") as f:
        json.dump(facts, f, indent=2)
        f.write("\n")
    print(path, packets, "packets", len(conns), "connections")


if __name__ == "__main__":
    main()
