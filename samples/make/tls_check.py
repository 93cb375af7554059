#!/usr/bin/env python3
"""Cross-check samples/*.tls.json a second way (tshark -T fields, openssl).

usage: tls_check.py [TLS_JSON ...]   (default: every samples/*.tls.json)

For each file, against the capture next to it:
- the plaintext alerts (frame, level, code) equal tshark's
  tls.alert_message.* fields, and with the key log the decrypted ones too;
- each ServerHello's frame, cipher suite and version (supported_versions
  when present, else the legacy version) equal tshark's fields;
- each ClientHello's frame, SNI, JA3, cipher suites and extension types
  equal tshark's fields;
- the SHA-256 of every tls.handshake.certificate tshark extracts equals
  certificates_sha256, each of those is the SHA-256 of the DER of a PEM in
  samples/tls-pki/ (hashed here from `openssl x509 -outform DER`, not taken
  from certs.json), certs.json says the same, and in the chain each
  certificate's issuer is the next one's subject (for TLS 1.3, the chain
  tshark decrypted with the key log).
Exits 1 on any difference.
"""
import glob
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.dirname(HERE)
errors = 0


def tshark_fields(cap, flt, fields, keys=None):
    args = ["tshark", "-r", cap, "-Y", flt, "-T", "fields", "-E", "separator=|", "-E", "occurrence=a",
            "-E", "aggregator=;", "-o", f"tls.keylog_file:{keys or ''}"]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [line.split("|") for line in out.splitlines()]


def check(what, got, want):
    global errors
    if got != want:
        errors += 1
        print(f"  MISMATCH {what}: tshark/openssl {got!r}, facts {want!r}")


def pki():
    """{sha256 of DER: (file, subject, issuer)} from the PEMs, with openssl."""
    out = {}
    certs = {c["file"]: c for c in json.load(open(os.path.join(SAMPLES, "tls-pki", "certs.json")))["certificates"]}
    for pem in sorted(glob.glob(os.path.join(SAMPLES, "tls-pki", "*.pem"))):
        der = subprocess.run(["openssl", "x509", "-in", pem, "-outform", "DER"], capture_output=True,
                             check=True).stdout
        h = hashlib.sha256(der).hexdigest()
        name = os.path.basename(pem)
        check(f"certs.json sha256 of {name}", h, certs[name]["sha256"])
        out[h] = (name, certs[name]["subject"], certs[name]["issuer"])
    return out


def main():
    files = sys.argv[1:] or sorted(glob.glob(os.path.join(SAMPLES, "*.tls.json")))
    known = pki()
    for path in files:
        facts = json.load(open(path))
        cap = os.path.join(os.path.dirname(os.path.abspath(path)), facts["capture"])
        keys = os.path.join(SAMPLES, facts["keylog"]) if facts.get("keylog") else None
        print(facts["capture"])
        conns = facts["connections"]
        # Alerts, plaintext.
        got = [(int(f), lvl, int(d)) for f, lvl, d in
               tshark_fields(cap, "tls.alert_message.desc", ["frame.number", "tls.alert_message.level",
                                                              "tls.alert_message.desc"])]
        want = [(a["frame"], {"fatal": "2", "warning": "1"}[a["level"]], a["code"])
                for c in conns for a in c["alerts"] if not a["encrypted"]]
        check("plaintext alerts", got, want)
        if keys:
            got = [(int(f), lvl, int(d)) for f, lvl, d in
                   tshark_fields(cap, "tls.alert_message.desc", ["frame.number", "tls.alert_message.level",
                                                                  "tls.alert_message.desc"], keys)]
            want = [(a["frame"], {"fatal": "2", "warning": "1"}[a["level"]], a["code"])
                    for c in conns for a in c["alerts"] if a["level"]]
            check("alerts with the key log", got, want)
        # ServerHello.
        got = [(int(f), cs, sv or v) for f, cs, sv, v in
               tshark_fields(cap, "tls.handshake.type == 2", ["frame.number", "tls.handshake.ciphersuite",
                                                              "tls.handshake.extensions.supported_version",
                                                              "tls.handshake.version"])]
        want = sorted((h["frame"], h["cipher"], h["version"])
                      for c in conns for h in (c.get("hello_retry_request"), c["server_hello"]) if h)
        check("server hellos", got, want)
        # ClientHello.
        got = [(int(f), sni or None, ja3, cs.split(";"), [int(e) for e in ext.split(";")]) for f, sni, ja3, cs, ext in
               tshark_fields(cap, "tls.handshake.type == 1", ["frame.number", "tls.handshake.extensions_server_name",
                                                              "tls.handshake.ja3", "tls.handshake.ciphersuite",
                                                              "tls.handshake.extension.type"])]
        want = sorted((h["frame"], h["sni"], h["ja3"], h["cipher_suites"], h["extensions"])
                      for c in conns for h in (c["client_hello"], c.get("client_hello_2")) if h)
        check("client hellos", got, want)
        # Certificates.
        rows = tshark_fields(cap, "tls.handshake.certificate", ["frame.number", "tls.handshake.certificate"])
        got = [(int(f), [hashlib.sha256(bytes.fromhex(x.replace(":", ""))).hexdigest() for x in certs.split(";")])
               for f, certs in rows]
        want = [(c["certificates_frame"], c["certificates_sha256"]) for c in conns if c["certificates_frame"]]
        check("certificates", got, want)
        for c in conns:
            chain = c["certificates_sha256"] or c.get("certificates_sha256_with_keylog") or []
            for i, h in enumerate(chain):
                if h not in known:
                    check(f"certificate {i} in samples/tls-pki", None, h)
                    continue
                name, subject, issuer = known[h]
                how = "" if c["certificates_sha256"] else ", encrypted, seen with the key log"
                print(f"  stream {c['stream']} certificate {i}: {name} ({subject}{how})")
                if i + 1 < len(chain) and chain[i + 1] in known:
                    check(f"certificate {i}'s issuer is certificate {i + 1}'s subject",
                          known[chain[i + 1]][1], issuer)
    print("tls_check:", "OK" if not errors else f"{errors} differences")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
