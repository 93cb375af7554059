#!/usr/bin/env python3
"""Facts of the key-log samples, as samples/decrypt-NAME.pcap.decrypt.json.

usage: decrypt_facts.py [NAME ...]     (default: every samples/decrypt-*.pcap)

For each capture tshark is run twice: without the key log (what can be
seen without it: the handshake in the clear, encrypted records, no
WebSocket) and with `-o tls.keylog_file:samples/NAME.keys`. Per TCP stream
(one per capture here) the file records:
  client and server ip:port (the client sent the SYN); the TLS version and
  cipher suite of the ServerHello (number and tshark's IANA name), the
  suites the ClientHello offered, whether the ServerHello carries
  extended_master_secret (extension 23; TLS 1.2 only, null in TLS 1.3);
  the HTTP upgrade (frames, path, status, Sec-WebSocket-Extensions of the
  101); every WebSocket frame (frame number of the TCP segment that
  completed it, sender, opcode, FIN, RSV1 = compressed, length); the
  number of complete messages each way; every Close frame (sender, code,
  reason, frame number, time); who sent the first Close; the TLS events
  the key log reveals (alerts with their description, KeyUpdate, the
  number of NewSessionTickets); every FIN and RST (frame, sender);
  whether tshark decrypted every encrypted record.
Also: a check of the key log (every line's client random is the
ClientHello random of a connection in the capture, only the labels TLS
1.2 resp. 1.3 use, and which labels each connection has), a comparison
with the server's own key log (samples/decrypt-logs/NAME.server.keys), and
what the peers logged: their `result {json}` line (the close code and
reason and, for websockets, rcvd/sent/rcvd_then_sent, as the libraries
report them) and the lines about the ending, verbatim.
"""
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.dirname(HERE)
LOGS = os.path.join(SAMPLES, "decrypt-logs")

PY = "make/decrypt-samples.sh, make/decrypt_peers.py"
JS = "make/decrypt-samples.sh, make/decrypt_node.js"
BOTH = "make/decrypt-samples.sh, make/decrypt_peers.py, make/decrypt_node.js"
WS_PY = "Python 3.11.7 websockets 17.4 (asyncio; ssl: OpenSSL 3.0.19)"
WS_JS = "Node 20.20.2 ws 8.23.0 (OpenSSL 3.0.19)"
MADE_WITH = {
    "decrypt-13-aes128-py": (
        f"{WS_PY} client -> {WS_PY} echo server, leaf-ec + intermediate; TLS 1.3 pinned to "
        "TLS_AES_128_GCM_SHA256 on both sides (OPENSSL_CONF Ciphersuites); no compression. "
        "3 messages echoed, then the client closes 1000 'bye'", PY),
    "decrypt-13-aes256-node": (
        f"{WS_JS} client -> {WS_JS} server, leaf-ec + intermediate; TLS 1.3 pinned to "
        "TLS_AES_256_GCM_SHA384 on both sides (ciphers option); permessage-deflate ON on both "
        "sides (perMessageDeflate: true). 2 messages echoed; the server closes 1001 'going away' "
        "on the 3rd", JS),
    "decrypt-13-chacha-mixed": (
        f"{WS_PY} client -> {WS_JS} server, leaf-ec + intermediate; TLS 1.3 pinned to "
        "TLS_CHACHA20_POLY1305_SHA256 on both sides; no compression. The server closes 1011 "
        "'internal error' on the first message (not echoed)", BOTH),
    "decrypt-12-aes128-mixed": (
        f"{WS_JS} client -> {WS_PY} server, leaf-rsa + intermediate; TLS 1.2 pinned to "
        "ECDHE-RSA-AES128-GCM-SHA256 on both sides; no compression. 2 messages echoed, then the "
        "client closes 4001 'session replaced'", BOTH),
    "decrypt-12-aes256-py": (
        f"{WS_PY} client -> {WS_PY} server, leaf-rsa + intermediate; TLS 1.2 pinned to "
        "ECDHE-RSA-AES256-GCM-SHA384 on both sides; no compression. 2 messages echoed; the "
        "server closes 1000 'done' on the 3rd", PY),
    "decrypt-12-chacha-node": (
        f"{WS_JS} client -> {WS_JS} server, leaf-rsa + intermediate; TLS 1.2 pinned to "
        "ECDHE-RSA-CHACHA20-POLY1305 on both sides; no compression. One 20480-byte text "
        "message, answered with 'received 20480 bytes'; the client closes 1000 'bye'. In a "
        "network namespace whose loopback has MTU 1500 and TSO/GSO/GRO off", JS),
    "decrypt-12-rsa-kx": (
        f"{WS_PY} client -> {WS_PY} server, leaf-rsa + intermediate; TLS 1.2 pinned to "
        "AES128-GCM-SHA256 (RSA key exchange, no ECDHE) on both sides. 2 messages echoed, then "
        "the client closes 1000 'bye'", PY),
    "decrypt-13-killed": (
        f"{WS_JS} client -> {WS_PY} server, leaf-ec + intermediate; TLS 1.3 pinned to "
        "TLS_AES_128_GCM_SHA256 on both sides. One message echoed; 0.3 s later the server "
        "process sends itself SIGKILL: no Close frame, no close_notify from the server, the "
        "kernel closes its socket", BOTH),
    "decrypt-13-expired": (
        f"{WS_PY} client (ssl trusts the test root) -> {WS_PY} server with expired.pem "
        "(2024-01-01 to 2025-01-01) + intermediate; TLS 1.3 pinned to TLS_AES_256_GCM_SHA384 "
        "on both sides. The client's certificate verification fails", PY),
    "decrypt-13-keyupdate": (
        f"{WS_PY} client -> {WS_PY} server, leaf-ec + intermediate; TLS 1.3 pinned to "
        "TLS_AES_256_GCM_SHA384 on both sides. Before its 2nd echo the server calls "
        "SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) through ctypes; the client's OpenSSL "
        "answers with its own KeyUpdate before the client's next write. 3 messages echoed, "
        "then the client closes 1000 'bye'", PY),
}

NOTES = {
    "decrypt-13-aes256-node": "permessage-deflate was negotiated (the 101's Sec-WebSocket-Extensions is "
        "'permessage-deflate'): every data frame has RSV1 set (compressed, the payload lengths are "
        "the compressed ones); the Close frames are not compressed (control frames). The server's "
        "Close answers the 3rd message, which is not echoed.",
    "decrypt-13-chacha-mixed": "websockets echoes the 1011 and raises ConnectionClosedError "
        "(1011 is not a normal closure).",
    "decrypt-12-aes128-mixed": "websockets echoes the client's 4001 'session replaced' and reports "
        "ConnectionClosedError (4001 is not 1000/1001).",
    "decrypt-12-aes256-py": "The server's Close answers the 3rd message, which is not echoed; the "
        "websockets client reports ConnectionClosedOK from recv().",
    "decrypt-12-chacha-node": "The 20480-byte text message is one masked WebSocket frame (16-bit "
        "extended length) in two TLS records (16400 and 4120 bytes: 16384 and 4104 bytes of "
        "plaintext plus the 16-byte Poly1305 tag; TLS 1.2 ChaCha20-Poly1305 has no explicit nonce), "
        "carried by 15 TCP segments (14 of 1448 bytes); tshark shows each TLS record in the "
        "segment that completes it and the WebSocket frame in the segment that completes the second "
        "record. The answer is 'received 20480 bytes' (20 bytes).",
    "decrypt-12-rsa-kx": "RSA key exchange (ClientKeyExchange carries the RSA-encrypted pre-master "
        "secret); the extended master secret was negotiated anyway (OpenSSL's default, both "
        "hellos carry extension 23). The client's key log (Python ssl / OpenSSL) has an NSS 'RSA' "
        "line (first 8 bytes of the encrypted pre-master secret, then the 48-byte pre-master "
        "secret) before its CLIENT_RANDOM line; the server's key log has the CLIENT_RANDOM line "
        "only. tshark needs either.",
    "decrypt-13-killed": "No Close frame and no close_notify from the server: the process died by "
        "SIGKILL 0.3 s after its echo, and the kernel sent the FIN. Node then sent close_notify "
        "(encrypted alert, client) into the closed socket, which answered RST; Node sent no FIN. "
        "ws reports 1006.",
    "decrypt-13-expired": "No alert on the wire: OpenSSL writes certificate_expired into the "
        "asyncio client's memory BIO, but asyncio's SSLProtocol._do_handshake does not flush "
        "outgoing data when do_handshake() raises SSLError, so the client just closes (FIN). The "
        "server's EncryptedExtensions, Certificate (expired leaf + intermediate), "
        "CertificateVerify and Finished are one encrypted flight; the client's key log has only "
        "SERVER_HANDSHAKE_TRAFFIC_SECRET (OpenSSL as a TLS 1.3 client derives its own handshake "
        "key only when it sends its Finished, which it never did), which is enough to decrypt "
        "that flight. The server's key log has four lines (both handshake secrets, "
        "SERVER_TRAFFIC_SECRET_0, EXPORTER_SECRET). websockets logs nothing; asyncio (debug "
        "mode) logs 'SSL handshake failed' with ConnectionResetError.",
    "decrypt-13-keyupdate": "The server's KeyUpdate (update_requested) goes out in the same "
        "packet as its 2nd echo, which it precedes; the client's OpenSSL sends its own KeyUpdate "
        "(update_not_requested) in front of the client's 3rd message. Both key logs have, after "
        "the usual five lines, SERVER_TRAFFIC_SECRET_N and CLIENT_TRAFFIC_SECRET_N lines: OpenSSL "
        "3.0 logs each updated secret under a literal '_N' label (no generation number). tshark "
        "ignores them and derives generation 1 itself; they are checked here against "
        "HKDF-Expand-Label(secret_0, 'traffic upd').",
}

# What each capture must show (checked after the facts are written, so a
# remake that turns out differently fails loudly): TLS version, suite,
# the Close frames in order as (sender, code, reason), the FIN/RST packets
# in order as (sender, flags), and the key log labels of the connection.
L13 = ["CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "EXPORTER_SECRET",
       "SERVER_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0"]
EXPECT = {
    "decrypt-13-aes128-py": ("TLS 1.3", "0x1301", [("client", 1000, "bye"), ("server", 1000, "bye")], None, L13),
    "decrypt-13-aes256-node": ("TLS 1.3", "0x1302", [("server", 1001, "going away"), ("client", 1001, "going away")], None, L13),
    "decrypt-13-chacha-mixed": ("TLS 1.3", "0x1303", [("server", 1011, "internal error"), ("client", 1011, "internal error")], None, L13),
    "decrypt-12-aes128-mixed": ("TLS 1.2", "0xc02f", [("client", 4001, "session replaced"), ("server", 4001, "session replaced")], None, ["CLIENT_RANDOM"]),
    "decrypt-12-aes256-py": ("TLS 1.2", "0xc030", [("server", 1000, "done"), ("client", 1000, "done")], None, ["CLIENT_RANDOM"]),
    "decrypt-12-chacha-node": ("TLS 1.2", "0xcca8", [("client", 1000, "bye"), ("server", 1000, "bye")], None, ["CLIENT_RANDOM"]),
    "decrypt-12-rsa-kx": ("TLS 1.2", "0x009c", [("client", 1000, "bye"), ("server", 1000, "bye")], None, ["CLIENT_RANDOM", "RSA"]),
    "decrypt-13-killed": ("TLS 1.3", "0x1301", [], [("server", "FIN"), ("server", "RST")], L13),
    "decrypt-13-expired": ("TLS 1.3", "0x1302", [], None, ["SERVER_HANDSHAKE_TRAFFIC_SECRET"]),
    "decrypt-13-keyupdate": ("TLS 1.3", "0x1302", [("client", 1000, "bye"), ("server", 1000, "bye")], None,
                             sorted(L13 + ["CLIENT_TRAFFIC_SECRET_N", "SERVER_TRAFFIC_SECRET_N"])),
}


def expectation_errors(name, f):
    if name not in EXPECT:
        return []
    version, suite, closes, ends, labels = EXPECT[name]
    errs = []
    if len(f["connections"]) != 1:
        return [f"{len(f['connections'])} connections"]
    c = f["connections"][0]
    if c["tls"].get("version") != version:
        errs.append(f"version {c['tls'].get('version')}")
    if c["tls"].get("cipher_suite", {}).get("number") != suite:
        errs.append(f"suite {c['tls'].get('cipher_suite')}")
    got = [(x["from"], x["code"], x["reason"]) for x in c["close_frames"]]
    if got != closes:
        errs.append(f"Close frames {got}")
    if ends is not None and [(e["from"], e["flags"]) for e in c["tcp_end"]] != ends:
        errs.append(f"TCP end {c['tcp_end']}")
    if c["keylog_labels"] != labels:
        errs.append(f"key log labels {c['keylog_labels']}")
    if not c["tshark_decrypted_every_record"]:
        errs.append("tshark did not decrypt every record")
    if name == "decrypt-13-keyupdate" and [e.get("name") for e in c["tls_events_with_keylog"]
                                          if e["event"] == "key_update"] != ["update_requested", "update_not_requested"]:
        errs.append("KeyUpdates")
    if any("DIFFERS" in n for n in f["keylog_check"]["notes"]):
        errs.append("a *_TRAFFIC_SECRET_N line is not the next generation")
    return errs


FIELDS = [
    "frame.number", "frame.time_epoch", "frame.protocols", "tcp.stream", "ip.src", "ip.dst",
    "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack",
    "tcp.flags.fin", "tcp.flags.reset", "tcp.len",
    "tls.record.content_type", "tls.record.opaque_type", "tls.record.length",
    "tls.handshake.type", "tls.handshake.version", "tls.handshake.random",
    "tls.handshake.ciphersuite", "tls.handshake.extension.type",
    "tls.handshake.extensions.supported_version", "tls.handshake.epms",
    "tls.handshake.key_update.request_update", "tls.alert_message.level",
    "tls.alert_message.desc",
    "http.request.method", "http.request.uri", "http.response.code",
    "http.sec_websocket_extensions",
    "websocket.fin", "websocket.rsv", "websocket.opcode", "websocket.mask",
    "websocket.payload_length", "websocket.payload_length_ext_16",
    "websocket.payload_length_ext_64",
    "websocket.payload.close.status_code", "websocket.payload.close.reason",
]
OPCODES = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}
HS = {1: "client_hello", 2: "server_hello", 4: "new_session_ticket", 8: "encrypted_extensions",
      11: "certificate", 12: "server_key_exchange", 13: "certificate_request",
      14: "server_hello_done", 15: "certificate_verify", 16: "client_key_exchange",
      20: "finished", 24: "key_update"}
LABELS_12 = {"CLIENT_RANDOM"}  # (and RSA lines, checked apart)
# OpenSSL 3.0 logs the secret of each KeyUpdate under a literal "_N" label
# (no generation number); tshark does not need them (it derives them).
LABELS_13_N = {"CLIENT_TRAFFIC_SECRET_N", "SERVER_TRAFFIC_SECRET_N"}
LABELS_13 = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
             "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"}


def tshark(*args):
    r = subprocess.run(["tshark", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"tshark {args}: {r.stderr}")
    return r.stdout


_names = None


def suite_name(n):
    global _names
    if _names is None:
        _names = {}
        for line in tshark("-G", "values").splitlines():
            p = line.split("\t")
            if len(p) == 4 and p[0] == "V" and p[1] == "tls.handshake.ciphersuite":
                _names[int(p[2])] = p[3]
    return _names.get(n)


def frames(pcap, keys=None):
    """tshark's fields per packet; with keys also the counts from tshark's
    TLS debug log: records it tried to decrypt, and AEAD tag failures."""
    args = ["-r", pcap, "-T", "json"]
    with tempfile.TemporaryDirectory() as tmp:
        debug = os.path.join(tmp, "tls-debug.txt")
        if keys:
            args += ["-o", f"tls.keylog_file:{keys}", "-o", f"tls.debug_file:{debug}"]
        for f in FIELDS:
            args += ["-e", f]
        pkts = [p["_source"]["layers"] for p in json.loads(tshark(*args))]
        counts = None
        if keys:
            with open(debug, errors="replace") as fh:
                text = fh.read()
            counts = {"attempted": len(re.findall(r"^ssl_decrypt_record ciphertext len", text, re.M)),
                      "failed": len(re.findall(r"auth tag mismatch|decrypt failed|failed to decrypt", text))}
    return pkts, counts


def ints(layer, field):
    out = []
    for v in layer.get(field, []):
        out.append(int(v, 16) if v.startswith("0x") else int(v))
    return out


def one(layer, field, default=None):
    v = layer.get(field)
    return v[0] if v else default


def endpoint(layer, src=True):
    ip = one(layer, "ip.src" if src else "ip.dst") or one(layer, "ipv6.src" if src else "ipv6.dst")
    port = one(layer, "tcp.srcport" if src else "tcp.dstport")
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def ws_frames(layer):
    """The WebSocket frames tshark found in this packet, in order."""
    ops = ints(layer, "websocket.opcode")
    fins = layer.get("websocket.fin", [])
    rsvs = layer.get("websocket.rsv", [])
    masks = layer.get("websocket.mask", [])
    lens = ints(layer, "websocket.payload_length")
    ext16 = ints(layer, "websocket.payload_length_ext_16")
    ext64 = ints(layer, "websocket.payload_length_ext_64")
    codes = ints(layer, "websocket.payload.close.status_code")
    reasons = list(layer.get("websocket.payload.close.reason", []))
    closes = [i for i, o in enumerate(ops) if o == 8]
    if len(closes) > 1 and len(reasons) not in (0, len(closes)):
        raise SystemExit(f"frame {one(layer, 'frame.number')}: cannot pair Close reasons")
    out = []
    for i, op in enumerate(ops):
        n = lens[i]
        if n == 126:
            n = ext16.pop(0)
        elif n == 127:
            n = ext64.pop(0)
        rsv = int(rsvs[i], 16) if rsvs[i].startswith("0x") else int(rsvs[i])
        f = {"opcode": op, "type": OPCODES.get(op, "other"), "fin": fins[i] in ("1", "True"),
             "rsv1_compressed": bool(rsv & 4), "masked": masks[i] in ("1", "True"),
             "payload_length": n}
        if op == 8:
            f["close_code"] = codes.pop(0) if codes else None
            f["close_reason"] = reasons.pop(0) if (reasons and f["close_code"] is not None) else ""
        out.append(f)
    return out


def hkdf_expand_label(secret, label, length, hash_name):
    """RFC 8446 7.1 HKDF-Expand-Label with an empty context."""
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(secret, block + info + bytes([i]), hash_name).digest()
        out += block
        i += 1
    return out[:length]


def traffic_upd_check(c, lines, n_lines):
    """Each *_TRAFFIC_SECRET_N line, in file order, must be the next
    generation of the one before (secret_0 first): RFC 8446 7.2."""
    hash_name = "sha384" if c["tls"]["cipher_suite"]["name"].endswith("SHA384") else "sha256"
    cr = c["tls"]["client_random"]
    out = []
    for side in ("CLIENT", "SERVER"):
        cur = next((bytes.fromhex(x) for l, r, x in lines if r == cr and l == f"{side}_TRAFFIC_SECRET_0"), None)
        gen = 0
        for l, x in n_lines:
            if not l.startswith(side) or cur is None:
                continue
            cur = hkdf_expand_label(cur, b"traffic upd", len(cur), hash_name)
            gen += 1
            ok = cur == bytes.fromhex(x)
            out.append(f"{l} line {gen} {'equals' if ok else 'DIFFERS FROM'} HKDF-Expand-Label("
                       f"{side}_TRAFFIC_SECRET_{gen - 1}, 'traffic upd', '', {len(cur)}) ({hash_name}), "
                       f"i.e. {side}_TRAFFIC_SECRET_{gen}")
    return "; ".join(out)


def keylog(path):
    lines = []
    with open(path) as fh:
        for raw in fh:
            raw = raw.rstrip("\n")
            if not raw or raw.startswith("#"):
                continue
            label, cr, secret = raw.split(" ")
            lines.append((label, cr.lower(), secret.lower()))
    return lines


def peer_log(path):
    """The `result {json}` line and the lines about the ending, verbatim."""
    if not os.path.exists(path):
        return None
    result, lines, status = None, [], None
    pat = re.compile(r"Error|error|closed|closing|close\(|SIGKILL|key_update|waiting|handshake failed"
                     r"|no connection ended", re.I)
    with open(path) as fh:
        for line in fh:
            line = line.rstrip("\n")
            m = re.match(r"^\S+ (client|server): result (\{.*\})$", line)
            if m:
                result = json.loads(m.group(2))
            elif line.startswith("(exit status"):
                status = int(line.split()[2].rstrip(")"))
            elif line.startswith("$ ") or "--tls-keylog" in line or "--trace-warnings" in line:
                continue
            elif pat.search(line) and not line.startswith(("Traceback", "  ")):
                lines.append(line)
    return {"result": result, "lines": lines, "exit_status": status or 0}


def initiator_logged(res, role):
    """Who started the closing handshake as this peer's log says, and how
    that is known."""
    other = "server" if role == "client" else "client"
    if not res or "close_code" not in res and "close_event" not in res:
        return {"initiator": None, "source": "no close reported (no result, or the connection never opened)"}
    if res.get("library") == "websockets":
        r = res.get("rcvd_then_sent")
        if r is None:
            return {"initiator": None, "source": "websockets: rcvd_then_sent is None (no complete closing handshake)"}
        return {"initiator": other if r else role,
                "source": f"websockets: rcvd_then_sent={r}"}
    # ws's 'close' event gives a code and a reason only.
    if res.get("close_called"):
        return {"initiator": role, "source": "ws reports no initiator; the script called ws.close() first"}
    if res["close_event"]["code"] in (1005, 1006):
        return {"initiator": None, "source": f"ws: close code {res['close_event']['code']}, no Close frame received"}
    return {"initiator": other, "source": "ws reports no initiator; the script never called ws.close(), "
                                          "so the Close frame came from the other side"}


def connection_facts(stream, pkts, plain_pkts, debug):
    syn = next(p for p in pkts if one(p, "tcp.flags.syn") in ("1", "True") and one(p, "tcp.flags.ack") in ("0", "False"))
    client, server = endpoint(syn), endpoint(syn, src=False)
    side = lambda p: "client" if endpoint(p) == client else "server"
    c = {"stream": stream, "client": client, "server": server,
         "first_frame": int(one(pkts[0], "frame.number")), "last_frame": int(one(pkts[-1], "frame.number")),
         "packets": len(pkts)}

    ch = next((p for p in pkts if 1 in ints(p, "tls.handshake.type")), None)
    sh = next((p for p in pkts if 2 in ints(p, "tls.handshake.type")), None)
    tls = {}
    if ch:
        tls["client_hello_frame"] = int(one(ch, "frame.number"))
        tls["client_random"] = one(ch, "tls.handshake.random")
        tls["client_offered_suites"] = [f"0x{s:04x}" for s in ints(ch, "tls.handshake.ciphersuite")]
    if sh:
        sv = ints(sh, "tls.handshake.extensions.supported_version")
        version = sv[0] if sv else ints(sh, "tls.handshake.version")[0]
        suite = ints(sh, "tls.handshake.ciphersuite")[0]
        tls["server_hello_frame"] = int(one(sh, "frame.number"))
        tls["version"] = {0x0304: "TLS 1.3", 0x0303: "TLS 1.2"}.get(version, hex(version))
        tls["version_number"] = f"0x{version:04x}"
        tls["cipher_suite"] = {"number": f"0x{suite:04x}", "name": suite_name(suite)}
        if version == 0x0303:
            # In TLS 1.2 only the hellos carry extensions, so every extension
            # type in the ServerHello's packet is the ServerHello's.
            if any(t not in (2, 11, 12, 14) for t in ints(sh, "tls.handshake.type")):
                raise SystemExit("ServerHello packet with other messages that have extensions")
            tls["extended_master_secret"] = 23 in ints(sh, "tls.handshake.extension.type")
            tls["client_offered_extended_master_secret"] = 23 in ints(ch, "tls.handshake.extension.type")
        else:
            tls["extended_master_secret"] = None
    c["tls"] = tls

    # TLS events (with the key log).
    events, tickets = [], 0
    for p in pkts:
        fn = int(one(p, "frame.number"))
        types = ints(p, "tls.handshake.type")
        tickets += types.count(4)
        req = ints(p, "tls.handshake.key_update.request_update")
        for t in types:
            if t == 24:
                r = req.pop(0) if req else None
                events.append({"frame": fn, "from": side(p), "event": "key_update", "request_update": r,
                               "name": {0: "update_not_requested", 1: "update_requested"}.get(r)})
        descs = ints(p, "tls.alert_message.desc")
        levels = ints(p, "tls.alert_message.level")
        for i, d in enumerate(descs):
            events.append({"frame": fn, "from": side(p), "event": "alert",
                           "level": levels[i] if i < len(levels) else None, "description": d,
                           "name": "close_notify" if d == 0 else None})
    c["tls_events_with_keylog"] = events
    c["new_session_tickets"] = tickets

    # Encrypted records on the wire (without the key log): in TLS 1.3 every
    # record of outer type application_data; in TLS 1.2 every record after
    # the sender's ChangeCipherSpec.
    is13 = tls.get("version") == "TLS 1.3"
    enc = {"client": 0, "server": 0}
    ccs_seen = set()
    for p in plain_pkts:
        who = side(p)
        for ct in ints(p, "tls.record.content_type") + ints(p, "tls.record.opaque_type"):
            if is13:
                enc[who] += ct == 23
            elif who in ccs_seen:
                enc[who] += 1
            elif ct == 20:
                ccs_seen.add(who)
    c["encrypted_records"] = {"client_to_server": enc["client"], "server_to_client": enc["server"]}
    c["encrypted_records_total"] = enc["client"] + enc["server"]
    # Decryption, per tshark's TLS debug log (-o tls.debug_file; capture-wide,
    # one connection per capture here).
    c["tshark_decryption"] = dict(debug or {})
    c["tshark_decrypted_every_record"] = bool(debug) and debug["failed"] == 0 \
        and debug["attempted"] == c["encrypted_records_total"]

    # HTTP upgrade.
    up = {}
    for p in pkts:
        if one(p, "http.request.method") == "GET":
            up["request_frame"] = int(one(p, "frame.number"))
            up["path"] = one(p, "http.request.uri")
            up["request_extensions"] = one(p, "http.sec_websocket_extensions")
        if one(p, "http.response.code"):
            up["response_frame"] = int(one(p, "frame.number"))
            up["status"] = int(one(p, "http.response.code"))
            up["response_extensions"] = one(p, "http.sec_websocket_extensions")
    c["upgrade"] = up or None

    # WebSocket frames.
    wsf, closes = [], []
    msgs = {"client_to_server": 0, "server_to_client": 0}
    for p in pkts:
        for f in ws_frames(p):
            f = {"frame": int(one(p, "frame.number")), "from": side(p), **f}
            wsf.append(f)
            key = "client_to_server" if f["from"] == "client" else "server_to_client"
            if f["fin"] and f["opcode"] in (0, 1, 2):
                msgs[key] += 1
            if f["opcode"] == 8:
                closes.append({"from": f["from"], "code": f["close_code"], "reason": f["close_reason"],
                               "frame": f["frame"], "time_epoch": one(p, "frame.time_epoch")})
    c["websocket_frames"] = wsf
    c["messages"] = msgs
    c["close_frames"] = closes
    c["first_close_from"] = closes[0]["from"] if closes else None

    ends = []
    for p in pkts:
        fl = [n for n, f in (("FIN", "tcp.flags.fin"), ("RST", "tcp.flags.reset")) if one(p, f) in ("1", "True")]
        if fl:
            ends.append({"frame": int(one(p, "frame.number")), "from": side(p), "flags": "+".join(fl),
                         "time_epoch": one(p, "frame.time_epoch")})
    c["tcp_end"] = ends
    c["first_fin_or_rst"] = ends[0] if ends else None

    # What tshark sees without the key log.
    c["without_keylog"] = {
        "websocket_frames": sum(len(p.get("websocket.opcode", [])) for p in plain_pkts),
        "http": any(re.search(r":http", one(p, "frame.protocols", "")) for p in plain_pkts),
        "application_data_records": sum(ints(p, "tls.record.content_type").count(23)
                                        + ints(p, "tls.record.opaque_type").count(23) for p in plain_pkts),
    }
    return c


def facts(name):
    pcap = os.path.join(SAMPLES, f"{name}.pcap")
    keys = os.path.join(SAMPLES, f"{name}.keys")
    skeys = os.path.join(LOGS, f"{name}.server.keys")
    (pk, debug), (plain, _) = frames(pcap, keys), frames(pcap)
    streams = sorted({int(one(p, "tcp.stream")) for p in pk})
    conns = []
    for s in streams:
        sp = [p for p in pk if int(one(p, "tcp.stream")) == s]
        pp = [p for p in plain if int(one(p, "tcp.stream")) == s]
        conns.append(connection_facts(s, sp, pp, debug))

    # Key log check.
    lines = keylog(keys)
    randoms = {c["tls"].get("client_random"): c for c in conns}
    epms = {}
    for p in pk:
        e = one(p, "tls.handshake.epms")
        if e:
            epms[e.replace(":", "").lower()[:16]] = randoms.get(
                next((c["tls"]["client_random"] for c in conns if c["stream"] == int(one(p, "tcp.stream"))), None))
    check = {"lines": len(lines), "labels": sorted({l for l, _, _ in lines}), "problems": [], "notes": []}
    for label, cr, _ in lines:
        if label == "RSA":
            # NSS format: RSA <first 8 bytes of the encrypted pre-master
            # secret> <pre-master secret>, not a client random.
            c = epms.get(cr)
            if c is None:
                check["problems"].append(f"RSA line for an encrypted pre-master secret {cr} not in this capture")
            else:
                c.setdefault("keylog_rsa_lines", 0)
                c["keylog_rsa_lines"] += 1
            continue
        c = randoms.get(cr)
        if c is None:
            check["problems"].append(f"{label} for client random {cr[:16]}… of no connection here")
            continue
        allowed = LABELS_13 | LABELS_13_N if c["tls"].get("version") == "TLS 1.3" else LABELS_12
        if label not in allowed:
            check["problems"].append(f"{label} is not a {c['tls'].get('version')} label")
    for c in conns:
        cr = c["tls"].get("client_random")
        c["keylog_labels"] = sorted({l for l, r, _ in lines if r == cr}
                                    | ({"RSA"} if c.pop("keylog_rsa_lines", 0) else set()))
        n_lines = [(l, x) for l, r, x in lines if r == cr and l in LABELS_13_N]
        if n_lines:
            check["notes"].append(traffic_upd_check(c, lines, n_lines))
    check["only_connections_of_this_capture"] = not check["problems"]
    if os.path.exists(skeys):
        s = set(keylog(skeys))
        k = set(lines)
        check["server_keylog"] = {
            "file": os.path.relpath(skeys, SAMPLES),
            "same_lines": s == k,
            "only_in_server_keylog": sorted(l for l, _, _ in s - k),
            "only_in_client_keylog": sorted(l for l, _, _ in k - s),
        }
    made, by = MADE_WITH.get(name, ("", "make/decrypt-samples.sh"))
    client_log = peer_log(os.path.join(LOGS, f"{name}.client.log"))
    server_log = peer_log(os.path.join(LOGS, f"{name}.server.log"))
    for log, role in ((client_log, "client"), (server_log, "server")):
        if log:
            log["close_initiator_as_logged"] = initiator_logged(log["result"], role)
    out = {
        "capture": f"{name}.pcap",
        "keylog": f"{name}.keys",
        "keylog_written_by": "the client (Python ssl keylog_filename / node --tls-keylog)",
        "made_with": made,
        "made_by": by,
        "packets": len(pk),
        "tshark_version": tshark("--version").splitlines()[0],
        "tshark_command": f"tshark -r {name}.pcap -o tls.keylog_file:{name}.keys",
        "notes": NOTES.get(name, ""),
        "connections": conns,
        "keylog_check": check,
        "logged": {"client": client_log, "server": server_log},
    }
    path = pcap + ".decrypt.json"
    with open(path, "w") as fh:
        json.dump(out, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    return out


def summary(f):
    for c in f["connections"]:
        t = c["tls"]
        closes = "; ".join(f"{x['from']} {x['code']} {x['reason']!r} (frame {x['frame']})" for x in c["close_frames"]) or "no Close"
        ends = ", ".join(f"{e['from']} {e['flags']} ({e['frame']})" for e in c["tcp_end"])
        print(f"{f['capture']}: {f['packets']} packets, {c['client']} -> {c['server']}, {t.get('version')} "
              f"{t.get('cipher_suite', {}).get('name')} ems={t.get('extended_master_secret')}; "
              f"messages c->s {c['messages']['client_to_server']} s->c {c['messages']['server_to_client']}; "
              f"{closes}; {ends}; decrypted={c['tshark_decrypted_every_record']}; "
              f"events={[(e['frame'], e['from'], e.get('name') or e['event'], e.get('description')) for e in c['tls_events_with_keylog']]}; "
              f"keylog {f['keylog_check']['labels']} ok={f['keylog_check']['only_connections_of_this_capture']} "
              f"server_same={f['keylog_check'].get('server_keylog', {}).get('same_lines')}")


def main():
    names = sys.argv[1:] or sorted(n[:-5] for n in os.listdir(SAMPLES)
                                    if n.startswith("decrypt-") and n.endswith(".pcap"))
    bad = False
    for n in names:
        f = facts(n)
        summary(f)
        if not f["keylog_check"]["only_connections_of_this_capture"]:
            print(f"{n}: key log problems: {f['keylog_check']['problems']}", file=sys.stderr)
            bad = True
        errs = expectation_errors(n, f)
        if errs:
            print(f"{n}: not as expected: {errs}", file=sys.stderr)
            bad = True
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
