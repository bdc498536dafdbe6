package io.convkit.tensor;

/**
 * Memory order of a rank-4 tensor's elements. A {@link Shape} is always the logical
 * {@code [N, C, H, W]}; the layout says how those elements lie in memory.
 *
 * <ul>
 *   <li>{@link #NCHW}: planes of pixels per channel (PyTorch's default). The public API takes and
 *       returns NCHW.</li>
 *   <li>{@link #NHWC}: the channels of a pixel are contiguous. The CPU engine's own kernels run in
 *       it (a reduction over input channels is one contiguous loop, and 8 channels fill one AVX2
 *       register), so a forward pass keeps values NHWC between the layers that support it and
 *       reorders only at the edges.</li>
 * </ul>
 * Where {@code H * W == 1} (or {@code C == 1}) both orders are the same memory.
 */
public enum Layout {
  NCHW,
  NHWC;

  /** Offset of logical element (n, c, y, x) in this layout, for shape {@code [N, C, H, W]}. */
  public long offset(Shape s, int n, int c, int y, int x) {
    long h = s.h();
    long w = s.w();
    return this == NCHW ? ((n * (long) s.c() + c) * h + y) * w + x
        : ((n * h + y) * w + x) * s.c() + c;
  }

  /** True when the two layouts order a tensor of shape {@code s} the same way. */
  public static boolean sameMemory(Shape s, Layout a, Layout b) {
    return a == b || s.rank() != 4 || (long) s.h() * s.w() == 1 || s.c() == 1;
  }

  /** {@code src} in layout {@code from} rewritten in layout {@code to} (a new array). */
  public static float[] convert(float[] src, Shape s, Layout from, Layout to) {
    if (sameMemory(s, from, to)) {
      return src;
    }
    float[] dst = new float[src.length];
    convert(src, s, from, to, dst);
    return dst;
  }

  /** {@code src} in layout {@code from} written into {@code dst} in layout {@code to}. */
  public static void convert(float[] src, Shape s, Layout from, Layout to, float[] dst) {
    if (sameMemory(s, from, to)) {
      System.arraycopy(src, 0, dst, 0, src.length);
      return;
    }
    int n = s.n();
    int c = s.c();
    int p = s.h() * s.w();
    for (int i = 0; i < n; i++) {
      int base = i * c * p;
      for (int ch = 0; ch < c; ch++) {
        for (int q = 0; q < p; q++) {
          int nchw = base + ch * p + q;
          int nhwc = base + q * c + ch;
          if (from == NCHW) {
            dst[nhwc] = src[nchw];
          } else {
            dst[nchw] = src[nhwc];
          }
        }
      }
    }
  }
}
