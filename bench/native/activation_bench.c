// Build/run (the JNI build's flags): g++ -O3 -march=x86-64 -m64 -std=c++11 -Wno-psabi -I native -x c++ bench/native/activation_bench.c -o /tmp/actb && /tmp/actb [reps]
/* Cost per 8-lane vector of each epilogue activation (AVX2 variant) over 16 K floats that stay
 * in L1/L2, best of the repetitions: what a fused activation adds to a layer per output vector.
 * Two paths: act_span (the NHWC kernels' rows: depthwise, one-channel, connection table; the
 * dense tiles' epilogue groups its 12 accumulators the same way), on a copy of the input (the
 * "none" row is the copy alone), and act8 one vector at a time through ck_add (y = act(a + 0):
 * the NCHW epilogues and adds). Inputs uniform in [-5, 5], both branches of the two-branch
 * functions taken. */
#include "common.c"
#include "conv_nhwc.c"
#include "winograd_nhwc.c"
#include "nhwc_ops.c"
#include "ir_nhwc.c"
#include "isa_portable.c"
#include "isa_avx2.c"
#include "isa_avx512.c"
#include "dispatch.c"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* not the time others hold the core */
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char** argv) {
  const int reps = argc > 1 ? atoi(argv[1]) : 40;
  const int n = 16384;
  const char* names[] = {"none", "relu", "relu6", "sigmoid", "swish", "gelu", "tanh"};
  float* a = (float*)malloc(n * 4);
  float* b = (float*)malloc(n * 4);
  float* y = (float*)malloc(n * 4);
  srand(1);
  for (int i = 0; i < n; i++) {
    a[i] = ((float)rand() / RAND_MAX - 0.5f) * 10;
    b[i] = 0;
  }
  printf("activation  act_span (+ copy)  act8 (ck_add), ns per 8-lane vector\n");
  for (int act = 0; act <= 6; act++) {
    double best[2] = {1e30, 1e30};
    for (int rep = 0; rep < reps; rep++)
      for (int path = 0; path < 2; path++) {
        double t = now_s();
        for (int it = 0; it < 50; it++) {
          if (path == 0) {
            memcpy(y, a, n * 4);
            act_span_avx2(y, n, act);
          } else {
            ck_add_avx2(a, b, y, 0, n, act);
          }
        }
        t = (now_s() - t) / 50;
        if (t < best[path]) best[path] = t;
      }
    printf("%-10s %10.2f %18.2f\n", names[act], best[0] / (n / 8) * 1e9,
           best[1] / (n / 8) * 1e9);
  }
  free(a); free(b); free(y);
  return 0;
}
