// im2col for one image: row k = (c*KH + ky)*KW + kx of the unfolded input holds, at column
// p = oy*OW + ox, the input pixel that weight tap (ky, kx) of channel c meets at output (oy, ox)
// (zero in the padding). All C channels are unfolded at once; a group's channels are contiguous,
// so group g's rows are [g*Kg, (g+1)*Kg).
//
// One work-item per (output row oy, unfolded row k): global (OH, C*KH*KW). It decodes k once and
// walks the output row with no divisions (a per-element decode costs more than the copy on CPU
// devices, where integer division does not vectorise).

// Unfolded row k = (c*KH + ky)*KW + kx: which channel and weight tap it holds.
inline void ck_unfold_row(int k, int KH, int KW, int* c, int* ky, int* kx) {
  *kx = k % KW;
  int t = k / KW;
  *ky = t % KH;
  *c = t / KH;
}

// Row-major: out[k*ldo + p], for the local-memory tiled GEMM.
kernel void im2col_rows(global const float* x, int x_off, global float* out, int ldo,
                        int C, int H, int W, int KH, int KW, int SH, int SW, int PT, int PL,
                        int DH, int DW, int OH, int OW) {
  int oy = get_global_id(0);
  int k = get_global_id(1);
  if (oy >= OH || k >= C * KH * KW) {
    return;
  }
  int c;
  int ky;
  int kx;
  ck_unfold_row(k, KH, KW, &c, &ky, &kx);
  int iy = oy * SH - PT + ky * DH;
  global float* o = out + (size_t)k * ldo + oy * OW;
  if (iy < 0 || iy >= H) {
    for (int ox = 0; ox < OW; ox++) {
      o[ox] = 0.0f;
    }
    return;
  }
  const global float* row = x + x_off + ((size_t)c * H + iy) * W;
  long ix = (long)kx * DW - PL; // long: ix steps by SW past the row's end, up to OW * SW
  for (int ox = 0; ox < OW; ox++, ix += SW) {
    o[ox] = (ix >= 0 && ix < W) ? row[ix] : 0.0f;
  }
}

#ifdef NB
// Packed for gemm_packed: per group, column panels of NB, each panel K-major:
// out[((g*NP + p/NB)*Kg + kg)*NB + p%NB], NP = ceil(N/NB). The work-items of the last output
// row also zero the columns past N, so the GEMM reads whole panels without bounds checks.
// Build option NB: the GEMM's column block.
kernel void im2col_packed(global const float* x, int x_off, global float* out, int Kg,
                          int C, int H, int W, int KH, int KW, int SH, int SW, int PT, int PL,
                          int DH, int DW, int OH, int OW) {
  int oy = get_global_id(0);
  int k = get_global_id(1);
  if (oy >= OH || k >= C * KH * KW) {
    return;
  }
  int c;
  int ky;
  int kx;
  ck_unfold_row(k, KH, KW, &c, &ky, &kx);
  int g = k / Kg;
  int kg = k - g * Kg;
  int np = (OH * OW + NB - 1) / NB;
  size_t panelStride = (size_t)Kg * NB;
  global float* o = out + (size_t)g * np * panelStride + kg * NB;
  int p = oy * OW;
  int panel = p / NB;
  int lane = p - panel * NB;
  int iy = oy * SH - PT + ky * DH;
  bool rowIn = iy >= 0 && iy < H;
  const global float* row = x + x_off + ((size_t)c * H + (rowIn ? iy : 0)) * W;
  long ix = (long)kx * DW - PL; // long: ix steps by SW past the row's end, up to OW * SW
  int ox = 0;
#if NB == 8
  // Stride 1 and 2: once a panel starts, whole 8-column blocks whose inputs all lie inside the
  // row move as one float8 (PoCL vectorises only explicit vector code).
  if (rowIn && SW <= 2) {
    for (; ox < OW; ox++, ix += SW) {
      if (lane == 0 && ix >= 0 && ox + 8 <= OW && ix + 8 * SW <= W) {
        float8 v;
        if (SW == 1) {
          v = vload8(0, row + ix);
        } else {
          float8 a = vload8(0, row + ix);
          float8 c = vload8(1, row + ix);
          v = (float8)(a.even, c.even);
        }
        vstore8(v, 0, o + panel * panelStride);
        panel++;
        ox += 7;
        ix += 7 * SW;
        continue;
      }
      o[panel * panelStride + lane] = (ix >= 0 && ix < W) ? row[ix] : 0.0f;
      if (++lane == NB) {
        lane = 0;
        panel++;
      }
    }
  }
#endif
  for (; ox < OW; ox++, ix += SW) {
    o[panel * panelStride + lane] = (rowIn && ix >= 0 && ix < W) ? row[ix] : 0.0f;
    if (++lane == NB) {
      lane = 0;
      panel++;
    }
  }
  if (oy == OH - 1) {
    while (panel < np) {
      o[panel * panelStride + lane] = 0.0f;
      if (++lane == NB) {
        lane = 0;
        panel++;
      }
    }
  }
}
#endif
