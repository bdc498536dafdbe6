#!/usr/bin/env python3
"""Turns the bench CSV (java -jar target/convkit.jar bench --csv FILE) into the README's table:
one row per layer, 1- and 2-thread columns side by side."""
import csv
import sys

rows = list(csv.DictReader(open(sys.argv[1])))
by = {}
order = []
for r in rows:
    if r["layer"] not in by:
        order.append(r["layer"])
    by.setdefault(r["layer"], {})[r["threads"]] = r
peaks = {r["threads"]: r["peak_gflops"] for r in rows}
print("| layer | algorithm (kernel) | T | ms | GFLOP/s | % FMA peak | GEMM-only GFLOP/s | vs GEMM-only | oneDNN GFLOP/s | vs oneDNN | ORT GFLOP/s | vs ORT |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")


def f(r, key, fmt):
    """A number cell, or - where the run did not measure it (an older CSV has no ORT columns)."""
    v = r.get(key)
    return format(float(v), fmt) if v not in (None, "", "NaN") else "-"


for name in order:
    for t in sorted(by[name]):
        r = by[name][t]
        print(f"| {name} | {r['algorithm']} ({r['kernel']}) | {t} | {f(r, 'convkit_ms', '.3f')} | "
              f"{f(r, 'convkit_gflops', '.1f')} | {f(r, 'pct_peak', '.0f')}% | {f(r, 'gemm_gflops', '.1f')} | "
              f"{f(r, 'vs_gemm', '.2f')} | {f(r, 'onednn_gflops', '.1f')} | {f(r, 'vs_onednn', '.2f')} | "
              f"{f(r, 'ort_gflops', '.1f')} | {f(r, 'vs_ort', '.2f')} |")
print()
isa = "AVX-512 (16-lane)" if any("avx512" in r.get("kernel", "") for r in rows) else "AVX2 (8-lane)"
print(f"FMA peak measured in the same run (12 {isa} FMA chains per thread, the kernels' ISA): " + ", ".join(f"T={t}: {float(p):.1f} GFLOP/s" for t, p in sorted(peaks.items())))

# The OpenCL engine's figures, beside the CPU engine's (only when the run measured OpenCL).
cl_rows = [r for r in rows if r.get("opencl_ms")]
if cl_rows:
    device = next(r["opencl_device"] for r in cl_rows)
    print()
    print(f"OpenCL engine on `{device}`: kernel time with the tensors on the device; transfer = input up plus output back.")
    print()
    print("| layer | OpenCL kernels | T | ms | GFLOP/s | % FMA peak | transfer ms | CPU engine ms | vs CPU engine |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in order:
        for t in sorted(by[name]):
            r = by[name][t]
            if not r.get("opencl_ms"):
                continue
            pct = 100 * float(r["opencl_gflops"]) / float(r["peak_gflops"])
            print(f"| {name} | {r['opencl_kernel']} | {t} | {float(r['opencl_ms']):.3f} | "
                  f"{float(r['opencl_gflops']):.1f} | {pct:.0f}% | {float(r['opencl_transfer_ms']):.3f} | "
                  f"{float(r['convkit_ms']):.3f} | {float(r['opencl_vs_cpu']):.2f} |")
