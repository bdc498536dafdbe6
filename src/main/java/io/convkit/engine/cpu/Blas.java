package io.convkit.engine.cpu;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_full;

/**
 * Our one door to OpenBLAS. Its thread count is process-wide, so every call states how many
 * threads it may use, and it is changed only when it differs from the last call's.
 */
public final class Blas {
  private static volatile int current = -1;

  private Blas() {}

  /** Row-major {@code C = A[M][K] * B[K][N] + beta*C} on {@code threads} OpenBLAS threads. */
  public static void sgemm(int threads, int M, int N, int K, FloatPointer A, int lda,
      FloatPointer B, int ldb, float beta, FloatPointer C, int ldc) {
    if (threads != current) {
      setThreads(threads);
    }
    openblas_full.cblas_sgemm(openblas_full.CblasRowMajor, openblas_full.CblasNoTrans,
        openblas_full.CblasNoTrans, M, N, K, 1f, A, lda, B, ldb, beta, C, ldc);
  }

  public static synchronized void setThreads(int threads) {
    if (threads != current) {
      openblas_full.openblas_set_num_threads(threads);
      current = threads;
    }
  }

  /** OpenBLAS's build configuration, e.g. "OpenBLAS 0.3.31 DYNAMIC_ARCH ... Zen MAX_THREADS=...". */
  public static String config() {
    return openblas_full.openblas_get_config().getString();
  }
}
