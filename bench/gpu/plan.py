"""The OpenCL engine's planning, mirrored in plain Python (no numpy): which kernels run a layer,
with which build options, weight layouts, arguments and launch sizes.

Each function names the Java it mirrors; change them together. The launches are data
(:class:`Launch`), so the same list drives the OpenCL run (check.py) and the pure-Python emulation
of the kernels in the self-test (emulate.py).
"""

import os
import re
from dataclasses import dataclass, field, replace

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KERNELS = os.path.join(ROOT, "kernels-cl")
SUITE = os.path.join(ROOT, "bench", "layers.csv")
EXTRA = os.path.join(HERE, "extra_layers.csv")

RELU = 1  # io.convkit.conv.Activation.RELU.code(): the suite's layers fuse a ReLU (LayerSuite.spec)

POOL_KINDS = ("maxpool", "avgpool", "avgpool_excl", "globalavgpool")

# LeNet-5 C3 (io.convkit.nn.models.LeNet.c3Table): output map o reads the S2 maps in COLS[o].
LENET_C3_COLS = ["012", "123", "234", "345", "045", "015", "0123", "1234", "2345", "0345", "0145",
                 "0125", "0134", "1245", "0235", "012345"]


# ------------------------------------------------------------------------------------------------
# Layers: bench/layers.csv (io.convkit.bench.LayerSuite) plus bench/gpu/extra_layers.csv.

@dataclass(frozen=True)
class Layer:
    """One line of the suite: name,n,c,h,w,k,r,s,stride,pad,dilation,groups,kind (LayerSuite.Layer).
    Convolutions carry a bias and a fused ReLU (LayerSuite.Layer.spec). kind 'table' is a
    connection-table convolution (LeNet-5 C3's table); the pooling kinds use r x s windows."""
    name: str
    n: int
    c: int
    h: int
    w: int
    k: int
    r: int
    s: int
    stride: int
    pad: int
    dilation: int
    groups: int
    kind: str

    @property
    def is_pool(self):
        return self.kind in POOL_KINDS

    def out_hw(self):
        """ConvSpec.outputSize / PoolSpec.outSize (floor mode, symmetric padding)."""
        if self.kind == "globalavgpool":
            return 1, 1
        d = 1 if self.is_pool else self.dilation
        oh = (self.h + 2 * self.pad - (d * (self.r - 1) + 1)) // self.stride + 1
        ow = (self.w + 2 * self.pad - (d * (self.s - 1) + 1)) // self.stride + 1
        if oh <= 0 or ow <= 0:
            raise ValueError("%s: the output would be empty" % self.name)
        return oh, ow

    def connected(self, o, i):
        """ConvSpec.connected: groups, or the LeNet C3 table for kind 'table'."""
        if self.kind == "table":
            return str(i) in LENET_C3_COLS[o]
        g = self.groups
        return o // (self.k // g) == i // (self.c // g)

    def macs(self):
        """ConvSpec.macs: output pixels x connected weights. Pooling: one op per window element."""
        oh, ow = self.out_hw()
        if self.is_pool:
            kh, kw = (self.h, self.w) if self.kind == "globalavgpool" else (self.r, self.s)
            return self.n * self.c * oh * ow * kh * kw
        if self.kind == "table":
            pairs = sum(len(c) for c in LENET_C3_COLS)
        else:
            pairs = self.k * (self.c // self.groups)
        return self.n * oh * ow * pairs * self.r * self.s

    def reduction(self):
        """The longest sum behind one output (for the error bound)."""
        if self.is_pool:
            return self.h * self.w if self.kind == "globalavgpool" else self.r * self.s
        if self.kind == "table":
            return max(len(c) for c in LENET_C3_COLS) * self.r * self.s
        return (self.c // self.groups) * self.r * self.s


def load_layers(path):
    """LayerSuite.parse: 13 fields a line; blank lines and # comments skipped; names unique."""
    layers = []
    with open(path) as f:
        for no, line in enumerate(f, 1):
            t = line.strip()
            if not t or t.startswith("#"):
                continue
            p = [x.strip() for x in t.split(",")]
            if len(p) != 13:
                raise ValueError("%s:%d: expected 13 fields, got %d" % (path, no, len(p)))
            layer = Layer(p[0], *[int(x) for x in p[1:12]], p[12])
            if any(x.name == layer.name for x in layers):
                raise ValueError("%s:%d: layer %s is defined twice" % (path, no, layer.name))
            if layer.kind == "table" and (layer.c != 6 or layer.k != 16):
                raise ValueError("%s:%d: a table layer is LeNet-5 C3 (6 -> 16)" % (path, no))
            layer.out_hw()
            layers.append(layer)
    return layers


# ------------------------------------------------------------------------------------------------
# Tuning: io.convkit.engine.opencl.Tuning (record, forDevice, parse) and kernels-cl/tuning.txt.

@dataclass(frozen=True)
class Tuning:
    gemm: str  # "PACKED" or "TILED"
    mr: int = 6
    nv: int = 2
    pl: int = 1
    tsm: int = 32
    tsn: int = 32
    tsk: int = 8
    wptm: int = 4
    wptn: int = 4
    lx: int = 32
    depthwise_rows: bool = False

    def __post_init__(self):
        # The record's compact constructor.
        for what, v, lo, hi in (("mr", self.mr, 1, 16), ("nv", self.nv, 1, 3),
                                ("pl", self.pl, 1, 1024), ("tsk", self.tsk, 1, 256),
                                ("wptm", self.wptm, 1, 16), ("wptn", self.wptn, 1, 16),
                                ("lx", self.lx, 1, 1024)):
            if v < lo or v > hi:
                raise ValueError("tuning: %s must be in [%d, %d], got %d" % (what, lo, hi, v))
        if (self.tsm < self.wptm or self.tsm % self.wptm or self.tsn < self.wptn
                or self.tsn % self.wptn):
            raise ValueError("tuning: the tile %dx%d must be a multiple of the work per item %dx%d"
                             % (self.tsm, self.tsn, self.wptm, self.wptn))

    def tiled_work_group(self):
        """Tuning.tiledWorkGroup."""
        return (self.tsm // self.wptm) * (self.tsn // self.wptn)

    def with_gemm(self, g):
        """Tuning.withGemm."""
        return replace(self, gemm=g)

    def short(self):
        if self.gemm == "PACKED":
            return "packed mr=%d nv=%d pl=%d lx=%d depthwise=%s" % (
                self.mr, self.nv, self.pl, self.lx, "rows" if self.depthwise_rows else "pixels")
        return "tiled %dx%dx%d wpt %dx%d lx=%d depthwise=%s" % (
            self.tsm, self.tsn, self.tsk, self.wptm, self.wptn, self.lx,
            "rows" if self.depthwise_rows else "pixels")


def tuning_for(device_name, device_type, text):
    """Tuning.forDevice: the first line of tuning.txt whose match applies (name: is a
    case-insensitive substring of the device name with '_' as a space; type: the device type;
    default); returns (Tuning, line number)."""
    for no, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = line.split()
        m = f[0]
        hit = (m == "default"
               or m.startswith("type:") and m[5:].lower() == device_type.lower()
               or m.startswith("name:")
               and m[5:].replace("_", " ").lower() in device_name.lower())
        if hit:
            return parse_tuning(f, "tuning.txt line %d" % no), no
    raise ValueError("tuning.txt has no line for %s (%s) and no default line"
                     % (device_name, device_type))


def parse_tuning(fields, where):
    """Tuning.parse: key=value fields; the defaults are the record's."""
    kv = {}
    for x in fields[1:]:
        eq = x.find("=")
        if eq <= 0:
            raise ValueError("%s: expected key=value, got '%s'" % (where, x))
        kv[x[:eq]] = x[eq + 1:]
    dw = kv.pop("depthwise", "pixels")
    if dw not in ("rows", "pixels"):
        raise ValueError("%s: depthwise must be rows or pixels, got %s" % (where, dw))
    args = {"gemm": kv.pop("gemm", "tiled").upper(), "depthwise_rows": dw == "rows"}
    for key, dflt in (("mr", 6), ("nv", 2), ("pl", 1), ("tsm", 32), ("tsn", 32), ("tsk", 8),
                      ("wptm", 4), ("wptn", 4), ("lx", 32)):
        args[key] = int(kv.pop(key, dflt))
    if kv:
        raise ValueError("%s: unknown keys %s" % (where, sorted(kv)))
    if args["gemm"] not in ("PACKED", "TILED"):
        raise ValueError("%s: gemm must be packed or tiled" % where)
    return Tuning(**args)


# ------------------------------------------------------------------------------------------------
# Algorithm and kernels: io.convkit.conv.Planner.choose/misfit and ClPlanner.plan.

def choose(layer):
    """Planner.choose (the suite's layers have no asymmetric padding)."""
    if layer.kind == "table":
        return "CONNECTION_TABLE"
    if layer.groups > 1:
        depthwise = layer.groups == layer.c and layer.r <= 64 and layer.s <= 64
        return "DEPTHWISE_DIRECT" if depthwise else "GROUPED_GEMM"
    pointwise = layer.r == 1 and layer.s == 1 and layer.stride == 1 and layer.pad == 0
    return "POINTWISE_GEMM" if pointwise else "IM2COL_GEMM"


@dataclass(frozen=True)
class ClPlan:
    """io.convkit.engine.opencl.ClConvPlan."""
    algorithm: str
    kind: str  # GEMM, DEPTHWISE, CONNECTION_TABLE, POOL
    unfold: bool = False
    gemm: str = None
    mr: int = 0
    gemm_options: str = ""
    im2col_options: str = ""
    direct_options: str = ""
    workspace_floats: int = 0
    description: str = ""


def cl_plan(layer, t):
    """ClPlanner.plan at precision EXACT (and, for pooling, what OpenClEngine.runPool runs).

    The FAST engine's Winograd path for 3x3 stride-1 layers (kernels-cl/winograd.cl) is not
    mirrored yet: this check runs those layers as the EXACT engine does, im2col + GEMM.
    """
    if layer.is_pool:
        return ClPlan("POOL", "POOL", description="pool " + layer.kind)
    alg = choose(layer)
    oh, ow = layer.out_hw()
    n = oh * ow
    if alg in ("IM2COL_GEMM", "GROUPED_GEMM", "POINTWISE_GEMM"):
        unfold = alg != "POINTWISE_GEMM"
        mg = layer.k // layer.groups
        kg = (layer.c // layer.groups) * layer.r * layer.s
        grp = " x%d groups" % layer.groups if layer.groups > 1 else ""
        if t.gemm == "PACKED":
            mr = t.mr
            m = 1
            while m < t.mr:  # the smallest power of two that holds the group's rows
                if mg <= m:
                    mr = m
                    break
                m *= 2
            nb = 8 * t.nv
            panels = (n + nb - 1) // nb
            return ClPlan(alg, "GEMM", unfold, "PACKED", mr,
                          "-DMR=%d -DNV=%d -DB_PACKED=%d" % (mr, t.nv, 1 if unfold else 0),
                          "-DNB=%d" % nb, "",
                          layer.groups * panels * kg * nb if unfold else 0,
                          ("im2col (packed) + " if unfold else "") + "gemm_packed %dx%d" % (mr, nb)
                          + grp)
        return ClPlan(alg, "GEMM", unfold, "TILED", 0,
                      "-DTSM=%d -DTSN=%d -DTSK=%d -DWPTM=%d -DWPTN=%d"
                      % (t.tsm, t.tsn, t.tsk, t.wptm, t.wptn), "", "",
                      layer.groups * kg * n if unfold else 0,
                      ("im2col + " if unfold else "") + "gemm_tiled %dx%dx%d (%dx%d per item)"
                      % (t.tsm, t.tsn, t.tsk, t.wptm, t.wptn) + grp)
    if alg == "DEPTHWISE_DIRECT":
        fixed = (layer.r == 3 and layer.s == 3 and layer.dilation == 1
                 and layer.stride in (1, 2))
        opts = ("-DKH=3 -DKW=3 -DSH=%d -DSW=%d -DDH=1 -DDW=1" % (layer.stride, layer.stride)
                if fixed else "")
        return ClPlan(alg, "DEPTHWISE", direct_options=opts,
                      description="depthwise 3x3 stride %d" % layer.stride if fixed
                      else "depthwise %dx%d generic" % (layer.r, layer.s))
    return ClPlan(alg, "CONNECTION_TABLE", description="conv_table direct")


# ------------------------------------------------------------------------------------------------
# Weights on the device: OpenClEngine.upload and OpenClEngine.packA.

def pack_a(dense, groups, mg, k, mr):
    """OpenClEngine.packA: dense [G*Mg][K] as [G][ceil(Mg/mr)][K][mr], rows past Mg zero."""
    mp = (mg + mr - 1) // mr
    a = [0.0] * (groups * mp * k * mr)
    for g in range(groups):
        for m in range(mg):
            panel = g * mp + m // mr
            r = m % mr
            src = (g * mg + m) * k
            for kk in range(k):
                a[(panel * k + kk) * mr + r] = dense[src + kk]
    return a


def table_weights(layer, dense):
    """OpenClEngine.upload, layout "table": per output its connected inputs (start, in) and their
    r x s weight blocks, packed in that order."""
    rs = layer.r * layer.s
    start = []
    inputs = []
    for o in range(layer.k):
        start.append(len(inputs))
        inputs += [i for i in range(layer.c) if layer.connected(o, i)]
    start.append(len(inputs))
    packed = []
    for o in range(layer.k):
        for j in range(start[o], start[o + 1]):
            base = (o * layer.c + inputs[j]) * rs
            packed += list(dense[base:base + rs])
    return packed, start, inputs or [0]


def weight_buffers(layer, cp, dense, bias, pack=pack_a):
    """The device buffers of a layer's weights as OpenClEngine.upload makes them (dense is the
    [K][C/groups][R][S] array, flat; the table layout reads it as [K][C][R][S], zeros where not
    connected). Returns {name: ("f" | "i", flat values)}; 'pack' may be a faster equivalent."""
    out = {"bias": ("f", bias)}
    if cp.kind == "GEMM" and cp.gemm == "PACKED":
        out["a"] = ("f", pack(dense, layer.groups, layer.k // layer.groups,
                              (layer.c // layer.groups) * layer.r * layer.s, cp.mr))
    elif cp.kind == "CONNECTION_TABLE":
        packed, start, inputs = table_weights(layer, dense)
        out["a"] = ("f", packed)
        out["start"] = ("i", start)
        out["in"] = ("i", inputs)
    else:
        out["a"] = ("f", dense)
    return out


# ------------------------------------------------------------------------------------------------
# Launches: OpenClEngine.gemmConv, depthwise, connectionTable, runPool and launch.

@dataclass(frozen=True)
class Buf:
    """A kernel argument that is a device buffer, by name: x, y, ws, a, bias, start, in, dummy."""
    name: str


@dataclass
class Launch:
    file: str      # kernels-cl/<file>.cl, built after activation.cl (OpenClEngine.program)
    options: str   # build options after -cl-mad-enable (OpenClEngine.build)
    kernel: str
    args: list
    global_size: list
    local_size: list = field(default_factory=list)


def build_options(options):
    """OpenClEngine.build: "-cl-mad-enable " + the plan's options."""
    return "-cl-mad-enable " + options


def _launch(file, options, kernel, args, global_size, local_size):
    # OpenClEngine.launch: each global size rounded up to a multiple of the local size.
    g = [(gs + ls - 1) // ls * ls for gs, ls in zip(global_size, local_size)]
    return Launch(file, options, kernel, args, g, list(local_size))


def launches(layer, cp, t):
    """The launches of one call, in order."""
    oh, ow = layer.out_hw()
    if cp.kind == "GEMM":
        return _gemm_conv(layer, cp, t, oh, ow)
    if cp.kind == "DEPTHWISE":
        return _depthwise(layer, cp, t, oh, ow)
    if cp.kind == "CONNECTION_TABLE":
        return _connection_table(layer, t, oh, ow)
    return _pool(layer, t, oh, ow)


def _bias(layer):
    return Buf("bias")


def _gemm_conv(layer, cp, t, oh, ow):
    """OpenClEngine.gemmConv: per image, im2col (unless pointwise) then one GEMM launch with the
    groups as its third dimension."""
    n = oh * ow
    mg = layer.k // layer.groups
    kg = (layer.c // layer.groups) * layer.r * layer.s
    groups = layer.groups
    packed = cp.gemm == "PACKED"
    nb = 8 * t.nv
    k_all = groups * kg
    geometry = [layer.c, layer.h, layer.w, layer.r, layer.s, layer.stride, layer.stride, layer.pad,
                layer.pad, layer.dilation, layer.dilation, oh, ow]
    in_image = layer.c * layer.h * layer.w
    out_image = layer.k * n
    out = []
    for img in range(layer.n):
        x_off = img * in_image
        b, b_off = Buf("x"), x_off
        if cp.unfold:
            if packed:
                out.append(_launch("im2col", cp.im2col_options, "im2col_packed",
                                   [Buf("x"), x_off, Buf("ws"), kg] + geometry,
                                   [oh, k_all], [1, t.lx]))
            else:
                out.append(_launch("im2col", "", "im2col_rows",
                                   [Buf("x"), x_off, Buf("ws"), n] + geometry,
                                   [oh, k_all], [1, t.lx]))
            b, b_off = Buf("ws"), 0
        args = [Buf("a"), b, b_off, n, Buf("y"), img * out_image, n, _bias(layer), 1, RELU, mg, n,
                kg]
        if packed:
            out.append(_launch("gemm_packed", cp.gemm_options, "gemm_packed", args,
                               [(n + nb - 1) // nb, (mg + cp.mr - 1) // cp.mr, groups],
                               [t.pl, 1, 1]))
        else:
            rtsn = t.tsn // t.wptn
            rtsm = t.tsm // t.wptm
            out.append(_launch("gemm_tiled", cp.gemm_options, "gemm_tiled", args,
                               [(n + t.tsn - 1) // t.tsn * rtsn, (mg + t.tsm - 1) // t.tsm * rtsm,
                                groups], [rtsn, rtsm, 1]))
    return out


def _depthwise(layer, cp, t, oh, ow):
    """OpenClEngine.depthwise: the whole batch in one launch."""
    rows = t.depthwise_rows
    a = [Buf("x"), 0, Buf("a"), _bias(layer), 1, RELU, Buf("y"), 0, layer.c, layer.h, layer.w,
         layer.k, oh, ow, layer.pad, layer.pad]
    if not cp.direct_options:
        a += [layer.r, layer.s, layer.stride, layer.stride, layer.dilation, layer.dilation]
    if rows:
        return [_launch("depthwise", cp.direct_options, "depthwise_rows", a,
                        [oh, layer.n * layer.k], [t.lx, 1])]
    return [_launch("depthwise", cp.direct_options, "depthwise", a,
                    [ow, oh, layer.n * layer.k], [t.lx, 1, 1])]


def _connection_table(layer, t, oh, ow):
    """OpenClEngine.connectionTable."""
    a = [Buf("x"), 0, Buf("a"), Buf("start"), Buf("in"), _bias(layer), 1, RELU, Buf("y"), 0,
         layer.c, layer.h, layer.w, layer.k, oh, ow, layer.r, layer.s, layer.stride, layer.stride,
         layer.pad, layer.pad, layer.dilation, layer.dilation]
    return [_launch("conv_table", "", "conv_table", a, [ow, oh, layer.n * layer.k], [t.lx, 1, 1])]


def _pool(layer, t, oh, ow):
    """OpenClEngine.runPool (PoolSpec: floor mode; a global pool has the input's window, stride 1,
    no padding)."""
    glob = layer.kind == "globalavgpool"
    kh, kw = (layer.h, layer.w) if glob else (layer.r, layer.s)
    st = 1 if glob else layer.stride
    p = 0 if glob else layer.pad
    a = [Buf("x"), 0, Buf("y"), 0, layer.h, layer.w, oh, ow, kh, kw, st, st, p, p, p, p,
         1 if layer.kind == "maxpool" else 0, 0 if layer.kind == "avgpool_excl" else 1]
    return [_launch("pool", "", "pool", a, [ow, oh, layer.n * layer.c], [t.lx, 1, 1])]


# Programs the engine builds that the layer runs above do not launch (OpenClEngine.runAdd,
# runScaleChannels, runLrn, runLayerNorm): built too, so every .cl file is compiled.
OTHER_PROGRAMS = [("eltwise", "", ["add", "scale_channels"]), ("norm", "", ["lrn", "layer_norm"])]


def source(file):
    """OpenClEngine.program: activation.cl, a newline, then the file."""
    with open(os.path.join(KERNELS, "activation.cl")) as f:
        act = f.read()
    with open(os.path.join(KERNELS, file + ".cl")) as f:
        return act + "\n" + f.read()


def options_dict(options):
    """-DKEY=VALUE build options as a dict (for the emulator)."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"-D(\w+)=(-?\d+)", options)}
