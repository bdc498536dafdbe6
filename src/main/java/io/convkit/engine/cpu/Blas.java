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

  /** Row-major {@code C = A[M][K] * B^T} with B stored {@code [N][K]}, on {@code threads} threads. */
  public static void sgemmTransB(int threads, int M, int N, int K, FloatPointer A, int lda,
      FloatPointer B, int ldb, FloatPointer C, int ldc) {
    if (threads != current) {
      setThreads(threads);
    }
    openblas_full.cblas_sgemm(openblas_full.CblasRowMajor, openblas_full.CblasNoTrans,
        openblas_full.CblasTrans, M, N, K, 1f, A, lda, B, ldb, 0f, C, ldc);
  }

  /** Row-major {@code y = A[M][K] * x} on {@code threads} OpenBLAS threads (unit strides). */
  public static void sgemv(int threads, int M, int K, FloatPointer A, int lda, FloatPointer x,
      FloatPointer y) {
    if (threads != current) {
      setThreads(threads);
    }
    openblas_full.cblas_sgemv(openblas_full.CblasRowMajor, openblas_full.CblasNoTrans, M, K, 1f,
        A, lda, x, 1, 0f, y, 1);
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
