/* Shared by the native benches: a per-thread clock and the FMA peak measured in the same run.
 * Included after <immintrin.h>, <stdio.h> and <time.h>. */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* not the time others hold the core */
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* The ISA the bench runs: CK_BENCH_ISA (0 portable, 1 AVX2, 2 AVX-512) where set, else the widest
 * this CPU runs. */
static int bench_isa(void) {
  const char* e = getenv("CK_BENCH_ISA");
  return e && *e ? atoi(e) : ck_best_isa();
}

/* The FMA peak of the bench's ISA (the kernels' own burn loop, 12 independent
 * chains: native/kernels/fma_peak.inc), best of reps rounds of ~20 ms. Included after the
 * kernels and dispatch.c. */
static double fma_peak_gflops(int reps) {
  const int isa = bench_isa();
  const double lanes = isa == 2 ? 16 : isa == 1 ? 8 : 4;
  const long long iters = 1000000;
  double best = 0;
  for (int rep = 0; rep < reps; rep++) {
    double t = now_s();
    const float sink = ck_fma_burn(isa, iters);
    t = now_s() - t;
    if (sink == 12345.0f) printf("!");
    const double g = iters * 12.0 * 2 * lanes / t * 1e-9;
    if (g > best) best = g;
  }
  return best;
}

/* The geometry of one image's convolution (per group: the kernels take groups apart), C->K on an HxH input, RxS taps, stride st,
 * the same padding on every side (the ck_conv_nhwc g[] array). Included after the kernels. */
static void conv_geometry(long long* g, long long c, long long k, long long h, long long r,
                           long long s, long long st, long long pad) {
  const long long oh = (h + 2 * pad - r) / st + 1, ow = (h + 2 * pad - s) / st + 1;
  g[CK_G_N] = 1; g[CK_G_C] = c; g[CK_G_H] = h; g[CK_G_W] = h; g[CK_G_K] = k;
  g[CK_G_OH] = oh; g[CK_G_OW] = ow; g[CK_G_R] = r; g[CK_G_S] = s;
  g[CK_G_SH] = st; g[CK_G_SW] = st; g[CK_G_PT] = pad; g[CK_G_PL] = pad;
  g[CK_G_PB] = pad; g[CK_G_PR] = pad; g[CK_G_DH] = 1; g[CK_G_DW] = 1;
}
