#!/usr/bin/env python3
"""facts.py for captures whose connections may have no SYN (field-shaped
samples): runs make/facts.py unchanged, then, for each connection whose
SYN is not in the capture, puts the real client and server in place.

usage: field_facts.py CAPTURE --servers LOW-HIGH [--notes TEXT]

facts.py takes "the first packet's sender" as the client when a stream has
no SYN; in a mid-stream capture that is the server whenever the server
happened to send first (the idle session of midstream-ws: its first packet
is the server's Close). The server ports are known from the script
(LOW-HIGH); for a connection where facts.py put a server port on the client
side, this swaps client and server and the two directions' byte counts and
SHA-256s (nothing else in a connection's facts depends on the roles), and
says so in `notes`. Every other field is facts.py's own.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("capture")
    p.add_argument("--servers", required=True)
    p.add_argument("--notes", default="")
    a = p.parse_args()
    lo, hi = map(int, a.servers.split("-"))
    subprocess.run([sys.executable, os.path.join(HERE, "facts.py"), a.capture, "--notes", a.notes], check=True)
    path = a.capture + ".facts.json"
    facts = json.load(open(path))
    swapped = []
    for c in facts["connections"]:
        cport = int(c["client"].rsplit(":", 1)[1])
        sport = int(c["server"].rsplit(":", 1)[1])
        if lo <= cport <= hi and not lo <= sport <= hi:
            c["client"], c["server"] = c["server"], c["client"]
            for k in ("bytes", "sha256"):
                c[f"{k}_client_to_server"], c[f"{k}_server_to_client"] = \
                    c[f"{k}_server_to_client"], c[f"{k}_client_to_server"]
            swapped.append(c["stream"])
    if swapped:
        facts["notes"] += (f" Roles of stream(s) {', '.join(map(str, swapped))} swapped by make/field_facts.py: "
                           f"no SYN in the capture and the server (port {lo}-{hi}) sent the first packet, "
                           "which facts.py takes for the client's.")
    with open(path, "w") as f:
        json.dump(facts, f, indent=2)
        f.write("\n")
    print(path, "swapped streams:", swapped)


if __name__ == "__main__":
    main()
