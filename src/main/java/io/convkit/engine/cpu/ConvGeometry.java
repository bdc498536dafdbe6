package io.convkit.engine.cpu;

import io.convkit.conv.ConvPlan;
import io.convkit.conv.ConvSpec;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Shape;

/**
 * The geometry array the NHWC kernels take ({@code native/convkit.h}, {@code CK_G_*}): one
 * convolution's or pooling's sizes as 64-bit values, from a plan Java has already validated.
 */
final class ConvGeometry {
  static final int N = 0;
  static final int C = 1;
  static final int H = 2;
  static final int W = 3;
  static final int K = 4;
  static final int OH = 5;
  static final int OW = 6;
  static final int R = 7;
  static final int S = 8;
  static final int SH = 9;
  static final int SW = 10;
  static final int PT = 11;
  static final int PL = 12;
  static final int PB = 13;
  static final int PR = 14;
  static final int DH = 15;
  static final int DW = 16;
  static final int COUNT = 17;

  private ConvGeometry() {}

  static long[] of(ConvPlan plan) {
    ConvSpec s = plan.spec();
    return of(plan.input(), plan.output(), s.kernelH(), s.kernelW(), s.strideH(), s.strideW(),
        s.padTop(), s.padLeft(), s.padBottom(), s.padRight(), s.dilationH(), s.dilationW());
  }

  static long[] of(PoolSpec spec, Shape in, Shape out) {
    return of(in, out, spec.kernelH(in), spec.kernelW(in), spec.strideH(), spec.strideW(),
        spec.padTop(), spec.padLeft(), spec.padBottom(), spec.padRight(), 1, 1);
  }

  private static long[] of(Shape in, Shape out, int r, int s, int sh, int sw, int pt, int pl,
      int pb, int pr, int dh, int dw) {
    long[] g = new long[COUNT];
    g[N] = in.n();
    g[C] = in.c();
    g[H] = in.h();
    g[W] = in.w();
    g[K] = out.c();
    g[OH] = out.h();
    g[OW] = out.w();
    g[R] = r;
    g[S] = s;
    g[SH] = sh;
    g[SW] = sw;
    g[PT] = pt;
    g[PL] = pl;
    g[PB] = pb;
    g[PR] = pr;
    g[DH] = dh;
    g[DW] = dw;
    return g;
  }
}
