#!/usr/bin/env python3
"""Summarises the bench CSV (java -jar target/convkit.jar bench --csv FILE) per thread count:
the median of our speed over each peer's and over the faster peer's (peer ms / our ms: above 1,
we are faster), the layers where we are at least as fast as both, and the layers behind."""
import csv
import statistics
import sys

rows = list(csv.DictReader(open(sys.argv[1])))
for t in sorted({r["threads"] for r in rows}):
    sel = [r for r in rows if r["threads"] == t and r.get("vs_onednn") and r.get("vs_ort")]
    dnn = [float(r["vs_onednn"]) for r in sel]
    ort = [float(r["vs_ort"]) for r in sel]
    best = [min(a, b) for a, b in zip(dnn, ort)]
    behind = sorted((b, r["layer"]) for b, r in zip(best, sel) if b < 1)
    print(f"T={t}: {len(sel)} layers; median vs the faster peer {statistics.median(best):.2f}, "
          f"vs oneDNN {statistics.median(dnn):.2f}, vs ORT {statistics.median(ort):.2f}; "
          f"at least as fast as both on {sum(b >= 1 for b in best)}; behind: "
          + ", ".join(f"{n} {b:.2f}" for b, n in behind))
