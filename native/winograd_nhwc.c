/* Scalar parts of the Winograd NHWC convolution (3x3, stride 1, dilation 1, groups 1, any
 * padding): the transform matrices, the work plan (tiles, chunks), the weight transform and its
 * packing. The per-ISA part is native/kernels/winograd_nhwc.inc (same translation unit); the
 * batched multiply is the dense NHWC kernel's 1x1 path (conv_nhwc.inc), one call per position.
 *
 * F(m x m, 3 x 3) computes an m x m output tile from an a x a input tile, a = m + 2:
 *   Y = A^T [ sum_c (G g_c G^T) .* (B^T d_c B) ] A
 * with the matrices below (Lavin and Gray's interpolation points 0, +-1, +-2 and infinity for
 * F(4x4); 0, +-1, infinity for F(2x2)). Tiles start at output (0, 0) and step by m; an output
 * tile that crosses the bottom or right edge computes its outside outputs from zero input and
 * drops them. */
#include <stdlib.h>
#include <string.h>
#include "convkit.h"

/* Bytes of transformed inputs and products (V and M) one chunk of tiles holds: at most
 * CK_WINO_CHUNK_BYTES, so that a chunk's three phases pass their data through L3 rather than
 * memory; and, where the transformed weights U are small, CK_WINO_CHUNK_PER_U times U's bytes
 * (at least CK_WINO_CHUNK_MIN_BYTES), since U is streamed once per chunk and smaller chunks keep
 * more of V and M in L2 (64-channel layers on large images). */
#ifndef CK_WINO_CHUNK_BYTES
#define CK_WINO_CHUNK_BYTES (8LL << 20)
#endif
#ifndef CK_WINO_CHUNK_MIN_BYTES
#define CK_WINO_CHUNK_MIN_BYTES (2LL << 20)
#endif
#ifndef CK_WINO_CHUNK_PER_U
#define CK_WINO_CHUNK_PER_U 4
#endif

/* G (a x 3) of F(2x2) and F(4x4), in double: the weight transform runs once per layer, in double,
 * and rounds each transformed weight once. */
static const double ck_wino_g2[4][3] = {
    {1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
static const double ck_wino_g4[6][3] = {{0.25, 0, 0},
                                        {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                        {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                        {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                        {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                        {0, 0, 1}};

typedef struct ck_wino_plan {
  int m, a;          /* output tile m x m, input tile a x a */
  long long nx;      /* a * a transformed positions */
  long long cp, kp;  /* C and K rounded up to 8 (the padded lanes hold zeros) */
  long long th, tw;  /* tiles down and across one image */
  long long tiles;   /* N * th * tw, numbered image by image, row by row */
  long long pc;      /* tiles per chunk (the last chunk may hold fewer) */
  long long chunks;
} ck_wino_plan;

static inline long long ck_wino_up8(long long v) { return (v + 7) / 8 * 8; }

/* The multiply of a chunk of q tiles as one grouped 1x1 convolution: an image of q x 1 "pixels"
 * (the tiles) with nx groups (the positions) of cp inputs and kp outputs, so that
 * M[tile][xi][kp] = V[tile][xi][cp] x U[xi][cp][kp]; each tile's transformed data is then one
 * contiguous run of nx * cp (nx * kp) floats, which the transforms store and load in order. */
static inline void ck_wino_gemm_geom(const ck_wino_plan* p, long long q, long long* g1) {
  for (int i = 0; i < CK_G_COUNT; i++) g1[i] = 0;
  g1[CK_G_N] = 1; g1[CK_G_C] = p->nx * p->cp; g1[CK_G_H] = q; g1[CK_G_W] = 1;
  g1[CK_G_K] = p->nx * p->kp; g1[CK_G_OH] = q; g1[CK_G_OW] = 1;
  g1[CK_G_R] = 1; g1[CK_G_S] = 1; g1[CK_G_SH] = 1; g1[CK_G_SW] = 1;
  g1[CK_G_DH] = 1; g1[CK_G_DW] = 1;
}

static inline ck_wino_plan ck_wino_make_plan(const ck_conv_geom* x, int m) {
  ck_wino_plan p;
  p.m = m;
  p.a = m + 2;
  p.nx = (long long)p.a * p.a;
  p.cp = ck_wino_up8(x->c);
  p.kp = ck_wino_up8(x->k);
  p.th = (x->oh + m - 1) / m;
  p.tw = (x->ow + m - 1) / m;
  p.tiles = x->n * p.th * p.tw;
  long long budget = CK_WINO_CHUNK_PER_U * p.nx * p.cp * p.kp * (long long)sizeof(float);
  if (budget > CK_WINO_CHUNK_BYTES) budget = CK_WINO_CHUNK_BYTES;
  if (budget < CK_WINO_CHUNK_MIN_BYTES) budget = CK_WINO_CHUNK_MIN_BYTES;
  long long pc = budget / (p.nx * (p.cp + p.kp) * (long long)sizeof(float));
  if (pc < 6) pc = 6;
  if (pc > p.tiles) pc = p.tiles;
  if (pc < 1) pc = 1;
  p.chunks = (p.tiles + pc - 1) / pc;
  p.pc = (p.tiles + p.chunks - 1) / p.chunks; /* even chunks */
  return p;
}

/* Tiles [first, first + count) of chunk j. */
static inline long long ck_wino_chunk_first(const ck_wino_plan* p, long long j) {
  return j * p->pc;
}
static inline long long ck_wino_chunk_tiles(const ck_wino_plan* p, long long j) {
  const long long first = j * p->pc;
  return first + p->pc < p->tiles ? p->pc : p->tiles - first;
}

/* Packed weights: [0] 1 when every weight is finite, else 0; from float 16, U packed as the
 * dense kernel's grouped 1x1 weights (ck_wino_gemm_geom; zero rows and columns past C and K);
 * then the original [K][C][3][3] weights, which the tiles with a non-finite result recompute
 * from. */
#define CK_WINO_U0 16
static inline long long ck_wino_u_floats(const ck_wino_plan* p) {
  long long g1[CK_G_COUNT];
  ck_wino_gemm_geom(p, 1, g1);
  return (ck_conv_nhwc_packed_floats(g1, p->nx) + 15) / 16 * 16;
}

long long ck_wino_nhwc_packed_floats(const long long* g, int m) {
  const ck_conv_geom x = ck_geom(g);
  const ck_wino_plan p = ck_wino_make_plan(&x, m);
  return CK_WINO_U0 + ck_wino_u_floats(&p) + x.k * x.c * 9;
}

int ck_wino_nhwc_pack(const long long* g, int m, const float* w, float* packed) {
  const ck_conv_geom x = ck_geom(g);
  const ck_wino_plan p = ck_wino_make_plan(&x, m);
  const long long K = x.k, C = x.c, a = p.a;
  const double(*G)[3] = m == 2 ? ck_wino_g2 : ck_wino_g4;
  float* u = (float*)malloc((size_t)(p.nx * p.kp * p.cp) * sizeof(float)); /* [xi][kp][cp] */
  if (!u) return -1;
  memset(u, 0, (size_t)(p.nx * p.kp * p.cp) * sizeof(float));
  int finite = 1;
  for (long long k = 0; k < K; k++)
    for (long long c = 0; c < C; c++) {
      const float* f = w + (k * C + c) * 9;
      for (int i = 0; i < 9; i++) {
        unsigned int bits;
        memcpy(&bits, f + i, sizeof bits);
        if ((bits & 0x7f800000u) == 0x7f800000u) finite = 0; /* NaN or an infinity */
      }
      double t[6][3]; /* G g */
      for (int i = 0; i < a; i++)
        for (int s = 0; s < 3; s++)
          t[i][s] = G[i][0] * f[0 * 3 + s] + G[i][1] * f[1 * 3 + s] + G[i][2] * f[2 * 3 + s];
      for (int i = 0; i < a; i++)
        for (int j = 0; j < a; j++) /* (G g) G^T */
          u[((i * a + j) * p.kp + k) * p.cp + c] =
              (float)(t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2]);
    }
  memset(packed, 0, CK_WINO_U0 * sizeof(float));
  packed[0] = finite ? 1.0f : 0.0f;
  long long g1[CK_G_COUNT];
  ck_wino_gemm_geom(&p, 1, g1);
  const long long used = ck_conv_nhwc_packed_floats(g1, p.nx), uf = ck_wino_u_floats(&p);
  ck_conv_nhwc_pack(g1, p.nx, u, packed + CK_WINO_U0); /* u is [nx * kp][cp]: group xi's rows */
  for (long long i = used; i < uf; i++) packed[CK_WINO_U0 + i] = 0.0f;
  memcpy(packed + CK_WINO_U0 + uf, w, (size_t)(K * C * 9) * sizeof(float));
  free(u);
  return 0;
}

long long ck_wino_nhwc_chunks(const long long* g, int m) {
  const ck_conv_geom x = ck_geom(g);
  return ck_wino_make_plan(&x, m).chunks;
}

/* Phase 0 (input transform) and 2 (output transform): one task per tile of the chunk; phase 1
 * (the multiply): the grouped 1x1 kernel's tasks, position by position. */
long long ck_wino_nhwc_tasks(const long long* g, int m, int phase, long long chunk) {
  const ck_conv_geom x = ck_geom(g);
  const ck_wino_plan p = ck_wino_make_plan(&x, m);
  const long long q = ck_wino_chunk_tiles(&p, chunk);
  if (phase != 1) return q;
  long long g1[CK_G_COUNT];
  ck_wino_gemm_geom(&p, q, g1);
  return ck_conv_nhwc_tasks(g1, p.nx);
}


long long ck_wino_nhwc_scratch_floats(const long long* g, int m) {
  const ck_conv_geom x = ck_geom(g);
  const ck_wino_plan p = ck_wino_make_plan(&x, m);
  return p.nx * p.pc * (p.cp + p.kp);
}
