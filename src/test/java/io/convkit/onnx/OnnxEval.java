package io.convkit.onnx;

import io.convkit.conv.ErrorFunction;
import io.convkit.testing.Tolerance;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A naive float64 evaluator of the ONNX ops the import supports, written from the operator
 * specification and independent of convkit's layers: the oracle of {@link OnnxImportTest}.
 *
 * <p>Alongside each value it carries an absolute error bound for a float32 implementation of the
 * same graph, derived op by op from the reduction lengths (Higham's gamma(K) on the sum of
 * |terms|, plus one rounding of the result, plus {@link Tolerance#EVAL_ULPS} for the
 * transcendental functions) and propagated through each op to first order. Folds the importer
 * makes (batch norm, bias, per-channel scale into a conv's weights) each round a weight once: the
 * conv's bound carries 4u of its terms for them.
 */
final class OnnxEval {
  static final double U = Math.scalb(1.0, -24);
  private static final double EVAL = (Tolerance.EVAL_ULPS + 1) * U;

  /** A tensor: dims, values and the float32 error bound of each value. */
  static final class T {
    final int[] d;
    final double[] v;
    final double[] e;

    T(int[] d, double[] v, double[] e) {
      this.d = d;
      this.v = v;
      this.e = e;
    }

    T(int[] d) {
      this(d, new double[size(d)], new double[size(d)]);
    }

    int rank() {
      return d.length;
    }
  }

  static int size(int[] d) {
    int n = 1;
    for (int x : d) {
      n *= x;
    }
    return n;
  }

  private final OnnxModel model;
  private final long opset;
  private final Map<String, T> vals = new HashMap<>();

  OnnxEval(OnnxModel model) {
    this.model = model;
    this.opset = model.defaultOpset();
  }

  /** The first graph output for input {@code x} (dims {@code dims}). */
  T run(float[] x, int[] dims) {
    OnnxGraph g = model.graph();
    for (OnnxTensor t : g.initializers()) {
      vals.put(t.name(), fromTensor(t));
    }
    for (OnnxGraph.ValueInfo in : g.inputs()) {
      if (!vals.containsKey(in.name())) {
        double[] v = new double[x.length];
        for (int i = 0; i < v.length; i++) {
          v[i] = x[i];
        }
        vals.put(in.name(), new T(dims.clone(), v, new double[v.length]));
      }
    }
    // nodes in file order, repeated until all ran (the tests include a graph out of order)
    List<OnnxNode> left = new ArrayList<>(g.nodes());
    while (!left.isEmpty()) {
      boolean progress = false;
      for (int i = 0; i < left.size(); i++) {
        OnnxNode n = left.get(i);
        boolean ready = true;
        for (String in : n.inputs()) {
          ready &= in.isEmpty() || vals.containsKey(in);
        }
        if (ready) {
          T y = op(n);
          vals.put(n.outputs().get(0), y);
          left.remove(i);
          progress = true;
          break;
        }
      }
      if (!progress) {
        throw new IllegalStateException("evaluator: graph does not run");
      }
    }
    return vals.get(g.outputs().get(0).name());
  }

  static T fromTensor(OnnxTensor t) {
    long[] ld = t.dims();
    int[] d = new int[ld.length];
    for (int i = 0; i < d.length; i++) {
      d[i] = (int) ld[i];
    }
    double[] v;
    if (t.dataType() == OnnxTensor.FLOAT) {
      float[] f = t.floats();
      v = new double[f.length];
      for (int i = 0; i < f.length; i++) {
        v[i] = f[i];
      }
    } else {
      long[] l = t.longs();
      v = new double[l.length];
      for (int i = 0; i < l.length; i++) {
        v[i] = l[i];
      }
    }
    return new T(d, v, new double[v.length]);
  }

  private T in(OnnxNode n, int i) {
    if (i >= n.inputs().size() || n.inputs().get(i).isEmpty()) {
      return null;
    }
    return vals.get(n.inputs().get(i));
  }

  private static long ai(OnnxNode n, String name, long dflt) {
    OnnxAttribute a = n.attribute(name);
    return a == null ? dflt : ((OnnxAttribute.Int) a).value();
  }

  private static double af(OnnxNode n, String name, double dflt) {
    OnnxAttribute a = n.attribute(name);
    return a == null ? dflt : ((OnnxAttribute.Float) a).value();
  }

  private static String as(OnnxNode n, String name, String dflt) {
    OnnxAttribute a = n.attribute(name);
    return a == null ? dflt : ((OnnxAttribute.Str) a).value();
  }

  private static long[] ais(OnnxNode n, String name) {
    OnnxAttribute a = n.attribute(name);
    return a == null ? null : ((OnnxAttribute.Ints) a).values();
  }

  private static long[] longs(T t) {
    long[] l = new long[t.v.length];
    for (int i = 0; i < l.length; i++) {
      l[i] = (long) t.v[i];
    }
    return l;
  }

  private T op(OnnxNode n) {
    switch (n.opType()) {
      case "Conv":
        return conv(n);
      case "BatchNormalization":
        return bn(n);
      case "Relu":
        return unary(in(n, 0), x -> Math.max(x, 0), 1, false);
      case "Tanh":
        return unary(in(n, 0), Math::tanh, 1, true);
      case "Sigmoid":
        return unary(in(n, 0), x -> 1 / (1 + Math.exp(-x)), 0.25, true);
      case "Gelu":
        return unary(in(n, 0), x -> x * 0.5 * (1 + ErrorFunction.erf(x / Math.sqrt(2))), 1.13,
            true);
      case "HardSigmoid": {
        // y = max(0, min(1, alpha * x + beta)); Math.max/min keep a NaN. One rounding of the
        // computed value: the evaluation budget covers it.
        double alpha = af(n, "alpha", 0.2f);
        double beta = af(n, "beta", 0.5f);
        return unary(in(n, 0), x -> Math.max(0, Math.min(1, alpha * x + beta)), Math.abs(alpha),
            true);
      }
      case "HardSwish":
        // y = x * max(0, min(1, x / 6 + 1/2)); |y'| = |x / 3 + 1/2| <= 3/2 where not clamped
        return unary(in(n, 0), x -> x * Math.max(0, Math.min(1, x / 6 + 0.5)), 1.5, true);
      case "Erf":
        return unary(in(n, 0), ErrorFunction::erf, 2 / Math.sqrt(Math.PI), true);
      case "Clip": {
        double lo = opset < 11 ? af(n, "min", Double.NEGATIVE_INFINITY)
            : in(n, 1) == null ? Double.NEGATIVE_INFINITY : in(n, 1).v[0];
        double hi = opset < 11 ? af(n, "max", Double.POSITIVE_INFINITY)
            : in(n, 2) == null ? Double.POSITIVE_INFINITY : in(n, 2).v[0];
        return unary(in(n, 0), x -> Math.min(hi, Math.max(lo, x)), 1, false);
      }
      case "Add":
        return binary(in(n, 0), in(n, 1), '+');
      case "Sub":
        return binary(in(n, 0), in(n, 1), '-');
      case "Mul":
        return binary(in(n, 0), in(n, 1), '*');
      case "Div":
        return binary(in(n, 0), in(n, 1), '/');
      case "MaxPool":
      case "AveragePool":
        return pool(n, n.opType().equals("MaxPool"));
      case "GlobalAveragePool":
        return reduceMean(in(n, 0), true);
      case "ReduceMean":
        return reduceMean(in(n, 0), ai(n, "keepdims", 1) != 0);
      case "Flatten": {
        T x = in(n, 0);
        int axis = (int) ai(n, "axis", 1);
        int rows = 1;
        for (int i = 0; i < axis; i++) {
          rows *= x.d[i];
        }
        return new T(new int[] {rows, x.v.length / rows}, x.v, x.e);
      }
      case "Reshape": {
        T x = in(n, 0);
        long[] t = longs(in(n, 1));
        int[] d = new int[t.length];
        int infer = -1;
        int prod = 1;
        for (int i = 0; i < t.length; i++) {
          d[i] = t[i] == 0 ? x.d[i] : (int) t[i];
          if (d[i] == -1) {
            infer = i;
          } else {
            prod *= d[i];
          }
        }
        if (infer >= 0) {
          d[infer] = x.v.length / prod;
        }
        return new T(d, x.v, x.e);
      }
      case "Squeeze":
      case "Unsqueeze": {
        T x = in(n, 0);
        long[] axes = opset >= 13 ? longs(in(n, 1)) : ais(n, "axes");
        List<Integer> d = new ArrayList<>();
        if (n.opType().equals("Squeeze")) {
          for (int i = 0; i < x.rank(); i++) {
            boolean drop = false;
            for (long a : axes) {
              drop |= (a < 0 ? a + x.rank() : a) == i;
            }
            if (!drop) {
              d.add(x.d[i]);
            }
          }
        } else {
          int r = x.rank() + axes.length;
          int j = 0;
          for (int i = 0; i < r; i++) {
            boolean add = false;
            for (long a : axes) {
              add |= (a < 0 ? a + r : a) == i;
            }
            d.add(add ? 1 : x.d[j++]);
          }
        }
        return new T(d.stream().mapToInt(Integer::intValue).toArray(), x.v, x.e);
      }
      case "Gemm":
        return gemm(n);
      case "MatMul":
        return matMul(in(n, 0), in(n, 1));
      case "Concat":
        return concat(n);
      case "Softmax":
        return softmax(n);
      case "LRN":
        return lrn(n);
      case "Dropout":
      case "Identity":
      case "Cast":
        return in(n, 0);
      case "Constant": {
        OnnxAttribute a = n.attributes().get(0);
        if (a instanceof OnnxAttribute.Tensor t) {
          return fromTensor(t.value());
        } else if (a instanceof OnnxAttribute.Ints is) {
          long[] l = is.values();
          double[] v = new double[l.length];
          for (int i = 0; i < l.length; i++) {
            v[i] = l[i];
          }
          return new T(new int[] {l.length}, v, new double[l.length]);
        } else if (a instanceof OnnxAttribute.Float f) {
          return new T(new int[0], new double[] {f.value()}, new double[1]);
        }
        throw new IllegalStateException("evaluator: Constant " + a);
      }
      case "Shape": {
        T x = in(n, 0);
        double[] v = new double[x.rank()];
        for (int i = 0; i < v.length; i++) {
          v[i] = x.d[i];
        }
        return new T(new int[] {v.length}, v, new double[v.length]);
      }
      case "Gather": {
        T x = in(n, 0);
        T idx = in(n, 1);
        int inner = x.v.length / x.d[0];
        T y = new T(concatDims(idx.d, Arrays.copyOfRange(x.d, 1, x.rank())));
        for (int i = 0; i < idx.v.length; i++) {
          int j = (int) idx.v[i];
          j = j < 0 ? j + x.d[0] : j;
          System.arraycopy(x.v, j * inner, y.v, i * inner, inner);
        }
        return y;
      }
      case "Transpose":
        return transpose(in(n, 0), ais(n, "perm"));
      case "LayerNormalization":
        return layerNorm(n);
      case "Pad":
        return pad(n);
      default:
        throw new IllegalStateException("evaluator: no op " + n.opType());
    }
  }

  private static int[] concatDims(int[] a, int[] b) {
    int[] r = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }

  /** f element-wise; lip bounds |f'|; transcendental ones add the evaluation budget. */
  private static T unary(T x, java.util.function.DoubleUnaryOperator f, double lip,
      boolean transcendental) {
    T y = new T(x.d.clone());
    for (int i = 0; i < y.v.length; i++) {
      y.v[i] = f.applyAsDouble(x.v[i]);
      y.e[i] = lip * x.e[i] + (transcendental ? EVAL * (Math.abs(y.v[i]) + 1) : 0);
    }
    return y;
  }

  /** Numpy broadcasting. */
  private static T binary(T a, T b, char op) {
    int r = Math.max(a.rank(), b.rank());
    int[] d = new int[r];
    for (int i = 0; i < r; i++) {
      int da = i - (r - a.rank()) >= 0 ? a.d[i - (r - a.rank())] : 1;
      int db = i - (r - b.rank()) >= 0 ? b.d[i - (r - b.rank())] : 1;
      d[i] = Math.max(da, db);
    }
    T y = new T(d);
    int[] idx = new int[r];
    for (int k = 0; k < y.v.length; k++) {
      int rem = k;
      for (int i = r - 1; i >= 0; i--) {
        idx[i] = rem % d[i];
        rem /= d[i];
      }
      int ia = flat(a, idx, r);
      int ib = flat(b, idx, r);
      double x = a.v[ia];
      double z = b.v[ib];
      double ex = a.e[ia];
      double ez = b.e[ib];
      double v;
      double e;
      switch (op) {
        case '+', '-' -> {
          v = op == '+' ? x + z : x - z;
          e = ex + ez + 2 * U * (Math.abs(x) + Math.abs(z));
        }
        case '*' -> {
          v = x * z;
          e = Math.abs(z) * ex + Math.abs(x) * ez + 2 * U * Math.abs(v);
        }
        default -> {
          v = x / z;
          e = (ex + Math.abs(v) * ez) / Math.abs(z) + 2 * U * Math.abs(v);
        }
      }
      y.v[k] = v;
      y.e[k] = e;
    }
    return y;
  }

  private static int flat(T t, int[] idx, int r) {
    int off = r - t.rank();
    int f = 0;
    for (int i = 0; i < t.rank(); i++) {
      int j = t.d[i] == 1 ? 0 : idx[i + off];
      f = f * t.d[i] + j;
    }
    return f;
  }

  private static int[] pads(OnnxNode n, int[] k, int[] s, int[] dil, int h, int w) {
    String auto = as(n, "auto_pad", "NOTSET");
    long[] p = ais(n, "pads");
    if (auto.equals("NOTSET")) {
      return p == null ? new int[4] : new int[] {(int) p[0], (int) p[1], (int) p[2], (int) p[3]};
    }
    if (auto.equals("VALID")) {
      return new int[4];
    }
    int[] r = new int[4];
    int[] in = {h, w};
    for (int a = 0; a < 2; a++) {
      int out = (in[a] + s[a] - 1) / s[a];
      int total = Math.max(0, (out - 1) * s[a] + (k[a] - 1) * dil[a] + 1 - in[a]);
      int small = total / 2;
      boolean upper = auto.equals("SAME_UPPER");
      r[a] = upper ? small : total - small;
      r[a + 2] = upper ? total - small : small;
    }
    return r;
  }

  private static int[] two(OnnxNode n, String name, int dflt) {
    long[] v = ais(n, name);
    return v == null ? new int[] {dflt, dflt} : new int[] {(int) v[0], (int) v[1]};
  }

  private T conv(OnnxNode n) {
    T x = in(n, 0);
    T w = in(n, 1);
    T b = in(n, 2);
    int g = (int) ai(n, "group", 1);
    int nb = x.d[0];
    int c = x.d[1];
    int h = x.d[2];
    int wd = x.d[3];
    int m = w.d[0];
    int cg = w.d[1];
    int[] k = {w.d[2], w.d[3]};
    int[] s = two(n, "strides", 1);
    int[] dl = two(n, "dilations", 1);
    int[] p = pads(n, k, s, dl, h, wd);
    int oh = (h + p[0] + p[2] - (k[0] - 1) * dl[0] - 1) / s[0] + 1;
    int ow = (wd + p[1] + p[3] - (k[1] - 1) * dl[1] - 1) / s[1] + 1;
    T y = new T(new int[] {nb, m, oh, ow});
    int kk = cg * k[0] * k[1];
    for (int bi = 0; bi < nb; bi++) {
      for (int o = 0; o < m; o++) {
        int grp = o / (m / g);
        for (int oy = 0; oy < oh; oy++) {
          for (int ox = 0; ox < ow; ox++) {
            double sum = b == null ? 0 : b.v[o];
            double mag = b == null ? 0 : Math.abs(b.v[o]);
            double prop = 0;
            for (int ci = 0; ci < cg; ci++) {
              int cin = grp * cg + ci;
              for (int ky = 0; ky < k[0]; ky++) {
                int iy = oy * s[0] - p[0] + ky * dl[0];
                if (iy < 0 || iy >= h) {
                  continue;
                }
                for (int kx = 0; kx < k[1]; kx++) {
                  int ix = ox * s[1] - p[1] + kx * dl[1];
                  if (ix < 0 || ix >= wd) {
                    continue;
                  }
                  int xi = ((bi * c + cin) * h + iy) * wd + ix;
                  double wv = w.v[((o * cg + ci) * k[0] + ky) * k[1] + kx];
                  sum += wv * x.v[xi];
                  mag += Math.abs(wv * x.v[xi]);
                  prop += Math.abs(wv) * x.e[xi];
                }
              }
            }
            int yi = ((bi * m + o) * oh + oy) * ow + ox;
            y.v[yi] = sum;
            y.e[yi] = prop + (Tolerance.gamma(kk + 2) + 4 * U) * mag;
          }
        }
      }
    }
    return y;
  }

  private T bn(OnnxNode n) {
    T x = in(n, 0);
    double eps = af(n, "epsilon", 1e-5);
    T sc = in(n, 1);
    T bb = in(n, 2);
    T mean = in(n, 3);
    T var = in(n, 4);
    T y = new T(x.d.clone());
    int c = x.d[1];
    int plane = x.v.length / (x.d[0] * c);
    for (int i = 0; i < y.v.length; i++) {
      int ch = (i / plane) % c;
      double s = sc.v[ch] / Math.sqrt(var.v[ch] + eps);
      double t = bb.v[ch] - mean.v[ch] * s;
      y.v[i] = x.v[i] * s + t;
      y.e[i] = Math.abs(s) * x.e[i] + 4 * U * (Math.abs(s * x.v[i]) + Math.abs(t));
    }
    return y;
  }

  private T pool(OnnxNode n, boolean max) {
    T x = in(n, 0);
    int[] k = two(n, "kernel_shape", 1);
    int[] s = two(n, "strides", 1);
    int nb = x.d[0];
    int c = x.d[1];
    int h = x.d[2];
    int w = x.d[3];
    int[] p = pads(n, k, s, new int[] {1, 1}, h, w);
    boolean ceil = ai(n, "ceil_mode", 0) != 0;
    boolean countPad = ai(n, "count_include_pad", 0) != 0;
    int oh = outSize(h, k[0], s[0], p[0], p[2], ceil);
    int ow = outSize(w, k[1], s[1], p[1], p[3], ceil);
    T y = new T(new int[] {nb, c, oh, ow});
    for (int bc = 0; bc < nb * c; bc++) {
      for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
          int y0 = oy * s[0] - p[0];
          int x0 = ox * s[1] - p[1];
          // the window clipped to the padded input (counted padding), then to the input
          int y1 = Math.min(y0 + k[0], h + p[2]);
          int x1 = Math.min(x0 + k[1], w + p[3]);
          int cnt = countPad ? (y1 - y0) * (x1 - x0) : 0;
          double acc = max ? Double.NEGATIVE_INFINITY : 0;
          double mag = 0;
          double prop = max ? 0 : 0;
          for (int iy = Math.max(y0, 0); iy < Math.min(y1, h); iy++) {
            for (int ix = Math.max(x0, 0); ix < Math.min(x1, w); ix++) {
              int xi = (bc * h + iy) * w + ix;
              if (max) {
                acc = Math.max(acc, x.v[xi]);
                prop = Math.max(prop, x.e[xi]);
              } else {
                acc += x.v[xi];
                mag += Math.abs(x.v[xi]);
                prop += x.e[xi];
                cnt += countPad ? 0 : 1;
              }
            }
          }
          int yi = (bc * oh + oy) * ow + ox;
          if (max) {
            y.v[yi] = acc;
            y.e[yi] = prop;
          } else {
            y.v[yi] = acc / cnt;
            y.e[yi] = (prop + Tolerance.gamma(k[0] * k[1] + 2) * mag) / cnt
                + U * Math.abs(y.v[yi]);
          }
        }
      }
    }
    return y;
  }

  /** ONNX's output size; in ceil mode a last window starting in the end padding is dropped. */
  static int outSize(int in, int k, int s, int p0, int p1, boolean ceil) {
    int span = in + p0 + p1 - k;
    int out = (ceil ? (span + s - 1) / s : span / s) + 1;
    if (ceil && (out - 1) * s >= in + p0) {
      out--;
    }
    return out;
  }

  private static T reduceMean(T x, boolean keep) {
    int nc = x.d[0] * x.d[1];
    int hw = x.v.length / nc;
    T y = new T(keep ? new int[] {x.d[0], x.d[1], 1, 1} : new int[] {x.d[0], x.d[1]});
    for (int i = 0; i < nc; i++) {
      double sum = 0;
      double mag = 0;
      double prop = 0;
      for (int j = 0; j < hw; j++) {
        sum += x.v[i * hw + j];
        mag += Math.abs(x.v[i * hw + j]);
        prop += x.e[i * hw + j];
      }
      y.v[i] = sum / hw;
      y.e[i] = (prop + Tolerance.gamma(hw + 2) * mag) / hw + U * Math.abs(y.v[i]);
    }
    return y;
  }

  private T gemm(OnnxNode n) {
    T a = in(n, 0);
    T b = in(n, 1);
    T c = in(n, 2);
    boolean tb = ai(n, "transB", 0) != 0;
    double alpha = af(n, "alpha", 1);
    double beta = af(n, "beta", 1);
    int rows = a.d[0];
    int k = a.d[1];
    int out = tb ? b.d[0] : b.d[1];
    T y = new T(new int[] {rows, out});
    for (int r = 0; r < rows; r++) {
      for (int o = 0; o < out; o++) {
        double bias = c == null ? 0 : beta * c.v[c.v.length == 1 ? 0 : o];
        double sum = bias;
        double mag = Math.abs(bias);
        double prop = 0;
        for (int i = 0; i < k; i++) {
          double wv = alpha * (tb ? b.v[o * k + i] : b.v[i * out + o]);
          sum += a.v[r * k + i] * wv;
          mag += Math.abs(a.v[r * k + i] * wv);
          prop += Math.abs(wv) * a.e[r * k + i];
        }
        y.v[r * out + o] = sum;
        y.e[r * out + o] = prop + (Tolerance.gamma(k + 2) + 4 * U) * mag;
      }
    }
    return y;
  }

  /** [..., K] x [K, D]: every leading index a row. */
  private static T matMul(T a, T b) {
    int k = b.d[0];
    int out = b.d[1];
    int rows = a.v.length / k;
    int[] d = a.d.clone();
    d[d.length - 1] = out;
    T y = new T(d);
    for (int r = 0; r < rows; r++) {
      for (int o = 0; o < out; o++) {
        double sum = 0;
        double mag = 0;
        double prop = 0;
        for (int i = 0; i < k; i++) {
          double wv = b.v[i * out + o];
          sum += a.v[r * k + i] * wv;
          mag += Math.abs(a.v[r * k + i] * wv);
          prop += Math.abs(wv) * a.e[r * k + i];
        }
        y.v[r * out + o] = sum;
        y.e[r * out + o] = prop + (Tolerance.gamma(k + 2) + 4 * U) * mag;
      }
    }
    return y;
  }

  private T concat(OnnxNode n) {
    List<T> xs = new ArrayList<>();
    for (int i = 0; i < n.inputs().size(); i++) {
      xs.add(in(n, i));
    }
    int r = xs.get(0).rank();
    int axis = (int) ai(n, "axis", 0);
    axis = axis < 0 ? axis + r : axis;
    int outer = 1;
    for (int i = 0; i < axis; i++) {
      outer *= xs.get(0).d[i];
    }
    int[] d = xs.get(0).d.clone();
    d[axis] = 0;
    for (T x : xs) {
      d[axis] += x.d[axis];
    }
    T y = new T(d);
    int at = 0;
    for (int o = 0; o < outer; o++) {
      for (T x : xs) {
        int len = x.v.length / outer;
        System.arraycopy(x.v, o * len, y.v, at, len);
        System.arraycopy(x.e, o * len, y.e, at, len);
        at += len;
      }
    }
    return y;
  }

  private T softmax(OnnxNode n) {
    T x = in(n, 0);
    int r = x.rank();
    int axis = (int) ai(n, "axis", opset < 13 ? 1 : -1);
    axis = axis < 0 ? axis + r : axis;
    // opset < 13: over the dims from axis on, flattened; else over axis alone
    int len = 1;
    int inner = 1;
    for (int i = axis; i < r; i++) {
      len *= x.d[i];
    }
    if (opset >= 13) {
      len = x.d[axis];
      for (int i = axis + 1; i < r; i++) {
        inner *= x.d[i];
      }
    }
    T y = new T(x.d.clone());
    int groups = x.v.length / (len * inner);
    for (int g = 0; g < groups; g++) {
      for (int in = 0; in < inner; in++) {
        double max = Double.NEGATIVE_INFINITY;
        double emax = 0;
        for (int i = 0; i < len; i++) {
          int at = (g * len + i) * inner + in;
          max = Math.max(max, x.v[at]);
          emax = Math.max(emax, x.e[at]);
        }
        double sum = 0;
        for (int i = 0; i < len; i++) {
          sum += Math.exp(x.v[(g * len + i) * inner + in] - max);
        }
        for (int i = 0; i < len; i++) {
          int at = (g * len + i) * inner + in;
          y.v[at] = Math.exp(x.v[at] - max) / sum;
          // |d y_i| <= y_i (|dx_i| + sum_j y_j |dx_j|) <= 2 y_i max |dx|
          y.e[at] = 2 * y.v[at] * emax + EVAL * y.v[at];
        }
      }
    }
    return y;
  }

  private T lrn(OnnxNode n) {
    T x = in(n, 0);
    int size = (int) ai(n, "size", 1);
    double alpha = af(n, "alpha", 1e-4);
    double beta = af(n, "beta", 0.75);
    double bias = af(n, "bias", 1);
    int c = x.d[1];
    int plane = x.v.length / (x.d[0] * c);
    T y = new T(x.d.clone());
    for (int i = 0; i < y.v.length; i++) {
      int ch = (i / plane) % c;
      int base = i - ch * plane;
      int lo = Math.max(0, ch - (size - 1) / 2);
      int hi = Math.min(c - 1, ch + (int) Math.ceil((size - 1) / 2.0));
      double sq = 0;
      double emax = 0;
      for (int j = lo; j <= hi; j++) {
        sq += x.v[base + j * plane] * x.v[base + j * plane];
        emax = Math.max(emax, x.e[base + j * plane]);
      }
      double d = Math.pow(bias + alpha / size * sq, beta);
      y.v[i] = x.v[i] / d;
      y.e[i] = Tolerance.lrnBound(hi - lo + 1, beta, y.v[i]) + emax / d * (1 + 2 * Math.abs(beta));
    }
    return y;
  }

  private static T transpose(T x, long[] perm) {
    int r = x.rank();
    int[] d = new int[r];
    for (int i = 0; i < r; i++) {
      d[i] = x.d[(int) perm[i]];
    }
    T y = new T(d);
    int[] idx = new int[r];
    for (int k = 0; k < y.v.length; k++) {
      int rem = k;
      for (int i = r - 1; i >= 0; i--) {
        idx[i] = rem % d[i];
        rem /= d[i];
      }
      int src = 0;
      int[] sidx = new int[r];
      for (int i = 0; i < r; i++) {
        sidx[(int) perm[i]] = idx[i];
      }
      for (int i = 0; i < r; i++) {
        src = src * x.d[i] + sidx[i];
      }
      y.v[k] = x.v[src];
      y.e[k] = x.e[src];
    }
    return y;
  }

  private T layerNorm(OnnxNode n) {
    T x = in(n, 0);
    T g = in(n, 1);
    T b = in(n, 2);
    double eps = af(n, "epsilon", 1e-5);
    int c = x.d[x.rank() - 1];
    T y = new T(x.d.clone());
    for (int p = 0; p < x.v.length / c; p++) {
      double sum = 0;
      double emax = 0;
      float[] row = new float[c];
      float[] gf = new float[c];
      float[] bf = new float[c];
      for (int i = 0; i < c; i++) {
        sum += x.v[p * c + i];
        emax = Math.max(emax, x.e[p * c + i]);
        row[i] = (float) x.v[p * c + i];
        gf[i] = (float) g.v[i];
        bf[i] = b == null ? 0 : (float) b.v[i];
      }
      double mean = sum / c;
      double sq = 0;
      for (int i = 0; i < c; i++) {
        double dv = x.v[p * c + i] - mean;
        sq += dv * dv;
      }
      double s = Math.sqrt(sq / c + eps);
      double[] bound = Tolerance.layerNormBounds(row, gf, bf, eps);
      for (int i = 0; i < c; i++) {
        double xhat = (x.v[p * c + i] - mean) / s;
        y.v[p * c + i] = xhat * g.v[i] + (b == null ? 0 : b.v[i]);
        // first order: the input's error moves xhat by at most 2 emax / s (the mean and the
        // spread move too), plus xhat's own share through s
        y.e[p * c + i] = bound[i] + Math.abs(g.v[i]) * emax / s * (2 + Math.abs(xhat));
      }
    }
    return y;
  }

  private T pad(OnnxNode n) {
    T x = in(n, 0);
    long[] p = opset < 11 ? ais(n, "pads") : longs(in(n, 1));
    int[] d = {x.d[0], x.d[1], x.d[2] + (int) (p[2] + p[6]), x.d[3] + (int) (p[3] + p[7])};
    T y = new T(d);
    for (int bc = 0; bc < d[0] * d[1]; bc++) {
      for (int iy = 0; iy < x.d[2]; iy++) {
        for (int ix = 0; ix < x.d[3]; ix++) {
          int src = (bc * x.d[2] + iy) * x.d[3] + ix;
          int dst = (bc * d[2] + iy + (int) p[2]) * d[3] + ix + (int) p[3];
          y.v[dst] = x.v[src];
          y.e[dst] = x.e[src];
        }
      }
    }
    return y;
  }
}
