/* The 8-lane vector ops for the portable variants: GCC vector extensions, which the compiler
 * lowers to whatever the base target has (two SSE registers on plain x86-64). No FMA. */
#include <math.h>
#include <string.h>
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float ck_pv8 __attribute__((vector_size(32)));
typedef int ck_pi8 __attribute__((vector_size(32)));
static inline ck_pv8 ck_pv8_load(const float* p) { ck_pv8 v; memcpy(&v, p, 32); return v; }
static inline void ck_pv8_store(float* p, ck_pv8 v) { memcpy(p, &v, 32); }
static inline ck_pv8 ck_pv8_set1(float x) { ck_pv8 z = {0, 0, 0, 0, 0, 0, 0, 0}; return z + x; }
static inline ck_pi8 ck_pv8_set1_bits(int b) { ck_pi8 z = {0, 0, 0, 0, 0, 0, 0, 0}; return z + b; }
static inline ck_pv8 ck_pv8_max(ck_pv8 a, ck_pv8 b) {
  ck_pi8 m = a > b; return (ck_pv8)(((ck_pi8)a & m) | ((ck_pi8)b & ~m));
}
static inline ck_pv8 ck_pv8_min(ck_pv8 a, ck_pv8 b) {
  ck_pi8 m = a < b; return (ck_pv8)(((ck_pi8)a & m) | ((ck_pi8)b & ~m));
}
#define VF ck_pv8
#define VLOAD(p) ck_pv8_load(p)
#define VSTORE(p, v) ck_pv8_store((p), (v))
#define VSET1(x) ck_pv8_set1(x)
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VADD(a, b) ((a) + (b))
#define VMAX(a, b) ck_pv8_max((a), (b))
#define VMIN(a, b) ck_pv8_min((a), (b))
#define VSUB(a, b) ((a) - (b))
#define VMUL(a, b) ((a) * (b))
#define VDIV(a, b) ((a) / (b))
/* Lane by lane: the vector extensions have no square root (each lane correctly rounded). */
static inline ck_pv8 ck_pv8_sqrt(ck_pv8 a) {
  float t[8];
  memcpy(t, &a, 32);
  for (int i = 0; i < 8; i++) t[i] = __builtin_sqrtf(t[i]);
  return ck_pv8_load(t);
}
#define VSQRT(a) ck_pv8_sqrt(a)
static inline ck_pv8 ck_pv8_abs(ck_pv8 a) {
  return (ck_pv8)((ck_pi8)a & ck_pv8_set1_bits(0x7fffffff));
}
#define VABS(a) ck_pv8_abs(a)
/* Per lane: v where v is NaN, else r (see vec8_avx2.h). v != v is true exactly for NaN. */
static inline ck_pv8 ck_pv8_keep_nan(ck_pv8 v, ck_pv8 r) {
  ck_pi8 m = v != v;
  return (ck_pv8)(((ck_pi8)v & m) | ((ck_pi8)r & ~m));
}
#define VKEEP_NAN(v, r) ck_pv8_keep_nan((v), (r))
/* ck_pv8_max returns b when either is NaN, as _mm256_max_ps does: put a NaN a back. */
#define VMAX_NAN(a, b) VKEEP_NAN((a), ck_pv8_max((a), (b)))
static inline ck_pv8 ck_pv8_select_sign(ck_pv8 s, ck_pv8 if_nonneg, ck_pv8 if_neg) {
  ck_pi8 m = (ck_pi8)s < 0; /* the sign bit, as the AVX2 blend reads it */
  return (ck_pv8)(((ck_pi8)if_neg & m) | ((ck_pi8)if_nonneg & ~m));
}
#define VSELECT_SIGN(s, if_nonneg, if_neg) ck_pv8_select_sign((s), (if_nonneg), (if_neg))
/* e^x per lane with libm's expf. (No overflow: sigmoid clamps its argument to 88.37 first;
 * tanh's is <= 0.) */
static inline ck_pv8 ck_pv8_exp(ck_pv8 x) {
  float t[8];
  memcpy(t, &x, 32);
  for (int i = 0; i < 8; i++) t[i] = expf(t[i]);
  return ck_pv8_load(t);
}
#define VEXP(x) ck_pv8_exp(x)
static inline void ck_pv8_expn(ck_pv8* x, int m) {
  for (int k = 0; k < m; k++) x[k] = ck_pv8_exp(x[k]);
}
#define VEXPN(x, m) ck_pv8_expn((x), (m))
static inline void ck_pv8_store_first(float* p, ck_pv8 v, int n) {
  float tmp[8];
  memcpy(tmp, &v, 32);
  for (int i = 0; i < n; i++) p[i] = tmp[i];
}
#define VSTORE_FIRST(p, v, n) ck_pv8_store_first((p), (v), (n))
static inline ck_pv8 ck_pv8_load_first(const float* p, int n) {
  float tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < n; i++) tmp[i] = p[i];
  return ck_pv8_load(tmp);
}
#define VLOAD_FIRST(p, n) ck_pv8_load_first((p), (n))
static inline void ck_pv8_deinterleave(ck_pv8 a, ck_pv8 b, ck_pv8* even, ck_pv8* odd) {
  const ck_pi8 e = {0, 2, 4, 6, 8, 10, 12, 14}, o = {1, 3, 5, 7, 9, 11, 13, 15};
  *even = __builtin_shuffle(a, b, e);
  *odd = __builtin_shuffle(a, b, o);
}
/* Within each group of 4 lanes, lane o takes lane (o - j) mod 4 (see vec8_avx2.h). */
static const ck_pi8 ck_pv8_rot4_1 = {3, 0, 1, 2, 7, 4, 5, 6};
static const ck_pi8 ck_pv8_rot4_2 = {2, 3, 0, 1, 6, 7, 4, 5};
static const ck_pi8 ck_pv8_rot4_3 = {1, 2, 3, 0, 5, 6, 7, 4};
#define VROT4_1(v) __builtin_shuffle((v), ck_pv8_rot4_1)
#define VROT4_2(v) __builtin_shuffle((v), ck_pv8_rot4_2)
#define VROT4_3(v) __builtin_shuffle((v), ck_pv8_rot4_3)
/* Lane o takes lane (o - j) mod 8. */
static inline ck_pv8 ck_pv8_rot8(ck_pv8 v, int j) {
  const ck_pi8 o = {0, 1, 2, 3, 4, 5, 6, 7};
  return __builtin_shuffle(v, (o - j) & 7);
}
#define VROT8_1(v) ck_pv8_rot8((v), 1)
#define VROT8_2(v) ck_pv8_rot8((v), 2)
#define VROT8_3(v) ck_pv8_rot8((v), 3)
#define VROT8_4(v) ck_pv8_rot8((v), 4)
#define VROT8_5(v) ck_pv8_rot8((v), 5)
#define VROT8_6(v) ck_pv8_rot8((v), 6)
#define VROT8_7(v) ck_pv8_rot8((v), 7)
#define VDEINTERLEAVE(a, b, even, odd) ck_pv8_deinterleave((a), (b), &(even), &(odd))
#define CK_FN(name) name##_portable
