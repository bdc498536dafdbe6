// Build/run: gcc -O2 -mavx2 bench/native/stream_bench.c -o /tmp/stb && /tmp/stb [MB ...]
/* One thread's read rate, in bytes per ns, of a buffer read again and again (the best of 20
 * passes): from L2, L3 or memory by its size. CpuEngine.STREAM_BYTES_PER_NS is the rate beyond the
 * cache (a network's layers evict each other's weights); the default sizes bracket it. */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void measure(long mb) {
  const long n = mb * 1024 * 1024 / 4; /* floats, a multiple of 32 */
  float* a = (float*)aligned_alloc(64, (size_t)n * 4);
  if (!a) { printf("%ld MB: no memory\n", mb); return; }
  for (long i = 0; i < n; i++) a[i] = (float)i * 1e-9f;
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  double best = 1e30;
  for (int pass = 0; pass < 20; pass++) {
    const double t = now_s();
    for (long i = 0; i < n; i += 32) { /* four independent sums: not latency-bound */
      s0 = _mm256_add_ps(s0, _mm256_load_ps(a + i));
      s1 = _mm256_add_ps(s1, _mm256_load_ps(a + i + 8));
      s2 = _mm256_add_ps(s2, _mm256_load_ps(a + i + 16));
      s3 = _mm256_add_ps(s3, _mm256_load_ps(a + i + 24));
    }
    const double e = now_s() - t;
    if (e < best) best = e;
  }
  float o[8];
  _mm256_storeu_ps(o, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  printf("%5ld MB: %6.1f bytes/ns%s\n", mb, n * 4.0 / best * 1e-9, o[0] == 12345.0f ? "!" : "");
  free(a);
}

int main(int argc, char** argv) {
  const long sizes[] = {1, 8, 38, 150, 1000};
  if (argc > 1)
    for (int i = 1; i < argc; i++) measure(atol(argv[i]));
  else
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) measure(sizes[i]);
  return 0;
}
