/* The 8-lane vector ops for the AVX2+FMA variants (the including file has switched the target). */
#define VF __m256
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VSET1(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VMAX(a, b) _mm256_max_ps((a), (b))
#define VMIN(a, b) _mm256_min_ps((a), (b))
#define VSUB(a, b) _mm256_sub_ps((a), (b))
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define VDIV(a, b) _mm256_div_ps((a), (b))
#define VSQRT(a) _mm256_sqrt_ps(a)
#define VABS(a) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), (a))
/* Per lane: v where v is NaN, else r. max/min/exp (clamped) turn NaN into a number; this puts it
 * back (NaN in, NaN out, as PyTorch and oneDNN). */
#define VKEEP_NAN(v, r) _mm256_blendv_ps((r), (v), _mm256_cmp_ps((v), (v), _CMP_UNORD_Q))
/* max(a, b) that is NaN when either is: _mm256_max_ps already returns b when either is NaN, so
 * only a NaN a needs putting back. */
#define VMAX_NAN(a, b) VKEEP_NAN((a), _mm256_max_ps((a), (b)))
/* Per lane: if_neg where s has its sign bit set (negative, -0.0 included), else if_nonneg. */
#define VSELECT_SIGN(s, if_nonneg, if_neg) _mm256_blendv_ps((if_nonneg), (if_neg), (s))
/* For exp_poly.inc: round to the nearest integer (as a float), and 2^n for an integral n in
 * [-127, 127] put straight into the exponent bits. */
#define VROUND_NEAREST(x) _mm256_round_ps((x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VPOW2I(n)                                                                     \
  _mm256_castsi256_ps(                                                                \
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23))
#define VEXP(x) ck_exp8_avx2(x)
/* e^x in place on m <= 4 vectors, statement by statement across them (exp_poly.inc). */
#define VEXPN(x, m) ck_exp8n_avx2((x), (m))
/* The helpers are defined once; the AVX-512 variants (isa_avx512.c) include this file again and
 * use them (their target is a superset of AVX2's). */
#ifndef CK_VEC8_AVX2_HELPERS
#define CK_VEC8_AVX2_HELPERS
#define CK_EXP_POLY_FN ck_exp8n_avx2
#include "exp_poly.inc"
#undef CK_EXP_POLY_FN
static inline __m256 ck_exp8_avx2(__m256 x) {
  ck_exp8n_avx2(&x, 1);
  return x;
}
static const int ck_avx2_rot8[64] = {0, 1, 2, 3, 4, 5, 6, 7, 7, 0, 1, 2, 3, 4, 5, 6,
                                     6, 7, 0, 1, 2, 3, 4, 5, 5, 6, 7, 0, 1, 2, 3, 4,
                                     4, 5, 6, 7, 0, 1, 2, 3, 3, 4, 5, 6, 7, 0, 1, 2,
                                     2, 3, 4, 5, 6, 7, 0, 1, 1, 2, 3, 4, 5, 6, 7, 0};
static const int ck_avx2_mask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
/* Stores lanes [0, n), 0 < n < 8, as a 4-, a 2- and a 1-lane store: no write past them. (Zen 3
 * runs vmaskmovps stores slowly; LeNet-5's 6-channel outputs spent most of their time there.) */
static inline void ck_avx2_store_first(float* p, __m256 v, int n) {
  __m128 x = _mm256_castps256_ps128(v);
  if (n >= 4) {
    _mm_storeu_ps(p, x);
    p += 4;
    n -= 4;
    x = _mm256_extractf128_ps(v, 1);
  }
  if (n >= 2) {
    _mm_storel_pi((__m64*)p, x);
    p += 2;
    n -= 2;
    x = _mm_movehl_ps(x, x);
  }
  if (n >= 1) _mm_store_ss(p, x);
}
#endif
/* The AVX-512 variants are the same kernels compiled with AVX-512 enabled (and, where a file
 * has one, a 16-lane register tile): their own names, so both sets coexist. */
#ifdef CK_ISA_AVX512
#define CK_FN(name) name##_avx512
#else
#define CK_FN(name) name##_avx2
#endif
#define VSTORE_FIRST(p, v, n) ck_avx2_store_first((p), (v), (n))
/* Within each group of 4 lanes, lane o takes lane (o - j) mod 4 (the grouped 4x4 kernel's
 * rotations, gconv_narrow_nhwc.inc): one in-lane vpermilps each. */
#define VROT4_1(v) _mm256_permute_ps((v), 0x93)
#define VROT4_2(v) _mm256_permute_ps((v), 0x4E)
#define VROT4_3(v) _mm256_permute_ps((v), 0x39)
/* Lane o takes lane (o - j) mod 8: with AVX-512VL one valignd of v with itself (an immediate),
 * else one vpermps (an index vector). */
#ifdef CK_ISA_AVX512
#define VROT8(v, j) \
  _mm256_castsi256_ps(_mm256_alignr_epi32(_mm256_castps_si256(v), _mm256_castps_si256(v), 8 - (j)))
#else
#define VROT8(v, j) \
  _mm256_permutevar8x32_ps((v), _mm256_loadu_si256((const __m256i*)(ck_avx2_rot8 + 8 * (j))))
#endif
#define VROT8_1(v) VROT8((v), 1)
#define VROT8_2(v) VROT8((v), 2)
#define VROT8_3(v) VROT8((v), 3)
#define VROT8_4(v) VROT8((v), 4)
#define VROT8_5(v) VROT8((v), 5)
#define VROT8_6(v) VROT8((v), 6)
#define VROT8_7(v) VROT8((v), 7)
#define VLOAD_FIRST(p, n) \
  _mm256_maskload_ps((p), _mm256_loadu_si256((const __m256i*)(ck_avx2_mask + 8 - (n))))
/* even = x[0], x[2], ..., x[14]; odd = x[1], ..., x[15] of the 16 floats in (a, b). */
#define VDEINTERLEAVE(a, b, even, odd)                                                           \
  do {                                                                                          \
    (even) = _mm256_castpd_ps(_mm256_permute4x64_pd(                                            \
        _mm256_castps_pd(_mm256_shuffle_ps((a), (b), _MM_SHUFFLE(2, 0, 2, 0))), 0xD8));         \
    (odd) = _mm256_castpd_ps(_mm256_permute4x64_pd(                                             \
        _mm256_castps_pd(_mm256_shuffle_ps((a), (b), _MM_SHUFFLE(3, 1, 3, 1))), 0xD8));         \
  } while (0)
