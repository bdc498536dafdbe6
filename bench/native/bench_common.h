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
