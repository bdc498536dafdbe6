// Build/run (the JNI build's flags): g++ -O3 -march=x86-64 -m64 -std=c++11 -Wno-psabi -I native -x c++ bench/native/gconv_narrow_bench.c -o /tmp/gnb && /tmp/gnb [reps]
/* Single-thread GFLOP/s of ck_gconv_narrow_nhwc (groups of 4 or 8 channels: ResNeXt-50 32x4d's
 * res2 and res3 3x3 layers) and, on the same layer, of ck_conv_nhwc's grouped path, against the
 * FMA peak measured in the same run. CK_BENCH_ISA picks the ISA. Each layer's outputs are
 * compared with a double loop at sampled points. */
#include "common.c"
#include "conv_nhwc.c"
#include "winograd_nhwc.c"
#include "nhwc_ops.c"
#include "ir_nhwc.c"
#include "isa_portable.c"
#include "isa_avx2.c"
#include "isa_avx512.c"
#include "dispatch.c"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"

typedef struct { const char* name; long long c, groups, h, st; } layer;

/* Best per-call seconds of f over reps rounds of ~20 ms. */
#define BEST_OF(reps, call)                                   \
  ({                                                          \
    double best_ = 1e30;                                      \
    for (int rep_ = 0; rep_ < (reps); rep_++) {               \
      int it_ = 0;                                            \
      double t_ = now_s(), e_;                                \
      do {                                                    \
        call;                                                 \
        it_++;                                                \
        e_ = now_s() - t_;                                    \
      } while (e_ < 0.02);                                    \
      if (e_ / it_ < best_) best_ = e_ / it_;                 \
    }                                                         \
    best_;                                                    \
  })

int main(int argc, char** argv) {
  const int reps = argc > 1 ? atoi(argv[1]) : 20;
  const layer L[] = {
      {"resnext50 res2 128ch g32 56x56 3x3", 128, 32, 56, 1},
      {"resnext50 res3 256ch g32 28x28 3x3", 256, 32, 28, 1},
      {"resnext50 res3 256ch g32 56->28 3x3 s2", 256, 32, 56, 2},
  };
  double peak = fma_peak_gflops(10);
  const int isa = bench_isa();
  srand(1);
  for (size_t li = 0; li < sizeof(L) / sizeof(L[0]); li++) {
    const layer* y = &L[li];
    const long long G = y->c / y->groups, oh = (y->h + 2 - 3) / y->st + 1;
    long long g[CK_G_COUNT];
    conv_geometry(g, y->c, y->c, y->h, 3, 3, y->st, 1);
    const long long nin = y->c * y->h * y->h, nw = y->c * G * 9, nout = y->c * oh * oh;
    float* in = (float*)malloc(nin * 4);
    float* w = (float*)malloc(nw * 4);
    float* bias = (float*)malloc(y->c * 4);
    float* out = (float*)malloc(nout * 4);
    float* out2 = (float*)malloc(nout * 4);
    for (long long i = 0; i < nin; i++) in[i] = (float)rand() / RAND_MAX - 0.5f;
    for (long long i = 0; i < nw; i++) w[i] = (float)rand() / RAND_MAX - 0.5f;
    for (long long i = 0; i < y->c; i++) bias[i] = (float)rand() / RAND_MAX - 0.5f;
    float* pn = (float*)malloc(ck_gconv_narrow_nhwc_packed_floats(g, y->groups) * 4);
    ck_gconv_narrow_nhwc_pack(g, y->groups, w, pn);
    const long long tn = ck_gconv_narrow_nhwc_tasks(g);
    float* pd = (float*)malloc(ck_conv_nhwc_packed_floats(g, y->groups) * 4);
    ck_conv_nhwc_pack(g, y->groups, w, pd);
    const long long td = ck_conv_nhwc_tasks(g, y->groups);
    const long long sf = ck_conv_nhwc_scratch_floats(g, y->groups);
    float* scratch = (float*)malloc((sf > 0 ? sf : 1) * 4);
    ck_gconv_narrow_nhwc(isa, g, y->groups, in, pn, bias, NULL, out, 1, 0, tn);
    ck_conv_nhwc(isa, g, y->groups, in, pd, bias, NULL, out2, 1, 0, td, scratch);
    double maxerr = 0, maxdiff = 0;
    for (int smp = 0; smp < 400; smp++) {
      const long long oy = rand() % oh, ox = rand() % oh, k = rand() % y->c;
      double s = bias[k];
      for (long long i = 0; i < G; i++)
        for (long long r = 0; r < 3; r++)
          for (long long q = 0; q < 3; q++) {
            const long long iy = oy * y->st - 1 + r, ix = ox * y->st - 1 + q;
            if (iy < 0 || iy >= y->h || ix < 0 || ix >= y->h) continue;
            s += (double)in[(iy * y->h + ix) * y->c + k / G * G + i] *
                 w[((k * G + i) * 3 + r) * 3 + q];
          }
      if (s < 0) s = 0;
      const long long o = (oy * oh + ox) * y->c + k;
      if (fabs(s - out[o]) > maxerr) maxerr = fabs(s - out[o]);
      if (fabs((double)out[o] - out2[o]) > maxdiff) maxdiff = fabs((double)out[o] - out2[o]);
    }
    const double pk = fma_peak_gflops(3);
    if (pk > peak) peak = pk;
    const double flops = 2.0 * y->c * G * 9 * oh * oh;
    const double tnarrow =
        BEST_OF(reps, ck_gconv_narrow_nhwc(isa, g, y->groups, in, pn, bias, NULL, out, 1, 0, tn));
    const double tdense =
        BEST_OF(reps, ck_conv_nhwc(isa, g, y->groups, in, pd, bias, NULL, out2, 1, 0, td, scratch));
    printf("%-40s narrow %7.4f ms %6.1f GFLOP/s %5.1f%%  [%s]  grouped dense %7.4f ms %6.1f "
           "GFLOP/s  [max err %.2g, vs dense %.2g]\n",
           y->name, tnarrow * 1e3, flops / tnarrow * 1e-9, 100 * flops / tnarrow * 1e-9 / peak,
           ck_gconv_narrow_nhwc_variant(isa, g, y->groups), tdense * 1e3,
           flops / tdense * 1e-9, maxerr, maxdiff);
    free(in); free(w); free(bias); free(out); free(out2); free(pn); free(pd); free(scratch);
  }
  printf("FMA peak (isa %d, 1 thread, best of the rounds): %.1f GFLOP/s\n", isa, peak);
  return 0;
}
