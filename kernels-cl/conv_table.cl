// Convolution with a connection table (LeNet-5's C3): output o sums only over its connected
// input channels conn_in[conn_start[o] .. conn_start[o+1]), whose KH x KW weight blocks are
// packed in the same order in w. One work-item per output pixel, the whole batch in one launch:
// global (OW, OH, batch*OC), bounds-checked.
kernel void conv_table(global const float* x, int x_off, global const float* w,
                       global const int* conn_start, global const int* conn_in,
                       global const float* bias, int has_bias, int act, global float* y,
                       int y_off, int C, int H, int W, int OC, int OH, int OW, int KH, int KW,
                       int SH, int SW, int PT, int PL, int DH, int DW) {
  int ox = get_global_id(0);
  int oy = get_global_id(1);
  int z = get_global_id(2);
  if (ox >= OW || oy >= OH) {
    return;
  }
  int o = z % OC;
  int n = z / OC;
  int iy0 = oy * SH - PT;
  int ix0 = ox * SW - PL;
  float s = 0.0f;
  for (int j = conn_start[o]; j < conn_start[o + 1]; j++) {
    const global float* xp = x + x_off + (size_t)(n * C + conn_in[j]) * H * W;
    const global float* wp = w + j * KH * KW;
    for (int ky = 0; ky < KH; ky++) {
      int iy = iy0 + ky * DH;
      if (iy < 0 || iy >= H) {
        continue;
      }
      for (int kx = 0; kx < KW; kx++) {
        int ix = ix0 + kx * DW;
        if (ix >= 0 && ix < W) {
          s = fma(wp[ky * KW + kx], xp[iy * W + ix], s);
        }
      }
    }
  }
  if (has_bias) {
    s += bias[o];
  }
  y[y_off + (size_t)z * OH * OW + oy * OW + ox] = ck_activate(s, act);
}
