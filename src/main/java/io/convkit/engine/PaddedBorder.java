package io.convkit.engine;

import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvSpec;
import io.convkit.conv.ConvWeights;
import io.convkit.engine.reference.ReferenceEngine;
import io.convkit.tensor.Tensor;

/**
 * Padded taps contribute nothing to a convolution (oneDNN's and PyTorch's definition). The
 * im2col + GEMM paths and the direct kernels' zero rows instead multiply materialised zeros by
 * the weights, which is the same for finite weights but gives {@code Inf * 0 = NaN} for an
 * infinite (or NaN) one. Such weights are rare and a result either way is degenerate, so rather
 * than a branch in every kernel, {@link AbstractEngine} calls {@link #repair} after every
 * engine's kernels when {@link #needed}: it recomputes, from the input read before the call,
 * the outputs whose window reaches into the padding, skipping the padded taps, in float64 as the
 * reference engine does (the same order, so those outputs equal the reference's bit for bit).
 * For internal use by the engines.
 */
public final class PaddedBorder {
  private PaddedBorder() {}

  /** True when {@code plan} has padding and {@code w} a non-finite value. */
  public static boolean needed(ConvPlan plan, ConvWeights w) {
    ConvSpec s = plan.spec();
    return !w.allFinite()
        && (s.padTop() != 0 || s.padLeft() != 0 || s.padBottom() != 0 || s.padRight() != 0);
  }

  /**
   * Overwrites the border outputs of {@code y} with act(bias + the sum over unpadded taps).
   * {@code x} holds the input's elements as they were before the call.
   */
  public static void repair(ConvPlan plan, ConvWeights weights, float[] x, Tensor y) {
    ConvSpec s = plan.spec();
    int batch = plan.input().n();
    int h = plan.input().h();
    int wid = plan.input().w();
    int outC = s.outChannels();
    int oh = plan.output().h();
    int ow = plan.output().w();
    int kh = s.kernelH();
    int kw = s.kernelW();
    boolean[] rowBorder = border(oh, s.strideH(), s.padTop(), s.dilationH(), kh, h);
    boolean[] colBorder = border(ow, s.strideW(), s.padLeft(), s.dilationW(), kw, wid);
    float[] w = weights.denseArray();
    float[] bias = weights.biasArray();
    float[] out = y.toArray();
    for (int n = 0; n < batch; n++) {
      for (int o = 0; o < outC; o++) {
        for (int oy = 0; oy < oh; oy++) {
          for (int ox = 0; ox < ow; ox++) {
            if (!rowBorder[oy] && !colBorder[ox]) {
              continue;
            }
            double sum = ReferenceEngine.output(s, w, bias, x, h, wid, n, o, oy, ox);
            out[((n * outC + o) * oh + oy) * ow + ox] = (float) s.activation().apply(sum);
          }
        }
      }
    }
    y.copyFrom(out);
  }

  /** Per output index along one axis: does any tap of its window fall outside [0, n)? */
  private static boolean[] border(int outN, int stride, int pad, int dilation, int k, int n) {
    boolean[] b = new boolean[outN];
    for (int o = 0; o < outN; o++) {
      long first = (long) o * stride - pad;
      long last = first + (long) (k - 1) * dilation;
      b[o] = first < 0 || last >= n;
    }
    return b;
  }
}
