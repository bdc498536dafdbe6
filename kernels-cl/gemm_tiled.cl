// C = act(bias + A * B) per group, for one image, written for GPUs: a work-group computes a
// TSM x TSN tile of C, staging TSK-deep slices of A and B through local memory; each work-item
// accumulates WPTM x WPTN outputs in registers, strided by the work-group's extent so that
// neighbouring work-items touch neighbouring local-memory words.
//
//   A: the weights, row-major [G*Mg][K] (as the layer holds them).
//   B: row-major [G][K][ldb]: the unfolded input (im2col_rows) or, for pointwise, the input.
//   C: row g*Mg + m, column n at C[c_off + (g*Mg + m)*ldc + n].
// Work-group (TSN/WPTN, TSM/WPTM, 1); global (ceil(N/TSN)*TSN/WPTN, ceil(Mg/TSM)*TSM/WPTM, G).
// Build options: TSM, TSN, TSK, WPTM, WPTN.
#define RTSM (TSM / WPTM)
#define RTSN (TSN / WPTN)

kernel __attribute__((reqd_work_group_size(RTSN, RTSM, 1)))
void gemm_tiled(global const float* A, global const float* B, int b_off, int ldb,
                global float* C, int c_off, int ldc, global const float* bias, int has_bias,
                int act, int Mg, int N, int K) {
  local float As[TSK][TSM];
  local float Bs[TSK][TSN];
  int tn = get_local_id(0);
  int tm = get_local_id(1);
  int g = get_global_id(2);
  int n_base = get_group_id(0) * TSN;
  int m_base = get_group_id(1) * TSM;
  const global float* a = A + (size_t)g * Mg * K;
  const global float* b = B + b_off + (size_t)g * K * ldb;
  int tid = tm * RTSN + tn;
  float acc[WPTM][WPTN];
  for (int i = 0; i < WPTM; i++) {
    for (int j = 0; j < WPTN; j++) {
      acc[i][j] = 0.0f;
    }
  }
  for (int k0 = 0; k0 < K; k0 += TSK) {
    // Consecutive work-items load consecutive k of one A row and consecutive n of one B row.
    for (int i = tid; i < TSK * TSM; i += RTSM * RTSN) {
      int kk = i % TSK;
      int mm = i / TSK;
      int m = m_base + mm;
      int k = k0 + kk;
      As[kk][mm] = (m < Mg && k < K) ? a[(size_t)m * K + k] : 0.0f;
    }
    for (int i = tid; i < TSK * TSN; i += RTSM * RTSN) {
      int nn = i % TSN;
      int kk = i / TSN;
      int n = n_base + nn;
      int k = k0 + kk;
      Bs[kk][nn] = (n < N && k < K) ? b[(size_t)k * ldb + n] : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int kk = 0; kk < TSK; kk++) {
      float bv[WPTN];
      for (int j = 0; j < WPTN; j++) {
        bv[j] = Bs[kk][tn + j * RTSN];
      }
      for (int i = 0; i < WPTM; i++) {
        float av = As[kk][tm + i * RTSM];
        for (int j = 0; j < WPTN; j++) {
          acc[i][j] = fma(av, bv[j], acc[i][j]);
        }
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  for (int i = 0; i < WPTM; i++) {
    int m = m_base + tm + i * RTSM;
    if (m >= Mg) {
      continue;
    }
    int row = g * Mg + m;
    float bb = has_bias ? bias[row] : 0.0f;
    for (int j = 0; j < WPTN; j++) {
      int n = n_base + tn + j * RTSN;
      if (n < N) {
        C[c_off + (size_t)row * ldc + n] = ck_activate(acc[i][j] + bb, act);
      }
    }
  }
}
