#!/usr/bin/env bash
# Facts of the TLS samples (see tls-samples.sh): for each capture the generic
# TCP facts (facts.py -> CAPTURE.facts.json, read by tests/samples.rs) and
# the TLS facts (tls_facts.py -> CAPTURE.tls.json, with the key log of the
# capture as a cross-check where there is one), then checks them all
# (pcapcheck.py, tls_check.py). With arguments, only the captures named.
#
# FOXIO_JA4=path/to/ja4.py (FoxIO's python/ja4.py from github FoxIO-LLC/ja4,
# next to its common.py) makes tls_facts.py compare its JA4 with FoxIO's.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="$(cd "$HERE/.." && pwd)"
NAMES="${*:-tls12-expired tls13-expired tls13-expired-gnutls tls-unknown-ca tls-name-mismatch
tls-name-mismatch-13 tls13-only-client tls12-only-client tls-no-shared-cipher tls-client-cert-required
tls13-client-cert-required wss-clean wss-asyncio-reject tls-curl-nginx-ok tls-nginx-no-client-cert
tls13-hello-retry}"
FACTS=()
TLS=()
for n in $NAMES; do
    cap="$OUT/$n.pcap"
    keys="$OUT/tls-logs/$n.keys"
    [ "$n" = wss-clean ] && keys="$OUT/wss-clean.keys"
    args=()
    [ -f "$keys" ] && args+=(--keys "$keys")
    [ -n "${FOXIO_JA4:-}" ] && args+=(--foxio-ja4 "$FOXIO_JA4")
    python3 "$HERE/facts.py" "$cap"
    python3 "$HERE/tls_facts.py" "$cap" "${args[@]}"
    FACTS+=("$cap.facts.json")
    TLS+=("$cap.tls.json")
done
python3 "$HERE/pcapcheck.py" "${FACTS[@]}"
python3 "$HERE/tls_check.py" "${TLS[@]}"
