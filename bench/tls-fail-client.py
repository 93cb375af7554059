#!/usr/bin/env python3
"""TLS handshakes that fail, for the gen-netns.sh capture (stdlib only).

Node's TLS client checks the server certificate only after the handshake and
then closes the socket without an alert, so the failures where the *client*
sends the alert come from here: Python's ssl module is OpenSSL, which checks
the certificate during the handshake and sends the alert RFC 8446 §6.2 asks
for. Each attempt is a wss client that connects, tries the handshake, and
(when the handshake seems to succeed, as a TLS 1.3 client does before the
server has read its certificate) sends the WebSocket upgrade and reads.

Usage: tls-fail-client.py TARGETS_JSON TRUTH_FILE
  TARGETS_JSON  [{"name": "wss-tls12", "addr": "10.77.0.1:9802",
                  "scenarios": ["unknown-ca", ...]}, ...]
  TRUTH_FILE    one JSON line per attempt is appended (see gen-netns.sh)
Environment:
  WSB_CA          CA certificate (PEM) of the bench servers
  WSB_SERVERNAME  SNI and expected certificate name
  WSB_TLS_FAIL_RATE  attempts per second, all threads together (default 5)
  WSB_TLS_FAIL_THREADS  concurrent attempts (default 4)

Scenarios:
  unknown-ca            trust only the system roots -> client alert unknown_ca
  cert-expired          trust the bench CA, server certificate expired ->
                        client alert certificate_expired
  name-mismatch         trust the bench CA, ask for another name -> client
                        alert bad_certificate
  client-cert-required  the server demands a client certificate, none sent ->
                        server alert (handshake_failure in TLS 1.2,
                        certificate_required in TLS 1.3)
"""

import json
import os
import random
import signal
import socket
import ssl
import sys
import threading
import time

# OpenSSL's verify errors and the alert it sends for each
# (ssl/statem/statem_lib.c, ssl_x509err2alert).
VERIFY_ALERT = {
    10: "certificate_expired",  # X509_V_ERR_CERT_HAS_EXPIRED
    18: "unknown_ca",  # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    19: "unknown_ca",  # X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
    20: "unknown_ca",  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: "unknown_ca",  # X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
    62: "bad_certificate",  # X509_V_ERR_HOSTNAME_MISMATCH
}

lock = threading.Lock()
pending = []  # finished records, not yet written
records = {}  # id() -> record of the attempts still running
stop = threading.Event()


def context(scenario, ca):
    if scenario == "unknown-ca":
        return ssl.create_default_context()  # system roots only
    return ssl.create_default_context(cafile=ca)


def alert_of(err):
    """(sender, alert name) from the error OpenSSL gave this endpoint."""
    if isinstance(err, ssl.SSLCertVerificationError):
        return "client", VERIFY_ALERT.get(err.verify_code, f"verify_error_{err.verify_code}")
    reason = getattr(err, "reason", None) or ""
    for prefix in ("TLSV13_ALERT_", "TLSV1_ALERT_", "SSLV3_ALERT_"):
        if reason.startswith(prefix):
            return "server", reason[len(prefix):].lower()
    if reason in ("UNSUPPORTED_PROTOCOL", "WRONG_VERSION_NUMBER", "TLSV1_ALERT_PROTOCOL_VERSION"):
        return "client", "protocol_version"
    return None, None


def attempt(target, scenario, ca, servername):
    host, port = target["addr"].rsplit(":", 1)
    name = "wrong.bench.test" if scenario == "name-mismatch" else servername
    rec = {
        "side": "client", "target": target["name"], "client": None, "server": target["addr"],
        "t_start": time.time() * 1000, "t_end": None, "ending": "tls-" + scenario,
        "tls": None, "error": None, "alert": None, "alert_sender": None,
    }
    with lock:
        records[id(rec)] = rec
    try:
        sock = socket.create_connection((host, int(port)), timeout=10)
    except OSError as e:
        rec["error"] = f"connect: {e}"
        return finish(rec)
    rec["client"] = "%s:%d" % sock.getsockname()[:2]
    try:
        tls = context(scenario, ca).wrap_socket(sock, server_hostname=name)
        rec["tls"] = tls.version()
        # TLS 1.3: the client is done before the server has checked it; the
        # server's alert arrives with the first read.
        tls.sendall(
            f"GET /ws HTTP/1.1\r\nHost: {name}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        data = tls.recv(4096)
        rec["error"] = "no failure: " + (data.split(b"\r\n", 1)[0].decode("latin-1") if data else "EOF")
        tls.close()
    except ssl.SSLError as e:
        rec["error"] = str(e)
        rec["alert_sender"], rec["alert"] = alert_of(e)
        sock.close()
    except OSError as e:
        rec["error"] = str(e)
        sock.close()
    return finish(rec)


def finish(rec):
    rec["t_end"] = time.time() * 1000
    with lock:
        records.pop(id(rec), None)
        pending.append(json.dumps(rec))


def flush(path):
    with lock:
        lines, pending[:] = list(pending), []
    if lines:
        with open(path, "a") as f:
            f.write("\n".join(lines) + "\n")


def worker(pairs, ca, servername, mean_gap):
    while not stop.is_set():
        target, scenario = random.choice(pairs)
        attempt(target, scenario, ca, servername)
        stop.wait(random.expovariate(1.0 / mean_gap))


def main():
    targets = json.loads(sys.argv[1])
    truth = sys.argv[2]
    ca = os.environ.get("WSB_CA")
    servername = os.environ.get("WSB_SERVERNAME", "ws.bench.test")
    rate = float(os.environ.get("WSB_TLS_FAIL_RATE", "5"))
    threads = int(os.environ.get("WSB_TLS_FAIL_THREADS", "4"))
    if rate <= 0:
        return
    pairs = [(t, s) for t in targets for s in t["scenarios"]]

    def bye(*_):
        stop.set()
        with lock:
            pending.extend(json.dumps(r) for r in records.values())  # t_end null
            records.clear()
        flush(truth)
        os._exit(0)

    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGINT, bye)
    for _ in range(threads):
        threading.Thread(target=worker, args=(pairs, ca, servername, threads / rate), daemon=True).start()
    print(f"tls-fail-client: {len(pairs)} target/scenario pairs, {rate}/s", file=sys.stderr, flush=True)
    while True:
        time.sleep(1)
        flush(truth)


if __name__ == "__main__":
    main()
