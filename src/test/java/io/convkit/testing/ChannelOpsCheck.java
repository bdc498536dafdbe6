package io.convkit.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.engine.Engine;
import io.convkit.engine.LrnSpec;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * The cases and comparisons of the channel ops (LRN, layer norm, concatenation, channel
 * scaling) against the reference engine, shared by every engine's test. Shapes cover one
 * channel, windows wider than the channels, even windows, pixel counts that are not a multiple
 * of 8, N x C tensors and batches. Outputs start as NaN, so an element never written fails.
 */
public final class ChannelOpsCheck {
  private ChannelOpsCheck() {}

  /** An LRN case: the data is scaled so the window sum matters next to k. */
  public record LrnCase(Shape shape, LrnSpec spec, float scale) {
    public float[] data() {
      float[] x = ConvCases.data(shape.hashCode() * 31L + spec.size(), shape.elements());
      for (int i = 0; i < x.length; i++) {
        x[i] *= scale;
      }
      return x;
    }

    @Override
    public String toString() {
      return "lrn " + shape + " " + spec + " data x" + scale;
    }
  }

  public static List<LrnCase> lrnCases() {
    LrnSpec googlenet = new LrnSpec(5, 1e-4, 0.75, 1);
    List<LrnCase> cases = new ArrayList<>();
    cases.add(new LrnCase(Shape.of(1, 64, 7, 9), googlenet, 100));
    cases.add(new LrnCase(Shape.of(2, 96, 13, 13), new LrnSpec(5, 1e-4, 0.75, 2), 100));
    cases.add(new LrnCase(Shape.of(1, 1, 4, 5), new LrnSpec(5, 1, 0.75, 1), 2));
    cases.add(new LrnCase(Shape.of(3, 3, 5, 3), new LrnSpec(7, 2, 0.75, 1), 2));
    cases.add(new LrnCase(Shape.of(1, 10, 3, 3), new LrnSpec(4, 1, 0.75, 1), 2));
    cases.add(new LrnCase(Shape.of(2, 9, 1, 1), new LrnSpec(3, 1, 0.5, 1.5), 2));
    cases.add(new LrnCase(Shape.of(2, 17, 2, 11), new LrnSpec(5, 3, 1.0, 1), 2));
    cases.add(new LrnCase(Shape.of(1, 12, 4, 4), new LrnSpec(1, 1, -0.25, 0.5), 2));
    cases.add(new LrnCase(Shape.of(3, 6), new LrnSpec(3, 1, 0.75, 1), 2));
    return cases;
  }

  /** A layer norm case: data around {@code offset} (a mean far from 0 tests the two passes). */
  public record LayerNormCase(Shape shape, double eps, float offset) {
    public float[] data() {
      float[] x = ConvCases.data(shape.hashCode() * 17L, shape.elements());
      for (int i = 0; i < x.length; i++) {
        x[i] = x[i] * 3 + offset;
      }
      return x;
    }

    public float[] gamma() {
      return ConvCases.data(shape.c() * 5L + 1, shape.c());
    }

    public float[] beta() {
      return ConvCases.data(shape.c() * 5L + 2, shape.c());
    }

    @Override
    public String toString() {
      return "layernorm " + shape + " eps " + eps + " data around " + offset;
    }
  }

  public static List<LayerNormCase> layerNormCases() {
    return List.of(new LayerNormCase(Shape.of(1, 96, 14, 14), 1e-6, 0),
        new LayerNormCase(Shape.of(2, 5, 3, 3), 1e-6, 4),
        new LayerNormCase(Shape.of(1, 1, 4, 5), 1e-6, 1),
        new LayerNormCase(Shape.of(3, 768), 1e-6, -2),
        new LayerNormCase(Shape.of(1, 384, 7, 7), 1e-5, 10),
        new LayerNormCase(Shape.of(2, 33, 1, 9), 0, 0));
  }

  /** A host tensor filled with NaN. */
  public static Tensor nans(Shape shape) {
    return PoolCheck.nans(shape);
  }

  public static float[] lrn(Engine e, LrnCase c, float[] x) {
    try (Tensor in = Tensor.of(x, c.shape().dims()); Tensor y = nans(c.shape())) {
      e.lrn(c.spec(), in, y);
      return y.toArray();
    }
  }

  public static float[] layerNorm(Engine e, LayerNormCase c, float[] x) {
    int ch = c.shape().c();
    try (Tensor in = Tensor.of(x, c.shape().dims()); Tensor g = Tensor.of(c.gamma(), ch);
        Tensor b = Tensor.of(c.beta(), ch); Tensor y = nans(c.shape())) {
      e.layerNorm(in, g, b, c.eps(), y);
      return y.toArray();
    }
  }

  /** Checks {@code actual} against the reference's LRN of the case within Tolerance.lrnBound. */
  public static void checkLrn(String what, LrnCase c, float[] expected, float[] actual) {
    Shape s = c.shape();
    int channels = s.c();
    int hw = (int) (s.elements() / ((long) s.n() * channels));
    for (int i = 0; i < expected.length; i++) {
      int ch = i / hw % channels;
      int n = Math.min(channels - 1, ch + c.spec().after()) - Math.max(0, ch - c.spec().before())
          + 1;
      double bound = Tolerance.lrnBound(n, c.spec().beta(), expected[i]);
      double diff = Math.abs((double) actual[i] - expected[i]);
      if (!(diff <= bound)) {
        fail(String.format("%s, %s: output %d is %s, reference %s, |diff| %.3g > bound %.3g",
            what, c, i, actual[i], expected[i], diff, bound));
      }
    }
  }

  /** Checks {@code actual} against the reference within Tolerance.layerNormBounds per pixel. */
  public static void checkLayerNorm(String what, Shape s, float[] x, float[] gamma, float[] beta,
      double eps, float[] expected, float[] actual) {
    int channels = s.c();
    int hw = (int) (s.elements() / ((long) s.n() * channels));
    float[] px = new float[channels];
    for (int n = 0; n < s.n(); n++) {
      for (int p = 0; p < hw; p++) {
        for (int ch = 0; ch < channels; ch++) {
          px[ch] = x[(n * channels + ch) * hw + p];
        }
        double[] bound = Tolerance.layerNormBounds(px, gamma, beta, eps);
        for (int ch = 0; ch < channels; ch++) {
          int i = (n * channels + ch) * hw + p;
          double diff = Math.abs((double) actual[i] - expected[i]);
          if (!(diff <= bound[ch])) {
            fail(String.format("%s, layernorm %s: output %d (image %d, pixel %d, channel %d) is "
                + "%s, reference %s, |diff| %.3g > bound %.3g", what, s, i, n, p, ch, actual[i],
                expected[i], diff, bound[ch]));
          }
        }
      }
    }
  }

  /** Every engine's LRN of the case against the reference's. */
  public static void checkLrn(LrnCase c, Engine reference, List<? extends Engine> engines) {
    float[] x = c.data();
    float[] expected = lrn(reference, c, x);
    for (Engine e : engines) {
      checkLrn(e.name(), c, expected, lrn(e, c, x));
    }
  }

  /** Every engine's layer norm of the case against the reference's. */
  public static void checkLayerNorm(LayerNormCase c, Engine reference,
      List<? extends Engine> engines) {
    float[] x = c.data();
    float[] expected = layerNorm(reference, c, x);
    for (Engine e : engines) {
      checkLayerNorm(e.name(), c.shape(), x, c.gamma(), c.beta(), c.eps(), expected,
          layerNorm(e, c, x));
    }
  }

  /** Concatenations of host tensors: exact copies, so bit for bit. */
  public static void checkConcat(Engine reference, List<? extends Engine> engines) {
    int[][][] cases = {
        {{2, 3, 5, 5}, {2, 1, 5, 5}, {2, 4, 5, 5}},
        {{1, 7, 3, 3}},
        {{3, 2}, {3, 5}},
        {{1, 1, 1, 1}, {1, 1, 1, 1}, {1, 2, 1, 1}, {1, 3, 1, 1}},
        {{2, 64, 28, 28}, {2, 128, 28, 28}, {2, 32, 28, 28}}};
    for (int[][] dims : cases) {
      List<Tensor> xs = new ArrayList<>();
      int c = 0;
      for (int[] d : dims) {
        xs.add(Tensor.of(ConvCases.data(xs.size() * 7L + d[1], Shape.of(d).elements()), d));
        c += d[1];
      }
      int[] out = dims[0].clone();
      out[1] = c;
      try (Tensor y = nans(Shape.of(out))) {
        reference.concat(xs, y);
        float[] expected = y.toArray();
        for (Engine e : engines) {
          try (Tensor z = nans(Shape.of(out))) {
            e.concat(xs, z);
            assertArrayEquals(expected, z.toArray(), e.name() + " concat into " + Shape.of(out));
          }
        }
      } finally {
        xs.forEach(Tensor::close);
      }
    }
  }

  /**
   * Channel scaling of host tensors, with s as [N, C] and as [N, C, 1, 1], and in place: one
   * float multiplication per element (correctly rounded everywhere), so bit for bit.
   */
  public static void checkScaleChannels(Engine reference, List<? extends Engine> engines) {
    int[][] shapes = {{2, 5, 3, 7}, {1, 1, 1, 1}, {3, 4}, {1, 96, 14, 14}};
    for (int[] dims : shapes) {
      Shape shape = Shape.of(dims);
      float[] x = ConvCases.data(shape.elements(), shape.elements());
      float[] s = ConvCases.data(shape.elements() + 1, (long) dims[0] * dims[1]);
      for (int[] sd : new int[][] {{dims[0], dims[1]}, {dims[0], dims[1], 1, 1}}) {
        try (Tensor tx = Tensor.of(x, dims); Tensor ts = Tensor.of(s, sd);
            Tensor y = nans(shape)) {
          reference.scaleChannels(tx, ts, y);
          float[] expected = y.toArray();
          for (Engine e : engines) {
            String what = e.name() + " scale " + shape + " by " + Shape.of(sd);
            try (Tensor z = nans(shape)) {
              e.scaleChannels(tx, ts, z);
              assertArrayEquals(expected, z.toArray(), what);
            }
            try (Tensor inPlace = Tensor.of(x, dims)) {
              e.scaleChannels(inPlace, ts, inPlace);
              assertArrayEquals(expected, inPlace.toArray(), what + " in place");
            }
          }
        }
      }
    }
  }
}
