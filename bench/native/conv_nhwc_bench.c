// Build/run (the JNI build's flags): g++ -O3 -march=x86-64 -m64 -std=c++11 -Wno-psabi -I native -x c++ bench/native/conv_nhwc_bench.c -o /tmp/cnb && /tmp/cnb [reps] [layer filter] [activation: 1 relu, 2 relu6] (CK_BENCH_RES=1 or inplace: with a residual)
/* Single-thread GFLOP/s of ck_conv_nhwc (AVX2 variant) on the target layers, against an FMA peak
 * measured in the same run (12 independent ymm FMA chains). Includes the sources the JNI build
 * compiles, in its order, so it measures the real code; samples outputs against a double loop. */
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
#include <time.h>

#include "bench_common.h"

typedef struct { const char* name; long long c, k, h, r, s, st, pad; } layer;

int main(int argc, char** argv) {
  const int reps = argc > 1 ? atoi(argv[1]) : 30; /* short runs: the best dodge the neighbours */
  const char* only = argc > 2 ? argv[2] : NULL; /* run the layers whose name contains this */
  const int act = argc > 3 ? atoi(argv[3]) : 1; /* 1 ReLU (default), 2 ReLU6 (MobileNet v2) */
  const layer L[] = {
      {"vgg16_conv1_2 64->64 224x224 3x3", 64, 64, 224, 3, 3, 1, 1},
      {"vgg16_conv2_2 128->128 112x112 3x3", 128, 128, 112, 3, 3, 1, 1},
      {"vgg16_conv3_2 256->256 56x56 3x3", 256, 256, 56, 3, 3, 1, 1},
      {"512->512 14x14 3x3", 512, 512, 14, 3, 3, 1, 1},
      {"768->3072 7x7 1x1 (ConvNeXt stage 4)", 768, 3072, 7, 1, 1, 1, 0},
      {"3072->768 7x7 1x1 (ConvNeXt stage 4)", 3072, 768, 7, 1, 1, 1, 0},
      {"384->1536 14x14 1x1 (ConvNeXt stage 3)", 384, 1536, 14, 1, 1, 1, 0},
      {"1536->384 14x14 1x1 (ConvNeXt stage 3)", 1536, 384, 14, 1, 1, 1, 0},
      {"96->384 56x56 1x1 (ConvNeXt stage 1)", 96, 384, 56, 1, 1, 1, 0},
      {"384->96 56x56 1x1 (ConvNeXt stage 1)", 384, 96, 56, 1, 1, 1, 0},
      {"128->128 28x28 3x3", 128, 128, 28, 3, 3, 1, 1},
      {"96->128 28x28 3x3", 96, 128, 28, 3, 3, 1, 1},
      {"64->256 56x56 1x1", 64, 256, 56, 1, 1, 1, 0},
      {"1024->256 14x14 1x1", 1024, 256, 14, 1, 1, 1, 0},
      {"512->512 14x14 1x1", 512, 512, 14, 1, 1, 1, 0},
      {"24->144 56x56 1x1", 24, 144, 56, 1, 1, 1, 0},
      {"144->24 56x56 1x1", 144, 24, 56, 1, 1, 1, 0},
      {"16->96 112x112 1x1", 16, 96, 112, 1, 1, 1, 0},
      {"32->64 112x112 1x1", 32, 64, 112, 1, 1, 1, 0},
      {"lenet5_c1 1->6 32x32 5x5", 1, 6, 32, 5, 5, 1, 0},
      {"stem 3->32 224 3x3 s2 p1", 3, 32, 224, 3, 3, 2, 1},
      {"stem 3->64 224 7x7 s2 p3", 3, 64, 224, 7, 7, 2, 3},
      {"stem 3->64 224 11x11 s4 p2", 3, 64, 224, 11, 11, 4, 2},
  };
  /* The machine is shared: the peak is re-measured before every layer and the best kept. */
  double peak = fma_peak_gflops(10);
  srand(1);
  for (size_t li = 0; li < sizeof(L) / sizeof(L[0]); li++) {
    const layer* y = &L[li];
    if (only && !strstr(y->name, only)) continue;
    long long g[CK_G_COUNT];
    const long long oh = (y->h + 2 * y->pad - y->r) / y->st + 1;
    conv_geometry(g, y->c, y->k, y->h, y->r, y->s, y->st, y->pad);
    const long long nin = y->c * y->h * y->h, nw = y->k * y->c * y->r * y->s, nout = y->k * oh * oh;
    float* in = (float*)malloc(nin * 4);
    float* w = (float*)malloc(nw * 4);
    float* bias = (float*)malloc(y->k * 4);
    float* out = (float*)malloc(nout * 4);
    /* CK_BENCH_RES=1: a residual added before the activation, as ResNet's last 1x1 of a block,
     * from a tensor of its own; CK_BENCH_RES=inplace: the output itself, as the network pass
     * runs it (ForwardPass: the add's output over the block input). The check samples the first
     * call's output, against the residual as it was before that call. */
    const char* res_mode = getenv("CK_BENCH_RES");
    if (res_mode && !*res_mode) res_mode = NULL;
    const int inplace = res_mode && !strcmp(res_mode, "inplace");
    float* res = res_mode ? (inplace ? out : (float*)malloc(nout * 4)) : NULL;
    float* res0 = res ? (float*)malloc(nout * 4) : NULL;
    if (res)
      for (long long i = 0; i < nout; i++) res0[i] = res[i] = (float)rand() / RAND_MAX - 0.5f;
    float* packed = (float*)malloc(ck_conv_nhwc_packed_floats(g, 1) * 4);
    const long long sf = ck_conv_nhwc_scratch_floats(g, 1);
    float* scratch = (float*)malloc((sf > 0 ? sf : 1) * 4);
    for (long long i = 0; i < nin; i++) in[i] = (float)rand() / RAND_MAX - 0.5f;
    for (long long i = 0; i < nw; i++) w[i] = (float)rand() / RAND_MAX - 0.5f;
    for (long long i = 0; i < y->k; i++) bias[i] = (float)rand() / RAND_MAX - 0.5f;
    ck_conv_nhwc_pack(g, 1, w, packed);
    const long long T = ck_conv_nhwc_tasks(g, 1);
    const double flops = 2.0 * y->k * y->c * y->r * y->s * oh * oh;
    ck_conv_nhwc(bench_isa(), g, 1, in, packed, bias, res, out, act, 0, T, scratch);
    double maxerr = 0;
    for (int smp = 0; smp < 200; smp++) {
      const long long oy = rand() % oh, ox = rand() % oh, k = rand() % y->k;
      double s = bias[k];
      for (long long c = 0; c < y->c; c++)
        for (long long r = 0; r < y->r; r++)
          for (long long q = 0; q < y->s; q++) {
            const long long iy = oy * y->st - y->pad + r, ix = ox * y->st - y->pad + q;
            if (iy < 0 || iy >= y->h || ix < 0 || ix >= y->h) continue;
            s += (double)in[(iy * y->h + ix) * y->c + c] * w[((k * y->c + c) * y->r + r) * y->s + q];
          }
      if (res) s += res0[(oy * oh + ox) * y->k + k];
      if (s < 0) s = 0;
      if (act == 2 && s > 6) s = 6;
      const double d = fabs(s - out[(oy * oh + ox) * y->k + k]);
      if (d > maxerr) maxerr = d;
    }
    double best = 1e30;
    for (int rep = 0; rep < reps; rep++) {
      const double pk = fma_peak_gflops(1);
      if (pk > peak) peak = pk;
      int it = 0;
      double t = now_s(), e;
      do {
        ck_conv_nhwc(bench_isa(), g, 1, in, packed, bias, res, out, act, 0, T, scratch);
        it++;
        e = now_s() - t;
      } while (e < 0.02);
      if (e / it < best) best = e / it;
    }
    const double gf = flops / best * 1e-9;
    printf("%-34s %8.4f ms %7.1f GFLOP/s %5.1f%% of peak  [%s, %lld tasks, max err %.2g]\n",
           y->name, best * 1e3, gf, 100 * gf / peak, ck_conv_nhwc_variant(bench_isa(), g, 1), T, maxerr);
    free(in); free(w); free(bias); free(out); free(packed); free(scratch);
    if (!inplace) free(res);
    free(res0);
  }
  printf("FMA peak (12 chains of the bench's ISA, 1 thread, best of the run): %.1f GFLOP/s\n", peak);
  return 0;
}
