/* Shared by the native benches: a per-thread clock and the FMA peak measured in the same run.
 * Included after <immintrin.h>, <stdio.h> and <time.h>. */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* not the time others hold the core */
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

#pragma GCC push_options
#pragma GCC target("avx2,fma")
static double fma_peak_gflops(int reps) {
  double best = 0;
  for (int rep = 0; rep < reps; rep++) {
    __m256 a0 = _mm256_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
           a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    const long iters = 1000000; /* ~20 ms */
    double t = now_s();
    for (long i = 0; i < iters; i++) {
      a0 = _mm256_fmadd_ps(a0, m, c); a1 = _mm256_fmadd_ps(a1, m, c);
      a2 = _mm256_fmadd_ps(a2, m, c); a3 = _mm256_fmadd_ps(a3, m, c);
      a4 = _mm256_fmadd_ps(a4, m, c); a5 = _mm256_fmadd_ps(a5, m, c);
      a6 = _mm256_fmadd_ps(a6, m, c); a7 = _mm256_fmadd_ps(a7, m, c);
      a8 = _mm256_fmadd_ps(a8, m, c); a9 = _mm256_fmadd_ps(a9, m, c);
      a10 = _mm256_fmadd_ps(a10, m, c); a11 = _mm256_fmadd_ps(a11, m, c);
      __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5));
      __asm__ volatile("" : "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11));
    }
    t = now_s() - t;
    float sink[8];
    _mm256_storeu_ps(sink, _mm256_add_ps(_mm256_add_ps(a0, a11), _mm256_add_ps(a5, a6)));
    if (sink[0] == 12345.0f) printf("!");
    const double g = iters * 12.0 * 16.0 / t * 1e-9;
    if (g > best) best = g;
  }
  return best;
}
#pragma GCC pop_options
