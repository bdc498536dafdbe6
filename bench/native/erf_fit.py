#!/usr/bin/env python3
"""The fit behind the CPU kernels' GELU (native/kernels/act_lanes.inc): erf(x) = x P(x^2) / Q(x^2)
on [0, ZC], P of degree p, Q of degree q with Q(0) = 1, by weighted least squares on the
linearised residual x P - erf Q (Lawson's reweighting towards the minimax fit, divided by Q as
Loeb's iteration does), then the coefficients rounded to float one at a time, highest degree of Q
first, the rest refitted after each. Prints P/2 (the kernel computes erf/2) and Q as float literals
and the float-evaluated error of Phi = 1/2 + erf(v/sqrt 2)/2 (emulated: each multiply-add rounded
once). Needs numpy and scipy. Usage: erf_fit.py [p q ZC] (default 5 5 4.0)."""
import sys
import numpy as np
from scipy.special import erf

f32 = np.float32
p, q, zc = (int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])) if len(sys.argv) > 3 else (5, 5, 4.0)
z = np.sort(np.concatenate([np.linspace(0, zc, 30000), zc * np.sin(np.linspace(0, np.pi / 2, 6000))]))
y, f = z * z, erf(z)
A = np.hstack([z[:, None] * y[:, None] ** np.arange(p + 1), -(f[:, None] * y[:, None] ** np.arange(1, q + 1))])
w, Qv, best = np.ones_like(z), np.ones_like(z), None
for _ in range(80):
    W = w / Qv
    c, *_ = np.linalg.lstsq(A * W[:, None], f * W, rcond=None)
    Qv = 1 + (c[p + 1:][None, :] * y[:, None] ** np.arange(1, q + 1)).sum(1)
    err = z * (c[:p + 1][None, :] * y[:, None] ** np.arange(p + 1)).sum(1) / Qv - f
    if best is None or np.abs(err).max() < best[0]:
        best = (np.abs(err).max(), c.copy(), w.copy(), Qv.copy())
    w = np.sqrt(w * np.abs(err) / (w * np.abs(err)).max()) + 1e-9
m, c, w, Qv = best
A[:, :p + 1] *= 2.0  # unknowns P/2
c[:p + 1] *= 0.5
AW, rhs = A * (w / Qv)[:, None], f * (w / Qv)
fixed = {}
for k in list(range(p + 1, p + 1 + q))[::-1] + list(range(p + 1))[::-1]:
    fixed[k] = float(f32(c[k]))
    free = [j for j in range(len(c)) if j not in fixed]
    if free:
        s, *_ = np.linalg.lstsq(AW[:, free], rhs - sum(AW[:, j] * fixed[j] for j in fixed), rcond=None)
        c[free] = s
Ph = np.array([fixed[j] for j in range(p + 1)], dtype=f32)
Qf = np.array([1.0] + [fixed[j] for j in range(p + 1, p + 1 + q)], dtype=f32)
print("exact-arithmetic |erf error| before rounding: %.3g" % m)
print("P/2:", ", ".join("%.8g" % t for t in Ph))
print("Q:  ", ", ".join("%.8g" % t for t in Qf))


def fma(a, b, cc):
    return (a.astype(np.float64) * b.astype(np.float64) + cc.astype(np.float64)).astype(f32)


v = np.linspace(-8, 8, 4000001).astype(f32)
x = np.clip((v * f32(0.70710678118654752)).astype(f32), f32(-zc), f32(zc)).astype(f32)
yy = (x * x).astype(f32)
pv, qv = np.full_like(yy, Ph[-1]), np.full_like(yy, Qf[-1])
for k in range(p - 1, -1, -1):
    pv = fma(pv, yy, np.full_like(yy, Ph[k]))
for k in range(q - 1, -1, -1):
    qv = fma(qv, yy, np.full_like(yy, Qf[k]))
t = np.clip(((x * pv).astype(f32) / qv).astype(f32), f32(-0.5), f32(0.5))
phi = (f32(0.5) + t).astype(f32)
exact = 0.5 * (1 + erf(v.astype(np.float64) / np.sqrt(2)))
print("float-evaluated |Phi error| on [-8, 8]: %.3g" % np.abs(phi - exact).max())
