// C = act(bias + A * B) per group, for one image, written for CPU devices: each work-item keeps
// one MR x NB block of C in registers and runs the whole K loop with no barriers and no local
// memory. (PoCL keeps values that live across a barrier in memory, so the local-memory tiled
// kernel runs far slower there; see gemm_tiled.cl for GPUs.)
//
//   A: the weights, packed by the host: [G][MP][K][MR], MP = ceil(Mg/MR), rows past Mg zero.
//   B: B_PACKED 1: [G][NP][K][NB] from im2col_packed (columns past N zero);
//      B_PACKED 0: row-major [G][K][ldb] (the input itself, for pointwise convolutions).
//   C: row g*Mg + m, column n at C[c_off + (g*Mg + m)*ldc + n].
// Global (NP, MP, G), any local size. Build options: MR (rows, 1..8), NV (NB = 8*NV columns,
// 1..3), B_PACKED.
#define NB (8 * NV)

inline float8 ck_load_b_tail(const global float* p, int valid) {
  float t[8];
  for (int i = 0; i < 8; i++) {
    t[i] = i < valid ? p[i] : 0.0f;
  }
  return vload8(0, t);
}

kernel void gemm_packed(global const float* A, global const float* B, int b_off, int ldb,
                        global float* C, int c_off, int ldc, global const float* bias,
                        int has_bias, int act, int Mg, int N, int K) {
  int np = get_global_id(0);
  int mp = get_global_id(1);
  int g = get_global_id(2);
  int n0 = np * NB;
  int m0 = mp * MR;
  if (n0 >= N || m0 >= Mg) {
    return;
  }
  int MP = (Mg + MR - 1) / MR;
  const global float* a = A + (size_t)(g * MP + mp) * K * MR;
  float8 acc[MR][NV];
  #pragma unroll
  for (int m = 0; m < MR; m++) {
    #pragma unroll
    for (int v = 0; v < NV; v++) {
      acc[m][v] = (float8)(0.0f);
    }
  }
#if B_PACKED
  int NP = (N + NB - 1) / NB;
  const global float* b = B + b_off + (size_t)(g * NP + np) * K * NB;
  for (int k = 0; k < K; k++) {
    float8 bv[NV];
    #pragma unroll
    for (int v = 0; v < NV; v++) {
      bv[v] = vload8(v, b + k * NB);
    }
    #pragma unroll
    for (int m = 0; m < MR; m++) {
      float8 av = (float8)(a[k * MR + m]);
      #pragma unroll
      for (int v = 0; v < NV; v++) {
        acc[m][v] = fma(av, bv[v], acc[m][v]);
      }
    }
  }
#else
  const global float* b = B + b_off + (size_t)g * K * ldb + n0;
  if (n0 + NB <= N) {
    for (int k = 0; k < K; k++) {
      float8 bv[NV];
      #pragma unroll
      for (int v = 0; v < NV; v++) {
        bv[v] = vload8(v, b + (size_t)k * ldb);
      }
      #pragma unroll
      for (int m = 0; m < MR; m++) {
        float8 av = (float8)(a[k * MR + m]);
        #pragma unroll
        for (int v = 0; v < NV; v++) {
          acc[m][v] = fma(av, bv[v], acc[m][v]);
        }
      }
    }
  } else {
    // The last, partial column block: guarded loads, so nothing past row k's end is read.
    for (int k = 0; k < K; k++) {
      float8 bv[NV];
      #pragma unroll
      for (int v = 0; v < NV; v++) {
        bv[v] = ck_load_b_tail(b + (size_t)k * ldb + 8 * v, N - n0 - 8 * v);
      }
      #pragma unroll
      for (int m = 0; m < MR; m++) {
        float8 av = (float8)(a[k * MR + m]);
        #pragma unroll
        for (int v = 0; v < NV; v++) {
          acc[m][v] = fma(av, bv[v], acc[m][v]);
        }
      }
    }
  }
#endif
  int cols = min(NB, N - n0);
  for (int m = 0; m < MR; m++) {
    if (m0 + m >= Mg) {
      break;
    }
    int row = g * Mg + m0 + m;
    float8 bb = (float8)(has_bias ? bias[row] : 0.0f);
    global float* c = C + c_off + (size_t)row * ldc + n0;
    #pragma unroll
    for (int v = 0; v < NV; v++) {
      float8 r = ck_activate8(acc[m][v] + bb, act);
      if (8 * v + 8 <= cols) {
        vstore8(r, v, c);
      } else {
        float t[8];
        vstore8(r, 0, t);
        for (int i = 0; 8 * v + i < cols; i++) {
          c[8 * v + i] = t[i];
        }
      }
    }
  }
}
