#!/usr/bin/env python3
"""Compare wsforensics's verdicts with the ground truth of gen-netns.sh.

Usage: compare-truth.py [--examples N] TRUTH.json REPORT.json

TRUTH.json is the OUTPUT.truth.json gen-netns.sh writes; REPORT.json is
`wsforensics --format json -o REPORT.json OUTPUT` (with `--keylog
OUTPUT.keys` to see inside wss). Connections are matched on client ip:port
and server ip:port, and, since ports are reused, on the nearest start time
(within 5 s). Left out of the comparison: truth entries whose ending
straddles the end of the capture ("edge") and those whose endpoints saw
something other than what was planned ("consistent": false); both are
counted. Without a key log, wss sessions that got past the handshake show as
`encrypted` (code null): counted apart, not as disagreements.

Prints markdown: per-code counts (truth, report, agreeing), the
category pairs that disagree, initiator disagreements, TLS alerts (the one
the endpoint sent or got, against the report's alerts from that sender), and
for each kind of disagreement (planned ending, expected -> reported) its
count and a few client ip:port examples. Exit status 0 whatever the agreement (it is a
measurement), 2 on bad input.
"""

import argparse
import bisect
import collections
import datetime
import json
import sys

MATCH_MS = 5000


def ms_of(rfc3339):
    """'2026-11-23T14:51:58.123456789Z' -> ms since the epoch (float)."""
    base, _, frac = rfc3339.rstrip("Z").partition(".")
    t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return t.timestamp() * 1000 + (float("0." + frac) * 1000 if frac else 0)


def code_str(code):
    return "null" if code is None else str(code)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("truth")
    ap.add_argument("report")
    ap.add_argument("--examples", type=int, default=3, help="client ip:port examples per kind of disagreement")
    a = ap.parse_args()
    try:
        truth = json.load(open(a.truth))["connections"]
        report = json.load(open(a.report))["connections"]
    except (OSError, ValueError, KeyError) as e:
        print(f"compare-truth: {e}", file=sys.stderr)
        return 2

    # Report connections by (client, server), sorted by start time.
    by_key = collections.defaultdict(list)
    for r in report:
        by_key[(r["client"], r["server"])].append((ms_of(r["first_seen"]), r))
    for v in by_key.values():
        v.sort(key=lambda x: x[0])
    used = set()

    def match(t):
        cands = by_key.get((t["client"], t["server"]), [])
        times = [x[0] for x in cands]
        i = bisect.bisect_left(times, t["t_start"])
        best = None
        for j in (i - 1, i, i + 1):
            if 0 <= j < len(cands) and id(cands[j][1]) not in used:
                d = abs(cands[j][0] - t["t_start"])
                if d <= MATCH_MS and (best is None or d < best[0]):
                    best = (d, cands[j][1])
        if best:
            used.add(id(best[1]))
            return best[1]
        return None

    n = collections.Counter()
    truth_codes, report_codes, agree_codes = collections.Counter(), collections.Counter(), collections.Counter()
    cat_pairs = collections.Counter()
    kinds = collections.defaultdict(list)  # disagreement kind -> examples
    init_kinds = collections.defaultdict(list)
    alerts = collections.defaultdict(collections.Counter)  # (ending, alert) -> found / missing
    alert_misses = collections.defaultdict(list)
    by_transport = collections.defaultdict(collections.Counter)
    for t in truth:
        r = match(t)
        if t["state"] == "edge":  # matched or not: it may have begun after the capture's end
            n["edge_left_out"] += 1
            continue
        if r is None:
            n["truth_not_in_report"] += 1
            kinds[(t["ending"], "missing", t["expected"]["category"], "-")].append(t["client"])
            continue
        if not t["consistent"]:
            n["inconsistent_left_out"] += 1
            continue
        exp = t["expected"]
        d = r.get("disconnect") or {}
        rcode, rcat, rinit = d.get("code"), d.get("category", "none"), d.get("initiator", "-")
        tr = by_transport[t["transport"]]
        tr["compared"] += 1
        if rcat == "encrypted" and exp["category"] != "tls_handshake":
            n["encrypted_not_compared"] += 1
            tr["encrypted"] += 1
            continue
        n["compared"] += 1
        ecode = code_str(exp["code"])
        truth_codes[ecode] += 1
        report_codes[code_str(rcode)] += 1
        if rcode == exp["code"]:
            agree_codes[ecode] += 1
            tr["code_agrees"] += 1
        else:
            n["code_disagrees"] += 1
            tr["code_disagrees"] += 1
            kinds[(t["ending"], ecode, exp["category"], f"{code_str(rcode)} {rcat}")].append(t["client"])
        if rcat != exp["category"]:
            cat_pairs[(exp["category"], rcat)] += 1
        if exp.get("alert"):
            sent = {a["name"] for a in ((r.get("tls") or {}).get("alerts") or [])
                    if a["sender"] == exp["initiator"]}
            key = (t["ending"], f'{exp["alert"]} from {exp["initiator"]}')
            if exp["alert"] in sent:
                alerts[key]["found"] += 1
            elif None in sent:  # an encrypted alert, and no key to read it
                alerts[key]["encrypted"] += 1
            else:
                alerts[key]["missing"] += 1
                alert_misses[key].append(f'{t["client"]} ({", ".join(sorted(sent)) or "none"})')
        if rinit != exp["initiator"] and rcode == exp["code"]:
            n["initiator_disagrees"] += 1
            init_kinds[(t["ending"], exp["initiator"], rinit)].append(t["client"])
    extra = collections.Counter(
        (r.get("disconnect") or {}).get("category", "no disconnect") for r in report if id(r) not in used)

    print(f"Truth: {len(truth)} connections; report: {len(report)} connections.\n")
    print("| | count |\n|:--|--:|")
    for k in ("compared", "code_disagrees", "initiator_disagrees", "encrypted_not_compared", "edge_left_out",
              "inconsistent_left_out", "truth_not_in_report"):
        print(f"| {k.replace('_', ' ')} | {n[k]} |")
    print(f"| report connections not in truth | {sum(extra.values())} |")
    if extra:
        print("\nReport connections not in the truth, by category: "
              + ", ".join(f"{k} {v}" for k, v in extra.most_common()))

    def group(c):
        return c if c in ("null",) or int(c) < 3000 else f"{c[0]}xxx"

    print("\n| code | truth | report (same connections) | agree |\n|--:|--:|--:|--:|")
    gt, gr, ga = collections.Counter(), collections.Counter(), collections.Counter()
    for src, dst in ((truth_codes, gt), (report_codes, gr), (agree_codes, ga)):
        for k, v in src.items():
            dst[group(k)] += v
    for k in sorted(set(gt) | set(gr), key=lambda c: (c == "null", c)):
        print(f"| {k} | {gt[k]} | {gr[k]} | {ga[k]} |")

    print("\n| transport | matched | code agrees | code disagrees | encrypted (no key log) |\n|:--|--:|--:|--:|--:|")
    for k, v in sorted(by_transport.items()):
        print(f"| {k} | {v['compared']} | {v['code_agrees']} | {v['code_disagrees']} | {v['encrypted']} |")

    if alerts:
        print("\n| ending | alert (truth) | in report | encrypted in report | not in report "
              "| examples (client, alerts reported) |")
        print("|:--|:--|--:|--:|--:|:--|")
        for (ending, al), v in sorted(alerts.items()):
            print(f"| {ending} | {al} | {v['found']} | {v['encrypted']} | {v['missing']} | "
                  f"{'; '.join(alert_misses[(ending, al)][:a.examples])} |")
    if cat_pairs:
        print("\n| truth category | report category | connections |\n|:--|:--|--:|")
        for (e, r), v in cat_pairs.most_common():
            print(f"| {e} | {r} | {v} |")
    if kinds:
        print("\nDisagreements on the code (planned ending: expected code, category -> reported code, category):\n")
        print("| ending | expected | reported | count | examples (client) |\n|:--|:--|:--|--:|:--|")
        for (ending, ecode, ecat, got), v in sorted(kinds.items(), key=lambda x: -len(x[1])):
            print(f"| {ending} | {ecode} {ecat} | {got} | {len(v)} | {' '.join(v[:a.examples])} |")
    if init_kinds:
        print("\nSame code, different initiator:\n")
        print("| ending | expected initiator | reported | count | examples (client) |\n|:--|:--|:--|--:|:--|")
        for (ending, e, r), v in sorted(init_kinds.items(), key=lambda x: -len(x[1])):
            print(f"| {ending} | {e} | {r} | {len(v)} | {' '.join(v[:a.examples])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
