// Winograd F(WM x WM, 3 x 3) for 3x3 stride-1 undilated dense convolutions, NCHW, one image per
// launch (the CPU engine's algorithm, native/kernels/winograd_nhwc.inc; matrices and error bound
// in docs/DESIGN.md). Build option WM: 2 or 4. Tiles start at output (0, 0) and step by WM:
// tile t = ty * TW + tx. The multiply between the two kernels is the engine's grouped GEMM with a
// group per position xi: M[xi] (K x T) = U[xi] (K x C) x V[xi] (C x T).
#define WA (WM + 2)

// B^T x of one 1-D window x[0..WA), result in v.
inline void ck_wino_bt(const float* x, float* v) {
#if WM == 4
  float t1 = fma(-4.0f, x[2], x[4]), t2 = fma(-4.0f, x[1], x[3]);
  float t3 = x[4] - x[2], t4 = 2.0f * (x[3] - x[1]);
  v[0] = fma(4.0f, x[0], fma(-5.0f, x[2], x[4]));
  v[1] = t1 + t2;
  v[2] = t1 - t2;
  v[3] = t3 + t4;
  v[4] = t3 - t4;
  v[5] = fma(4.0f, x[1], fma(-5.0f, x[3], x[5]));
#else
  v[0] = x[0] - x[2];
  v[1] = x[1] + x[2];
  v[2] = x[2] - x[1];
  v[3] = x[1] - x[3];
#endif
}

// A^T m of one 1-D column m[0..WA), result y[0..WM).
inline void ck_wino_at(const float* m, float* y) {
#if WM == 4
  float a = m[1] + m[2], b = m[1] - m[2], c = m[3] + m[4], d = m[3] - m[4];
  y[0] = m[0] + a + c;
  y[1] = fma(2.0f, d, b);
  y[2] = fma(4.0f, c, a);
  y[3] = fma(8.0f, d, b) + m[5];
#else
  y[0] = m[0] + m[1] + m[2];
  y[1] = m[1] - m[2] - m[3];
#endif
}

// Global (T, C): V[xi][c][t] = (B^T d B)[xi] of channel c's window of tile t (zeros outside).
kernel void wino_input(global const float* x, int x_off, global float* V, int C, int H, int W,
                       int pt, int pl, int TW, int T) {
  int t = get_global_id(0);
  int c = get_global_id(1);
  if (t >= T || c >= C) {
    return;
  }
  int iy0 = (t / TW) * WM - pt, ix0 = (t % TW) * WM - pl;
  const global float* plane = x + x_off + (size_t)c * H * W;
  float d[WA][WA], r[WA][WA], col[WA], v[WA];
  for (int i = 0; i < WA; i++) {
    int iy = iy0 + i;
    for (int j = 0; j < WA; j++) {
      int ix = ix0 + j;
      d[i][j] = iy >= 0 && iy < H && ix >= 0 && ix < W ? plane[(size_t)iy * W + ix] : 0.0f;
    }
  }
  for (int j = 0; j < WA; j++) {  // columns: r = B^T d
    for (int i = 0; i < WA; i++) col[i] = d[i][j];
    ck_wino_bt(col, v);
    for (int i = 0; i < WA; i++) r[i][j] = v[i];
  }
  for (int i = 0; i < WA; i++) {  // rows: (B^T d) B
    ck_wino_bt(r[i], v);
    for (int j = 0; j < WA; j++) V[((size_t)(i * WA + j) * C + c) * T + t] = v[j];
  }
}

// Global (T, K): output channel k of tile t: A^T M A + bias; a tile whose result is not finite is
// recomputed by direct convolution from the original weights w [K][C][3][3] (so non-finite values
// land where the direct sum puts them); then the activation; outputs outside the image dropped.
kernel void wino_output(global const float* M, global const float* x, int x_off,
                        global const float* w, global const float* bias, int has_bias, int act,
                        global float* y, int y_off, int C, int H, int W, int K, int OH, int OW,
                        int pt, int pl, int TW, int T) {
  int t = get_global_id(0);
  int k = get_global_id(1);
  if (t >= T || k >= K) {
    return;
  }
  int oy0 = (t / TW) * WM, ox0 = (t % TW) * WM;
  float m[WA][WA], s[WM][WA], col[WA], o[WM];
  for (int i = 0; i < WA; i++) {
    for (int j = 0; j < WA; j++) m[i][j] = M[((size_t)(i * WA + j) * K + k) * T + t];
  }
  for (int j = 0; j < WA; j++) {  // columns: s = A^T m
    for (int i = 0; i < WA; i++) col[i] = m[i][j];
    ck_wino_at(col, o);
    for (int p = 0; p < WM; p++) s[p][j] = o[p];
  }
  float b = has_bias ? bias[k] : 0.0f;
  float out[WM][WM];
  float z = 0.0f;  // NaN when some output of the tile is not finite
  for (int p = 0; p < WM; p++) {
    ck_wino_at(s[p], out[p]);
    for (int q = 0; q < WM; q++) {
      out[p][q] += b;
      z += out[p][q] * 0.0f;
    }
  }
  const global float* img = x + x_off;
  for (int p = 0; p < WM && oy0 + p < OH; p++) {
    for (int q = 0; q < WM && ox0 + q < OW; q++) {
      int oy = oy0 + p, ox = ox0 + q;
      float v = out[p][q];
      if (isnan(z)) {
        float sum = 0.0f;
        for (int c = 0; c < C; c++) {
          for (int r = 0; r < 3; r++) {
            int iy = oy - pt + r;
            if (iy < 0 || iy >= H) continue;
            for (int u = 0; u < 3; u++) {
              int ix = ox - pl + u;
              if (ix < 0 || ix >= W) continue;
              sum = fma(img[((size_t)c * H + iy) * W + ix], w[(((size_t)k * C + c) * 3 + r) * 3 + u],
                        sum);
            }
          }
        }
        v = sum + b;
      }
      y[y_off + ((size_t)k * OH + oy) * OW + ox] = ck_activate(v, act);
    }
  }
}
