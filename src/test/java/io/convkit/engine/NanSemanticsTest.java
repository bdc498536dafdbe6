package io.convkit.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.convkit.cli.Main;
import io.convkit.conv.Activation;
import io.convkit.conv.Algorithm;
import io.convkit.conv.ConvSpec;
import io.convkit.conv.Planner;
import io.convkit.engine.opencl.ClDevice;
import io.convkit.engine.opencl.DeviceType;
import io.convkit.engine.opencl.OpenClEngine;
import io.convkit.engine.opencl.OpenClException;
import io.convkit.engine.opencl.Tuning;
import io.convkit.nn.Network;
import io.convkit.nn.forward.ForwardPass;
import io.convkit.nn.forward.ForwardPlan;
import io.convkit.nn.models.Models;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.nn.weights.SafeTensors;
import io.convkit.nn.weights.TensorData;
import io.convkit.nn.weights.TorchvisionNames;
import io.convkit.nn.Conv2d;
import io.convkit.pool.PoolKind;
import io.convkit.pool.PoolSpec;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import io.convkit.testing.ConvCases;
import io.convkit.testing.CpuVariants;
import io.convkit.testing.OpenClOrSkip;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NaN and Inf as PyTorch and oneDNN define them, on every engine (both CPU ISA variants, the
 * reference, and OpenCL with both GEMM kernels where a platform exists): NaN in gives NaN out
 * through every fused activation (conv, FC and add epilogues, at every lane of a vector and in
 * every tail), the infinities give the values of {@link Activation}'s table bit for bit, max
 * pooling is NaN wherever its window covers a NaN, a padded tap contributes nothing even with an
 * infinite weight, and a network with a NaN weight gives NaN logits (and the CLI says so).
 */
class NanSemanticsTest {
  private static final float NAN = Float.NaN;
  private static final float INF = Float.POSITIVE_INFINITY;
  /** Specials and finite values (7.25 passes ReLU6's clamp), cycled through every lane. */
  private static final float[] PATTERN = {NAN, INF, -INF, -1.5f, 7.25f, 0.75f};
  /** Vector tails 1..17 (the 8-lane kernels' masked ends, one and two vectors) and a long row. */
  private static final int[] LENGTHS = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
      40};

  private static List<Engine> cpuAndReference;
  private static Engine reference;
  private static List<Engine> openCl;
  private static String noOpenCl;

  @BeforeAll
  static void open() {
    cpuAndReference = new ArrayList<>(CpuVariants.open());
    reference = Engines.reference();
    cpuAndReference.add(reference);
    openCl = new ArrayList<>();
    try {
      ClDevice device = OpenClEngine.select(DeviceType.ANY);
      Tuning base = Tuning.forDevice(device.name(), device.type().name());
      // Both GEMM kernels and both depthwise kernels (as OpenClTests.tiled / packed).
      openCl.add(OpenClEngine.open(device, new Tuning(Tuning.Gemm.TILED, base.mr(), base.nv(),
          base.pl(), 16, 32, 8, 2, 4, base.lx(), false)));
      openCl.add(OpenClEngine.open(device, new Tuning(Tuning.Gemm.PACKED, 6, 2, 4, base.tsm(),
          base.tsn(), base.tsk(), base.wptm(), base.wptn(), base.lx(), true)));
    } catch (OpenClException e) {
      noOpenCl = e.getMessage();
    }
  }

  @AfterAll
  static void close() {
    cpuAndReference.forEach(Engine::close);
    openCl.forEach(Engine::close);
  }

  /** The OpenCL engines, or skip (fail under CONVKIT_REQUIRE_OPENCL=1) where no platform exists. */
  private static List<Engine> openClOrSkip() {
    if (noOpenCl != null) {
      if (OpenClOrSkip.required()) {
        fail("CONVKIT_REQUIRE_OPENCL=1 but there is no usable OpenCL device: " + noOpenCl);
      }
      Assumptions.abort("no OpenCL platform here (" + noOpenCl + ")");
    }
    return openCl;
  }

  // ------------------------------------------------------------------ the table itself

  @Test
  void theDocumentedTable() {
    float[] in = {NAN, -INF, INF, -0f};
    Map<Activation, float[]> table = Map.of(
        Activation.NONE, new float[] {NAN, -INF, INF, -0f},
        Activation.RELU, new float[] {NAN, 0f, INF, 0f},
        Activation.RELU6, new float[] {NAN, 0f, 6f, 0f},
        Activation.SIGMOID, new float[] {NAN, 0f, 1f, 0.5f},
        Activation.SWISH, new float[] {NAN, NAN, INF, -0f},
        Activation.GELU, new float[] {NAN, NAN, INF, -0f},
        Activation.TANH, new float[] {NAN, -1f, 1f, -0f});
    for (Activation act : Activation.values()) {
      for (int i = 0; i < in.length; i++) {
        assertSame(act + "(" + in[i] + ")", table.get(act)[i], (float) act.apply(in[i]));
      }
    }
  }

  /** Equal bit for bit, except that any NaN equals any NaN (payloads are not specified). */
  private static void assertSame(String what, float expected, float actual) {
    if (Float.isNaN(expected) ? !Float.isNaN(actual)
        : Float.floatToRawIntBits(expected) != Float.floatToRawIntBits(actual)) {
      fail(what + ": expected " + expected + ", got " + actual);
    }
  }

  /** act(x) of a float: special inputs exactly, finite ones within the kernels' accuracy. */
  private static void assertActivated(String what, Activation act, float x, float actual) {
    float exact = (float) act.apply(x);
    if (!Float.isFinite(x) || !Float.isFinite(exact)) {
      assertSame(what + ": " + act + "(" + x + ")", exact, actual);
    } else if (!(Math.abs(actual - exact) <= 1e-5 * Math.max(1, Math.abs(exact)))) {
      fail(what + ": " + act + "(" + x + ") = " + actual + ", expected " + exact);
    }
  }

  /** PATTERN shifted by {@code shift}: each lane meets every value for some shift. */
  private static float[] pattern(int length, int shift) {
    float[] a = new float[length];
    for (int i = 0; i < length; i++) {
      a[i] = PATTERN[(i + shift) % PATTERN.length];
    }
    return a;
  }

  // ------------------------------------------------------------------ fused activations

  @Test
  void activationsOnCpuAndReference() {
    activations(cpuAndReference);
  }

  @Test
  void activationsOnOpenCl() {
    activations(openClOrSkip());
  }

  private static void activations(List<Engine> engines) {
    for (Activation act : Activation.values()) {
      identityConvolution(engines, act, false);
      identityConvolution(engines, act, true);
      fullyConnected(engines, act);
      add(engines, act);
      biasThroughEveryConvPath(engines, act);
    }
  }

  /**
   * A 1x1 convolution of weight 1 (the pre-activation is the input exactly) on a 1 x length
   * plane, on every algorithm that takes it (with a 1x1 connection table for CONNECTION_TABLE).
   */
  private static void identityConvolution(List<Engine> engines, Activation act, boolean table) {
    ConvSpec.Builder b = ConvSpec.builder(1, 1, 1, 1).activation(act).name("identity");
    if (table) {
      b.connections(new boolean[][] {{true}});
    }
    ConvSpec spec = b.build();
    try (Conv2d conv = new Conv2d(spec, new float[] {1f}, null)) {
      for (int length : LENGTHS) {
        for (int shift = 0; shift < PATTERN.length; shift++) {
          float[] x = pattern(length, shift);
          try (Tensor in = Tensor.of(x, 1, 1, 1, length)) {
            for (Algorithm a : Algorithm.values()) {
              if (Planner.misfit(a, spec) != null) {
                continue;
              }
              for (Engine e : engines) {
                try (Tensor y = conv.forward(in, e, a)) {
                  float[] out = y.toArray();
                  for (int i = 0; i < length; i++) {
                    assertActivated(e.name() + " " + a + " length " + length + " lane " + i, act,
                        x[i], out[i]);
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /**
   * A fully connected layer (a 1x1 convolution of a 1x1 input) of zero weights: the
   * pre-activation of output m is its bias, so the specials go through the FC epilogue at every
   * lane of the output channels, at batch 1 (matrix-vector) and 3 (GEMM).
   */
  private static void fullyConnected(List<Engine> engines, Activation act) {
    for (int outputs : LENGTHS) {
      for (int shift = 0; shift < PATTERN.length; shift += 2) {
        float[] bias = pattern(outputs, shift);
        ConvSpec spec = ConvSpec.builder(3, outputs, 1, 1).bias(true).activation(act).name("fc")
            .build();
        try (Conv2d fc = new Conv2d(spec, new float[3 * outputs], bias)) {
          for (int batch : new int[] {1, 3}) {
            float[] x = ConvCases.data(outputs, 3L * batch);
            try (Tensor in = Tensor.of(x, batch, 3, 1, 1)) {
              for (Engine e : engines) {
                try (Tensor y = fc.forward(in, e)) {
                  float[] out = y.toArray();
                  for (int n = 0; n < batch; n++) {
                    for (int m = 0; m < outputs; m++) {
                      assertActivated(e.name() + " FC batch " + batch + " output " + m, act,
                          bias[m], out[n * outputs + m]);
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /** add(a, -0): a + -0 is a exactly, -0 included, so the add epilogue sees the pattern. */
  private static void add(List<Engine> engines, Activation act) {
    float[] withNegativeZero = PATTERN.clone();
    withNegativeZero[PATTERN.length - 1] = -0f;
    for (int length : LENGTHS) {
      for (int shift = 0; shift < PATTERN.length; shift++) {
        float[] a = new float[length];
        for (int i = 0; i < length; i++) {
          a[i] = withNegativeZero[(i + shift) % PATTERN.length];
        }
        float[] zero = new float[length];
        java.util.Arrays.fill(zero, -0f);
        for (Engine e : engines) {
          try (Tensor ta = Tensor.of(a, 1, 1, 1, length); Tensor tb = Tensor.of(zero, 1, 1, 1,
              length); Tensor y = Tensor.zeros(1, 1, 1, length)) {
            e.add(ta, tb, y, act);
            float[] out = y.toArray();
            for (int i = 0; i < length; i++) {
              assertActivated(e.name() + " add length " + length + " lane " + i, act, a[i],
                  out[i]);
            }
          }
        }
      }
    }
  }

  /**
   * 3x3 convolutions down every kernel (sgemm, small-M tiles, every depthwise variant, grouped,
   * connection table) with finite inputs and a special bias per output channel: each channel's
   * whole plane goes through the epilogue with a special pre-activation.
   */
  private static void biasThroughEveryConvPath(List<Engine> engines, Activation act) {
    List<ConvSpec.Builder> specs = new ArrayList<>();
    specs.add(ConvSpec.builder(2, 18, 3, 3).padding(1)); // sgemm (M > 16)
    specs.add(ConvSpec.builder(2, 6, 3, 3).padding(1)); // small-M tiles
    specs.add(ConvSpec.builder(6, 6, 3, 3).padding(1).groups(6)); // depthwise 3x3
    specs.add(ConvSpec.builder(6, 6, 3, 3).padding(1).stride(2).groups(6));
    specs.add(ConvSpec.builder(6, 12, 3, 3).padding(1).groups(2));
    specs.add(ConvSpec.builder(3, 6, 3, 3).padding(1).connections(new boolean[][] {
        {true, false, true}, {true, true, true}, {false, true, false}, {true, true, false},
        {false, false, true}, {true, false, false}}));
    for (Shape in : new Shape[] {Shape.of(1, 1, 5, 7), Shape.of(1, 1, 4, 37)}) {
      for (ConvSpec.Builder b : specs) {
        ConvSpec spec = b.bias(true).activation(act).name("bias_pattern").build();
        Shape input = Shape.of(1, spec.inChannels(), in.h(), in.w());
        float[] bias = pattern(spec.outChannels(), 0);
        float[] w = ConvCases.data(3, spec.hasConnections() ? spec.weightCount()
            : spec.denseWeightCount());
        float[] x = ConvCases.data(4, input.elements());
        try (Conv2d conv = new Conv2d(spec, w, bias); Tensor t = Tensor.of(x, input.dims())) {
          for (Algorithm a : Algorithm.values()) {
            if (Planner.misfit(a, spec) != null) {
              continue;
            }
            for (Engine e : engines) {
              try (Tensor y = conv.forward(t, e, a)) {
                float[] out = y.toArray();
                int plane = y.shape().plane();
                for (int o = 0; o < spec.outChannels(); o++) {
                  if (Float.isFinite(bias[o])) {
                    continue;
                  }
                  for (int p = 0; p < plane; p++) {
                    // bias +-Inf or NaN plus a finite sum is the bias itself
                    assertSame(e.name() + " " + spec + " " + a + " on " + input + " channel "
                        + o + " pixel " + p, (float) act.apply(bias[o]), out[o * plane + p]);
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  // ------------------------------------------------------------------ pooling

  @Test
  void poolingOnCpuAndReference() {
    pooling(cpuAndReference);
  }

  @Test
  void poolingOnOpenCl() {
    pooling(openClOrSkip());
  }

  /**
   * Max and average pools: the strided vector paths, the scalar stride, ceil mode, the clipped
   * pass, global.
   */
  private static List<PoolSpec> pools() {
    List<PoolSpec> p = new ArrayList<>();
    for (PoolKind k : PoolKind.values()) {
      p.add(PoolSpec.builder(k, 3, 3).stride(1).padding(1).countPadding(true).build());
      p.add(PoolSpec.builder(k, 3, 3).stride(2).padding(1).build());
      p.add(PoolSpec.builder(k, 3, 2).stride(3, 1).padding(1, 0, 1, 1).build());
      p.add(PoolSpec.builder(k, 3, 4).stride(2, 3).padding(1, 2, 1, 2).build());
      p.add(PoolSpec.builder(k, 2, 2).stride(2).ceilMode(true).build());
      // a window mostly of padding: the CPU engine's clipped horizontal pass (no padded buffer)
      p.add(PoolSpec.builder(k, 3, 201).stride(1).padding(1, 100, 1, 100).build());
      p.add(PoolSpec.global(k));
    }
    return p;
  }

  private static boolean covers(int o, int stride, int pad, int k, int i) {
    int start = o * stride - pad;
    return i >= start && i < start + k;
  }

  private static void pooling(List<Engine> engines) {
    for (Shape in : new Shape[] {Shape.of(1, 1, 5, 13), Shape.of(1, 1, 4, 19)}) {
      float[] base = ConvCases.data(7, in.elements());
      for (PoolSpec spec : pools()) {
        Shape outShape = spec.outputShape(in);
        int kh = spec.kernelH(in);
        int kw = spec.kernelW(in);
        for (int pos = 0; pos < in.elements(); pos++) {
          int iy = pos / in.w();
          int ix = pos % in.w();
          // NaN at pos: an output is NaN exactly when its window covers pos.
          float[] x = base.clone();
          x[pos] = NAN;
          float[] expected = run(reference, spec, in, x);
          for (Engine e : engines) {
            float[] y = run(e, spec, in, x);
            for (int oy = 0; oy < outShape.h(); oy++) {
              for (int ox = 0; ox < outShape.w(); ox++) {
                int o = oy * outShape.w() + ox;
                boolean covered = covers(oy, spec.strideH(), spec.padTop(), kh, iy)
                    && covers(ox, spec.strideW(), spec.padLeft(), kw, ix);
                String what = e.name() + " " + spec + " on " + in + ", NaN at (" + iy + ", "
                    + ix + "), output (" + oy + ", " + ox + ")";
                assertEquals(covered, Float.isNaN(y[o]), what + " = " + y[o]);
                assertClose(what, spec, expected[o], y[o]);
              }
            }
          }
          // +Inf at pos and -Inf at the next element: the reference's pattern exactly.
          x = base.clone();
          x[pos] = INF;
          x[(pos + 1) % x.length] = -INF;
          expected = run(reference, spec, in, x);
          for (Engine e : engines) {
            float[] y = run(e, spec, in, x);
            for (int o = 0; o < y.length; o++) {
              assertClose(e.name() + " " + spec + " on " + in + ", +Inf at " + pos + ", output "
                  + o, spec, expected[o], y[o]);
            }
          }
        }
      }
    }
  }

  private static float[] run(Engine e, PoolSpec spec, Shape in, float[] x) {
    try (Tensor t = Tensor.of(x, in.dims()); Tensor y = Tensor.zeros(spec.outputShape(in))) {
      e.pool(spec, t, y);
      return y.toArray();
    }
  }

  /** Specials and max exactly; an average of finite values within float rounding. */
  private static void assertClose(String what, PoolSpec spec, float expected, float actual) {
    if (spec.kind() == PoolKind.MAX || !Float.isFinite(expected)) {
      assertSame(what, expected, actual);
    } else if (!(Math.abs(actual - expected) <= 1e-6)) {
      fail(what + ": expected " + expected + ", got " + actual);
    }
  }

  // ------------------------------------------------------------------ infinite weights

  @Test
  void paddedTapsContributeNothingOnCpuAndReference() {
    infiniteWeights(cpuAndReference);
  }

  @Test
  void paddedTapsContributeNothingOnOpenCl() {
    infiniteWeights(openClOrSkip());
  }

  /**
   * A non-finite weight (+Inf at the first tap of output 0, NaN at the last tap of the last
   * output) with padding, on every algorithm that takes the spec: every output in the reference
   * engine's class (NaN, +Inf, -Inf, finite), where a padded tap adds nothing, so the border
   * outputs whose infinite tap falls on padding stay finite.
   */
  private static void infiniteWeights(List<Engine> engines) {
    List<ConvSpec.Builder> specs = new ArrayList<>();
    specs.add(ConvSpec.builder(2, 20, 3, 3).padding(1)); // im2col + sgemm
    specs.add(ConvSpec.builder(2, 3, 3, 3).padding(1)); // small-M tiles
    specs.add(ConvSpec.builder(2, 3, 1, 1).padding(1)); // 1x1 with padding: not pointwise
    specs.add(ConvSpec.builder(4, 4, 3, 3).padding(1).groups(4)); // depthwise
    specs.add(ConvSpec.builder(4, 4, 3, 3).padding(1).stride(2).groups(4));
    specs.add(ConvSpec.builder(4, 8, 3, 3).padding(2, 3, 1, 2).dilation(2).groups(4));
    specs.add(ConvSpec.builder(4, 8, 3, 3).padding(1).groups(2)); // grouped
    specs.add(ConvSpec.builder(3, 2, 3, 3).padding(1).connections(new boolean[][] {
        {true, false, true}, {false, true, true}}));
    int checked = 0;
    for (Activation act : new Activation[] {Activation.NONE, Activation.RELU,
        Activation.SIGMOID}) {
      for (Shape in : new Shape[] {Shape.of(2, 1, 6, 9), Shape.of(1, 1, 5, 40)}) {
        for (ConvSpec.Builder b : specs) {
          ConvSpec spec = b.bias(true).activation(act).name("inf_weight").build();
          Shape input = Shape.of(in.n(), spec.inChannels(), in.h(), in.w());
          int count = (int) (spec.hasConnections() ? spec.weightCount()
              : spec.denseWeightCount());
          float[] w = ConvCases.data(11, count);
          w[0] = INF;
          w[count - 1] = NAN;
          float[] bias = ConvCases.data(12, spec.outChannels());
          float[] x = ConvCases.data(13, input.elements());
          try (Conv2d conv = new Conv2d(spec, w, bias); Tensor t = Tensor.of(x, input.dims())) {
            assertFalse(conv.weights().allFinite(), "allFinite with an Inf weight");
            float[] expected;
            try (Tensor y = conv.forward(t, reference)) {
              expected = y.toArray();
            }
            if (spec.kernelH() > 1 && act == Activation.NONE) {
              // The test means something: output (0, 0) of channel 0 has its Inf tap on the
              // padding (finite), an interior output has it on the input (infinite).
              Shape out = spec.outputShape(input);
              assertTrue(Float.isFinite(expected[0]), spec + ": corner " + expected[0]);
              assertTrue(Float.isInfinite(expected[(out.h() - 1) * out.w() + out.w() - 1])
                  || Float.isInfinite(expected[out.w() + 1]), spec + ": interior");
            }
            for (Algorithm a : Algorithm.values()) {
              if (Planner.misfit(a, spec) != null) {
                continue;
              }
              for (Engine e : engines) {
                try (Tensor y = conv.forward(t, e, a)) {
                  float[] out = y.toArray();
                  for (int i = 0; i < out.length; i++) {
                    String what = e.name() + " " + spec + " " + a + " on " + input + " output "
                        + i;
                    if (Float.isFinite(expected[i])) {
                      if (!(Math.abs(out[i] - expected[i])
                          <= 1e-4 * Math.max(1, Math.abs(expected[i])))) {
                        fail(what + ": expected " + expected[i] + ", got " + out[i]);
                      }
                    } else {
                      assertSame(what, expected[i], out[i]);
                    }
                  }
                }
                checked++;
              }
            }
          }
        }
      }
    }
    assertTrue(checked > 0);
  }

  @Test
  void finiteWeightsSaySo() {
    ConvSpec spec = ConvSpec.builder(1, 1, 3, 3).padding(1).bias(true).build();
    try (Conv2d conv = new Conv2d(spec, ConvCases.data(1, 9), new float[] {0.5f})) {
      assertTrue(conv.weights().allFinite());
    }
    try (Conv2d conv = new Conv2d(spec, ConvCases.data(1, 9), new float[] {NAN})) {
      assertFalse(conv.weights().allFinite(), "a NaN bias");
    }
  }

  // ------------------------------------------------------------------ whole networks

  /** lenet5's seeded weights with one NaN in its first conv's weights. */
  private static NetworkWeights nanInFirstConv(Network net) {
    NetworkWeights seeded = NetworkWeights.random(net, 5);
    Map<String, float[]> values = new HashMap<>();
    String first = null;
    for (NetworkWeights.Param p : NetworkWeights.params(net)) {
      float[] a = seeded.get(p.node(), p.name()).clone();
      if (first == null && p.name().equals("weight")) {
        first = p.key();
        a[a.length / 2] = NAN;
      }
      values.put(p.key(), a);
    }
    return NetworkWeights.load(net, (key, shape) -> values.get(key),
        (node, param) -> node + "." + param);
  }

  @Test
  void nanWeightsGiveNanLogitsOnCpuAndReference() {
    nanLogits(cpuAndReference);
  }

  @Test
  void nanWeightsGiveNanLogitsOnOpenCl() {
    nanLogits(openClOrSkip());
  }

  private static void nanLogits(List<Engine> engines) {
    Network net = Models.create("lenet5");
    Shape in = net.nativeInput();
    for (Engine e : engines) {
      try (ForwardPlan plan = new ForwardPlan(net, nanInFirstConv(net));
          ForwardPass pass = new ForwardPass(plan, e);
          Tensor x = Tensor.of(ConvCases.data(2, in.elements()), in.dims())) {
        float[] y = pass.forward(x).toArray();
        for (int i = 0; i < y.length; i++) {
          assertTrue(Float.isNaN(y[i]), e.name() + ": logit " + i + " = " + y[i]);
        }
      }
    }
  }

  /** {@code run} with a NaN weight: no top-5, exit 1, one line naming the count. */
  @Test
  void runReportsNanOutputs(@TempDir Path dir) throws Exception {
    Network net = Models.create("resnet18");
    NetworkWeights seeded = NetworkWeights.random(net, 7);
    Map<String, TensorData> t = new HashMap<>();
    for (NetworkWeights.Param p : NetworkWeights.params(net)) {
      String key = TorchvisionNames.forModel(net).key(p.node(), p.name());
      float[] a = seeded.get(p.node(), p.name()).clone();
      if (key.equals("conv1.weight")) {
        a[0] = NAN;
      }
      t.put(key, new TensorData(p.shape(), a));
    }
    Path f = dir.resolve("nan.safetensors");
    SafeTensors.write(f, t, Map.of("format", "pt"));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc = Main.run(new String[] {"run", "resnet18", "--input", "1x3x64x64", "--threads", "2",
        "--weights", f.toString()}, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    String o = out.toString(StandardCharsets.UTF_8);
    assertEquals(1, rc, o);
    assertEquals("convkit: run: 1000 of 1000 outputs are NaN, 0 infinite; no top-5 (check the "
        + "weights and the input)\n", err.toString(StandardCharsets.UTF_8).replace("\r\n", "\n"));
    assertFalse(o.contains("top-5"), o);
  }
}
