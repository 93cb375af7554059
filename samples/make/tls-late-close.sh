#!/usr/bin/env bash
# tls12-late-close.pcap: a TLS 1.2 session (Python ssl / OpenSSL on both
# ends) whose client completes the handshake, sends nothing for 1.5 s and
# closes TCP without a close_notify; the server answers with close_notify.
# The server's key log goes to tls12-late-close.keys. The leaf is the test
# PKI's leaf-ec (trusted with --ca-file samples/tls-pki/root.pem).
#
# usage: samples/make/tls-late-close.sh   (root, tcpdump, python3, openssl)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PKI=/tmp/wsf-pki-late
PORT=8856
bash "$HERE/tls-pki.sh" "$PKI" >/dev/null
PCAP="$OUT/tls12-late-close.pcap"
KEYS="$OUT/tls12-late-close.keys"
rm -f "$KEYS"
start_capture "$PCAP" -i lo "tcp port $PORT"
timeout 30 python3 "$HERE/tls_late_peers.py" server "$PORT" "$PKI/leaf-ec-chain.pem" "$PKI/leaf-ec.key" "$KEYS" &
SRV=$!
PIDS+=("$SRV")
sleep 0.7
timeout 30 python3 "$HERE/tls_late_peers.py" client "$PORT" 1.5
wait "$SRV" || true
stop_capture
# The committed captures' certificates live in samples/tls-pki/; this one
# was made with a new PKI, so its root goes beside the capture.
cp "$PKI/root.pem" "$OUT/tls12-late-close.root.pem"
echo "wrote $PCAP, $KEYS and tls12-late-close.root.pem"
