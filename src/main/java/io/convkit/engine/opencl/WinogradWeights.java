package io.convkit.engine.opencl;

/**
 * The Winograd weight transform for winograd.cl: U = G g G^T per (output, input) channel pair,
 * computed in double and rounded once (the CPU engine does the same in native/winograd_nhwc.c).
 */
final class WinogradWeights {
  private static final double[][] G2 = {{1, 0, 0}, {.5, .5, .5}, {.5, -.5, .5}, {0, 0, 1}};
  private static final double[][] G4 = {{.25, 0, 0}, {-1 / 6.0, -1 / 6.0, -1 / 6.0},
      {-1 / 6.0, 1 / 6.0, -1 / 6.0}, {1 / 24.0, 1 / 12.0, 1 / 6.0},
      {1 / 24.0, -1 / 12.0, 1 / 6.0}, {0, 0, 1}};

  private WinogradWeights() {}

  /**
   * PyTorch's [K][C][3][3] weights as U[xi][k][c], xi = i * a + j the transformed position
   * (a = m + 2): the GEMM's A with a group of K rows of C per position.
   */
  static float[] transform(float[] w, int k, int c, int m) {
    double[][] g = m == 4 ? G4 : G2;
    int a = m + 2;
    float[] u = new float[a * a * k * c];
    double[][] t = new double[a][3];
    for (int o = 0; o < k; o++) {
      for (int i = 0; i < c; i++) {
        int f = (o * c + i) * 9;
        for (int r = 0; r < a; r++) {
          for (int s = 0; s < 3; s++) {
            t[r][s] = g[r][0] * w[f + s] + g[r][1] * w[f + 3 + s] + g[r][2] * w[f + 6 + s];
          }
        }
        for (int r = 0; r < a; r++) {
          for (int q = 0; q < a; q++) {
            u[((r * a + q) * k + o) * c + i] =
                (float) (t[r][0] * g[q][0] + t[r][1] * g[q][1] + t[r][2] * g[q][2]);
          }
        }
      }
    }
    return u;
  }
}
