// A/B of the dense NHWC convolution between another checkout's kernels and this tree's, in one
// process, alternating 20 ms blocks (this machine's speed drifts by up to 1.4x between runs, so
// separate runs cannot tell a 10% change). Build, with OLD a checkout of the base revision
// (e.g. `git worktree add /tmp/old HEAD`), from the repository root:
//   mkdir -p /tmp/ab && ln -sfn /tmp/old /tmp/ab/ab_old &&
//   g++ -O3 -march=x86-64 -m64 -std=c++11 -Wno-psabi -w -I /tmp/ab -I bench/native \
//       bench/native/conv_nhwc_ab.cc -o /tmp/cab && /tmp/cab [rounds] [C,K,H,R,stride,pad ...]
// Prints per layer the best time of each side, new/old speed, and whether the outputs match
// bit for bit (they should, unless the change reorders the sums). ISA: CK_BENCH_ISA as the
// other benches; the fused activation: CK_BENCH_ACT (convkit.h's codes; 1 ReLU by default);
// CK_BENCH_COLD=1: the weights flushed from the caches before every call (batch 1 in a network);
// CK_BENCH_SEQ=1: the layers timed as one sequence, each after the others, as a network pass;
// CK_BENCH_HUGE=1: the new side's weights on huge pages (ck_pages_alloc, as PackedWeights maps
// weights of 2 MB or more), for any size, to measure what the TLB costs a layer sequence.
// A layer C,K,H,R,stride,pad,dw (a seventh field 1) is depthwise (K = C, ck_dw_nhwc). In a
// sequence each layer reads the previous layer's output where the sizes match, as a network pass
// does (the activations stay where the last layer left them in the caches); weights are scaled
// He-style (variance 2 / fan-in), so a long chain neither overflows nor decays into denormals.
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __linux__
#include <sys/mman.h> /* before the namespaces: common.c includes it too */
#endif

#include <algorithm>
#include <vector>

// Both trees in one program: their extern "C" entry points get C++ (namespaced) names.
#pragma push_macro("__cplusplus")
#undef __cplusplus
namespace ab_old {
#include "ab_old/native/common.c"
#include "ab_old/native/conv_nhwc.c"
#include "ab_old/native/winograd_nhwc.c"
#include "ab_old/native/nhwc_ops.c"
#include "ab_old/native/ir_nhwc.c"
#include "ab_old/native/isa_portable.c"
#include "ab_old/native/isa_avx2.c"
#include "ab_old/native/isa_avx512.c"
#include "ab_old/native/dispatch.c"
}  // namespace ab_old
#undef CONVKIT_H
#undef CK_VEC8_AVX2_HELPERS
#undef CK_DWN_ONCE
#undef CK_GCN_ONCE
#undef CK_REORDER_ONCE
namespace ab_new {
#include "../../native/common.c"
#include "../../native/conv_nhwc.c"
#include "../../native/winograd_nhwc.c"
#include "../../native/nhwc_ops.c"
#include "../../native/ir_nhwc.c"
#include "../../native/isa_portable.c"
#include "../../native/isa_avx2.c"
#include "../../native/isa_avx512.c"
#include "../../native/dispatch.c"
}  // namespace ab_new
#pragma pop_macro("__cplusplus")
namespace ab_new {
#include "bench_common.h"
}  // namespace ab_new

struct Layer { long long c, k, h, r, st, pad, dw; };
// One layer's buffers for both sides; the outputs of the first calls compared bit for bit.
struct Case {
  Layer y;
  int isa, act;
  long long oh, nout, g[ab_new::CK_G_COUNT], t1, t2, w1_bytes, w2_bytes;
  float *in, *w, *bias, *o1, *o2, *p1, *p2, *sc1, *sc2;
  const float *in1, *in2; // what each side reads: in, or the previous layer's output (sequence)
  long long nin;
  double flops;
  int same, huge;
  Case(Layer l, int isa_, int act_) : y(l), isa(isa_), act(act_) {
    if (y.dw) y.k = y.c;
    oh = (y.h + 2 * y.pad - y.r) / y.st + 1;
    ab_new::conv_geometry(g, y.c, y.k, y.h, y.r, y.r, y.st, y.pad);
    nin = y.c * y.h * y.h;
    const long long fan = (y.dw ? 1 : y.c) * y.r * y.r, nw = y.k * fan;
    nout = y.k * oh * oh;
    in = (float*)aligned_alloc(64, (nin * 4 + 63) / 64 * 64);
    w = (float*)malloc(nw * 4);
    bias = (float*)malloc(y.k * 4);
    o1 = (float*)aligned_alloc(64, (nout * 4 + 63) / 64 * 64);
    o2 = (float*)aligned_alloc(64, (nout * 4 + 63) / 64 * 64);
    for (long long i = 0; i < nin; i++) in[i] = (float)rand() / RAND_MAX - 0.5f;
    const float he = sqrtf(24.0f / fan); // uniform(-0.5, 0.5) has variance 1/12
    for (long long i = 0; i < nw; i++) w[i] = ((float)rand() / RAND_MAX - 0.5f) * he;
    for (long long i = 0; i < y.k; i++) bias[i] = (float)rand() / RAND_MAX - 0.5f;
    in1 = in2 = in;
    w1_bytes = (y.dw ? ab_old::ck_dw_nhwc_packed_floats(g) : ab_old::ck_conv_nhwc_packed_floats(g, 1)) * 4;
    w2_bytes = (y.dw ? ab_new::ck_dw_nhwc_packed_floats(g) : ab_new::ck_conv_nhwc_packed_floats(g, 1)) * 4;
    p1 = (float*)malloc(w1_bytes);
    huge = getenv("CK_BENCH_HUGE") && *getenv("CK_BENCH_HUGE");
    p2 = huge ? (float*)(size_t)ab_new::ck_pages_alloc(w2_bytes) : NULL;
    if (!p2) huge = 0, p2 = (float*)malloc(w2_bytes);
    if (y.dw) {
      ab_old::ck_dw_nhwc_pack(g, w, p1);
      ab_new::ck_dw_nhwc_pack(g, w, p2);
    } else {
      ab_old::ck_conv_nhwc_pack(g, 1, w, p1);
      ab_new::ck_conv_nhwc_pack(g, 1, w, p2);
    }
    const long long s1 = y.dw ? 0 : ab_old::ck_conv_nhwc_scratch_floats(g, 1);
    const long long s2 = y.dw ? 0 : ab_new::ck_conv_nhwc_scratch_floats(g, 1);
    sc1 = (float*)malloc((s1 > 0 ? s1 : 1) * 4);
    sc2 = (float*)malloc((s2 > 0 ? s2 : 1) * 4);
    t1 = y.dw ? ab_old::ck_dw_nhwc_tasks(g) : ab_old::ck_conv_nhwc_tasks(g, 1);
    t2 = y.dw ? ab_new::ck_dw_nhwc_tasks(g) : ab_new::ck_conv_nhwc_tasks(g, 1);
    flops = 2.0 * y.k * fan * oh * oh;
    run_old();
    run_new();
    same = memcmp(o1, o2, nout * 4) == 0;
  }
  void run_old() {
    if (y.dw) ab_old::ck_dw_nhwc(isa, g, in1, p1, bias, o1, act, 0, t1, sc1);
    else ab_old::ck_conv_nhwc(isa, g, 1, in1, p1, bias, NULL, o1, act, 0, t1, sc1);
  }
  void run_new() {
    if (y.dw) ab_new::ck_dw_nhwc(isa, g, in2, p2, bias, o2, act, 0, t2, sc2);
    else ab_new::ck_conv_nhwc(isa, g, 1, in2, p2, bias, NULL, o2, act, 0, t2, sc2);
  }
  const char* variant() const {
    return y.dw ? ab_new::ck_dw_nhwc_variant(isa, g) : ab_new::ck_conv_nhwc_variant(isa, g, 1);
  }
  ~Case() {
    free(in); free(w); free(bias); free(o1); free(o2); free(p1);
    if (huge) ab_new::ck_pages_free((long long)(size_t)p2, w2_bytes); else free(p2);
    free(sc1); free(sc2);
  }
};

// CK_BENCH_COLD=1: each call starts with the packed weights flushed from every cache level, as
// a network at batch 1 meets a layer's weights (the other layers' weights and activations have
// passed through the caches since); the flush is not timed.
static int cold_calls() {
  const char* e = getenv("CK_BENCH_COLD");
  return e && *e && atoi(e) > 0;
}
static void flush_lines(const void* p, long long bytes) {
  for (long long i = 0; i < bytes; i += 64) _mm_clflush((const char*)p + i);
  _mm_mfence();
}

template <class F>
static double best_block(F f, double* best, const void* cold, long long cold_bytes) {
  int it = 0;
  double e = 0;
  if (cold) {
    for (; it < 10; it++) {
      flush_lines(cold, cold_bytes);
      const double t = ab_new::now_s();
      f();
      e += ab_new::now_s() - t;
    }
  } else {
    const double t = ab_new::now_s();
    do { f(); it++; e = ab_new::now_s() - t; } while (e < 0.02);
  }
  if (e / it < *best) *best = e / it;
  return e / it;
}

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? atoi(argv[1]) : 10;
  Layer def[] = {{32, 64, 112, 1, 1, 0, 0},  {144, 24, 56, 1, 1, 0, 0}, {24, 144, 56, 1, 1, 0, 0},
                 {16, 96, 112, 1, 1, 0, 0},  {64, 256, 56, 1, 1, 0, 0}, {1024, 256, 14, 1, 1, 0, 0},
                 {512, 512, 14, 1, 1, 0, 0}, {768, 3072, 7, 1, 1, 0, 0}, {96, 384, 56, 1, 1, 0, 0},
                 {128, 128, 28, 3, 1, 1, 0}, {3, 64, 224, 7, 2, 3, 0},  {512, 512, 14, 3, 1, 1, 1}};
  Layer* L = def;
  int nl = sizeof(def) / sizeof(def[0]);
  Layer arg[64];
  if (argc > 2) {
    nl = 0;
    for (int i = 2; i < argc && nl < 64; i++) {
      Layer& y = arg[nl++];
      y.dw = 0;
      sscanf(argv[i], "%lld,%lld,%lld,%lld,%lld,%lld,%lld", &y.c, &y.k, &y.h, &y.r, &y.st, &y.pad,
             &y.dw);
    }
    L = arg;
  }
  const int isa = ab_new::bench_isa();
  const char* act_env = getenv("CK_BENCH_ACT");
  const int act = act_env && *act_env ? atoi(act_env) : 1;
  srand(1);
  std::vector<Case*> cases;
  for (int li = 0; li < nl; li++) cases.push_back(new Case(L[li], isa, act));
  const char* seq = getenv("CK_BENCH_SEQ");
  if (seq && *seq && atoi(seq) > 0) {
    // The layers one after another, each with its own weights, as a network pass runs them:
    // each layer meets its weights after the others' have passed through the caches.
    for (size_t i = 1; i < cases.size(); i++) {
      if (cases[i - 1]->nout == cases[i]->nin) {
        cases[i]->in1 = cases[i - 1]->o1;
        cases[i]->in2 = cases[i - 1]->o2;
      }
    }
    auto all_old = [&] { for (Case* c : cases) c->run_old(); };
    auto all_new = [&] { for (Case* c : cases) c->run_new(); };
    double b1 = 1e30, b2 = 1e30, flops = 0;
    int wins = 0, same = 1;
    for (Case* c : cases) flops += c->flops, same &= c->same;
    for (int r = 0; r < rounds; r++) {
      const double a = best_block(all_old, &b1, NULL, 0);
      const double b = best_block(all_new, &b2, NULL, 0);
      if (b < a) wins++;
    }
    if (atoi(seq) > 1) {
      // CK_BENCH_SEQ=2: each layer's time inside the sequence, old and new passes alternating
      // (the median over 20 passes a round, then the median over the rounds of the per-round
      // new/old ratio), beside the layer run alone (hot).
      const size_t n = cases.size();
      const int passes = 20;
      std::vector<std::vector<double>> r(n), m1(n), m2(n);
      // One pass of the sequence on one side, each layer's time appended to its list.
      auto pass = [&](bool old_side, std::vector<std::vector<double>>& t) {
        for (size_t i = 0; i < n; i++) {
          const double t0 = ab_new::now_s();
          if (old_side) cases[i]->run_old(); else cases[i]->run_new();
          t[i].push_back(ab_new::now_s() - t0);
        }
      };
      auto median = [](std::vector<double>& v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
      };
      for (int k = 0; k < rounds; k++) {
        std::vector<std::vector<double>> a(n), b(n);
        for (int p = 0; p < passes; p++) {
          pass(true, a);
          pass(false, b);
        }
        for (size_t i = 0; i < n; i++) {
          m1[i].push_back(median(a[i]));
          m2[i].push_back(median(b[i]));
          r[i].push_back(m1[i].back() / m2[i].back());
        }
      }
      for (size_t i = 0; i < n; i++) {
        int wins = 0;
        for (double v : r[i]) wins += v > 1;
        const double ratio = median(r[i]), old_ms = median(m1[i]) * 1e3,
                     new_ms = median(m2[i]) * 1e3;
        double alone = 1e30;
        best_block([&] { cases[i]->run_new(); }, &alone, NULL, 0);
        best_block([&] { cases[i]->run_new(); }, &alone, NULL, 0);
        const Layer& y = cases[i]->y;
        printf("  %4lld->%-4lld %3lldx%-3lld %lldx%lld s%lld%s  in the sequence old %8.4f new %8.4f"
               " ms  new/old %.2f (%d of %d)  new alone %8.4f ms  [%s]\n", y.c, y.k,
               cases[i]->oh, cases[i]->oh, y.r, y.r, y.st, y.dw ? " dw" : "   ",
               old_ms, new_ms, ratio, wins, rounds,
               alone * 1e3, cases[i]->variant());
      }
    }
    printf("sequence of %d layers  old %8.4f ms %6.1f GF/s  new %8.4f ms %6.1f GF/s  new/old %.2f"
           "  (new faster in %d of %d rounds)  %s\n",
           nl, b1 * 1e3, flops / b1 * 1e-9, b2 * 1e3, flops / b2 * 1e-9, b1 / b2, wins, rounds,
           same ? "same bits" : "BITS DIFFER");
  } else {
    for (Case* c : cases) {
      double b1 = 1e30, b2 = 1e30;
      int wins = 0;
      const int cold = cold_calls();
      for (int r = 0; r < rounds; r++) {
        const double a = best_block([&] { c->run_old(); }, &b1, cold ? c->p1 : NULL, c->w1_bytes);
        const double b = best_block([&] { c->run_new(); }, &b2, cold ? c->p2 : NULL, c->w2_bytes);
        if (b < a) wins++;
      }
      const Layer& y = c->y;
      printf("%4lld->%-4lld %3lldx%-3lld %lldx%lld s%lld  old %8.4f ms %6.1f GF/s  new %8.4f ms"
             " %6.1f GF/s  new/old %.2f  (new faster in %d of %d rounds)  %s  [%s]\n",
             y.c, y.k, c->oh, c->oh, y.r, y.r, y.st, b1 * 1e3, c->flops / b1 * 1e-9, b2 * 1e3,
             c->flops / b2 * 1e-9, b1 / b2, wins, rounds, c->same ? "same bits" : "BITS DIFFER",
             c->variant());
    }
  }
  for (Case* c : cases) delete c;
  return 0;
}
