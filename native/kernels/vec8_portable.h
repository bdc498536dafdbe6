/* The 8-lane vector ops for the portable variants: GCC vector extensions, which the compiler
 * lowers to whatever the base target has (two SSE registers on plain x86-64). No FMA. */
#include <string.h>
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float ck_pv8 __attribute__((vector_size(32)));
typedef int ck_pi8 __attribute__((vector_size(32)));
static inline ck_pv8 ck_pv8_load(const float* p) { ck_pv8 v; memcpy(&v, p, 32); return v; }
static inline void ck_pv8_store(float* p, ck_pv8 v) { memcpy(p, &v, 32); }
static inline ck_pv8 ck_pv8_set1(float x) { ck_pv8 z = {0, 0, 0, 0, 0, 0, 0, 0}; return z + x; }
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
static inline void ck_pv8_store_first(float* p, ck_pv8 v, int n) {
  float tmp[8];
  memcpy(tmp, &v, 32);
  for (int i = 0; i < n; i++) p[i] = tmp[i];
}
#define VSTORE_FIRST(p, v, n) ck_pv8_store_first((p), (v), (n))
#define CK_FN(name) name##_portable
