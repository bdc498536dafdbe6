"""The kernels of kernels-cl/ re-stated in plain Python, per work-item over the launch's global
range, for the self-test: they read their arguments in the .cl signatures' order, so running the
Launch list of plan.py through them checks the mirror's arguments, launch sizes and weight
layouts against a naive convolution, with no OpenCL and no numpy. They restate the kernels'
scalar paths (the float8 paths compute the same values) and check every buffer index.
"""

import math

from plan import Buf, options_dict


class Mem:
    """A device buffer: every read and write is bounds-checked (a negative index is an error)."""

    def __init__(self, name, values):
        self.name = name
        self.v = list(values)

    def __getitem__(self, i):
        if not 0 <= i < len(self.v):
            raise IndexError("%s[%d] read out of bounds (size %d)" % (self.name, i, len(self.v)))
        return self.v[i]

    def __setitem__(self, i, x):
        if not 0 <= i < len(self.v):
            raise IndexError("%s[%d] written out of bounds (size %d)" % (self.name, i, len(self.v)))
        self.v[i] = x


def act(v, code):
    """activation.cl ck_activate, the codes the check uses (0 none, 1 ReLU)."""
    if code == 1:
        return v if v > 0.0 or math.isnan(v) else 0.0
    if code == 0:
        return v
    raise ValueError("activation %d is not emulated" % code)


def ids(global_size):
    if len(global_size) == 1:
        return ((i,) for i in range(global_size[0]))
    if len(global_size) == 2:
        return ((i, j) for j in range(global_size[1]) for i in range(global_size[0]))
    return ((i, j, k) for k in range(global_size[2]) for j in range(global_size[1])
            for i in range(global_size[0]))


def run(launch, bufs):
    """Runs one plan.Launch over the buffers {name: Mem}."""
    args = [bufs[a.name] if isinstance(a, Buf) else a for a in launch.args]
    d = options_dict(launch.options)
    f = KERNELS[launch.kernel]
    if launch.kernel == "gemm_tiled":
        f(d, launch.global_size, launch.local_size, *args)
        return
    for gid in ids(launch.global_size):
        f(d, gid, *args)


def _unfold_row(k, KH, KW):
    kx = k % KW
    t = k // KW
    return t // KH, t % KH, kx  # c, ky, kx


def im2col_rows(d, gid, x, x_off, out, ldo, C, H, W, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW):
    oy, k = gid
    if oy >= OH or k >= C * KH * KW:
        return
    c, ky, kx = _unfold_row(k, KH, KW)
    iy = oy * SH - PT + ky * DH
    for ox in range(OW):
        ix = kx * DW - PL + ox * SW
        ok = 0 <= iy < H and 0 <= ix < W
        out[k * ldo + oy * OW + ox] = x[x_off + (c * H + iy) * W + ix] if ok else 0.0


def im2col_packed(d, gid, x, x_off, out, Kg, C, H, W, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW):
    NB = d["NB"]
    oy, k = gid
    if oy >= OH or k >= C * KH * KW:
        return
    c, ky, kx = _unfold_row(k, KH, KW)
    g = k // Kg
    kg = k - g * Kg
    np_ = (OH * OW + NB - 1) // NB
    panel_stride = Kg * NB
    o = g * np_ * panel_stride + kg * NB
    iy = oy * SH - PT + ky * DH
    for ox in range(OW):
        p = oy * OW + ox
        ix = kx * DW - PL + ox * SW
        ok = 0 <= iy < H and 0 <= ix < W
        out[o + (p // NB) * panel_stride + p % NB] = x[x_off + (c * H + iy) * W + ix] if ok else 0.0
    if oy == OH - 1:
        for p in range(OH * OW, np_ * NB):  # the last panel's columns past N are zeroed
            out[o + (p // NB) * panel_stride + p % NB] = 0.0


def gemm_packed(d, gid, A, B, b_off, ldb, Cm, c_off, ldc, bias, has_bias, actc, Mg, N, K):
    MR, NB, packed = d["MR"], 8 * d["NV"], d["B_PACKED"]
    np_, mp, g = gid
    n0, m0 = np_ * NB, mp * MR
    if n0 >= N or m0 >= Mg:
        return
    MP = (Mg + MR - 1) // MR
    a = (g * MP + mp) * K * MR
    acc = [[0.0] * NB for _ in range(MR)]
    for k in range(K):
        if packed:
            NP = (N + NB - 1) // NB
            bv = [B[b_off + (g * NP + np_) * K * NB + k * NB + j] for j in range(NB)]
        else:
            bv = [B[b_off + g * K * ldb + n0 + k * ldb + j] if n0 + j < N else 0.0
                  for j in range(NB)]
        for m in range(MR):
            av = A[a + k * MR + m]
            for j in range(NB):
                acc[m][j] += av * bv[j]
    for m in range(MR):
        if m0 + m >= Mg:
            break
        row = g * Mg + m0 + m
        bb = bias[row] if has_bias else 0.0
        for j in range(min(NB, N - n0)):
            Cm[c_off + row * ldc + n0 + j] = act(acc[m][j] + bb, actc)


def gemm_tiled(d, global_size, local_size, A, B, b_off, ldb, Cm, c_off, ldc, bias, has_bias, actc,
               Mg, N, K):
    TSM, TSN, WPTM, WPTN = d["TSM"], d["TSN"], d["WPTM"], d["WPTN"]
    rtsm, rtsn = TSM // WPTM, TSN // WPTN
    if list(local_size) != [rtsn, rtsm, 1]:  # reqd_work_group_size(RTSN, RTSM, 1)
        raise ValueError("gemm_tiled launched with local %s, needs %s" % (local_size,
                                                                        [rtsn, rtsm, 1]))
    if global_size[0] % rtsn or global_size[1] % rtsm:
        raise ValueError("gemm_tiled: global %s is not a multiple of local" % global_size)
    for g in range(global_size[2]):
        for gy in range(global_size[1] // rtsm):
            for gx in range(global_size[0] // rtsn):
                for tm in range(rtsm):
                    for tn in range(rtsn):
                        for i in range(WPTM):
                            m = gy * TSM + tm + i * rtsm
                            if m >= Mg:
                                continue
                            row = g * Mg + m
                            for j in range(WPTN):
                                n = gx * TSN + tn + j * rtsn
                                if n >= N:
                                    continue
                                s = 0.0
                                for k in range(K):
                                    s += A[g * Mg * K + m * K + k] * B[b_off + g * K * ldb + k * ldb + n]
                                Cm[c_off + row * ldc + n] = act(
                                    s + (bias[row] if has_bias else 0.0), actc)


def _window(d, rest):
    """depthwise.cl WINDOW_ARGS: the build options, else six trailing arguments."""
    if "KH" in d:
        return d["KH"], d["KW"], d["SH"], d["SW"], d["DH"], d["DW"]
    return tuple(rest)


def _dw_one(x, w, xp, wp, H, W, iy0, ix0, KH, KW, DH, DW):
    s = 0.0
    for ky in range(KH):
        iy = iy0 + ky * DH
        if iy < 0 or iy >= H:
            continue
        for kx in range(KW):
            ix = ix0 + kx * DW
            if 0 <= ix < W:
                s += w[wp + ky * KW + kx] * x[xp + iy * W + ix]
    return s


def depthwise(d, gid, x, x_off, w, bias, has_bias, actc, y, y_off, C, H, W, OC, OH, OW, PT, PL,
              *rest):
    KH, KW, SH, SW, DH, DW = _window(d, rest)
    ox, oy, z = gid
    if ox >= OW or oy >= OH:
        return
    o, n = z % OC, z // OC
    c = o // (OC // C)
    s = _dw_one(x, w, x_off + (n * C + c) * H * W, o * KH * KW, H, W, oy * SH - PT, ox * SW - PL,
                KH, KW, DH, DW)
    y[y_off + z * OH * OW + oy * OW + ox] = act(s + (bias[o] if has_bias else 0.0), actc)


def depthwise_rows(d, gid, x, x_off, w, bias, has_bias, actc, y, y_off, C, H, W, OC, OH, OW, PT,
                   PL, *rest):
    oy, z = gid
    if oy >= OH:
        return
    for ox in range(OW):
        depthwise(d, (ox, oy, z), x, x_off, w, bias, has_bias, actc, y, y_off, C, H, W, OC, OH, OW,
                  PT, PL, *rest)


def conv_table(d, gid, x, x_off, w, start, cin, bias, has_bias, actc, y, y_off, C, H, W, OC, OH,
               OW, KH, KW, SH, SW, PT, PL, DH, DW):
    ox, oy, z = gid
    if ox >= OW or oy >= OH:
        return
    o, n = z % OC, z // OC
    s = 0.0
    for j in range(start[o], start[o + 1]):
        s += _dw_one(x, w, x_off + (n * C + cin[j]) * H * W, j * KH * KW, H, W, oy * SH - PT,
                     ox * SW - PL, KH, KW, DH, DW)
    y[y_off + z * OH * OW + oy * OW + ox] = act(s + (bias[o] if has_bias else 0.0), actc)


def pool(d, gid, x, x_off, y, y_off, H, W, OH, OW, KH, KW, SH, SW, PT, PL, PB, PR, is_max,
         count_pad):
    ox, oy, z = gid
    if ox >= OW or oy >= OH:
        return
    y0, x0 = oy * SH - PT, ox * SW - PL
    y1, x1 = min(y0 + KH, H + PB), min(x0 + KW, W + PR)
    cy0, cx0, cy1, cx1 = max(y0, 0), max(x0, 0), min(y1, H), min(x1, W)
    vals = [x[x_off + z * H * W + iy * W + ix] for iy in range(cy0, cy1) for ix in range(cx0, cx1)]
    if is_max:
        r = max(vals) if vals else -math.inf
    else:
        dv = (y1 - y0) * (x1 - x0) if count_pad else (cy1 - cy0) * (cx1 - cx0)
        r = sum(vals) / dv
    y[y_off + z * OH * OW + oy * OW + ox] = r


KERNELS = {f.__name__: f for f in (im2col_rows, im2col_packed, gemm_packed, gemm_tiled, depthwise,
                                   depthwise_rows, conv_table, pool)}


def naive(layer, x, dense, bias):
    """The layer computed directly from its definition: conv + bias + ReLU, or the pool.
    dense: [K][C/groups][R][S] ([K][C][R][S], zeros where not connected, for a table layer)."""
    oh, ow = layer.out_hw()
    L = layer
    y = []
    if L.is_pool:
        glob = L.kind == "globalavgpool"
        kh, kw = (L.h, L.w) if glob else (L.r, L.s)
        st, p = (1, 0) if glob else (L.stride, L.pad)
        for z in range(L.n * L.c):
            for oy in range(oh):
                for ox in range(ow):
                    vals = []
                    inside = 0
                    for ky in range(kh):
                        for kx in range(kw):
                            iy, ix = oy * st - p + ky, ox * st - p + kx
                            if 0 <= iy < L.h and 0 <= ix < L.w:
                                vals.append(x[(z * L.h + iy) * L.w + ix])
                                inside += 1
                    if L.kind == "maxpool":
                        y.append(max(vals))
                    else:
                        y.append(sum(vals) / (inside if L.kind == "avgpool_excl" else kh * kw))
        return y
    table = L.kind == "table"
    cg = L.c if table else L.c // L.groups
    mg = L.k // L.groups
    for n in range(L.n):
        for o in range(L.k):
            g = 0 if table else o // mg
            for oy in range(oh):
                for ox in range(ow):
                    s = bias[o]
                    for ci in range(cg):
                        c = ci if table else g * cg + ci
                        for ky in range(L.r):
                            for kx in range(L.s):
                                iy = oy * L.stride - L.pad + ky * L.dilation
                                ix = ox * L.stride - L.pad + kx * L.dilation
                                if 0 <= iy < L.h and 0 <= ix < L.w:
                                    s += (dense[((o * cg + ci) * L.r + ky) * L.s + kx]
                                          * x[((n * L.c + c) * L.h + iy) * L.w + ix])
                    y.append(max(s, 0.0))
    return y
