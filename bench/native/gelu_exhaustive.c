// Build/run (the JNI build's flags): g++ -O3 -march=x86-64 -m64 -std=c++11 -Wno-psabi -I native -x c++ bench/native/gelu_exhaustive.c -o /tmp/gelux && /tmp/gelux [limit]
/* The epilogues' GELU (act_lanes.inc, through the AVX2 and the portable act_span) on every float
 * v with 1e-30 <= |v| <= limit (8 by default: beyond it Phi is 0 or 1 in float, which the conv tests' far
 * ends check), against v * Phi(v) in double (erfc, no cancellation on either side): the largest
 * |GELU error| / |v| (Phi's error plus the product's rounding), where it occurs, the largest
 * error as a fraction of NativeActivationTest's bound (2.5e-7 |v| + 2 ulp + FLT_MIN), and whether
 * GELU(-0) is -0, GELU(+-Inf) is +Inf and NaN, and NaN stays NaN. About a minute a variant. */
#include "common.c"
#include "conv_nhwc.c"
#include "winograd_nhwc.c"
#include "nhwc_ops.c"
#include "ir_nhwc.c"
#include "isa_portable.c"
#include "isa_avx2.c"
#include "isa_avx512.c"
#include "dispatch.c"
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double phi(double v) { return 0.5 * erfc(-v / sqrt(2.0)); }

int main(int argc, char** argv) {
  const float limit = argc > 1 ? (float)atof(argv[1]) : 8.0f;
  const int n = 1 << 16;
  float* x = (float*)malloc(n * 4);
  float* y = (float*)malloc(n * 4);
  const char* names[] = {"portable", "avx2"};
  int bad = 0;
  for (int isa = 0; isa < 2; isa++) {
    double worst = 0, worstAt = 0, ratio = 0;
    long long count = 0;
    /* every float bit pattern from +0 up to limit, and its negative */
    unsigned int top;
    memcpy(&top, &limit, 4);
    for (int sign = 0; sign < 2; sign++)
      for (unsigned long long u0 = 0; u0 <= top; u0 += n) {
        int m = 0;
        for (unsigned long long u = u0; u <= top && m < n; u++, m++) {
          unsigned int bits = (unsigned int)u | (sign ? 0x80000000u : 0);
          memcpy(&x[m], &bits, 4);
        }
        memcpy(y, x, m * 4);
        if (isa == 0) act_span_portable(y, m, 5); else act_span_avx2(y, m, 5);
        for (int i = 0; i < m; i++) {
          const double v = x[i];
          if (fabs(v) < 1e-30) continue; /* subnormal territory: the tests allow FLT_MIN there */
          const double exact = v * phi(v), err = fabs(y[i] - exact);
          const double e = err / fabs(v);
          if (e > worst) { worst = e; worstAt = v; }
          /* NativeActivationTest's bound */
          const double r = err / (2.5e-7 * fabs(v) + 2 * ldexp(1.0, -24) * fabs(exact) + FLT_MIN);
          if (r > ratio) ratio = r;
        }
        count += m;
      }
    float s[4] = {-0.0f, INFINITY, -INFINITY, NAN};
    if (isa == 0) act_span_portable(s, 4, 5); else act_span_avx2(s, 4, 5);
    const int specials = signbit(s[0]) && s[0] == 0 && s[1] == INFINITY && isnan(s[2]) && isnan(s[3]);
    printf("%-8s %lld floats |v| <= %g: max |GELU error| / |v| %.3g at v = %.9g, %.2f of the "
           "test's bound; specials %s\n", names[isa], count, limit, worst, worstAt, ratio,
           specials ? "ok" : "WRONG");
    if (!specials || ratio > 1) bad = 1;
  }
  free(x);
  free(y);
  return bad;
}
