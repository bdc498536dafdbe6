// Max and average pooling per channel (io.convkit.pool.PoolSpec). One work-item per output
// pixel: global (OW, OH, batch*C), bounds-checked. Max ignores padded positions and is NaN when
// any covered element is (as PyTorch's max_pool2d); average divides
// by the window clipped to the padded input (count_pad) or to the input.
kernel void pool(global const float* x, int x_off, global float* y, int y_off, int H, int W,
                 int OH, int OW, int KH, int KW, int SH, int SW, int PT, int PL, int PB, int PR,
                 int is_max, int count_pad) {
  int ox = get_global_id(0);
  int oy = get_global_id(1);
  int z = get_global_id(2);
  if (ox >= OW || oy >= OH) {
    return;
  }
  const global float* xp = x + x_off + (size_t)z * H * W;
  // Window bounds in long: in ceil mode y0 + KH can pass 2^31 (PoolSpec keeps y0 itself in int).
  long y0 = (long)oy * SH - PT;
  long x0 = (long)ox * SW - PL;
  long y1 = min(y0 + KH, (long)H + PB);
  long x1 = min(x0 + KW, (long)W + PR);
  int cy0 = (int)max(y0, 0L);
  int cx0 = (int)max(x0, 0L);
  int cy1 = (int)min(y1, (long)H);
  int cx1 = (int)min(x1, (long)W);
  float r;
  if (is_max) {
    r = -INFINITY;
    for (int iy = cy0; iy < cy1; iy++) {
      for (int ix = cx0; ix < cx1; ix++) {
        float v = xp[(size_t)iy * W + ix];
        r = (v > r || isnan(v)) ? v : r; // NaN stays: later v > NaN is false (fmax would drop it)
      }
    }
  } else {
    float s = 0.0f;
    for (int iy = cy0; iy < cy1; iy++) {
      for (int ix = cx0; ix < cx1; ix++) {
        s += xp[(size_t)iy * W + ix];
      }
    }
    long d = count_pad ? (y1 - y0) * (x1 - x0) : (long)(cy1 - cy0) * (cx1 - cx0);
    r = s / (float)d;
  }
  y[y_off + (size_t)z * OH * OW + oy * OW + ox] = r;
}
