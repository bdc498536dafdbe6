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
  int y0 = oy * SH - PT;
  int x0 = ox * SW - PL;
  int y1 = min(y0 + KH, H + PB);
  int x1 = min(x0 + KW, W + PR);
  int cy0 = max(y0, 0);
  int cx0 = max(x0, 0);
  int cy1 = min(y1, H);
  int cx1 = min(x1, W);
  float r;
  if (is_max) {
    r = -INFINITY;
    for (int iy = cy0; iy < cy1; iy++) {
      for (int ix = cx0; ix < cx1; ix++) {
        float v = xp[iy * W + ix];
        r = (v > r || isnan(v)) ? v : r; // NaN stays: later v > NaN is false (fmax would drop it)
      }
    }
  } else {
    float s = 0.0f;
    for (int iy = cy0; iy < cy1; iy++) {
      for (int ix = cx0; ix < cx1; ix++) {
        s += xp[iy * W + ix];
      }
    }
    int d = count_pad ? (y1 - y0) * (x1 - x0) : (cy1 - cy0) * (cx1 - cx0);
    r = s / (float)d;
  }
  y[y_off + (size_t)z * OH * OW + oy * OW + ox] = r;
}
