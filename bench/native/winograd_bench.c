// Build/run (the JNI build's flags): g++ -O3 -march=x86-64 -m64 -std=c++11 -Wno-psabi -I native -I bench/native -x c++ bench/native/winograd_bench.c -o /tmp/wnb && /tmp/wnb [reps] [layer filter] (CK_BENCH_PHASES=1: time per phase)
/* Single-thread time of the 3x3 stride-1 layers on the direct NHWC kernel (ck_conv_nhwc) and on
 * Winograd F(2x2) and F(4x4) (ck_wino_nhwc, every phase of every chunk), the widest ISA's variants; effective
 * GFLOP/s (the direct convolution's FLOPs over the time) against the FMA peak measured in the
 * same run; each result's max |diff| against a double loop over every output, relative to the
 * largest |output| (the 1e-4 criterion). He-initialised weights, ReLU'd inputs. */
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

typedef struct { const char* name; long long n, c, k, h; } layer;

static double gauss(void) { /* Box-Muller */
  const double u = (rand() + 1.0) / (RAND_MAX + 2.0), v = (rand() + 1.0) / (RAND_MAX + 2.0);
  return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static double time_best(int reps, void (*run)(void*), void* arg) {
  double best = 1e30;
  for (int rep = 0; rep < reps; rep++) {
    int it = 0;
    double t = now_s(), e;
    do {
      run(arg);
      it++;
      e = now_s() - t;
    } while (e < 0.03);
    if (e / it < best) best = e / it;
  }
  return best;
}

typedef struct {
  const long long* g;
  int m;
  const float *in, *packed, *bias;
  float *out, *scratch;
} job;

static void run_direct(void* a) {
  job* j = (job*)a;
  ck_conv_nhwc(bench_isa(), j->g, 1, j->in, j->packed, j->bias, NULL, j->out, 0,
               0, ck_conv_nhwc_tasks(j->g, 1), j->scratch);
}

/* Seconds spent in each phase (input transform, multiply, output transform) over the calls of
 * run_wino since the last reset: CK_BENCH_PHASES=1 prints their share of a call. */
static double phase_s[3];
static long long phase_calls;

static void run_wino(void* a) {
  job* j = (job*)a;
  const long long chunks = ck_wino_nhwc_chunks(j->g, j->m);
  for (long long ch = 0; ch < chunks; ch++)
    for (int ph = 0; ph < 3; ph++) {
      const double t = now_s();
      ck_wino_nhwc(bench_isa(), j->g, j->m, ph, ch, j->in, j->packed, j->bias, NULL, j->out, 0, 0,
                   ck_wino_nhwc_tasks(j->g, j->m, ph, ch), j->scratch);
      phase_s[ph] += now_s() - t;
    }
  phase_calls++;
}

int main(int argc, char** argv) {
  const int reps = argc > 1 ? atoi(argv[1]) : 10;
  const char* only = argc > 2 ? argv[2] : NULL;
  const layer L[] = {
      {"vgg16_conv1_2", 1, 64, 64, 224},   {"vgg16_conv3_2", 1, 256, 256, 56},
      {"vgg16_conv5_1", 1, 512, 512, 14},  {"inception3a_3x3", 1, 96, 128, 28},
      {"resnet50_res3_3x3", 1, 128, 128, 28}, {"resnet50_res2_3x3", 1, 64, 64, 56},
      {"resnet50_res4_3x3", 1, 256, 256, 14}, {"resnet50_res5_3x3", 1, 512, 512, 7},
      {"vgg16_conv3_2_b8", 8, 256, 256, 56}, {"vgg16_conv2_2", 1, 128, 128, 112},
      {"odd_13x11_c13_k19", 2, 13, 19, 13},
  };
  double peak = fma_peak_gflops(10);
  srand(1);
  for (size_t li = 0; li < sizeof(L) / sizeof(L[0]); li++) {
    const layer* y = &L[li];
    if (only && !strstr(y->name, only)) continue;
    const long long H = y->h, W = strstr(y->name, "odd") ? 11 : y->h;
    long long g[CK_G_COUNT] = {0};
    g[CK_G_N] = y->n; g[CK_G_C] = y->c; g[CK_G_H] = H; g[CK_G_W] = W; g[CK_G_K] = y->k;
    g[CK_G_OH] = H; g[CK_G_OW] = W; g[CK_G_R] = 3; g[CK_G_S] = 3; g[CK_G_SH] = 1;
    g[CK_G_SW] = 1; g[CK_G_PT] = 1; g[CK_G_PL] = 1; g[CK_G_PB] = 1; g[CK_G_PR] = 1;
    g[CK_G_DH] = 1; g[CK_G_DW] = 1;
    const long long nin = y->n * y->c * H * W, nw = y->k * y->c * 9, nout = y->n * y->k * H * W;
    float* in = (float*)malloc(nin * 4);
    float* w = (float*)malloc(nw * 4);
    float* bias = (float*)malloc(y->k * 4);
    float* out = (float*)malloc(nout * 4);
    double* ref = (double*)malloc(nout * 8);
    const double he = sqrt(2.0 / (9.0 * y->c));
    for (long long i = 0; i < nin; i++) { const double v = gauss(); in[i] = v > 0 ? (float)v : 0; }
    for (long long i = 0; i < nw; i++) w[i] = (float)(he * gauss());
    for (long long i = 0; i < y->k; i++) bias[i] = (float)(0.1 * gauss());
    double refmax = 0;
    for (long long n = 0; n < y->n; n++)
      for (long long oy = 0; oy < H; oy++)
        for (long long ox = 0; ox < W; ox++)
          for (long long k = 0; k < y->k; k++) {
            double s = bias[k];
            for (int r = 0; r < 3; r++)
              for (int q = 0; q < 3; q++) {
                const long long iy = oy - 1 + r, ix = ox - 1 + q;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                const float* px = in + ((n * H + iy) * W + ix) * y->c;
                const float* wk = w + k * y->c * 9 + r * 3 + q;
                for (long long c = 0; c < y->c; c++) s += (double)px[c] * wk[c * 9];
              }
            ref[((n * H + oy) * W + ox) * y->k + k] = s;
            if (fabs(s) > refmax) refmax = fabs(s);
          }
    const double flops = 2.0 * y->n * y->k * y->c * 9 * H * W;
    printf("%-20s", y->name);
    for (int m = 0; m <= 4; m += 2) { /* 0: direct, then F(2x2), F(4x4) */
      {
        job j;
        j.g = g; j.m = m; j.in = in; j.bias = bias; j.out = out;
        float* packed;
        long long sf;
        if (m == 0) {
          packed = (float*)malloc(ck_conv_nhwc_packed_floats(g, 1) * 4);
          ck_conv_nhwc_pack(g, 1, w, packed);
          sf = ck_conv_nhwc_scratch_floats(g, 1);
        } else {
          packed = (float*)malloc(ck_wino_nhwc_packed_floats(g, m) * 4);
          if (ck_wino_nhwc_pack(g, m, w, packed) != 0) return 1;
          sf = ck_wino_nhwc_scratch_floats(g, m);
        }
        j.packed = packed;
        j.scratch = (float*)malloc((sf > 0 ? sf : 1) * 4);
        const double pk = fma_peak_gflops(2);
        if (pk > peak) peak = pk;
        phase_s[0] = phase_s[1] = phase_s[2] = 0;
        phase_calls = 0;
        const double t = time_best(reps, m == 0 ? run_direct : run_wino, &j);
        double err = 0;
        for (long long i = 0; i < nout; i++) {
          const double d = fabs(ref[i] - out[i]);
          if (!(d <= err)) err = d; /* NaN counts */
        }
        const double gf = flops / t * 1e-9;
        printf("  %s %8.3f ms %6.1f GF/s %5.1f%% err %.1e", m == 0 ? "direct" : m == 2 ? "F2" : "F4",
               t * 1e3, gf, 100 * gf / peak, err / refmax);
        if (m > 0 && getenv("CK_BENCH_PHASES") && phase_calls > 0)
          printf(" (in %.3f, mul %.3f, out %.3f ms per call, mean)", phase_s[0] * 1e3 / phase_calls,
                 phase_s[1] * 1e3 / phase_calls, phase_s[2] * 1e3 / phase_calls);
        free(packed);
        free(j.scratch);
      }
    }
    printf("\n");
    fflush(stdout);
    free(in); free(w); free(bias); free(out); free(ref);
  }
  printf("FMA peak (12 chains of the bench's ISA, 1 thread, best of the run): %.1f GFLOP/s\n", peak);
  return 0;
}
