package io.convkit.nn.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.convkit.nn.Act;
import org.junit.jupiter.api.Test;

/** Each host op against values worked out by hand (in the comments). */
class HostOpsTest {
  @Test
  void activations() {
    float[] x = {-2, 0, 1, 7};
    float[] y = new float[4];
    HostOps.activation(Act.Kind.RELU6, x, y);
    assertArrayEquals(new float[] {0, 0, 1, 6}, y);
    HostOps.activation(Act.Kind.SIGMOID, x, y);
    // 1/(1+e^2) = 0.11920292, 1/2, 1/(1+e^-1) = 0.73105858, 1/(1+e^-7) = 0.99908895
    assertArrayEquals(new float[] {0.11920292f, 0.5f, 0.73105858f, 0.99908895f}, y, 1e-7f);
    HostOps.activation(Act.Kind.SWISH, x, y);
    // x * sigmoid(x): -0.23840584, 0, 0.73105858, 6.99362265
    assertArrayEquals(new float[] {-0.23840584f, 0, 0.73105858f, 6.99362265f}, y, 1e-6f);
    HostOps.activation(Act.Kind.TANH, x, y);
    assertArrayEquals(new float[] {-0.96402758f, 0, 0.76159416f, 0.99999834f}, y, 1e-7f);
    HostOps.activation(Act.Kind.GELU, x, y);
    // 0.5 x (1 + erf(x / sqrt 2)): erf(-1.41421356) = -0.95449974, erf(0.70710678) = 0.68268949
    assertArrayEquals(new float[] {-0.04550026f, 0, 0.84134475f, 7f}, y, 2e-7f);
  }

  @Test
  void softmaxPerSample() {
    // [0, ln 3] -> [1/4, 3/4]; the second sample [5, 5] -> [1/2, 1/2]
    float[] y = new float[4];
    HostOps.softmax(new float[] {0, (float) Math.log(3), 5, 5}, 2, 2, y);
    assertArrayEquals(new float[] {0.25f, 0.75f, 0.5f, 0.5f}, y, 1e-7f);
  }

  @Test
  void rbfIsSquaredDistance() {
    // x = [1, 2]; centres [1, 1] -> 0 + 1 = 1, [-1, 0] -> 4 + 4 = 8
    float[] y = new float[2];
    HostOps.rbf(new float[] {1, 2}, 1, 2, new float[] {1, 1, -1, 0}, 2, y);
    assertArrayEquals(new float[] {1, 8}, y);
  }

  @Test
  void channelAffineAndScale() {
    float[] y = new float[4];
    HostOps.channelAffine(new float[] {1, 2, 3, 4}, 1, 2, 2, new float[] {2, -1},
        new float[] {0, 1}, y);
    assertArrayEquals(new float[] {2, 4, -2, -3}, y);
    HostOps.scale(new float[] {1, 2, 3, 4}, 0.5, y);
    assertArrayEquals(new float[] {0.5f, 1, 1.5f, 2}, y);
    // GELU(1) = Phi(1), through the same float64 definition as the fused epilogue's.
    assertEquals(0.8413447460685429, HostOps.activation(Act.Kind.GELU, 1.0), 1e-15);
  }
}
