#!/usr/bin/env python3
"""Merge the endpoints' per-connection records into one ground-truth file.

Usage: netns-truth.py STOP_MS OUT.json RECORDS.ndjson...

gen-netns.sh runs this after the capture. Each load program (ws-client.js,
tls-fail-client.py, every ws-server.js) appended one JSON line per connection
it handled: who it talked to (client ip:port, server ip:port), when, what it
planned and what it saw. This joins a client's record with the server's
record of the same connection (same ip:port pair, nearest start time; ports
are reused over a long run), and states what a capture reader should conclude
in the terms of the wsforensics report (DESIGN.md, "Disconnect codes"):
category, code, initiator, and the TLS alert where there is one. That
starts from the planned ending and is corrected by what the endpoints saw:
when ws says the planned Close frame was never written (it gave up after its
30 s close timeout, or the plan destroyed the socket first), the capture
shows a TCP close without Close ("note" says so).

STOP_MS is when tcpdump was stopped (ms since the epoch). Connections that
began more than EDGE_MS after it are left out; those still open at it are
expected as capture_end; those that began, or whose ending happened, within
EDGE_MS of it are marked "edge": the capture may hold some of their start or
ending and not the rest.
Everything else, including connections the endpoints saw end differently from
the plan (field "consistent": false), is written out.
"""

import collections
import json
import sys

EDGE_MS = 1000

# Endings that do not depend on the planned code: (category, code, initiator).
FIXED = {
    "client-close-nocode": ("close_frame", 1005, "client"),  # empty Close body
    "client-close-then-destroy": ("close_frame", 1000, "client"),
    "client-fin": ("tcp_abort", 1006, "client"),
    "client-rst": ("tcp_abort", 1006, "client"),
    "server-fin": ("tcp_abort", 1006, "server"),
    "server-rst": ("tcp_abort", 1006, "server"),
    "server-1009-too-big": ("close_frame", 1009, "server"),
    "handshake-403": ("http_upgrade", 1006, "server"),
    "tls-version-mismatch": ("tls_handshake", 1015, "server"),
    "tls-untrusted": ("tls_handshake", 1015, "client"),
    "tls-unknown-ca": ("tls_handshake", 1015, "client"),
    "tls-cert-expired": ("tls_handshake", 1015, "client"),
    "tls-name-mismatch": ("tls_handshake", 1015, "client"),
    "tls-client-cert-required": ("tls_handshake", 1015, "server"),
}
# The alert each TLS ending should produce (None: the endpoint sends none).
ALERT = {
    "tls-version-mismatch": {"protocol_version"},
    "tls-untrusted": {None},
    "tls-unknown-ca": {"unknown_ca"},
    "tls-cert-expired": {"certificate_expired"},
    "tls-name-mismatch": {"bad_certificate"},
    "tls-client-cert-required": {"handshake_failure", "certificate_required"},
}
# Node's error codes for a certificate its client does not trust.
UNTRUSTED = {"UNABLE_TO_VERIFY_LEAF_SIGNATURE", "DEPTH_ZERO_SELF_SIGNED_CERT",
             "SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"}


def planned(c):
    """(category, code, initiator) the planned ending puts in the capture."""
    e = c["ending"]
    if e in FIXED:
        return FIXED[e]
    if e.startswith("client-close-"):
        return ("close_frame", c.get("planned_code"), "client")
    if e.startswith("server-close-"):
        return ("close_frame", c.get("planned_code"), "server")
    return ("capture_end", 1006, "none")  # "forever": never ends by itself


def judge(c, s):
    """What the capture should show, from the plan corrected by what the
    endpoints saw: (category, code, initiator), whether the client's view
    agrees with it, and a note when the plan did not happen.

    c is the client's record, s the server's (or None)."""
    e = c["ending"]
    exp = planned(c)
    code, err = c.get("code"), c.get("error") or ""
    if e.startswith("tls-"):
        if "alert" in c:  # tls-fail-client.py knows which alert it sent or got
            return exp, c["alert"] in ALERT[e], None
        if e == "tls-version-mismatch":  # e.g. EPROTO "... tlsv1 alert protocol version"
            return exp, "PROTOCOL_VERSION" in (err + (c.get("error_message") or "")).upper().replace(" ", "_"), None
        return exp, err in UNTRUSTED, None
    if e == "handshake-403":
        return exp, c.get("http_status") == 403, None
    if c.get("t_open") is None:
        return exp, False, None
    if exp[0] == "close_frame":
        # ws writes a Close behind the messages still being compressed (one
        # zlib queue for all connections) and gives up 30 s later
        # (closeTimeout) by destroying the socket: then no Close frame left
        # the sender, which ended the TCP connection itself.
        sender = c if exp[2] == "client" else s
        if sender is not None and sender.get("close_sent") is False:
            return ("tcp_abort", 1006, exp[2]), True, f"the {exp[2]}'s Close frame never left it"
        if exp[2] == "client":
            return exp, c.get("close_sent") is True, None
        return exp, code == exp[1] or (s is not None and s.get("close_sent") is True), None
    if exp[0] == "tcp_abort":
        return exp, code == 1006 and not c.get("close_sent") and not c.get("close_received"), None
    return exp, True, None


def main():
    stop = float(sys.argv[1])
    out = sys.argv[2]
    clients, servers = [], collections.defaultdict(list)
    for path in sys.argv[3:]:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                r = json.loads(line)
                if r["side"] == "client":
                    clients.append(r)
                elif r.get("client"):
                    servers[(r["client"], r["server"])].append(r)

    conns, counts = [], collections.Counter()
    for c in sorted(clients, key=lambda r: r["t_start"]):
        if c["t_start"] > stop + EDGE_MS:
            counts["started_after_stop"] += 1
            continue
        if c["client"] is None:  # no TCP connection at all
            counts["no_tcp_connection"] += 1
            continue
        srv = None
        cands = servers.get((c["client"], c["server"]))
        if cands:
            best = min(cands, key=lambda s: abs((s["t_start"] or 0) - c["t_start"]))
            if abs((best["t_start"] or 0) - c["t_start"]) < 30000:
                srv = best
                cands.remove(best)
        exp, ok, note = judge(c, srv)
        planned_at = c.get("t_end_action") or c.get("t_end")
        if c["t_start"] > stop - EDGE_MS:
            state = "edge"
            ok, note = True, None
        elif c["t_end"] is not None and c["t_end"] < stop - EDGE_MS:
            state = "ended"
        elif planned_at is None or planned_at > stop + EDGE_MS:
            state = "open_at_stop"
            exp, ok, note = ("capture_end", 1006, "none"), True, None
        else:
            state = "edge"
            ok, note = True, None
        transport = "wss" if c["target"].startswith("wss") else "ws"
        conn = {
            "client": c["client"], "server": c["server"], "t_start": c["t_start"], "t_end": c["t_end"],
            "target": c["target"], "transport": transport,
            "tls": c.get("tls") or (srv or {}).get("tls"),
            "deflate": "permessage-deflate" in (c.get("ext") or ""),
            "ending": c["ending"], "state": state, "consistent": ok,
            "expected": {"category": exp[0], "code": exp[1], "initiator": exp[2]},
            "client_saw": {k: c.get(k) for k in ("code", "reason", "close_sent", "close_received", "error",
                                                 "error_message", "http_status", "alert", "alert_sender")
                           if c.get(k) is not None},
            "server_saw": None if srv is None else {
                k: srv.get(k) for k in ("code", "reason", "close_sent", "close_received", "action", "error",
                                        "tls_error", "http_status")
                if srv.get(k) is not None},
        }
        if note:
            conn["note"] = note
            counts["plan_not_followed"] += 1
        if c["ending"] in ALERT and state == "ended":
            conn["expected"]["alert"] = c.get("alert") if "alert" in c else sorted(ALERT[c["ending"]], key=str)[0]
        conns.append(conn)
        counts[state] += 1
        if not ok:
            counts["inconsistent"] += 1

    summary = {
        "connections": len(conns),
        "states": dict(counts),
        "by_transport": dict(collections.Counter(c["transport"] for c in conns)),
        "by_tls": dict(collections.Counter(c["tls"] or "-" for c in conns if c["transport"] == "wss")),
        "by_target": dict(sorted(collections.Counter(c["target"] for c in conns).items())),
        "deflate": sum(c["deflate"] for c in conns),
        "by_expected_code": dict(sorted(collections.Counter(
            "3xxx" if 3000 <= (c["expected"]["code"] or 0) < 4000 else str(c["expected"]["code"])
            for c in conns if c["state"] != "edge").items())),
        "by_ending": dict(sorted(collections.Counter(c["ending"] for c in conns).items())),
    }
    with open(out, "w") as f:
        f.write('{"stop_ms": %s, "edge_ms": %d,\n "summary": %s,\n "connections": [\n'
                % (json.dumps(stop), EDGE_MS, json.dumps(summary)))
        f.write(",\n".join(json.dumps(c, separators=(",", ":")) for c in conns))
        f.write("\n]}\n")
    json.dump(summary, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
