#!/usr/bin/env python3
"""GPU check of convkit's OpenCL kernels against cuDNN, without Java.

One command (from the repository root):  python3 bench/gpu/check.py [--quick] [--layers a,b]
  1. finds an OpenCL device (a GPU first) through libOpenCL.so.1 or a vendor ICD library directly;
  2. builds every kernels-cl program the OpenCL engine builds for that device, with the engine's
     tuning (kernels-cl/tuning.txt) and build options;
  3. runs each layer of bench/layers.csv (+ bench/gpu/extra_layers.csv) with the algorithm and
     kernels the engine would choose, checks it against a float64 reference (PyTorch on the GPU,
     else PyTorch or numpy on the CPU) and times the kernels with OpenCL profiling events;
  4. times cuDNN through PyTorch on the same layers (FP32 and TF32, CUDA events);
  5. prints one table and writes a CSV.
No OpenCL, no torch or no CUDA: says so plainly and runs what it can. --self-test checks the Python
mirror of the engine's planning against emulated kernels and a naive convolution (no OpenCL, no
numpy). Exit status: 0 when every check that ran passed, 1 when one failed, 2 on bad usage.
"""

import argparse
import csv
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import plan  # noqa: E402
from plan import Layer, Tuning  # noqa: E402

QUICK = ["lenet5_c1", "inception3a_3x3", "resnext50_res2_g32", "mobilenet_v1_dw2",
         "mobilenet_v1_dw13", "mobilenet_v2_project", "lenet5_c3", "efficientnet_b0_dw5x5",
         "resnet50_pool1", "inception_v3_avgpool", "resnet50_gap"]
U = 2.0 ** -24  # float32 unit roundoff


def log(*a):
    print(*a, flush=True)


# ------------------------------------------------------------------------------------------------
# Self-test: no OpenCL, no numpy needed.

def self_test():
    import random

    import emulate
    failures = []

    checks = [0]

    def expect(what, got, want):
        checks[0] += 1
        if got != want:
            failures.append("%s: got %r, want %r" % (what, got, want))

    # Tuning.forDevice / parse on fixtures: first match wins, name: before type:, defaults.
    text = ("# comment\nname:Tesla_V100 gemm=tiled tsm=128 tsn=64 wptm=8 lx=128\n"
            "type:CPU gemm=packed mr=12 nv=1 pl=1 lx=8 depthwise=rows\n"
            "type:GPU gemm=tiled tsm=64 tsn=64 tsk=16 wptm=4 wptn=4 lx=64\n"
            "default gemm=tiled\n")
    expect("name match", plan.tuning_for("Tesla V100-SXM2", "GPU", text)[0],
           Tuning("TILED", tsm=128, tsn=64, wptm=8, lx=128))
    expect("type match", plan.tuning_for("NVIDIA H200", "gpu", text),
           (Tuning("TILED", tsm=64, tsn=64, tsk=16, lx=64), 4))
    expect("cpu", plan.tuning_for("cpu-znver3", "CPU", text)[0],
           Tuning("PACKED", mr=12, nv=1, pl=1, lx=8, depthwise_rows=True))
    expect("default", plan.tuning_for("x", "ACCELERATOR", text)[0], Tuning("TILED"))
    expect("withGemm", plan.tuning_for("NVIDIA H200", "GPU", text)[0].with_gemm("PACKED").mr, 6)
    for bad in ("type:GPU tsm=30 wptm=4", "type:GPU gemm=x", "type:GPU foo=1", "type:GPU nv=4"):
        try:
            plan.tuning_for("g", "GPU", bad)
            failures.append("tuning '%s' was accepted" % bad)
        except ValueError:
            pass
    with open(os.path.join(plan.KERNELS, "tuning.txt")) as f:
        real = f.read()
    for dtype in ("GPU", "CPU", "ACCELERATOR", "ANY"):
        plan.tuning_for("NVIDIA H200", dtype, real)  # the project's file parses for every type

    cpu = Tuning("PACKED", mr=12, nv=1, pl=1, lx=8, depthwise_rows=True)
    gpu = Tuning("TILED", tsm=64, tsn=64, tsk=16, wptm=4, wptn=4, lx=64)
    alt = gpu.with_gemm("PACKED")  # mr 6, nv 2: the GPU's packed run
    small = Tuning("TILED", tsm=8, tsn=16, tsk=4, wptm=2, wptn=4, lx=4)
    L = Layer
    cases = [
        L("t_conv", 2, 3, 6, 7, 5, 3, 3, 1, 1, 1, 1, "conv"),
        L("t_conv_s2d2", 1, 4, 9, 8, 10, 3, 3, 2, 2, 2, 1, "conv"),
        L("t_conv_m17", 1, 2, 5, 6, 17, 2, 3, 1, 0, 1, 1, "conv"),
        L("t_pw", 1, 5, 5, 6, 3, 1, 1, 1, 0, 1, 1, "pointwise"),
        L("t_grp", 2, 8, 5, 5, 12, 3, 3, 1, 1, 1, 4, "grouped"),
        L("t_dw1", 1, 3, 9, 10, 3, 3, 3, 1, 1, 1, 3, "depthwise"),
        L("t_dw2", 1, 2, 9, 11, 2, 3, 3, 2, 1, 1, 2, "depthwise"),
        L("t_dw5m2", 1, 2, 8, 8, 4, 5, 5, 1, 2, 1, 2, "depthwise"),
        L("t_dwdil", 1, 2, 8, 8, 2, 3, 3, 1, 2, 2, 2, "depthwise"),
        L("t_dw3x5", 1, 2, 8, 9, 2, 3, 5, 1, 1, 1, 2, "depthwise"),
        L("t_table", 1, 6, 7, 7, 16, 3, 3, 1, 1, 1, 1, "table"),
        L("t_max", 1, 2, 7, 7, 2, 3, 3, 2, 1, 1, 1, "maxpool"),
        L("t_avg", 1, 2, 7, 6, 2, 3, 3, 2, 1, 1, 1, "avgpool"),
        L("t_avgx", 1, 2, 5, 5, 2, 3, 3, 1, 1, 1, 1, "avgpool_excl"),
        L("t_gap", 2, 3, 4, 5, 3, 1, 1, 1, 0, 1, 1, "globalavgpool"),
    ]
    by = {c.name: c for c in cases}
    # ClPlanner.plan's descriptions and options, derived by hand from the Java.
    for layer, t, want in [
        ("t_conv", cpu, "im2col (packed) + gemm_packed 8x8"),
        ("t_conv_m17", cpu, "im2col (packed) + gemm_packed 12x8"),
        ("t_grp", cpu, "im2col (packed) + gemm_packed 4x8 x4 groups"),
        ("t_pw", cpu, "gemm_packed 4x8"),
        ("t_conv", alt, "im2col (packed) + gemm_packed 6x16"),
        ("t_conv", gpu, "im2col + gemm_tiled 64x64x16 (4x4 per item)"),
        ("t_grp", gpu, "im2col + gemm_tiled 64x64x16 (4x4 per item) x4 groups"),
        ("t_pw", gpu, "gemm_tiled 64x64x16 (4x4 per item)"),
        ("t_dw1", gpu, "depthwise 3x3 stride 1"), ("t_dw2", cpu, "depthwise 3x3 stride 2"),
        ("t_dw5m2", gpu, "depthwise 5x5 generic"), ("t_dwdil", gpu, "depthwise 3x3 generic"),
        ("t_table", gpu, "conv_table direct")]:
        expect("description %s %s" % (layer, t.gemm), plan.cl_plan(by[layer], t).description, want)
    cp = plan.cl_plan(by["t_conv"], cpu)
    expect("gemm options", (cp.gemm_options, cp.im2col_options, cp.workspace_floats),
           ("-DMR=8 -DNV=1 -DB_PACKED=1", "-DNB=8", 1 * 6 * 27 * 8))
    expect("pointwise options", plan.cl_plan(by["t_pw"], cpu).gemm_options,
           "-DMR=4 -DNV=1 -DB_PACKED=0")
    expect("dw options", plan.cl_plan(by["t_dw2"], gpu).direct_options,
           "-DKH=3 -DKW=3 -DSH=2 -DSW=2 -DDH=1 -DDW=1")
    expect("choose", [plan.choose(by[n]) for n in ("t_conv", "t_pw", "t_grp", "t_dw1", "t_table")],
           ["IM2COL_GEMM", "POINTWISE_GEMM", "GROUPED_GEMM", "DEPTHWISE_DIRECT",
            "CONNECTION_TABLE"])

    # packA against the index gemm_packed.cl reads: A[((g*MP + mp)*K + k)*MR + m].
    rnd = random.Random(7)
    for groups, mg, k, mr in ((1, 5, 3, 4), (3, 7, 4, 2), (2, 16, 5, 12), (1, 1, 2, 1)):
        dense = [rnd.uniform(-1, 1) for _ in range(groups * mg * k)]
        a = plan.pack_a(dense, groups, mg, k, mr)
        mp = (mg + mr - 1) // mr
        want = [dense[(g * mg + p * mr + m) * k + kk] if p * mr + m < mg else 0.0
                for g in range(groups) for p in range(mp) for kk in range(k) for m in range(mr)]
        expect("packA %s" % ((groups, mg, k, mr),), a, want)
    try:
        import numpy as np
        for groups, mg, k, mr in ((1, 5, 3, 4), (3, 7, 4, 2), (2, 16, 5, 12)):
            dense = np.array([rnd.uniform(-1, 1) for _ in range(groups * mg * k)], np.float32)
            expect("packA numpy %s" % ((groups, mg, k, mr),),
                   pack_a_np(dense, groups, mg, k, mr).tolist(),
                   [float(v) for v in plan.pack_a(dense.tolist(), groups, mg, k, mr)])
    except ImportError:
        log("self-test: numpy is missing, so the numpy packing is not compared")

    # Every case, every tuning: the Launch list run through the emulated kernels equals the
    # naive convolution, and nothing is read or written out of bounds.
    runs = 0
    for layer in cases:
        x = [rnd.uniform(-1, 1) for _ in range(layer.n * layer.c * layer.h * layer.w)]
        dense, bias = _random_weights_py(layer, rnd)
        want = emulate.naive(layer, x, dense, bias)
        for t in (cpu, gpu, alt, small, gpu.with_gemm("TILED")):
            cp = plan.cl_plan(layer, t)
            oh, ow = layer.out_hw()
            bufs = {"x": emulate.Mem("x", x),
                    "y": emulate.Mem("y", [float("nan")] * (layer.n * layer.k * oh * ow)),
                    "ws": emulate.Mem("ws", [float("nan")] * cp.workspace_floats),
                    "dummy": emulate.Mem("dummy", [0.0])}
            if not layer.is_pool:
                for name, (_, vals) in plan.weight_buffers(layer, cp, dense, bias).items():
                    bufs[name] = emulate.Mem(name, vals)
            try:
                for launch in plan.launches(layer, cp, t):
                    emulate.run(launch, bufs)
                got = bufs["y"].v
                tol = 1e-12 * max(1, layer.reduction())
                bad = [i for i, (g, w) in enumerate(zip(got, want))
                       if not abs(g - w) <= tol * max(1.0, abs(w))]
                if len(got) != len(want) or bad:
                    failures.append("%s on %s: %d of %d outputs differ (first at %d: %r vs %r)" % (
                        layer.name, t.short(), len(bad), len(want), bad[0] if bad else -1,
                        got[bad[0]] if bad else None, want[bad[0]] if bad else None))
            except (IndexError, ValueError) as e:
                failures.append("%s on %s: %s" % (layer.name, t.short(), e))
            runs += 1

    # The numpy reference the OpenCL run uses, against the naive one.
    try:
        import numpy as np
        for layer in cases:
            x = [rnd.uniform(-1, 1) for _ in range(layer.n * layer.c * layer.h * layer.w)]
            dense, bias = _random_weights_py(layer, rnd)
            want = emulate.naive(layer, x, dense, bias)
            got, _ = reference_numpy(layer, np.array(x).reshape(layer.n, layer.c, layer.h, layer.w),
                                     np.array(dense), np.array(bias))
            err = float(np.max(np.abs(got.ravel() - np.array(want))))
            if not err <= 1e-12 * layer.reduction():
                failures.append("numpy reference %s: differs by %g" % (layer.name, err))
    except ImportError:
        pass

    for f in failures:
        log("self-test FAIL: " + f)
    log("self-test: %d planning checks, %d emulated runs (%d cases x 5 tunings): %s"
        % (checks[0], runs, len(cases), "FAILED" if failures else "all passed"))
    return 1 if failures else 0


def _random_weights_py(layer, rnd):
    """[K][C/g][R][S] weights (table: [K][C][R][S], zero where not connected) and a bias."""
    if layer.is_pool:
        return [], []
    if layer.kind == "table":
        rs = layer.r * layer.s
        dense = [rnd.uniform(-1, 1) if layer.connected(o, i) else 0.0
                 for o in range(layer.k) for i in range(layer.c) for _ in range(rs)]
    else:
        dense = [rnd.uniform(-1, 1)
                 for _ in range(layer.k * (layer.c // layer.groups) * layer.r * layer.s)]
    return dense, [rnd.uniform(-1, 1) for _ in range(layer.k)]


# ------------------------------------------------------------------------------------------------
# numpy helpers.

def pack_a_np(dense, groups, mg, k, mr):
    """plan.pack_a (OpenClEngine.packA) vectorised: [G][Mg][K] -> [G][MP][K][MR], zero rows."""
    import numpy as np
    mp = (mg + mr - 1) // mr
    a = np.zeros((groups, mp * mr, k), np.float32)
    a[:, :mg, :] = np.asarray(dense, np.float32).reshape(groups, mg, k)
    return np.ascontiguousarray(a.reshape(groups, mp, mr, k).transpose(0, 1, 3, 2)).ravel()


def _conv_np(layer, x, w):
    """float64 convolution (no bias): per tap, a batched matmul over the groups."""
    import numpy as np
    L = layer
    oh, ow = L.out_hw()
    g = 1 if L.kind == "table" else L.groups
    cg, mg = L.c // g, L.k // g
    xp = np.zeros((L.n, L.c, L.h + 2 * L.pad, L.w + 2 * L.pad))
    xp[:, :, L.pad:L.pad + L.h, L.pad:L.pad + L.w] = x
    wg = w.reshape(g, mg, cg, L.r, L.s)
    y = np.zeros((L.n, g, mg, oh * ow))
    for ky in range(L.r):
        for kx in range(L.s):
            y0, x0 = ky * L.dilation, kx * L.dilation
            tap = xp[:, :, y0:y0 + L.stride * (oh - 1) + 1:L.stride,
                     x0:x0 + L.stride * (ow - 1) + 1:L.stride]
            y += np.matmul(wg[None, :, :, :, ky, kx], tap.reshape(L.n, g, cg, oh * ow))
    return y.reshape(L.n, L.k, oh, ow)


def _pool_np(layer, x, absolute=False):
    import numpy as np
    L = layer
    if absolute:
        x = np.abs(x)
    if L.kind == "globalavgpool":
        return x.mean(axis=(2, 3), keepdims=True)
    oh, ow = L.out_hw()
    p = L.pad
    fill = -np.inf if L.kind == "maxpool" else 0.0
    xp = np.full((L.n, L.c, L.h + 2 * p, L.w + 2 * p), fill)
    xp[:, :, p:p + L.h, p:p + L.w] = x
    ones = np.zeros((L.h + 2 * p, L.w + 2 * p))
    ones[p:p + L.h, p:p + L.w] = 1
    acc = np.full((L.n, L.c, oh, ow), fill)
    count = np.zeros((oh, ow))
    for ky in range(L.r):
        for kx in range(L.s):
            sl = (slice(ky, ky + L.stride * (oh - 1) + 1, L.stride),
                  slice(kx, kx + L.stride * (ow - 1) + 1, L.stride))
            tap = xp[(slice(None), slice(None)) + sl]
            acc = np.maximum(acc, tap) if L.kind == "maxpool" else acc + tap
            count += ones[sl]
    if L.kind == "maxpool":
        return acc
    return acc / (count if L.kind == "avgpool_excl" else L.r * L.s)


def reference_numpy(layer, x, dense, bias):
    """(reference output, bound scale) in float64: conv + bias + ReLU, and conv(|x|, |w|) + |b|,
    the scale of the rounding error of any summation order; pooling likewise."""
    import numpy as np
    x = np.asarray(x, np.float64)
    if layer.is_pool:
        return _pool_np(layer, x), _pool_np(layer, x, absolute=True)
    w = np.asarray(dense, np.float64)
    b = np.asarray(bias, np.float64).reshape(1, -1, 1, 1)
    y = np.maximum(_conv_np(layer, x, w) + b, 0.0)
    return y, _conv_np(layer, np.abs(x), np.abs(w)) + np.abs(b)


def reference_torch(torch, dev, layer, x, dense, bias):
    """reference_numpy with PyTorch in float64 (on the GPU where there is one)."""
    import torch.nn.functional as F
    xt = torch.from_numpy(x).to(dev, torch.float64)
    L = layer
    if L.is_pool:
        def pool(v):
            if L.kind == "globalavgpool":
                return v.mean(dim=(2, 3), keepdim=True)
            if L.kind == "maxpool":
                return F.max_pool2d(v, (L.r, L.s), L.stride, L.pad)
            return F.avg_pool2d(v, (L.r, L.s), L.stride, L.pad,
                                count_include_pad=L.kind == "avgpool")
        return pool(xt).cpu().numpy(), pool(xt.abs()).cpu().numpy()
    w = _torch_weight(torch, L, dense).to(dev, torch.float64)
    b = torch.from_numpy(bias).to(dev, torch.float64)
    g = 1 if L.kind == "table" else L.groups

    def conv(v, ww, bb):
        return F.conv2d(v, ww, bb, L.stride, L.pad, L.dilation, g)
    y = torch.relu(conv(xt, w, b))
    return y.cpu().numpy(), conv(xt.abs(), w.abs(), b.abs()).cpu().numpy()


def _torch_weight(torch, layer, dense):
    g = 1 if layer.kind == "table" else layer.groups
    return torch.from_numpy(dense.reshape(layer.k, layer.c // g, layer.r, layer.s))


def random_inputs(layer, seed):
    import numpy as np
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (layer.n, layer.c, layer.h, layer.w)).astype(np.float32)
    if layer.is_pool:
        return x, None, None
    g = 1 if layer.kind == "table" else layer.groups
    dense = rng.uniform(-1, 1, (layer.k, layer.c // g, layer.r, layer.s)).astype(np.float32)
    if layer.kind == "table":
        for o in range(layer.k):
            for i in range(layer.c):
                if not layer.connected(o, i):
                    dense[o, i] = 0
    bias = rng.uniform(-1, 1, layer.k).astype(np.float32)
    return x, dense, bias


def compare(layer, y, ref, scale):
    """(max |y - ref| / max |ref|, max |y - ref| / scale, tolerance, ok). The bound: a float32
    sum of K products has error at most about K*u times the sum of their magnitudes (scale);
    (K + 2) u covers the bias add and the rounding of the result."""
    import numpy as np
    y = y.astype(np.float64).reshape(ref.shape)
    tol = (layer.reduction() + 2) * U
    if np.isnan(y).any():
        return float("nan"), float("nan"), tol, False
    diff = np.abs(y - ref)
    rel = float(diff.max() / max(float(np.abs(ref).max()), 1e-30))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(scale > 0, diff / np.where(scale > 0, scale, 1), np.where(diff > 0,
                                                                                np.inf, 0))
    worst = float(ratio.max())
    return rel, worst, tol, worst <= tol


# ------------------------------------------------------------------------------------------------
# Our kernels on OpenCL.

class Ours:
    def __init__(self, ctx, tuning):
        self.ctx = ctx
        self.tuning = tuning
        self.programs = {}   # (file, options) -> program or ClError
        self.kernels = {}    # (file, options, kernel) -> cl_kernel

    def build_all(self, needed):
        """Builds each (file, options) once; a failure prints the build log and is kept."""
        import clmini
        t0 = time.time()
        built = 0
        for file, options in needed:
            if (file, options) in self.programs:
                continue
            try:
                self.programs[(file, options)] = self.ctx.build(plan.source(file),
                                                                plan.build_options(options))
                built += 1
            except clmini.ClError as e:
                self.programs[(file, options)] = e
                log("BUILD FAILED: %s.cl with '%s': %s" % (file, plan.build_options(options), e))
        return built, time.time() - t0

    def kernel(self, file, options, name):
        key = (file, options, name)
        if key not in self.kernels:
            p = self.programs.get((file, options))
            if p is None:
                self.build_all([(file, options)])
                p = self.programs[(file, options)]
            if isinstance(p, Exception):
                raise p
            self.kernels[key] = self.ctx.kernel(p, name)
        return self.kernels[key]

    def run(self, layer, cp, x, dense, bias, warmup, reps, budget_s):
        """Checks one layer and times it: (y, median ms, {kernel: median ms}, calls timed)."""
        import numpy as np

        import clmini
        ctx, t = self.ctx, self.tuning
        oh, ow = layer.out_hw()
        mems = {}

        def upload(name, arr):
            arr = np.ascontiguousarray(arr)
            m = ctx.buffer(arr.nbytes)
            ctx.write(m, arr.ctypes.data, arr.nbytes)
            mems[name] = clmini.Mem(m)

        try:
            upload("x", x)
            y = np.full(layer.n * layer.k * oh * ow, np.nan, np.float32)  # unwritten shows as NaN
            upload("y", y)
            upload("dummy", np.zeros(1, np.float32))
            if cp.workspace_floats:
                upload("ws", np.full(cp.workspace_floats, np.nan, np.float32))
            if not layer.is_pool:
                for name, (kind, vals) in plan.weight_buffers(layer, cp, dense.ravel(), bias,
                                                              pack=pack_a_np).items():
                    upload(name, np.asarray(vals, np.float32 if kind == "f" else np.int32))
            ls = plan.launches(layer, cp, t)
            ks = [self.kernel(lc.file, lc.options, lc.kernel) for lc in ls]

            def call():
                evs = []
                for lc, k in zip(ls, ks):
                    ctx.set_args(k, [mems[a.name] if isinstance(a, plan.Buf) else a
                                     for a in lc.args])
                    evs.append(ctx.enqueue(k, lc.global_size, lc.local_size))
                ctx.finish()
                per = {}
                for lc, ev in zip(ls, evs):
                    per[lc.kernel] = per.get(lc.kernel, 0.0) + ctx.event_ms(ev)
                return per

            call()
            ctx.read(mems["y"].handle, y.ctypes.data, y.nbytes)
            for _ in range(warmup):
                call()
            samples = []
            t0 = time.time()
            while len(samples) < reps and (len(samples) < 3 or time.time() - t0 < budget_s):
                samples.append(call())
            total = statistics.median(sum(s.values()) for s in samples)
            split = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
            return y, total, split, len(samples)
        finally:
            for m in mems.values():
                ctx.release_mem(m.handle)


def needed_programs(layers, tunings):
    """(file, options) of every program the runs launch, plus the engine's other programs and the
    depthwise, table and pooling programs whichever layers run (every .cl file gets built)."""
    out = []
    for t in tunings:
        for layer in layers:
            cp = plan.cl_plan(layer, t)
            for lc in plan.launches(layer, cp, t)[:2]:
                out.append((lc.file, lc.options))
    out += [("depthwise", ""), ("depthwise", "-DKH=3 -DKW=3 -DSH=1 -DSW=1 -DDH=1 -DDW=1"),
            ("depthwise", "-DKH=3 -DKW=3 -DSH=2 -DSW=2 -DDH=1 -DDW=1"), ("conv_table", ""),
            ("pool", "")]
    out += [(f, o) for f, o, _ in plan.OTHER_PROGRAMS]
    seen = []
    for p in out:
        if p not in seen:
            seen.append(p)
    return seen


# ------------------------------------------------------------------------------------------------
# cuDNN through PyTorch.

def cuda_time(torch, fn, blocks):
    """Median ms per call: a CUDA graph of back-to-back calls (no launch gaps), replayed between
    CUDA events; plain loops between events where capture fails."""
    for _ in range(3):
        fn()  # the first calls run cudnn.benchmark's search for this shape and math mode
    torch.cuda.synchronize()
    e0 = torch.cuda.Event(enable_timing=True)
    e1 = torch.cuda.Event(enable_timing=True)
    e0.record()
    fn()
    e1.record()
    e1.synchronize()
    one = max(e0.elapsed_time(e1), 1e-3)
    reps = max(1, min(200, int(2.0 / one)))  # about 2 ms a block
    method = "cuda graph x%d" % reps
    graph = None
    try:
        graph = torch.cuda.CUDAGraph()
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            fn()
        torch.cuda.current_stream().wait_stream(s)
        with torch.cuda.graph(graph):
            for _ in range(reps):
                fn()
        run = graph.replay
    except Exception as e:  # noqa: BLE001 - any capture failure falls back to loops
        method = "loop x%d (graph capture failed: %s)" % (reps, str(e).splitlines()[0][:60])
        graph = None

        def run():
            for _ in range(reps):
                fn()
    run()
    torch.cuda.synchronize()
    times = []
    for _ in range(blocks):
        e0.record()
        run()
        e1.record()
        e1.synchronize()
        times.append(e0.elapsed_time(e1) / reps)
    del graph
    return statistics.median(times), method


def set_tf32(torch, on):
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def cudnn_layer(torch, layer, x, dense, bias, blocks):
    """{fp32_ms, tf32_ms, fp32_y, tf32_y, method}: conv2d with bias (the ReLU is not timed) or the
    pool, as PyTorch runs them on the GPU."""
    import torch.nn.functional as F
    L = layer
    xt = torch.from_numpy(x).cuda()
    if L.is_pool:
        if L.kind == "globalavgpool":
            def fn():
                return F.adaptive_avg_pool2d(xt, 1)
        elif L.kind == "maxpool":
            def fn():
                return F.max_pool2d(xt, (L.r, L.s), L.stride, L.pad)
        else:
            def fn():
                return F.avg_pool2d(xt, (L.r, L.s), L.stride, L.pad,
                                    count_include_pad=L.kind == "avgpool")
        ms, method = cuda_time(torch, fn, blocks)
        return {"fp32_ms": ms, "tf32_ms": None, "fp32_y": fn().cpu().numpy(), "tf32_y": None,
                "method": method}
    w = _torch_weight(torch, L, dense).cuda()
    b = torch.from_numpy(bias).cuda()
    g = 1 if L.kind == "table" else L.groups

    def fn():
        return F.conv2d(xt, w, b, L.stride, L.pad, L.dilation, g)
    out = {}
    for mode, on in (("fp32", False), ("tf32", True)):
        set_tf32(torch, on)
        out[mode + "_ms"], out["method"] = cuda_time(torch, fn, blocks)
        out[mode + "_y"] = torch.relu(fn()).cpu().numpy()
    set_tf32(torch, False)
    return out


# ------------------------------------------------------------------------------------------------
# Output.

COLUMNS = [("layer", 22), ("algorithm", 16), ("kernels", 50), ("ours ms", 9), ("ours GF/s", 10),
           ("cuDNN FP32", 11), ("cuDNN TF32", 11), ("ours/FP32", 9), ("max err", 9), ("check", 5)]


def fmt(v, spec):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return format(v, spec)


def print_table(rows):
    head = " ".join(n.ljust(w) if i < 3 else n.rjust(w) for i, (n, w) in enumerate(COLUMNS))
    log(head)
    log("-" * len(head))
    for r in rows:
        cells = [r["layer"], r["algorithm"], r["description"], fmt(r.get("ours_ms"), ".3f"),
                 fmt(r.get("ours_gflops"), ".1f"), fmt(r.get("cudnn_fp32_gflops"), ".1f"),
                 fmt(r.get("cudnn_tf32_gflops"), ".1f"), fmt(r.get("ratio_fp32"), ".2f"),
                 fmt(r.get("max_rel_err"), ".1e"), r.get("check", "-")]
        log(" ".join(c[:w].ljust(w) if i < 3 else c.rjust(w)
                     for i, (c, (_, w)) in enumerate(zip(cells, COLUMNS))))


CSV_FIELDS = ["layer", "n", "c", "h", "w", "k", "r", "s", "stride", "pad", "dilation", "groups",
              "kind", "algorithm", "gemm", "description", "gemm_options", "other_options", "gflop",
              "ours_ms", "ours_gflops", "ours_split_ms", "calls_timed", "cudnn_fp32_ms",
              "cudnn_fp32_gflops", "cudnn_tf32_ms", "cudnn_tf32_gflops", "ratio_fp32",
              "ratio_tf32", "max_rel_err", "bound_ratio", "tolerance", "check", "cudnn_fp32_err",
              "cudnn_tf32_err", "cudnn_timing", "device", "tuning", "reference", "note"]


def write_csv(path, rows):
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else "%.6g" % r[k] if isinstance(r[k], float)
                            else r[k]) for k in CSV_FIELDS})


# ------------------------------------------------------------------------------------------------

def select_layers(args):
    layers = plan.load_layers(args.suite) + plan.load_layers(plan.EXTRA)
    names = ([n.strip() for n in args.layers.split(",") if n.strip()] if args.layers
             else QUICK if args.quick else None)
    if not names:
        return layers
    by = {x.name: x for x in layers}
    missing = [n for n in names if n not in by]
    if missing:
        raise SystemExit("unknown layer(s) %s; the suite has %s" % (", ".join(missing),
                                                                   ", ".join(by)))
    return [by[n] for n in names]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", help="comma-separated layer names (default: all; --quick: a few)")
    ap.add_argument("--quick", action="store_true",
                    help="a small subset and few repetitions (a minute or two on PoCL)")
    ap.add_argument("--csv", default=os.path.join(plan.HERE, "out", "check.csv"),
                    help="where to write the CSV (default bench/gpu/out/check.csv)")
    ap.add_argument("--suite", default=plan.SUITE, help="the layer suite (default bench/layers.csv)")
    ap.add_argument("--device", choices=("any", "gpu", "cpu"), default="any",
                    help="OpenCL device type: any (a GPU where there is one), gpu, cpu")
    ap.add_argument("--gemm", choices=("both", "engine"), default="both",
                    help="GEMM layers: the engine's kernel for the device and the other one "
                         "(both), or only the engine's")
    ap.add_argument("--reps", type=int, help="timed calls per layer (default 15; --quick 3)")
    ap.add_argument("--budget", type=float, default=420.0,
                    help="seconds for the whole run: layers past it are skipped (default 420)")
    ap.add_argument("--opencl-lib", action="append", default=[],
                    help="a vendor ICD library to try directly (repeatable)")
    ap.add_argument("--icd-direct", action="store_true",
                    help="skip libOpenCL.so.1 and open the vendor ICD libraries directly")
    ap.add_argument("--no-cudnn", action="store_true", help="skip the PyTorch/cuDNN timing")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--self-test", action="store_true",
                    help="check the planning mirror on emulated kernels (no OpenCL, no numpy)")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test()
    start = time.time()
    try:
        import numpy as np
    except ImportError:
        log("numpy is not installed for %s: the check needs it (the self-test does not: "
            "--self-test)" % sys.executable)
        return 2
    layers = select_layers(args)
    reps = args.reps or (3 if args.quick else 15)
    warmup = 1 if args.quick else 3
    blocks = 3 if args.quick else 7
    per_layer_s = 1.0 if args.quick else 3.0

    # PyTorch: the reference (float64, on the GPU where there is one) and the cuDNN peer.
    torch = None
    cuda = False
    try:
        import torch  # noqa: F811
        cuda = torch.cuda.is_available()
        log("torch %s, CUDA %s, cuDNN %s%s" % (
            torch.__version__, torch.version.cuda, torch.backends.cudnn.version() if cuda else "-",
            ", GPU " + torch.cuda.get_device_name(0) if cuda else ": no CUDA device"))
        if cuda:
            torch.backends.cudnn.benchmark = True
            set_tf32(torch, False)
    except ImportError:
        log("torch is not importable: the reference is numpy on the CPU and the cuDNN columns are "
            "skipped")
    ref_name = ("torch float64 on " + ("cuda" if cuda else "cpu")) if torch else "numpy float64"

    # OpenCL.
    import clmini
    devices, notes = clmini.discover(args.opencl_lib, args.icd_direct)
    for n in notes:
        log("opencl: " + n)
    want = {"gpu": ("GPU",), "cpu": ("CPU",), "any": ("GPU", "CPU", "ACCELERATOR", "ANY")}
    chosen = None
    for dtype in want[args.device]:
        chosen = next((d for d in devices if d.type == dtype), None)
        if chosen:
            break
    ours = None
    tunings = []
    if chosen is None:
        if not devices:
            log("no OpenCL platform: no ICD loader or vendor library here exposes one (the GPU "
                "driver's OpenCL library, libnvidia-opencl.so.1, is absent or has no platform); "
                "tried: %s" % "; ".join(notes))
        else:
            log("no OpenCL %s device: found %s" % (args.device.upper(),
                                                   "; ".join(d.describe() for d in devices)))
        log("our kernels are not run; %s" % ("the cuDNN columns follow" if cuda else
                                              "nothing to time"))
    else:
        log(("device: " if chosen.type == "GPU" else "no OpenCL GPU device: running on ")
            + chosen.describe())
        with open(os.path.join(plan.KERNELS, "tuning.txt")) as f:
            tuning, line = plan.tuning_for(chosen.name, chosen.type, f.read())
        log("tuning: kernels-cl/tuning.txt line %d: %s" % (line, tuning.short()))
        tunings = [tuning]
        if args.gemm == "both":
            other = tuning.with_gemm("TILED" if tuning.gemm == "PACKED" else "PACKED")
            tunings.append(other)
        for t in tunings:
            # The OpenClEngine constructor refuses a tiled work-group larger than the device's.
            if t.gemm == "TILED" and t.tiled_work_group() > chosen.max_work_group:
                log("the tiled GEMM's work-group of %d is larger than the device's maximum %d"
                    % (t.tiled_work_group(), chosen.max_work_group))
        ctx = clmini.Context(chosen)
        ours = Ours(ctx, tuning)
        need = needed_programs(layers, tunings)
        built, secs = ours.build_all(need)
        failed = [p for p in need if isinstance(ours.programs[p], Exception)]
        nk = 0
        for f, o, names in plan.OTHER_PROGRAMS:
            for kname in names:
                try:
                    ours.kernel(f, o, kname)
                    nk += 1
                except clmini.ClError as e:
                    log("kernel %s of %s.cl: %s" % (kname, f, e))
        log("built %d of %d programs in %.1f s (%d failed); plus %d kernels of eltwise.cl and "
            "norm.cl created" % (built, len(need), secs, len(failed), nk))

    rows = []
    any_fail = False
    for layer in layers:
        if time.time() - start > args.budget:
            log("budget of %.0f s spent: %s skipped" % (args.budget, layer.name))
            rows.append({"layer": layer.name, "algorithm": "-", "description": "skipped (budget)",
                         "check": "skip"})
            continue
        x, dense, bias = random_inputs(layer, args.seed)
        gflop = 2 * layer.macs() / 1e9
        base = {k: getattr(layer, k) for k in ("n", "c", "h", "w", "k", "r", "s", "stride", "pad",
                                               "dilation", "groups", "kind")}
        base.update(layer=layer.name, gflop=round(gflop, 6), reference=ref_name,
                    device=chosen.describe() if chosen else "none")
        ref = scale = None
        try:
            ref, scale = (reference_torch(torch, "cuda" if cuda else "cpu", layer, x, dense, bias)
                          if torch else reference_numpy(layer, x, dense, bias))
        except Exception as e:  # noqa: BLE001 - a failed reference is reported, not fatal
            base["note"] = "reference failed: %s" % e
        peer = {}
        if cuda and not args.no_cudnn:
            try:
                peer = cudnn_layer(torch, layer, x, dense, bias, blocks)
            except Exception as e:  # noqa: BLE001
                log("%s: cuDNN failed: %s" % (layer.name, e))
                peer = {"method": "failed: %s" % e}
        for key in ("fp32", "tf32"):
            ms = peer.get(key + "_ms")
            base["cudnn_%s_ms" % key] = ms
            base["cudnn_%s_gflops" % key] = gflop / ms * 1e3 if ms else None
            if peer.get(key + "_y") is not None and ref is not None:
                base["cudnn_%s_err" % key] = compare(layer, peer[key + "_y"], ref, scale)[0]
        base["cudnn_timing"] = peer.get("method")
        variants = tunings if ours else [None]
        for vi, t in enumerate(variants):
            row = dict(base)
            if t is None:
                row.update(algorithm=plan.choose(layer) if not layer.is_pool else "POOL",
                           description="(no OpenCL device)", check="-")
                rows.append(row)
                break
            cp = plan.cl_plan(layer, t)
            if vi > 0 and cp.kind != "GEMM":
                continue  # the other GEMM kernel only changes GEMM layers
            row.update(algorithm=cp.algorithm, gemm=cp.gemm or "", description=cp.description
                       + (" [alt]" if vi > 0 else ""), gemm_options=cp.gemm_options,
                       other_options=cp.im2col_options or cp.direct_options, tuning=t.short())
            try:
                # The [alt] kernel is informative only: one warm-up call (on a GPU the packed
                # kernel's one-item work-groups are slow, and must not eat the run's budget).
                y, ms, split, calls = _run_variant(ours, t, layer, cp, x, dense, bias,
                                                   warmup if vi == 0 else 1, reps, per_layer_s)
                row.update(ours_ms=ms, ours_gflops=gflop / ms * 1e3 if ms > 0 else None,
                           ours_split_ms=" ".join("%s=%.4f" % kv for kv in split.items()),
                           calls_timed=calls)
                if ref is not None:
                    rel, worst, tol, ok = compare(layer, y, ref, scale)
                    row.update(max_rel_err=rel, bound_ratio=worst, tolerance=tol,
                               check="ok" if ok else "FAIL")
                    if not ok:
                        any_fail = True
                        log("%s (%s): FAIL: error %.3g of the bound's scale, tolerance %.3g%s"
                            % (layer.name, cp.description, worst, tol,
                               " (NaN: outputs left unwritten)" if rel != rel else ""))
                if row.get("cudnn_fp32_ms"):
                    row["ratio_fp32"] = row["cudnn_fp32_ms"] / ms
                if row.get("cudnn_tf32_ms"):
                    row["ratio_tf32"] = row["cudnn_tf32_ms"] / ms
            except Exception as e:  # noqa: BLE001 - a layer's failure is reported, the run goes on
                any_fail = True
                row.update(check="FAIL", note=str(e).splitlines()[0][:200])
                log("%s (%s): FAILED: %s" % (layer.name, cp.description, e))
            rows.append(row)
            log("%-24s %-50s ours %s ms  cuDNN FP32 %s ms  %s" % (
                layer.name, row["description"][:50], fmt(row.get("ours_ms"), ".3f"),
                fmt(base.get("cudnn_fp32_ms"), ".4f"), row.get("check", "-")))
        if cuda:
            torch.cuda.empty_cache()

    log("")
    log("ours: median device time of one call (all its kernels, OpenCL profiling events); "
        "GFLOP/s = 2 x multiply-adds (pooling: window elements) / time.")
    if cuda and not args.no_cudnn:
        log("cuDNN: PyTorch conv2d with bias (the ReLU not timed; pooling: PyTorch's CUDA pooling), "
            "cudnn.benchmark on, FP32 = allow_tf32 off, TF32 = on; median of CUDA-event blocks. "
            "ours/FP32 > 1: ours faster.")
    else:
        log("cuDNN columns: skipped (%s)" % ("--no-cudnn" if args.no_cudnn else
                                             "no torch" if torch is None else "no CUDA device"))
    log("max err: max |ours - ref| / max |ref|, ref = %s; check: within (K + 2) x 2^-24 of "
        "conv(|x|, |w|) + |b| at every output." % ref_name)
    errs = {m: [r["cudnn_%s_err" % m] for r in rows if r.get("cudnn_%s_err" % m) is not None]
            for m in ("fp32", "tf32")}
    if errs["fp32"] and errs["tf32"]:
        # TF32 keeps 10 mantissa bits: its errors are ~1e-3 where FP32's are ~1e-6; equal
        # errors would mean the allow_tf32 flags did not take effect.
        log("cuDNN's own max err against the reference: FP32 median %.1e, TF32 median %.1e"
            % (statistics.median(errs["fp32"]), statistics.median(errs["tf32"])))
    log("")
    print_table(rows)
    write_csv(args.csv, rows)
    log("")
    log("csv: %s; %d rows; %.0f s in all" % (args.csv, len(rows), time.time() - start))
    return 1 if any_fail else 0


def _run_variant(ours, t, layer, cp, x, dense, bias, warmup, reps, budget_s):
    """Ours.run with tuning t: programs and kernels are shared, keyed by file and options."""
    saved = ours.tuning
    ours.tuning = t
    try:
        return ours.run(layer, cp, x, dense, bias, warmup, reps, budget_s)
    finally:
        ours.tuning = saved


if __name__ == "__main__":
    sys.exit(main())
