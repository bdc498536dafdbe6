package io.convkit.engine.reference;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvSpec;
import io.convkit.conv.ConvWeights;
import io.convkit.engine.Engine;
import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;

/**
 * The test oracle: the convolution sum written out as explicit loops, accumulated in float64,
 * for every spec (groups, multipliers, connection tables, dilation, asymmetric padding). It
 * ignores the plan's algorithm. Pooling and the residual add are written out the same way. Slow
 * by design; it shares no code with the other engines.
 */
public final class ReferenceEngine implements Engine {
  @Override
  public String name() {
    return "reference";
  }

  @Override
  public int threads() {
    return 1;
  }

  @Override
  public void convolve(ConvPlan plan, ConvWeights weights, Tensor x, Tensor y) {
    Engine.checkCall(plan, weights, x, y);
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
        int g = o / mg;
        for (int oy = 0; oy < oh; oy++) {
          for (int ox = 0; ox < ow; ox++) {
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
                      * x[((n * inC + i) * h + iy) * wid + ix];
                }
              }
            }
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
   * element); MAX takes the largest, AVG their float64 sum divided once by
   * {@link PoolSpec#divisor} and rounded once to float.
   */
  @Override
  public void pool(PoolSpec spec, Tensor x, Tensor y) {
    Engine.checkPool(spec, x, y);
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
          for (int ky = 0; ky < kh; ky++) {
            int iy = oy * spec.strideH() - spec.padTop() + ky;
            if (iy < 0 || iy >= h) {
              continue;
            }
            for (int kx = 0; kx < kw; kx++) {
              int ix = ox * spec.strideW() - spec.padLeft() + kx;
              if (ix < 0 || ix >= w) {
                continue;
              }
              float v = src[(plane * h + iy) * w + ix];
              sum += v;
              if (covered == 0 || v > largest) {
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
  public void add(Tensor a, Tensor b, Tensor y, Activation act) {
    Engine.checkAdd(a, b, y, act);
    float[] p = a.toArray();
    float[] q = b.toArray();
    float[] out = new float[p.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) act.apply((double) p[i] + (double) q[i]);
    }
    y.copyFrom(out);
  }

  @Override
  public void close() {}
}
