#!/usr/bin/env bash
# Ring buffers: six WebSocket sessions on 127.0.0.1:8930-8935, started
# 0.5 s apart, each talking (a text message, a binary message and a ping
# every 0.15 s) for 2-5 s before it ends, captured at once on lo by:
#   ring-dumpcap/          dumpcap -b filesize:12 -b files:100 (pcapng; never wraps)
#   ring-dumpcap-pcap/     the same with -P (pcap)
#   ring-dumpcap-wrapped/  dumpcap -b filesize:12 -b files:4: a ring that
#                          wrapped, only its last 4 files are left
#   ring-tcpdump/          tcpdump -C 1 -w x.pcap (x.pcap, x.pcap1, ... x.pcapN)
#   $FULL/ring-full.pcap   tcpdump -s 0 of the sessions, to decode what the
#                          wrapped ring lost (not committed)
# tcpdump 4.99.3's -C takes whole millions of bytes only ("invalid file size
# 2k"), so a UDP filler (make/field_filler.py, ~2.5 MB/s to port 8999, in
# tcpdump's filter only) makes it rotate every ~0.4 s; then each file is
# rewritten by `tcpdump -r x.pcapN -w ring-tcpdump/x.pcapN tcp`, which drops
# the filler and keeps tcpdump's file header, packets and file boundaries.
#   8930 Python client, client Close 1000 "client done"   (start 0.0 s, 5.0 s)
#   8931 Python client, server Close 1001 "going away"    (0.5 s, 2.5 s)
#   8932 Python client, server Close 4000 "session expired" (1.0 s, 3.5 s)
#   8933 Node ws client, client Close 4000 "app shutdown" (1.5 s, 3.0 s)
#   8934 Python client process SIGKILLed                  (2.0 s, 2.0 s)
#   8935 Python client, server handler raises: 1011       (2.5 s, 3.0 s)
# Servers are Python websockets. Logs in samples/field-logs/ring-PORT-*.log;
# then make/field_truth.py writes each directory's truth.json.
source "$(dirname "$0")/lib.sh"
source "$HERE/field-lib.sh"
FULL="${FULL:-/tmp/wsf-field-full}"
mkdir -p "$FULL"
versions
N=ring
FILTER="tcp portrange 8930-8935"
rm -f "$LOGS"/$N-*.log
for d in ring-dumpcap ring-dumpcap-pcap ring-dumpcap-wrapped ring-tcpdump; do
    rm -rf "${OUT:?}/$d"; mkdir -p "$WORK/$d" "$OUT/$d"
done
declare -A SC=([8930]=client-1000 [8931]=server-1001 [8932]=server-4000 [8933]=client-4000
               [8934]=client-killed [8935]=server-1011)
declare -A HOLD=([8930]=5.0 [8931]=2.5 [8932]=3.5 [8933]=3.0 [8934]=2.0 [8935]=3.0)
for port in 8930 8931 8932 8933 8934 8935; do
    py_server $N $port "${SC[$port]}" --hold "${HOLD[$port]}" --lifetime 30
done

cap_dumpcap -q -i lo -f "$FILTER" -b filesize:12 -b files:100 -w "$WORK/ring-dumpcap/ring.pcapng"
cap_dumpcap -q -i lo -f "$FILTER" -P -b filesize:12 -b files:100 -w "$WORK/ring-dumpcap-pcap/ring.pcap"
cap_dumpcap -q -i lo -f "$FILTER" -b filesize:12 -b files:4 -w "$WORK/ring-dumpcap-wrapped/ring.pcapng"
cap_tcpdump "$WORK/ring-tcpdump/x.pcap" -i lo -s 0 -B 65536 -C 1 "($FILTER) or udp port 8999"
cap_tcpdump "$FULL/ring-full.pcap" -i lo -s 0 -B 65536 $FILTER
caps_ready
timeout 20 python3 "$HERE/field_filler.py" 8999 2500000 6.8 > "$LOGS/$N-filler.log" 2>&1 &
FILLER=$!; PIDS+=("$FILLER")
sleep 0.3
for port in 8930 8931 8932 8933 8934 8935; do
    url="ws://127.0.0.1:$port/field/${SC[$port]}"
    if [ $port = 8933 ]; then
        node_client $N $port "${SC[$port]}" "$url" - "${HOLD[$port]}" 0.15
    else
        py_client $N $port "${SC[$port]}" "$url" --hold "${HOLD[$port]}" --interval 0.15
    fi
    sleep 0.5
done
wait_all
wait "$FILLER" 2>/dev/null || true
stop_caps

cp "$WORK"/ring-dumpcap/* "$OUT/ring-dumpcap/"
cp "$WORK"/ring-dumpcap-pcap/* "$OUT/ring-dumpcap-pcap/"
cp "$WORK"/ring-dumpcap-wrapped/* "$OUT/ring-dumpcap-wrapped/"
for f in "$WORK"/ring-tcpdump/x.pcap*; do
    tcpdump -r "$f" -w "$OUT/ring-tcpdump/$(basename "$f")" tcp 2>/dev/null
    echo "$(basename "$f"): $(stat -c %s "$f") bytes as written, $(tcpdump -r "$f" 2>/dev/null | wc -l) packets," \
         "$(tcpdump -r "$f" tcp 2>/dev/null | wc -l) TCP packets kept" >> "$LOGS/$N-tcpdump-files.txt.new"
done
mv "$LOGS/$N-tcpdump-files.txt.new" "$LOGS/$N-tcpdump-files.txt"
chmod 644 "$OUT"/ring-*/*
for d in ring-dumpcap ring-dumpcap-pcap ring-dumpcap-wrapped ring-tcpdump; do
    echo "$d: $(ls "$OUT/$d" | wc -l) files, $(du -sb "$OUT/$d" | cut -f1) bytes"
done
