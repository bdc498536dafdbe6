/* The 8-lane vector ops for the AVX2+FMA variants (the including file has switched the target). */
#define VF __m256
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VSET1(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VMAX(a, b) _mm256_max_ps((a), (b))
#define VMIN(a, b) _mm256_min_ps((a), (b))
#define CK_FN(name) name##_avx2
/* Stores lanes [0, n), 0 < n < 8, with a mask: no write past them, no scalar tail loop. */
static const int ck_avx2_mask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
#define VSTORE_FIRST(p, v, n) \
  _mm256_maskstore_ps((p), _mm256_loadu_si256((const __m256i*)(ck_avx2_mask + 8 - (n))), (v))
