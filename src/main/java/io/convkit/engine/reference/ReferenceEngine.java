package io.convkit.engine.reference;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvSpec;
import io.convkit.conv.ConvWeights;
import io.convkit.engine.AbstractEngine;
import io.convkit.engine.Engine;
import io.convkit.engine.LrnSpec;
import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import java.util.List;

/**
 * The test oracle: the convolution sum written out as explicit loops, accumulated in float64,
 * for every spec (groups, multipliers, connection tables, dilation, asymmetric padding). It
 * ignores the plan's algorithm. Pooling, the residual add, LRN, layer norm, concatenation and
 * channel scaling are written out the same way. Slow
 * by design; it shares no code with the other engines.
 */
public final class ReferenceEngine extends AbstractEngine {
  @Override
  public String name() {
    return "reference";
  }

  @Override
  public int threads() {
    return 1;
  }

  /** Its loops visit only the taps inside the input (see {@link #output}). */
  @Override
  protected boolean multipliesPadding() {
    return false;
  }

  @Override
  protected void runConvolve(ConvPlan plan, ConvWeights weights, Tensor x, Tensor y) {
    y.copyFrom(compute(plan.spec(), weights.denseArray(), weights.biasArray(), x.toArray(),
        plan.input().n(), plan.input().h(), plan.input().w(), plan.output().h(),
        plan.output().w()));
  }

  /**
   * For each output, |bias| + sum |w| |x| over its terms: the scale of the rounding error a float32
   * engine may make on it (see the correctness tests' tolerance).
   */
  public static float[] magnitudes(ConvPlan plan, ConvWeights weights, float[] x) {
    float[] w = weights.denseArray().clone();
    for (int i = 0; i < w.length; i++) {
      w[i] = Math.abs(w[i]);
    }
    float[] b = weights.biasArray() == null ? null : weights.biasArray().clone();
    if (b != null) {
      for (int i = 0; i < b.length; i++) {
        b[i] = Math.abs(b[i]);
      }
    }
    float[] ax = x.clone();
    for (int i = 0; i < ax.length; i++) {
      ax[i] = Math.abs(ax[i]);
    }
    return compute(plan.spec(), w, b, ax, plan.input().n(), plan.input().h(), plan.input().w(),
        plan.output().h(), plan.output().w(), false);
  }

  static float[] compute(ConvSpec s, float[] w, float[] bias, float[] x, int batch, int h,
      int wid, int oh, int ow) {
    return compute(s, w, bias, x, batch, h, wid, oh, ow, true);
  }

  /**
   * One output before its activation, in float64: bias[o] plus the sum over connected inputs i
   * and the taps inside the input (padded taps contribute nothing) of w * x, in a fixed order.
   * {@code x} is the whole NCHW input of {@code h} x {@code wid} planes.
   */
  public static double output(ConvSpec s, float[] w, float[] bias, float[] x, int h, int wid,
      int n, int o, int oy, int ox) {
    int cg = s.inChannelsPerGroup();
    int kh = s.kernelH();
    int kw = s.kernelW();
    int g = o / s.outChannelsPerGroup();
    double sum = bias == null ? 0.0 : bias[o];
    for (int ic = 0; ic < cg; ic++) {
      int i = g * cg + ic;
      if (!s.connected(o, i)) {
        continue;
      }
      for (int ky = 0; ky < kh; ky++) {
        int iy = oy * s.strideH() - s.padTop() + ky * s.dilationH();
        if (iy < 0 || iy >= h) {
          continue;
        }
        for (int kx = 0; kx < kw; kx++) {
          int ix = ox * s.strideW() - s.padLeft() + kx * s.dilationW();
          if (ix < 0 || ix >= wid) {
            continue;
          }
          sum += (double) w[((o * cg + ic) * kh + ky) * kw + kx]
              * x[((n * s.inChannels() + i) * h + iy) * wid + ix];
        }
      }
    }
    return sum;
  }

  /** out[n][o][oy][ox] = act(bias[o] + sum over connected inputs i, ky, kx of w * x). */
  private static float[] compute(ConvSpec s, float[] w, float[] bias, float[] x, int batch, int h,
      int wid, int oh, int ow, boolean activate) {
    int inC = s.inChannels();
    int outC = s.outChannels();
    int cg = s.inChannelsPerGroup();
    int mg = s.outChannelsPerGroup();
    int kh = s.kernelH();
    int kw = s.kernelW();
    float[] out = new float[batch * outC * oh * ow];
    for (int n = 0; n < batch; n++) {
      for (int o = 0; o < outC; o++) {
        for (int oy = 0; oy < oh; oy++) {
          for (int ox = 0; ox < ow; ox++) {
            double sum = output(s, w, bias, x, h, wid, n, o, oy, ox);
            out[((n * outC + o) * oh + oy) * ow + ox] =
                (float) (activate ? s.activation().apply(sum) : sum);
          }
        }
      }
    }
    return out;
  }

  /**
   * Pooling as defined: for each output, the input elements its window covers (padding is no
   * element); MAX takes the largest (NaN if any is NaN), AVG their float64 sum divided once by
   * {@link PoolSpec#divisor} and rounded once to float.
   */
  @Override
  protected void runPool(PoolSpec spec, Tensor x, Tensor y) {
    Shape in = x.shape();
    Shape out = y.shape();
    float[] src = x.toArray();
    float[] dst = new float[y.elements()];
    int h = in.h();
    int w = in.w();
    int oh = out.h();
    int ow = out.w();
    int kh = spec.kernelH(in);
    int kw = spec.kernelW(in);
    boolean max = spec.kind() == PoolKind.MAX;
    for (int plane = 0; plane < in.n() * in.c(); plane++) {
      for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
          double sum = 0.0;
          float largest = Float.NEGATIVE_INFINITY;
          int covered = 0;
          // Only the taps inside the input: a 2^28 window of mostly padding stays cheap.
          int y0 = oy * spec.strideH() - spec.padTop();
          int x0 = ox * spec.strideW() - spec.padLeft();
          for (int ky = Math.max(0, -y0); ky < kh && ky < h - y0; ky++) {
            int iy = y0 + ky;
            if (iy < 0 || iy >= h) {
              continue;
            }
            for (int kx = Math.max(0, -x0); kx < kw && kx < w - x0; kx++) {
              int ix = x0 + kx;
              if (ix < 0 || ix >= w) {
                continue;
              }
              float v = src[(plane * h + iy) * w + ix];
              sum += v;
              // A NaN wins and stays (v > NaN is false): any NaN in the window gives NaN.
              if (covered == 0 || v > largest || Float.isNaN(v)) {
                largest = v;
              }
              covered++;
            }
          }
          if (covered == 0) {
            throw new AssertionError(spec + ": window (" + oy + ", " + ox + ") covers no input of "
                + in);
          }
          dst[(plane * oh + oy) * ow + ox] =
              max ? largest : (float) (sum / spec.divisor(in, oy, ox));
        }
      }
    }
    y.copyFrom(dst);
  }

  /**
   * {@code y = act(a + b)}: the sum in float64, rounded once to float. (For two floats that is
   * the correctly rounded float sum: double rounding through 53 bits is innocuous for one
   * addition, since 53 >= 2*24 + 2.)
   */
  @Override
  protected void runAdd(Tensor a, Tensor b, Tensor y, Activation act) {
    float[] p = a.toArray();
    float[] q = b.toArray();
    float[] out = new float[p.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) act.apply((double) p[i] + (double) q[i]);
    }
    y.copyFrom(out);
  }

  /**
   * LRN as defined: the window's sum of squares and the power in float64, the quotient rounded
   * once to float.
   */
  @Override
  protected void runLrn(LrnSpec spec, Tensor x, Tensor y) {
    Shape s = x.shape();
    int c = s.c();
    int hw = s.plane();
    float[] in = x.toArray();
    float[] out = new float[in.length];
    for (int n = 0; n < s.n(); n++) {
      for (int ch = 0; ch < c; ch++) {
        int lo = Math.max(0, ch - spec.before());
        int hi = Math.min(c - 1, ch + spec.after());
        for (int p = 0; p < hw; p++) {
          double sum = 0;
          for (int j = lo; j <= hi; j++) {
            double v = in[(n * c + j) * hw + p];
            sum += v * v;
          }
          int i = (n * c + ch) * hw + p;
          out[i] = (float) (in[i] / Math.pow(spec.k() + spec.alpha() / spec.size() * sum,
              spec.beta()));
        }
      }
    }
    y.copyFrom(out);
  }

  /** Layer norm with float64 mean, variance (two passes) and normalisation, rounded once. */
  @Override
  protected void runLayerNorm(Tensor x, Tensor gamma, Tensor beta, double eps, Tensor y) {
    Shape s = x.shape();
    int c = s.c();
    int hw = s.plane();
    float[] in = x.toArray();
    float[] g = gamma.toArray();
    float[] b = beta.toArray();
    float[] out = new float[in.length];
    for (int n = 0; n < s.n(); n++) {
      for (int p = 0; p < hw; p++) {
        double sum = 0;
        for (int ch = 0; ch < c; ch++) {
          sum += in[(n * c + ch) * hw + p];
        }
        double mean = sum / c;
        double sq = 0;
        for (int ch = 0; ch < c; ch++) {
          double d = in[(n * c + ch) * hw + p] - mean;
          sq += d * d;
        }
        double inv = 1 / Math.sqrt(sq / c + eps);
        for (int ch = 0; ch < c; ch++) {
          int i = (n * c + ch) * hw + p;
          out[i] = (float) ((in[i] - mean) * inv * g[ch] + b[ch]);
        }
      }
    }
    y.copyFrom(out);
  }

  /** Concatenation: each image's inputs one after another. */
  @Override
  protected void runConcat(List<Tensor> xs, Tensor y) {
    Shape out = y.shape();
    int hw = out.plane();
    float[] dst = new float[y.elements()];
    int at = 0;
    float[][] src = new float[xs.size()][];
    for (int i = 0; i < src.length; i++) {
      src[i] = xs.get(i).toArray();
    }
    for (int n = 0; n < out.n(); n++) {
      for (int i = 0; i < src.length; i++) {
        int len = xs.get(i).shape().c() * hw;
        System.arraycopy(src[i], n * len, dst, at, len);
        at += len;
      }
    }
    y.copyFrom(dst);
  }

  /** {@code y = x * s[n][c]}: one float multiplication, correctly rounded. */
  @Override
  protected void runScaleChannels(Tensor x, Tensor s, Tensor y) {
    Shape shape = x.shape();
    int hw = shape.plane();
    float[] in = x.toArray();
    float[] scale = s.toArray();
    float[] out = new float[in.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) ((double) in[i] * scale[i / hw]);
    }
    y.copyFrom(out);
  }

  @Override
  public void close() {}
}
