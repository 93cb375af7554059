#!/usr/bin/env python3
"""Write samples/tls-pki/certs.json: what `openssl x509` prints about each
certificate PEM in samples/tls-pki/ (or the directory given).

usage: tls_certs.py [DIR]

Every value is read from openssl's own output, not computed here:
`openssl x509 -noout -text -nameopt RFC2253` for subject, issuer, serial,
key, signature algorithm and extensions; `-startdate -enddate -dateopt
iso_8601` for the validity (written as RFC 3339 UTC); `-fingerprint
-sha256` for the SHA-256 of the DER (written as lowercase hex without
colons, the form tls_facts.py gives for the certificates in a capture).
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

ROLES = {
    "root.pem": "test root CA (the trust anchor the clients are given)",
    "intermediate.pem": "test intermediate CA, signed by the root; signs the leaves",
    "leaf-ec.pem": "valid server leaf (EC), sent with the intermediate",
    "leaf-rsa.pem": "valid server leaf (RSA), sent with the intermediate",
    "expired.pem": "server leaf whose validity ended on 2025-01-01",
    "wrong-name.pem": "valid server leaf for other.test only",
    "rogue-root.pem": "second root CA that no client trusts",
    "rogue-leaf.pem": "server leaf for localhost signed by the rogue root",
    "client.pem": "client certificate (clientAuth), signed by the intermediate",
}


def openssl(*args):
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=True).stdout


def one_line(text, label):
    m = re.search(r"^\s*" + re.escape(label) + r":\s*(.*)$", text, re.M)
    return m.group(1).strip() if m else None


def block(text, label):
    """The indented lines under an extension's heading, joined."""
    m = re.search(r"^(\s*)" + re.escape(label) + r":.*\n((?:\1\s+.*\n)+)", text, re.M)
    return " ".join(l.strip() for l in m.group(2).splitlines()) if m else None


def iso(d):  # "2024-01-01 00:00:00Z" -> "2024-01-01T00:00:00Z"
    return d.replace(" ", "T")


def facts(path):
    text = openssl("x509", "-in", path, "-noout", "-text", "-nameopt", "RFC2253")
    dates = openssl("x509", "-in", path, "-noout", "-startdate", "-enddate", "-dateopt", "iso_8601")
    fp = openssl("x509", "-in", path, "-noout", "-fingerprint", "-sha256")
    serial_hex = openssl("x509", "-in", path, "-noout", "-serial").strip().split("=", 1)[1]
    alg = one_line(text, "Public Key Algorithm")
    bits = re.search(r"Public-Key: \((\d+) bit\)", text).group(1)
    if alg == "rsaEncryption":
        key = f"RSA {bits}"
    elif alg == "id-ecPublicKey":
        key = f"EC {one_line(text, 'NIST CURVE') or one_line(text, 'ASN1 OID')}"
    else:
        key = f"{alg} {bits}"
    san = block(text, "X509v3 Subject Alternative Name")
    bc = block(text, "X509v3 Basic Constraints") or ""
    ku = block(text, "X509v3 Key Usage")
    eku = block(text, "X509v3 Extended Key Usage")
    return {
        "file": os.path.basename(path),
        "role": ROLES.get(os.path.basename(path), ""),
        "subject": one_line(text, "Subject"),
        "issuer": one_line(text, "Issuer"),
        "serial": serial_hex.lower(),
        "not_before": iso(dates.split("notBefore=")[1].splitlines()[0]),
        "not_after": iso(dates.split("notAfter=")[1].splitlines()[0]),
        "subject_alt_names": [s.strip() for s in san.split(",")] if san else [],
        "public_key": key,
        "signature_algorithm": one_line(text, "Signature Algorithm"),
        "is_ca": "CA:TRUE" in bc,
        "basic_constraints": bc,
        "key_usage": [s.strip() for s in ku.split(",")] if ku else [],
        "extended_key_usage": [s.strip() for s in eku.split(",")] if eku else [],
        "sha256": fp.strip().split("=", 1)[1].replace(":", "").lower(),
    }


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "tls-pki")
    names = sorted(n for n in os.listdir(d) if n.endswith(".pem"))
    order = list(ROLES)
    names.sort(key=lambda n: (order.index(n) if n in order else len(order), n))
    out = {
        "made_with": openssl("version").strip(),
        "fingerprints": "sha256 is the SHA-256 of the DER encoding, lowercase hex",
        "certificates": [facts(os.path.join(d, n)) for n in names],
    }
    path = os.path.join(d, "certs.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(path, len(out["certificates"]), "certificates")


if __name__ == "__main__":
    main()
