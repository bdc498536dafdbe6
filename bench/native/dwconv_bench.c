// Build/run (the JNI build's flags): g++ -O3 -march=x86-64 -m64 -std=c++11 -Wno-psabi -I native -I bench/native -x c++ bench/native/dwconv_bench.c -o /tmp/dwb && /tmp/dwb [rounds] [layer filter]
/* Single-thread time of ck_dw_nhwc (depthwise, NHWC) on the AVX2 and the AVX-512 variants,
 * alternating round by round in one process (the machine is shared and its speed drifts: only
 * a same-round ratio means anything), on 64-byte aligned tensors as Tensor allocates them.
 * Prints each variant's best and median, the median of the per-round ratios, and whether the
 * two outputs are the same bits (the zmm tiles sum in the 8-lane tiles' order). */
#include "common.c"
#include "conv_nhwc.c"
#include "winograd_nhwc.c"
#include "nhwc_ops.c"
#include "ir_nhwc.c"
#include "isa_portable.c"
#include "isa_avx2.c"
#include "isa_avx512.c"
#include "dispatch.c"
#include <algorithm>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vector>

#include "bench_common.h"

typedef struct { const char* name; long long c, h, st; } layer;

static double time_call(int isa, const long long* g, const float* in, const float* packed,
                        const float* bias, float* out, long long T) {
  int it = 0;
  const double t = now_s();
  double e;
  do {
    ck_dw_nhwc(isa, g, in, packed, bias, out, 2, 0, T, NULL);
    it++;
    e = now_s() - t;
  } while (e < 0.01);
  return e / it;
}

static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? atoi(argv[1]) : 15;
  const char* only = argc > 2 ? argv[2] : NULL;
  if (ck_best_isa() < 2) {
    printf("this CPU has no AVX-512: nothing to compare\n");
    return 0;
  }
  const layer L[] = {
      {"mobilenet_v1_dw2 64ch 112 s2", 64, 112, 2},
      {"mobilenet_v1_dw13 512ch 14 s1", 512, 14, 1},
      {"mobilenet_v2_dw 144ch 56 s1", 144, 56, 1},
      {"mobilenet_v1_dw1 32ch 112 s1", 32, 112, 1},
      {"mobilenet_v1_dw3 128ch 56 s1", 128, 56, 1},
      {"mobilenet_v1_dw4 128ch 56 s2", 128, 56, 2},
      {"mobilenet_v2 96ch 112 s2", 96, 112, 2},
      {"mobilenet_v2 384ch 14 s1", 384, 14, 1},
      {"mobilenet_v2 576ch 14 s1", 576, 14, 1},
      {"mobilenet_v2 960ch 7 s1", 960, 7, 1},
      {"mobilenet_v1_dw12 512ch 14 s2", 512, 14, 2},
  };
  srand(1);
  for (size_t li = 0; li < sizeof(L) / sizeof(L[0]); li++) {
    const layer* y = &L[li];
    if (only && !strstr(y->name, only)) continue;
    long long g[CK_G_COUNT];
    const long long oh = (y->h + 2 - 3) / y->st + 1;
    conv_geometry(g, y->c, y->c, y->h, 3, 3, y->st, 1);
    const long long nin = y->c * y->h * y->h, nout = y->c * oh * oh;
    float* in = (float*)aligned_alloc(64, ((nin * 4 + 63) / 64) * 64);
    float* out1 = (float*)aligned_alloc(64, ((nout * 4 + 63) / 64) * 64);
    float* out2 = (float*)aligned_alloc(64, ((nout * 4 + 63) / 64) * 64);
    std::vector<float> w(y->c * 9), bias(y->c);
    std::vector<float> packed(ck_dw_nhwc_packed_floats(g));
    for (long long i = 0; i < nin; i++) in[i] = (float)rand() / RAND_MAX - 0.3f;
    for (auto& v : w) v = (float)rand() / RAND_MAX - 0.5f;
    for (auto& v : bias) v = (float)rand() / RAND_MAX - 0.5f;
    ck_dw_nhwc_pack(g, w.data(), packed.data());
    const long long T = ck_dw_nhwc_tasks(g);
    ck_dw_nhwc(1, g, in, packed.data(), bias.data(), out1, 2, 0, T, NULL);
    ck_dw_nhwc(2, g, in, packed.data(), bias.data(), out2, 2, 0, T, NULL);
    const int same = memcmp(out1, out2, nout * 4) == 0;
    std::vector<double> t1, t2, ratio;
    for (int r = 0; r < rounds; r++) {
      const double a = time_call(1, g, in, packed.data(), bias.data(), out1, T);
      const double b = time_call(2, g, in, packed.data(), bias.data(), out2, T);
      t1.push_back(a); t2.push_back(b); ratio.push_back(a / b);
    }
    printf("%-32s avx2 %-30s best %.4f med %.4f ms | avx512 %-36s best %.4f med %.4f ms | "
           "avx2/avx512 median %.2f | %s\n",
           y->name, ck_dw_nhwc_variant(1, g), *std::min_element(t1.begin(), t1.end()) * 1e3,
           median(t1) * 1e3, ck_dw_nhwc_variant(2, g),
           *std::min_element(t2.begin(), t2.end()) * 1e3, median(t2) * 1e3, median(ratio),
           same ? "same bits" : "OUTPUTS DIFFER");
    free(in); free(out1); free(out2);
  }
  return 0;
}
