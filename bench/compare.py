#!/usr/bin/env python3
"""Medians of alternating rounds of redcar-bench, side by side with a peer.

Reads the JSON files redcar-bench wrote (--json), each labelled
"SERVER|WORKLOAD|ROUND" (--label), with an optional sidecar FILE.server
holding the server's CPU seconds and the load average over that run. Prints,
for each workload, the median rate of each server over its rounds with
[min-max] beside it, the median p99 latency, the server's CPU use, and the
ratio A / B; writes it all (the raw runs too) as JSON.

  compare.py --a redcar --b etcd --out OUT.json --title TEXT FILE...
"""
import argparse
import json
import os
import statistics
import sys


def rate_of(run):
    # Batched appends are judged by events, everything else by operations.
    if run["events"] != run["ops"]:
        return run["events_per_s"], "events/s"
    return run["ops_per_s"], "ops/s"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, help="the server whose figures are the numerator")
    ap.add_argument("--b", required=True, help="the peer")
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", default="")
    ap.add_argument("--meta", default="{}", help="JSON object copied into the output")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()

    runs, order = {}, []
    for path in args.files:
        try:
            with open(path) as f:
                run = json.load(f)
        except (OSError, ValueError):
            continue  # a run that failed to start left no JSON; the script says so
        parts = str(run.get("label", "")).split("|")
        if len(parts) != 3:
            continue  # not a labelled redcar-bench run
        server, workload, rnd = parts
        try:
            with open(path + ".server") as f:
                run["server"] = json.load(f)
        except (OSError, ValueError):
            run["server"] = {}
        run["round"] = int(rnd)
        if workload not in order:
            order.append(workload)
        runs.setdefault(workload, {}).setdefault(server, []).append(run)

    def med(vals):
        return statistics.median(vals) if vals else 0.0

    def rate_cell(rs):
        if not rs:
            return "-"
        v = [rate_of(r)[0] for r in rs]
        return f"{med(v):,.0f} [{min(v):,.0f}-{max(v):,.0f}]"

    def p99_cell(rs):
        return f"{med([r['latency_us']['p99'] for r in rs]) / 1000:.2f} ms" if rs else "-"

    def cpu_cell(rs):
        v = [r["server"]["cpu_s"] / r["wall_s"] for r in rs if r["server"].get("cpu_s") is not None and r["wall_s"]]
        return f"{100 * med(v):.0f}%" if v else "-"

    if args.title:
        print(args.title)
    head = (f"{'workload':<30} {'unit':<9} {args.a:>26} {args.b:>24} {'ratio':>7}   "
            f"{'p99 ' + args.a:>12} {'p99 ' + args.b:>12}   {'cpu ' + args.a:>10} {'cpu ' + args.b:>9}")
    print(head)
    rows, failed = [], []
    for w in order:
        a, b = runs[w].get(args.a, []), runs[w].get(args.b, [])
        for r in a + b:
            if r["errors"] or r["aborted"]:
                failed.append(f"{r['label']}: {r['errors']} error(s) {r['error_messages']}")
        unit = rate_of((a or b)[0])[1]
        ma = med([rate_of(r)[0] for r in a])
        mb = med([rate_of(r)[0] for r in b])
        ratio = ma / mb if a and b and mb else None
        ratio_text = f"{ratio:.2f}x" if ratio is not None else "-"
        print(f"{w:<30} {unit:<9} {rate_cell(a):>26} {rate_cell(b):>24} {ratio_text:>7}   "
              f"{p99_cell(a):>12} {p99_cell(b):>12}   {cpu_cell(a):>10} {cpu_cell(b):>9}")
        rows.append({
            "workload": w,
            "unit": unit,
            args.a: [rate_of(r)[0] for r in a],
            args.b: [rate_of(r)[0] for r in b],
            f"{args.a}_median": ma,
            f"{args.b}_median": mb,
            "ratio": ratio,
            f"{args.a}_p99_us_median": med([r["latency_us"]["p99"] for r in a]),
            f"{args.b}_p99_us_median": med([r["latency_us"]["p99"] for r in b]),
        })
    loads = [r["server"].get("load") for w in runs for s in runs[w] for r in runs[w][s] if r["server"].get("load")]
    if loads:
        print(f"load average (1 min) at the runs' ends: {min(loads):.2f} to {max(loads):.2f} "
              f"({os.cpu_count()} cores)")
    out = {"title": args.title, "a": args.a, "b": args.b, "rows": rows, "meta": json.loads(args.meta),
           "runs": [r for w in runs for s in runs[w] for r in runs[w][s]]}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)
    print(f"JSON: {args.out}")
    if failed:
        print("RUNS WITH ERRORS:")
        for line in failed:
            print("  " + line)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
