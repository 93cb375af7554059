#!/usr/bin/env python3
"""Make the fuzz seed corpora from samples/ (no tshark needed).

usage: python3 fuzz/make_seeds.py [--no-corpus]

Writes, deterministically:

  fuzz/seeds/decode/            frames of each sample in the decode target's
                                record format, plus synthetic IPv4 and IPv6
                                fragments
  fuzz/seeds/http_upgrade/      each HTTP connection's two streams
  fuzz/seeds/websocket_frames/  each WebSocket connection's frames (after the
                                upgrade), direct and session mode
  fuzz/seeds/tls_records/       each TLS connection's two streams
  fuzz/seeds/certificate/       DER certificates: samples/tls-pki/*.pem and
                                those sent in the clear in the captures

and, unless --no-corpus, copies the captures themselves into
fuzz/corpus/capture_read/ and fuzz/corpus/pipeline/ (not committed: the
samples are in the repository already).

The streams are laid out as fuzz/common.rs reads them: mode byte, cut
byte, gap byte, u16 little-endian client length, client bytes, server
bytes. Its own small pcap/pcapng reader and TCP reassembler, written for
seeds only: a stream is cut at its first hole.
"""
import base64
import glob
import gzip
import hashlib
import os
import shutil
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "..", "samples")
SEEDS = os.path.join(HERE, "seeds")
CORPUS = os.path.join(HERE, "corpus")

# Link types in the order of the decode target's selector table.
DECODE_LINKS = [1, 101, 113, 276, 0, 108, 228, 229, 12, 14, 147]

STREAM_CAP = 4096  # bytes kept per direction in http/websocket seeds
TLS_CAP = 6144  # TLS: room for a certificate chain


def read_capture(path):
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw)
    if raw[:4] == b"\x28\xb5\x2f\xfd":
        if shutil.which("zstd") is None:
            return None
        return subprocess.run(["zstd", "-dc", path], capture_output=True, check=True).stdout
    return raw


def records(data):
    """(linktype, frame bytes) of every complete record."""
    out = []
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        off, end, ifaces = 0, "<", []
        while off + 12 <= len(data):
            btype = struct.unpack_from(end + "I", data, off)[0]
            if btype == 0x0A0D0D0A:
                end = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                ifaces = []
            blen = struct.unpack_from(end + "I", data, off + 4)[0]
            if blen < 12 or off + blen > len(data):
                break
            body = data[off + 8:off + blen - 4]
            if btype == 1:
                ifaces.append(struct.unpack_from(end + "H", body, 0)[0])
            elif btype == 6 and len(body) >= 20:
                iid, _, _, caplen, _ = struct.unpack_from(end + "IIIII", body, 0)
                if iid < len(ifaces):
                    out.append((ifaces[iid], body[20:20 + caplen]))
            elif btype == 3 and ifaces:
                out.append((ifaces[0], body[4:]))
            off += blen
        return out
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        return out
    lt = struct.unpack_from(end + "I", data, 20)[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack_from(end + "I", data, off + 8)[0]
        if off + 16 + caplen > len(data):
            break
        out.append((lt, data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return out


def network(lt, f):
    """The IP packet in a frame, or None."""
    try:
        if lt == 1:
            et, o = struct.unpack_from(">H", f, 12)[0], 14
            while et in (0x8100, 0x88A8, 0x9100):
                et, o = struct.unpack_from(">H", f, o + 2)[0], o + 4
            return f[o:] if et in (0x0800, 0x86DD) else None
        if lt == 113:
            return f[16:] if struct.unpack_from(">H", f, 14)[0] in (0x0800, 0x86DD) else None
        if lt == 276:
            return f[20:] if struct.unpack_from(">H", f, 0)[0] in (0x0800, 0x86DD) else None
        if lt in (0, 108):
            return f[4:]
        if lt in (12, 14, 101, 228, 229):
            return f
    except struct.error:
        return None
    return None


def tcp_of(lt, f):
    p = network(lt, f)
    if not p:
        return None
    v = p[0] >> 4
    if v == 4 and len(p) >= 20 and p[9] == 6:
        ihl = (p[0] & 15) * 4
        tot = struct.unpack_from(">H", p, 2)[0] or len(p)
        src, dst, seg = p[12:16], p[16:20], p[ihl:tot]
    elif v == 6 and len(p) >= 40 and p[6] == 6:
        plen = struct.unpack_from(">H", p, 4)[0]
        src, dst, seg = p[8:24], p[24:40], p[40:40 + plen]
    else:
        return None
    if len(seg) < 20:
        return None
    sport, dport, seq, _, offflags = struct.unpack_from(">HHIIH", seg, 0)
    hl = (offflags >> 12) * 4
    return (src, sport), (dst, dport), seq, offflags & 0x3F, seg[hl:]


def connections(recs):
    """[(client stream, server stream)] of every TCP connection."""
    conns, by_key = [], {}
    for lt, f in recs:
        t = tcp_of(lt, f)
        if t is None:
            continue
        src, dst, seq, flags, payload = t
        syn, fin, rst, ack = flags & 2, flags & 1, flags & 4, flags & 16
        key = frozenset((src, dst))
        c = by_key.get(key)
        if c is None or (syn and not ack and c["ended"]):
            c = {"client": None, "first": src, "isn": {}, "segs": {}, "ended": False}
            by_key[key] = c
            conns.append(c)
        if syn and c["client"] is None:
            c["client"] = src if not ack else dst
        if syn:
            c["isn"][src] = (seq + 1) & 0xFFFFFFFF
        c["ended"] |= bool(fin or rst)
        if payload:
            c["isn"].setdefault(src, seq)
            c["segs"].setdefault(src, []).append((seq, payload))
    out = []
    for c in conns:
        sides = list({s for s in c["segs"]} | set(c["isn"]))
        client = c["client"]
        if client is None:
            # The side whose first bytes look like a client's.
            client = c["first"]
            for s in sides:
                first = c["segs"].get(s, [(0, b"")])[0][1]
                if first[:4] in (b"GET ", b"POST") or first[:1] == b"\x16" and first[5:6] == b"\x01":
                    client = s
        server = next((s for s in sides if s != client), None)
        streams = []
        for side in (client, server):
            buf = bytearray()
            if side is not None and side in c["segs"]:
                base = c["isn"][side]
                for seq, p in sorted(c["segs"][side], key=lambda x: (x[0] - base) & 0xFFFFFFFF):
                    o = (seq - base) & 0xFFFFFFFF
                    if o > len(buf):
                        break  # a hole: the stream stops here
                    if o + len(p) > len(buf):
                        buf.extend(p[len(buf) - o:])
            streams.append(bytes(buf))
        out.append(tuple(streams))
    return out


def two_streams(mode, client, server, cap, cut=7):
    client, server = client[:cap], server[:cap]
    return bytes([mode, cut, 0]) + struct.pack("<H", len(client)) + client + server


def head_end(b):
    i = b.find(b"\r\n\r\n")
    return -1 if i < 0 else i + 4


def certificates(server):
    """DER certificates of the plaintext Certificate messages in a TLS
    server stream."""
    hs, o = bytearray(), 0
    while o + 5 <= len(server):
        ctype, ln = server[o], struct.unpack_from(">H", server, o + 3)[0]
        if ctype == 22:
            hs += server[o + 5:o + 5 + ln]
        elif ctype == 20:
            break
        o += 5 + ln
    out, o = [], 0
    while o + 4 <= len(hs):
        t, ln = hs[o], int.from_bytes(hs[o + 1:o + 4], "big")
        body = hs[o + 4:o + 4 + ln]
        if t == 11 and len(body) >= 3:
            lst, p = body[3:], 0
            while p + 3 <= len(lst):
                n = int.from_bytes(lst[p:p + 3], "big")
                out.append(bytes(lst[p + 3:p + 3 + n]))
                p += 3 + n
        o += 4 + ln
    return out


def write(dirname, name, data, written):
    d = os.path.join(SEEDS, dirname)
    os.makedirs(d, exist_ok=True)
    h = hashlib.sha1(data).hexdigest()[:12]
    if (dirname, h) in written:
        return
    written.add((dirname, h))
    with open(os.path.join(d, f"{name}-{h}"), "wb") as f:
        f.write(data)


def decode_records(recs, cap=4096):
    out = bytearray()
    for lt, f in recs:
        sel = DECODE_LINKS.index(lt) if lt in DECODE_LINKS else lt & 0xFF
        rec = bytes([sel, 1]) + struct.pack("<H", len(f)) + f
        if len(out) + len(rec) > cap:
            break
        out += rec
    return bytes(out)


def checksum_free_tcp(payload, seq=1000, flags=0x18):
    return struct.pack(">HHIIBBHHH", 40000, 80, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload


def synthetic_fragments():
    """Raw-IP frames: a TCP segment in IPv4 fragments (in and out of
    order, overlapping) and in IPv6 fragments."""
    seg = checksum_free_tcp(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n" * 2)
    src, dst = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])

    def v4(off8, more, chunk, ident=7):
        fl = (0x2000 if more else 0) | off8
        return struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(chunk), ident, fl, 64, 6, 0) + src + dst + chunk

    a, b, c = seg[:48], seg[48:96], seg[96:]
    v4s = [v4(0, True, a), v4(6, True, b), v4(12, False, c)]
    s6, d6 = b"\xfd" + b"\0" * 14 + b"\x01", b"\xfd" + b"\0" * 14 + b"\x02"

    def v6(off8, more, chunk, ident=9):
        frag = struct.pack(">BBHI", 6, 0, (off8 << 3) | (1 if more else 0), ident)
        return struct.pack(">IHBB", 0x60000000, len(frag) + len(chunk), 44, 64) + s6 + d6 + frag + chunk

    v6s = [v6(0, True, a), v6(6, True, b), v6(12, False, c)]
    out = []
    for frames in (v4s, v4s[::-1], [v4s[0], v4s[0], v4s[2], v4s[1]], v6s, v6s[::-1]):
        rec = bytearray()
        for f in frames:
            rec += bytes([DECODE_LINKS.index(101), 1]) + struct.pack("<H", len(f)) + f
        out.append(bytes(rec))
    return out


def main():
    no_corpus = "--no-corpus" in sys.argv
    for d in ("decode", "http_upgrade", "websocket_frames", "tls_records", "certificate"):
        shutil.rmtree(os.path.join(SEEDS, d), ignore_errors=True)
    written = set()
    captures = sorted(
        p for ext in ("*.pcap", "*.pcapng", "*.gz", "*.zst") for p in glob.glob(os.path.join(SAMPLES, ext))
    )
    for path in captures:
        name = os.path.basename(path).split(".")[0]
        if not no_corpus:
            for t in ("capture_read", "pipeline"):
                os.makedirs(os.path.join(CORPUS, t), exist_ok=True)
                shutil.copyfile(path, os.path.join(CORPUS, t, os.path.basename(path)))
        data = read_capture(path)
        if data is None or path.endswith((".gz", ".zst")):
            continue
        recs = records(data)
        write("decode", name, decode_records(recs), written)
        for client, server in connections(recs):
            if not client and not server:
                continue
            if client[:1] == b"\x16" or client[:1] == b"\x17":
                write("tls_records", name, two_streams(0, client, server, TLS_CAP), written)
                write("tls_records", name + "-session", two_streams(1, client, server, TLS_CAP), written)
                for der in certificates(server):
                    write("certificate", name, der, written)
                continue
            if not client[:16].split(b" ")[0].isalpha():
                continue
            write("http_upgrade", name, two_streams(0, client, server, STREAM_CAP), written)
            ch, sh = head_end(client), head_end(server)
            if ch < 0 or sh < 0 or b"websocket" not in client[:ch].lower():
                continue
            resp = server[:sh].lower()
            if not resp.startswith(b"http/1.1 101"):
                continue
            mode = 0
            if b"permessage-deflate" in resp:
                mode |= 2
                mode |= 4 if b"client_no_context_takeover" in resp else 0
                mode |= 8 if b"server_no_context_takeover" in resp else 0
            cf, sf = client[ch:], server[sh:]
            write("websocket_frames", name, two_streams(mode, cf, sf, STREAM_CAP), written)
            write("websocket_frames", name + "-session", two_streams(mode | 1, cf, sf, STREAM_CAP), written)
    for i, rec in enumerate(synthetic_fragments()):
        write("decode", f"fragments{i}", rec, written)
    for pem in sorted(glob.glob(os.path.join(SAMPLES, "tls-pki", "*.pem"))):
        text = open(pem).read()
        for block in text.split("-----END CERTIFICATE-----"):
            b64 = "".join(l for l in block.splitlines() if l and not l.startswith("-----"))
            if b64:
                write("certificate", os.path.basename(pem)[:-4], base64.b64decode(b64), written)
    total = 0
    for d in sorted(os.listdir(SEEDS)):
        files = os.listdir(os.path.join(SEEDS, d))
        size = sum(os.path.getsize(os.path.join(SEEDS, d, f)) for f in files)
        total += size
        print(f"seeds/{d}: {len(files)} files, {size} bytes")
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
