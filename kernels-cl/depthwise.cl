// Depthwise convolution (groups == input channels, channel multiplier OC/C): output channel o
// reads input channel o / (OC/C). One work-item per output pixel, the whole batch in one launch:
// global (OW, OH, batch*OC), bounds-checked, so any local size works.
//
// Built with -DKH -DKW -DSH -DSW -DDH -DDW the window is fixed at compile time (the 3x3 stride 1
// and stride 2 programs: loops unroll, index arithmetic folds); without them the window is
// read from the arguments (the generic program, any kernel, stride and dilation).
#ifdef KH
#define WINDOW_ARGS
#else
#define WINDOW_ARGS , int KH, int KW, int SH, int SW, int DH, int DW
#endif

kernel void depthwise(global const float* x, int x_off, global const float* w,
                      global const float* bias, int has_bias, int act, global float* y, int y_off,
                      int C, int H, int W, int OC, int OH, int OW, int PT, int PL WINDOW_ARGS) {
  int ox = get_global_id(0);
  int oy = get_global_id(1);
  int z = get_global_id(2);
  if (ox >= OW || oy >= OH) {
    return;
  }
  int o = z % OC;
  int n = z / OC;
  int c = o / (OC / C);
  const global float* xp = x + x_off + (size_t)(n * C + c) * H * W;
  const global float* wp = w + o * KH * KW;
  int iy0 = oy * SH - PT;
  int ix0 = ox * SW - PL;
  float s = 0.0f;
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
  if (has_bias) {
    s += bias[o];
  }
  y[y_off + (size_t)z * OH * OW + oy * OW + ox] = ck_activate(s, act);
}
