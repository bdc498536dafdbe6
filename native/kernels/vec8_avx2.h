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
#define CK_FN(name) name##_avx2
/* Stores lanes [0, n), 0 < n < 8, with a mask: no write past them, no scalar tail loop. */
static const int ck_avx2_mask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
#define VSTORE_FIRST(p, v, n) \
  _mm256_maskstore_ps((p), _mm256_loadu_si256((const __m256i*)(ck_avx2_mask + 8 - (n))), (v))
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
