#!/usr/bin/env python3
"""Record what tshark sees of TLS in a capture, as samples/<capture>.tls.json.

usage: tls_facts.py CAPTURE [--keys KEYLOG] [--foxio-ja4 PATH/TO/ja4.py]

The facts are tshark's view WITHOUT the key log (what wsforensics can see):
per TCP stream the ClientHello (SNI, ALPN, versions, cipher suites,
extensions, groups, signature algorithms, JA3 and JA3 full from tshark,
JA4 computed here), the ServerHello, the certificates of a plaintext
Certificate message (SHA-256 of each DER, in chain order), every alert
tshark can read or sees as an encrypted alert, every record with content
type application_data on the wire, every record in order, and the first
FIN or RST. With --keys (a NSS key log) tshark is run a second time with
it, and each encrypted record gets `decrypted_as` (what it really was):
a cross-check only, never needed to read the first part.

JA4 (FoxIO's TLS client fingerprint) is not in tshark 4.0; it is computed
here from the ClientHello fields, following the JA4 specification:
  t + version (highest non-GREASE supported_versions entry, else the
  legacy version: 13, 12, 11, 10, s3) + d (SNI present) or i + 2-digit
  count of non-GREASE cipher suites + 2-digit count of non-GREASE
  extensions (SNI and ALPN included) + first and last character of the
  first ALPN value (00 if none) + "_" + first 12 hex digits of SHA-256 of
  the sorted non-GREASE cipher suites (4 hex digits each, comma-joined) +
  "_" + first 12 hex digits of SHA-256 of: the sorted non-GREASE
  extensions without SNI (0000) and ALPN (0010), comma-joined, then "_" and
  the signature algorithms in wire order (the "_" part left out when there
  are none). `ja4_r` is the same with the lists instead of the hashes.
With --foxio-ja4, FoxIO's own python/ja4.py is run on the capture and its
JA4 must equal ours (the result is recorded in `ja4_cross_check`).

`made_with`, `logged` and `expected` come from make/tls_expected.json;
`logged` holds the lines of samples/tls-logs/NAME.{client,server}.log that
its patterns match (group 1 when the pattern has one), verbatim.
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.dirname(HERE)
GREASE = {0x0A0A + 0x1010 * i for i in range(16)}
HRR_RANDOM = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
HS_NAMES = {0: "hello_request", 1: "client_hello", 2: "server_hello", 4: "new_session_ticket",
            5: "end_of_early_data", 8: "encrypted_extensions", 11: "certificate",
            12: "server_key_exchange", 13: "certificate_request", 14: "server_hello_done",
            15: "certificate_verify", 16: "client_key_exchange", 20: "finished",
            24: "key_update", 254: "message_hash"}
CT_NAMES = {20: "change_cipher_spec", 21: "alert", 22: "handshake", 23: "application_data"}


def tshark(*args):
    r = subprocess.run(["tshark", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"tshark {args}: {r.stderr}")
    return r.stdout


def values(field):
    """tshark's value_string for a field: {number: name}."""
    out = {}
    for line in tshark("-G", "values").splitlines():
        p = line.split("\t")
        if len(p) == 4 and p[0] == "V" and p[1] == field:
            out[int(p[2])] = p[3]
    return out


def pairs(text):
    """JSON objects as lists of (key, value) tuples: tshark repeats keys."""
    return json.loads(text, object_pairs_hook=list)


def get(node, key):
    """Every value of `key` under node (a list of pairs), in document order."""
    out = []
    if isinstance(node, list):
        for item in node:
            if isinstance(item, tuple):
                k, v = item
                if k == key:
                    out.append(v)
                out.extend(get(v, key))
            else:
                out.extend(get(item, key))
    return out


def first(node, key, default=None):
    v = get(node, key)
    return v[0] if v else default


def direct(node, key):
    """Values of `key` among node's own pairs (not deeper)."""
    return [v for k, v in node if k == key] if isinstance(node, list) else []


def hexval(v):
    return int(v, 16) if v.startswith("0x") else int(v)


def h4(n):
    return f"{n:04x}"


def frames(cap, keys=None):
    args = ["-r", cap, "-T", "json"]
    if keys:
        args += ["-o", f"tls.keylog_file:{keys}"]
    else:
        args += ["-o", "tls.keylog_file:"]
    out = []
    for fr in pairs(tshark(*args)):
        layers = first(fr, "layers")
        num = int(first(layers, "frame.number"))
        tcp = direct(layers, "tcp")
        if not tcp:
            out.append({"frame": num})
            continue
        tcp = tcp[0]
        ip = (direct(layers, "ip") or direct(layers, "ipv6"))[0]
        src = first(ip, "ip.src") or first(ip, "ipv6.src")
        dst = first(ip, "ip.dst") or first(ip, "ipv6.dst")
        fmt = (lambda a, p: f"[{a}]:{p}" if ":" in a else f"{a}:{p}")
        records = []
        for tls in direct(layers, "tls"):
            for rec in direct(tls, "tls.record"):
                records.append(rec)
        out.append({
            "frame": num,
            "stream": int(first(tcp, "tcp.stream")),
            "src": fmt(src, first(tcp, "tcp.srcport")),
            "dst": fmt(dst, first(tcp, "tcp.dstport")),
            "syn": first(tcp, "tcp.flags.syn") == "1",
            "ack": first(tcp, "tcp.flags.ack") == "1",
            "fin": first(tcp, "tcp.flags.fin") == "1",
            "rst": first(tcp, "tcp.flags.reset") == "1",
            "records": records,
        })
    return out


def record_info(rec):
    """What one record shows: wire type, length, handshake types (None when
    the handshake is encrypted), alert (None when encrypted)."""
    opaque = first(rec, "tls.record.opaque_type")
    ct = direct(rec, "tls.record.content_type")
    info = {
        "wire_type": int(opaque) if opaque is not None else int(ct[0]) if ct else None,
        "inner_type": int(ct[0]) if ct else None,
        "length": int(first(rec, "tls.record.length")),
        "handshakes": [],
        "handshake_encrypted": False,
        "alert": None,
        "alert_encrypted": False,
    }
    for hs in direct(rec, "tls.handshake"):
        if hs == "":
            info["handshake_encrypted"] = True
        else:
            info["handshakes"].append(hs)
    for al in direct(rec, "tls.alert_message"):
        if al == "":
            info["alert_encrypted"] = True
        else:
            info["alert"] = (int(first(al, "tls.alert_message.level")), int(first(al, "tls.alert_message.desc")))
    return info


def extensions(hs):
    """[(type, pairs)] of a hello's extensions, in wire order."""
    out = []
    for k, v in hs:
        if k.startswith("Extension: "):
            out.append((int(first(v, "tls.handshake.extension.type")), v))
    return out


def ja4(ch):
    vers = [hexval(v) for v in ch["supported_versions"] if hexval(v) not in GREASE]
    ver = max(vers) if vers else hexval(ch["legacy_version"])
    vname = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3",
             0x0002: "s2", 0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}.get(ver, "00")
    ciphers = [hexval(c) for c in ch["cipher_suites"] if hexval(c) not in GREASE]
    exts = [e for e in ch["extensions"] if e not in GREASE]
    alpn = ch["alpn"][0] if ch["alpn"] else ""
    if not alpn:
        a = "00"
    elif alpn[0].isascii() and alpn[0].isalnum() and alpn[-1].isascii() and alpn[-1].isalnum():
        a = alpn[0] + alpn[-1]
    else:
        hx = alpn.encode().hex()
        a = hx[0] + hx[-1]
    head = f"t{vname}{'d' if ch['sni'] is not None else 'i'}{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}{a}"
    c_list = ",".join(sorted(h4(c) for c in ciphers))
    e_list = ",".join(sorted(h4(e) for e in exts if e not in (0x0000, 0x0010)))
    sig = [s for s in ch["signature_algorithms"] if hexval(s) not in GREASE]
    if sig:
        e_list += "_" + ",".join(h4(hexval(s)) for s in sig)
    sha = (lambda s: hashlib.sha256(s.encode()).hexdigest()[:12] if s else "000000000000")
    return f"{head}_{sha(c_list)}_{sha(e_list)}", f"{head}_{c_list}_{e_list}"


def client_hello(frame, hs):
    exts = extensions(hs)
    ext_of = {}
    for t, v in exts:
        ext_of.setdefault(t, v)
    ch = {
        "frame": frame,
        "sni": first(ext_of.get(0, []), "tls.handshake.extensions_server_name"),
        "alpn": get(ext_of.get(16, []), "tls.handshake.extensions_alpn_str"),
        "legacy_version": first(hs, "tls.handshake.version"),
        "supported_versions": get(ext_of.get(43, []), "tls.handshake.extensions.supported_version"),
        "cipher_suites": [h for h in get(hs, "tls.handshake.ciphersuite")],
        "cipher_count": None,
        "extensions": [t for t, _ in exts],
        "groups": get(ext_of.get(10, []), "tls.handshake.extensions_supported_group"),
        "signature_algorithms": get(ext_of.get(13, []), "tls.handshake.sig_hash_alg"),
        "key_share_groups": [f"0x{int(g):04x}" for g in get(ext_of.get(51, []), "tls.handshake.extensions_key_share_group")],
        "session_id_length": int(first(hs, "tls.handshake.session_id_length", "0")),
        "ja3": first(hs, "tls.handshake.ja3"),
        "ja3_full": first(hs, "tls.handshake.ja3_full"),
    }
    ch["cipher_count"] = len(ch["cipher_suites"])
    ch["ja4"], ch["ja4_r"] = ja4(ch)
    return ch


def server_hello(frame, hs, cipher_names):
    exts = dict((t, v) for t, v in reversed(extensions(hs)))
    sv = first(exts.get(43, []), "tls.handshake.extensions.supported_version")
    cipher = first(hs, "tls.handshake.ciphersuite")
    random = first(hs, "tls.handshake.random", "").replace(":", "")
    alpn = get(exts.get(16, []), "tls.handshake.extensions_alpn_str")
    return {
        "frame": frame,
        "legacy_version": first(hs, "tls.handshake.version"),
        "version": sv or first(hs, "tls.handshake.version"),
        "cipher": cipher,
        "cipher_name": cipher_names.get(hexval(cipher)),
        "alpn": alpn[0] if alpn else None,
        "extensions": [t for t, _ in extensions(hs)],
        "hello_retry_request": random == HRR_RANDOM,
        "ja3s": first(hs, "tls.handshake.ja3s"),
        "ja3s_full": first(hs, "tls.handshake.ja3s_full"),
    }


def alert_name(code, names):
    n = names.get(code)
    return n.lower().replace(" ", "_") if n else None


def decrypted_label(info, alert_names):
    t = info["inner_type"]
    if t == 21 and info["alert"]:
        lvl, code = info["alert"]
        return f"alert: {'fatal' if lvl == 2 else 'warning'} {alert_name(code, alert_names)} ({code})"
    if t == 22 and info["handshakes"]:
        types = [HS_NAMES.get(int(first(h, "tls.handshake.type")), first(h, "tls.handshake.type"))
                 for h in info["handshakes"]]
        return "handshake: " + ", ".join(types)
    return CT_NAMES.get(t, str(t))


def foxio_ja4(path, cap):
    out = subprocess.run([sys.executable, path, os.path.abspath(cap), "-J", "--ja4"], capture_output=True, text=True,
                         cwd=os.path.dirname(path))
    found = {}
    for m in re.finditer(r'"stream":\s*(\d+).*?"JA4\.1":\s*"([^"]+)"', out.stdout, re.S):
        found[int(m.group(1))] = m.group(2)
    return found, out


def logged(name, spec):
    out = {}
    for side in ("client", "server"):
        path = os.path.join(SAMPLES, "tls-logs", f"{name}.{side}.log")
        pats = spec.get("logged", {}).get(side, [])
        if not pats:
            continue
        text = open(path).read().splitlines() if os.path.exists(path) else []
        lines = []
        for p in pats:
            rx = re.compile(p)
            hit = [l for l in text if rx.search(l)]
            if not hit:
                raise SystemExit(f"{name}: no line of {path} matches {p!r}")
            for l in hit:
                m = rx.search(l)
                lines.append(m.group(1) if rx.groups else l)
        out[side] = lines[0] if len(lines) == 1 else lines
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("capture")
    p.add_argument("--keys")
    p.add_argument("--foxio-ja4")
    a = p.parse_args()
    cap = a.capture
    name = os.path.basename(cap)
    stem = re.sub(r"\.pcap(ng)?$", "", name)
    spec = json.load(open(os.path.join(HERE, "tls_expected.json"))).get(stem, {})
    cipher_names = values("tls.handshake.ciphersuite")
    alert_names = values("tls.alert_message.desc")

    plain = frames(cap)
    dec = {f["frame"]: f for f in frames(cap, a.keys)} if a.keys else {}

    streams = {}
    for f in plain:
        if "stream" not in f:
            continue
        s = streams.setdefault(f["stream"], {"client": None, "first": (f["src"], f["dst"]), "frames": []})
        if f["syn"] and not f["ack"] and s["client"] is None:
            s["client"] = (f["src"], f["dst"])
        s["frames"].append(f)

    conns = []
    for idx in sorted(streams):
        s = streams[idx]
        client, server = s["client"] or s["first"]
        c = {"stream": idx, "client": client, "server": server, "tls_version": None,
             "client_hello": None, "server_hello": None,
             "hello_retry_request": None, "client_hello_2": None,
             "certificates_frame": None, "certificates_sha256": [],
             "certificates_sha256_with_keylog": None,
             "certificate_request_frame": None, "client_certificates": None,
             "alerts": [], "encrypted_records_after_handshake": [], "records": [],
             "ended_by": None, "first_end": None}
        rst_seen = fin_seen = False
        for f in s["frames"]:
            sender = "client" if f["src"] == client else "server"
            if (f["fin"] or f["rst"]) and c["first_end"] is None:
                c["first_end"] = {"frame": f["frame"], "sender": sender, "kind": "rst" if f["rst"] else "fin"}
            rst_seen |= f["rst"]
            fin_seen |= f["fin"]
            drecs = dec.get(f["frame"], {}).get("records", [])
            for i, rec in enumerate(f["records"]):
                info = record_info(rec)
                entry = {"frame": f["frame"], "sender": sender, "type": info["wire_type"],
                         "length": info["length"]}
                encrypted = info["wire_type"] == 23 or info["handshake_encrypted"] or info["alert_encrypted"]
                if info["handshakes"]:
                    entry["handshake"] = [HS_NAMES.get(int(first(h, "tls.handshake.type")),
                                                       first(h, "tls.handshake.type"))
                                          for h in info["handshakes"]]
                elif info["handshake_encrypted"]:
                    entry["handshake"] = "encrypted"
                dinfo = record_info(drecs[i]) if i < len(drecs) else None
                if encrypted:
                    entry["encrypted"] = True
                    if dinfo is not None:
                        entry["decrypted_as"] = decrypted_label(dinfo, alert_names)
                        for h in dinfo["handshakes"]:
                            if int(first(h, "tls.handshake.type")) == 11 and sender == "server":
                                c["certificates_sha256_with_keylog"] = [
                                    hashlib.sha256(bytes.fromhex(x.replace(":", ""))).hexdigest()
                                    for x in get(h, "tls.handshake.certificate")]
                c["records"].append(entry)
                for hs in info["handshakes"]:
                    t = int(first(hs, "tls.handshake.type"))
                    if t == 1 and sender == "client" and c["client_hello"] is None:
                        c["client_hello"] = client_hello(f["frame"], hs)
                    elif t == 1 and sender == "client" and c["client_hello_2"] is None:
                        # The second ClientHello, after a HelloRetryRequest.
                        c["client_hello_2"] = client_hello(f["frame"], hs)
                    elif t == 2 and sender == "server" and c["server_hello"] is None:
                        sh = server_hello(f["frame"], hs, cipher_names)
                        if sh["hello_retry_request"] and c["hello_retry_request"] is None:
                            c["hello_retry_request"] = sh
                        else:
                            c["server_hello"] = sh
                            c["tls_version"] = sh["version"]
                    elif t == 11 and sender == "server" and c["certificates_frame"] is None:
                        c["certificates_frame"] = f["frame"]
                        c["certificates_sha256"] = [
                            hashlib.sha256(bytes.fromhex(x.replace(":", ""))).hexdigest()
                            for x in get(hs, "tls.handshake.certificate")]
                    elif t == 11 and sender == "client":
                        c["client_certificates"] = {"frame": f["frame"],
                                                    "count": len(get(hs, "tls.handshake.certificate"))}
                    elif t == 13 and c["certificate_request_frame"] is None:
                        c["certificate_request_frame"] = f["frame"]
                if info["alert"] is not None:
                    lvl, code = info["alert"]
                    c["alerts"].append({"frame": f["frame"], "sender": sender,
                                        "level": "fatal" if lvl == 2 else "warning", "code": code,
                                        "description": alert_name(code, alert_names),
                                        "encrypted": False, "record_type_on_wire": 21})
                elif info["alert_encrypted"] or (dinfo is not None and info["wire_type"] == 23
                                                 and dinfo["inner_type"] == 21):
                    al = {"frame": f["frame"], "sender": sender, "level": None, "code": None,
                          "description": None, "encrypted": True,
                          "record_type_on_wire": info["wire_type"], "record_length": info["length"]}
                    if dinfo is not None and dinfo["alert"] is not None:
                        lvl, code = dinfo["alert"]
                        al.update({"level": "fatal" if lvl == 2 else "warning", "code": code,
                                   "description": alert_name(code, alert_names),
                                   "decrypted_with_keylog": True})
                    c["alerts"].append(al)
                if info["wire_type"] == 23:
                    e = {"frame": f["frame"], "sender": sender, "length": info["length"]}
                    if "decrypted_as" in entry:
                        e["decrypted_as"] = entry["decrypted_as"]
                    c["encrypted_records_after_handshake"].append(e)
        c["ended_by"] = "rst" if rst_seen else "fin" if fin_seen else "capture_end"
        conns.append(c)

    facts = {
        "capture": name,
        "made_with": spec.get("made_with", ""),
        "logged": logged(stem, spec),
        "expected": spec.get("expected"),
        "notes": spec.get("notes", ""),
        "tshark_version": tshark("--version").splitlines()[0],
        "ja4_computed_by": "make/tls_facts.py (tshark 4.0 has no JA4)",
        "ja4_cross_check": None,
        "keylog": os.path.relpath(a.keys, SAMPLES) if a.keys else None,
        "connections": conns,
    }
    if a.foxio_ja4:
        found, out = foxio_ja4(a.foxio_ja4, cap)
        for c in conns:
            if c["client_hello"] is None:
                continue
            theirs = found.get(c["stream"])
            if theirs != c["client_hello"]["ja4"]:
                raise SystemExit(f"{name} stream {c['stream']}: JA4 {c['client_hello']['ja4']} "
                                 f"but FoxIO ja4.py says {theirs}\n{out.stdout}{out.stderr}")
        facts["ja4_cross_check"] = "equal to the JA4 of FoxIO's python/ja4.py (github FoxIO-LLC/ja4)"
    path = cap + ".tls.json"
    with open(path, "w") as f:
        json.dump(facts, f, indent=2)
        f.write("\n")
    print(path, len(conns), "connections")


if __name__ == "__main__":
    main()
