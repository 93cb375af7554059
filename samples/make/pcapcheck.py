#!/usr/bin/env python3
"""Check samples/*.facts.json without tshark: a small pcap/pcapng reader and
TCP reassembler of its own, written for this cross-check only.

usage: pcapcheck.py [-v] [FACTS.json ...]   (default: every samples/*.facts.json)

For each facts file it reads the capture (gzip and zstd too), decodes
Ethernet (with 802.1Q tags), Linux SLL and SLL2, IPv4/IPv6 and TCP, groups
packets by connection (a SYN without ACK after a FIN or RST starts a new
one, as tshark's tcp.stream does), puts each direction's payload at its
offset from the initial sequence number, and compares format, link types,
packet count, roles, frames, packet counts, how each connection ended and
the length and SHA-256 of each direction with the facts. Exits 1 on any
difference. With -v it also decodes each connection's WebSocket frames
(unmasking the client's) and reports messages, close codes and whether the
echo server's messages equal what the client sent.
"""
import glob
import gzip
import hashlib
import json
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def read_bytes(path):
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw)
    if raw[:4] == b"\x28\xb5\x2f\xfd":
        return subprocess.run(["zstd", "-dc", path], capture_output=True, check=True).stdout
    return raw


def records(data):
    """Yield (linktype, timestamp string, frame bytes); then the format, the
    DLTs and the offset of a trailing incomplete record (or None) are left
    in the returned dict."""
    info = {"format": None, "dlts": [], "cut_at": None}
    out = []
    magic = data[:4]
    if magic == b"\x0a\x0d\x0d\x0a":
        info["format"] = "pcapng"
        off = 0
        end = "<"
        ifaces = []
        while off + 12 <= len(data):
            btype = struct.unpack_from(end + "I", data, off)[0]
            if btype == 0x0A0D0D0A:
                bom = data[off + 8:off + 12]
                end = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
                ifaces = []
            blen = struct.unpack_from(end + "I", data, off + 4)[0]
            if off + blen > len(data):
                info["cut_at"] = off
                break
            body = data[off + 8:off + blen - 4]
            if btype == 1:
                lt = struct.unpack_from(end + "H", body, 0)[0]
                res = 6
                o = 8
                while o + 4 <= len(body):
                    code, ln = struct.unpack_from(end + "HH", body, o)
                    if code == 0:
                        break
                    if code == 9:
                        res = body[o + 4]
                    o += 4 + ((ln + 3) & ~3)
                ifaces.append((lt, res))
                if lt not in info["dlts"]:
                    info["dlts"].append(lt)
            elif btype == 6:
                iid, hi, lo, caplen, _ = struct.unpack_from(end + "IIIII", body, 0)
                lt, res = ifaces[iid]
                assert res in (6, 9), res
                ts = (hi << 32) | lo
                div = 10 ** res
                out.append((lt, f"{ts // div}.{ts % div:0{res}d}", body[20:20 + caplen]))
            elif btype == 3:
                lt, _ = ifaces[0]
                out.append((lt, None, body[4:]))
            off += blen
        return info, out
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise ValueError("not a capture")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    info["format"] = "pcap"
    lt = struct.unpack_from(end + "I", data, 20)[0] & 0x0FFFFFFF
    info["dlts"] = [lt]
    info["endian"] = "little" if end == "<" else "big"
    off = 24
    while off < len(data):
        if off + 16 > len(data):
            info["cut_at"] = off
            break
        sec, frac, caplen, _ = struct.unpack_from(end + "IIII", data, off)
        if off + 16 + caplen > len(data):
            info["cut_at"] = off
            break
        out.append((lt, f"{sec}.{frac:09d}" if nano else f"{sec}.{frac:06d}000", data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return info, out


def network(lt, f):
    """Return (ethertype, network-layer bytes) for a frame."""
    if lt == 1:
        et, o = struct.unpack_from(">H", f, 12)[0], 14
        while et in (0x8100, 0x88A8):
            et, o = struct.unpack_from(">H", f, o + 2)[0], o + 4
        return et, f[o:]
    if lt == 113:
        return struct.unpack_from(">H", f, 14)[0], f[16:]
    if lt == 276:
        return struct.unpack_from(">H", f, 0)[0], f[20:]
    raise ValueError(f"link type {lt}")


def vlan_ids(lt, f):
    ids = []
    if lt == 1:
        et, o = struct.unpack_from(">H", f, 12)[0], 14
        while et in (0x8100, 0x88A8):
            ids.append(struct.unpack_from(">H", f, o)[0] & 0xFFF)
            et, o = struct.unpack_from(">H", f, o + 2)[0], o + 4
    return ids


def tcp_of(lt, f):
    import ipaddress
    et, p = network(lt, f)
    if et == 0x0800 and p[9] == 6:
        ihl = (p[0] & 15) * 4
        tot = struct.unpack_from(">H", p, 2)[0]
        src, dst = str(ipaddress.IPv4Address(p[12:16])), str(ipaddress.IPv4Address(p[16:20]))
        seg = p[ihl:tot]
    elif et == 0x86DD and p[6] == 6:
        plen = struct.unpack_from(">H", p, 4)[0]
        src, dst = f"[{ipaddress.IPv6Address(p[8:24])}]", f"[{ipaddress.IPv6Address(p[24:40])}]"
        seg = p[40:40 + plen]
    else:
        return None
    sport, dport, seq, ack, offflags = struct.unpack_from(">HHIIH", seg, 0)
    hl = (offflags >> 12) * 4
    return (f"{src}:{sport}", f"{dst}:{dport}", seq, offflags & 0x3F, seg[hl:])


def analyze(path, clients=()):
    info, recs = records(read_bytes(path))
    conns = []
    by_key = {}
    vids = set()
    for n, (lt, ts, f) in enumerate(recs, 1):
        vids.update(vlan_ids(lt, f))
        t = tcp_of(lt, f)
        if t is None:
            continue
        src, dst, seq, flags, payload = t
        syn, fin, rst, ack = flags & 2, flags & 1, flags & 4, flags & 16
        key = frozenset((src, dst))
        c = by_key.get(key)
        if c is None or (syn and not ack and c["ended"]):
            c = {"client": None, "first": (src, dst), "frames": [], "time": ts, "isn": {}, "buf": {},
                 "fin": False, "rst": False, "ended": False}
            by_key[key] = c
            conns.append(c)
        c["frames"].append(n)
        if syn and c["client"] is None:
            c["client"] = (src, dst) if not ack else (dst, src)
        if syn:
            c["isn"][src] = seq + 1
        c["fin"] |= bool(fin)
        c["rst"] |= bool(rst)
        c["ended"] |= bool(fin or rst)
        if payload:
            # No SYN (a capture started mid-stream): the first payload's
            # sequence number is the direction's origin.
            base = c["isn"].setdefault(src, seq)
            o = (seq - base) % (1 << 32)
            buf = c["buf"].setdefault(src, bytearray())
            if len(buf) < o + len(payload):
                buf.extend(b"\0" * (o + len(payload) - len(buf)))
            buf[o:o + len(payload)] = payload
            c.setdefault("have", {}).setdefault(src, set()).update(range(o, o + len(payload)))
    result = []
    for i, c in enumerate(conns):
        a, b = c["first"]
        # Without a SYN the roles are the facts' (who spoke first says
        # nothing about who connected).
        guess = (b, a) if b in clients and a not in clients else (a, b)
        client, server = c["client"] or guess
        d = {}
        for name, side in (("client_to_server", client), ("server_to_client", server)):
            buf = bytes(c["buf"].get(side, b""))
            have = c.get("have", {}).get(side, set())
            assert len(have) == len(buf), f"hole in {name} of stream {i}"
            d[name] = buf
            d[f"bytes_{name}"] = len(buf)
            d[f"sha256_{name}"] = hashlib.sha256(buf).hexdigest()
        result.append({"stream": i, "client": client, "server": server, "first_frame": c["frames"][0],
                       "first_time_epoch": c["time"], "last_frame": c["frames"][-1],
                       "packets": len(c["frames"]), **d,
                       "ended_by": "rst" if c["rst"] else "fin" if c["fin"] else "capture_end"})
    return info, len(recs), result, sorted(vids)


def ws_frames(stream, client_side):
    """Decode the WebSocket frames after the HTTP upgrade: [(opcode, payload)]."""
    head = stream.find(b"\r\n\r\n")
    if head < 0 or b"websocket" not in stream[:head].lower():
        return None
    o, out = head + 4, []
    while o + 2 <= len(stream):
        b0, b1 = stream[o], stream[o + 1]
        n, o = b1 & 0x7F, o + 2
        if n == 126:
            n, o = struct.unpack_from(">H", stream, o)[0], o + 2
        elif n == 127:
            n, o = struct.unpack_from(">Q", stream, o)[0], o + 8
        key = None
        if b1 & 0x80:
            key, o = stream[o:o + 4], o + 4
        assert bool(key) == client_side, "masking must match the side"
        p = stream[o:o + n]
        assert len(p) == n, "frame cut short"
        if key:
            p = bytes(c ^ key[i % 4] for i, c in enumerate(p))
        out.append((b0 & 0x0F, p))
        o += n
    return out


def ws_summary(conn):
    c = ws_frames(conn["client_to_server"], True)
    s = ws_frames(conn["server_to_client"], False)
    if c is None or s is None:
        return "no websocket"

    def desc(frames):
        data = [p for op, p in frames if op in (1, 2)]
        closes = [struct.unpack_from(">H", p)[0] for op, p in frames if op == 8 and len(p) >= 2]
        return data, f"{len(data)} messages ({sum(len(p) for p in data)} bytes), close {closes}"

    cd, ct = desc(c)
    sd, st = desc(s)
    n = min(len(cd), len(sd))
    echo = "echoes match" if cd[:n] == sd[:n] else "ECHO MISMATCH"
    return f"ws client->server {ct}; server->client {st}; {echo} for the first {n}"


def file_link_types(path):
    """(format, DLT numbers in header order) of a capture, from its headers."""
    info, _ = records(read_bytes(path))
    return info["format"], info["dlts"]


def check(facts_path):
    facts = json.load(open(facts_path))
    cap = os.path.join(os.path.dirname(facts_path), facts["capture"])
    info, packets, conns, vids = analyze(cap, {c["client"] for c in facts["connections"]})
    errs = []
    lines = []

    def cmp(what, got, want):
        if got != want:
            errs.append(f"{what}: pcapcheck {got!r}, facts {want!r}")

    cmp("format", info["format"], facts["format"])
    cmp("link_types", info["dlts"], facts.get("link_types"))
    cmp("packets", packets, facts["packets"])
    if "truncated_at_offset" in facts:
        cmp("truncated_at_offset", info["cut_at"], facts["truncated_at_offset"])
        cmp("complete_packets", packets, facts["complete_packets"])
    else:
        cmp("trailing partial record", info["cut_at"], None)
    cmp("connections", len(conns), len(facts["connections"]))
    for got, want in zip(conns, facts["connections"]):
        for k, v in want.items():
            cmp(f"stream {want['stream']} {k}", got.get(k), v)
        if "-v" in sys.argv:
            lines.append(f"    stream {want['stream']}: {ws_summary(got)}")
    extra = f" vlan ids {vids}" if vids else ""
    endian = f" {info['endian']}-endian" if "endian" in info else ""
    status = "OK" if not errs else "MISMATCH"
    print(f"{status} {facts['capture']}: {info['format']}{endian} dlt {info['dlts']}{extra}, {packets} packets, "
          f"{len(conns)} connection(s)")
    for e in errs:
        print("   ", e)
    for line in lines:
        print(line)
    return not errs


def main():
    paths = [a for a in sys.argv[1:] if a != "-v"] or sorted(glob.glob(os.path.join(HERE, "..", "*.facts.json")))
    ok = all([check(p) for p in paths])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
