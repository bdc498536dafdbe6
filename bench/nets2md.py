#!/usr/bin/env python3
"""Turns the bench-net CSV (java -jar target/convkit.jar bench-net --csv FILE) into the README's
table: one row per model, batch and thread count, our engines' ms per image beside ORT's from
the same run, and ours / ORT (below 1: we are faster)."""
import csv
import sys

rows = [r for r in csv.DictReader(open(sys.argv[1])) if not r.get("error")]
engines = []
for r in rows:
    if r["engine"] != "ort" and r["engine"] not in engines:
        engines.append(r["engine"])
cells = {(r["model"], r["batch"], r["threads"], r["engine"]): r for r in rows}
keys = []
for r in rows:
    k = (r["model"], r["batch"], r["threads"])
    if k not in keys:
        keys.append(k)
head = ["model", "batch", "T"] + [f"{e} ms/image" for e in engines] + ["ORT ms/image"] \
    + [f"{e} / ORT" for e in engines]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for m, b, t in keys:
    ort = cells.get((m, b, t, "ort"))
    ours = [cells.get((m, b, t, e)) for e in engines]
    cols = [m, b, t] + [f"{float(o['ms_per_image']):.2f}" if o else "-" for o in ours]
    cols.append(f"{float(ort['ms_per_image']):.2f}" if ort else "-")
    cols += [f"{float(o['ours_vs_ort']):.2f}" if o and o.get("ours_vs_ort") else "-"
             for o in ours]
    print("| " + " | ".join(cols) + " |")
