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

// One output with every tap checked against the input's edges.
inline float ck_depthwise_checked(const global float* xp, const global float* wp, int H, int W,
                                  int iy0, int ix0, int KH_, int KW_, int DH_, int DW_) {
  float s = 0.0f;
  for (int ky = 0; ky < KH_; ky++) {
    int iy = iy0 + ky * DH_;
    if (iy < 0 || iy >= H) {
      continue;
    }
    for (int kx = 0; kx < KW_; kx++) {
      int ix = ix0 + kx * DW_;
      if (ix >= 0 && ix < W) {
        s = fma(wp[ky * KW_ + kx], xp[iy * W + ix], s);
      }
    }
  }
  return s;
}

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
  float s = ck_depthwise_checked(xp, wp, H, W, oy * SH - PT, ox * SW - PL, KH, KW, DH, DW);
  if (has_bias) {
    s += bias[o];
  }
  y[y_off + (size_t)z * OH * OW + oy * OW + ox] = ck_activate(s, act);
}

// The same convolution for CPU devices: one work-item per output row, global (OH, batch*OC).
// The columns whose whole window lies inside the input need no column checks and, for strides
// 1 and 2, run 8 at a time; only the edge columns check each tap.
kernel void depthwise_rows(global const float* restrict x, int x_off,
                           global const float* restrict w, global const float* restrict bias,
                           int has_bias, int act, global float* restrict y,
                           int y_off, int C, int H, int W, int OC, int OH, int OW, int PT,
                           int PL WINDOW_ARGS) {
  int oy = get_global_id(0);
  int z = get_global_id(1);
  if (oy >= OH) {
    return;
  }
  int o = z % OC;
  int n = z / OC;
  int c = o / (OC / C);
  const global float* xp = x + x_off + (size_t)(n * C + c) * H * W;
  const global float* wp = w + o * KH * KW;
  global float* yp = y + y_off + (size_t)z * OH * OW + oy * OW;
  float b = has_bias ? bias[o] : 0.0f;
  int iy0 = oy * SH - PT;
  // Interior columns [lo, hi): ox*SW - PL >= 0 and ox*SW - PL + (KW-1)*DW <= W-1.
  int last = W - 1 - (KW - 1) * DW + PL;
  int lo = (int)min(((long)PL + SW - 1) / SW, (long)OW); // PL + SW can pass 2^31
  int hi = last < 0 ? lo : clamp(last / SW + 1, lo, OW);
  for (int ox = 0; ox < lo; ox++) {
    yp[ox] = ck_activate(ck_depthwise_checked(xp, wp, H, W, iy0, ox * SW - PL, KH, KW, DH, DW) + b,
                         act);
  }
  // Interior: 8 columns at a time in a float8 (PoCL does not vectorise these loops itself);
  // stride 2 loads 16 and keeps the even lanes, so its block must leave one column to spare.
  int ox = lo;
  if (SW <= 2) { // stride 1 or 2
    int vecEnd = SW == 1 ? hi : hi - 1;
    for (; ox + 8 <= vecEnd; ox += 8) {
      float8 acc = (float8)(b);
      for (int ky = 0; ky < KH; ky++) {
        int iy = iy0 + ky * DH;
        if (iy < 0 || iy >= H) {
          continue;
        }
        const global float* r = xp + iy * W + ox * SW - PL;
        for (int kx = 0; kx < KW; kx++) {
          float8 v;
          if (SW == 1) {
            v = vload8(0, r + kx * DW);
          } else {
            float8 a = vload8(0, r + kx * DW);
            float8 c = vload8(1, r + kx * DW);
            v = (float8)(a.even, c.even);
          }
          acc = fma((float8)(wp[ky * KW + kx]), v, acc);
        }
      }
      vstore8(ck_activate8(acc, act), 0, yp + ox);
    }
  }
  for (; ox < hi; ox++) {
    float s = b;
    int ix0 = ox * SW - PL;
    for (int ky = 0; ky < KH; ky++) {
      int iy = iy0 + ky * DH;
      if (iy >= 0 && iy < H) {
        const global float* r = xp + iy * W + ix0;
        for (int kx = 0; kx < KW; kx++) {
          s = fma(wp[ky * KW + kx], r[kx * DW], s);
        }
      }
    }
    yp[ox] = ck_activate(s, act);
  }
  for (int ox = hi; ox < OW; ox++) {
    yp[ox] = ck_activate(ck_depthwise_checked(xp, wp, H, W, iy0, ox * SW - PL, KH, KW, DH, DW) + b,
                         act);
  }
}
