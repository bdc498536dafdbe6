package io.convkit.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.convkit.bench.LayerSuite.Layer;
import io.convkit.conv.Activation;
import io.convkit.conv.ConvSpec;
import io.convkit.onnx.OnnxAttribute;
import io.convkit.onnx.OnnxCodec;
import io.convkit.onnx.OnnxGraph;
import io.convkit.onnx.OnnxModel;
import io.convkit.onnx.OnnxNode;
import io.convkit.tensor.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * ONNX Runtime as the same-run peer of one suite layer: a one-Conv ONNX model (Conv, then Relu
 * when the layer's spec has one) with the very weights and bias convkit runs
 * ({@link LayerBench#weights}, {@link LayerBench#bias}), run by ORT with all graph optimisations
 * (it fuses the Relu and may pick its NCHWc layout, whose reorders then count in its time, as a
 * caller with NCHW tensors pays them), {@code threads} intra-op threads and one inter-op thread.
 *
 * <p>The input and the output are direct buffers made once and handed to ORT as its tensors (the
 * output pinned), so a call is {@code session.run} alone, as ours is {@code forwardInto} into a
 * preallocated output.
 */
final class OrtConv implements AutoCloseable {
  static final String INPUT = "input";
  static final String OUTPUT = "output";
  static final long IR_VERSION = 8;
  static final long OPSET = 17;

  private final OrtEnvironment env;
  private final OrtSession.SessionOptions options;
  private final OrtSession session;
  private final OnnxTensor x;
  private final OnnxTensor y;
  private final FloatBuffer yBuf;
  private final Map<String, OnnxTensor> inputs;
  private final Map<String, OnnxTensor> outputs;

  OrtConv(Layer layer, int threads) {
    byte[] model = OnnxCodec.toBytes(model(layer));
    Shape in = layer.input();
    Shape out = layer.spec().outputShape(in);
    OrtSession.SessionOptions opts = null;
    OrtSession s = null;
    OnnxTensor tx = null;
    OnnxTensor ty = null;
    try {
      env = OrtEnvironment.getEnvironment();
      opts = new OrtSession.SessionOptions();
      opts.setIntraOpNumThreads(threads);
      opts.setInterOpNumThreads(1);
      opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      s = env.createSession(model, opts);
      FloatBuffer xBuf = direct(in.elements());
      xBuf.put(LayerBench.input(layer)).rewind();
      tx = OnnxTensor.createTensor(env, xBuf, dims(in));
      yBuf = direct(out.elements());
      ty = OnnxTensor.createTensor(env, yBuf, dims(out));
    } catch (OrtException e) {
      closeAll(ty, tx, s, opts);
      throw new IllegalStateException("onnx runtime: " + e.getMessage(), e);
    } catch (RuntimeException | Error e) {
      closeAll(ty, tx, s, opts);
      throw e;
    }
    this.options = opts;
    this.session = s;
    this.x = tx;
    this.y = ty;
    this.inputs = Map.of(INPUT, tx);
    this.outputs = Map.of(OUTPUT, ty);
  }

  /**
   * The one-Conv model of {@code layer}: graph input {@code input} with the layer's input dims,
   * Conv with the layer's geometry, weights {@code [k][c/groups][r][s]} and bias, then Relu if the
   * spec has ReLU; output {@code output}; opset 17, IR 8.
   */
  static OnnxModel model(Layer layer) {
    ConvSpec s = layer.spec();
    if (s.hasConnections()) {
      // A connection table has no ONNX Conv equivalent (it would need masked weights).
      throw new IllegalArgumentException("layer " + layer.name()
          + " has a connection table, which a one-Conv ONNX model cannot express");
    }
    if (s.activation() != Activation.NONE && s.activation() != Activation.RELU) {
      throw new IllegalArgumentException("layer " + layer.name() + " has activation "
          + s.activation() + "; the ORT peer supports NONE and RELU");
    }
    Shape in = layer.input();
    Shape out = s.outputShape(in);
    List<io.convkit.onnx.OnnxTensor> inits = new ArrayList<>();
    List<String> convIns = new ArrayList<>(List.of(INPUT, "weight"));
    inits.add(io.convkit.onnx.OnnxTensor.ofFloats("weight",
        new long[] {s.outChannels(), s.inChannelsPerGroup(), s.kernelH(), s.kernelW()},
        LayerBench.weights(layer)));
    if (s.hasBias()) {
      convIns.add("bias");
      inits.add(io.convkit.onnx.OnnxTensor.ofFloats("bias", new long[] {s.outChannels()},
          LayerBench.bias(layer)));
    }
    boolean relu = s.activation() == Activation.RELU;
    String convOut = relu ? "conv" : OUTPUT;
    List<OnnxNode> nodes = new ArrayList<>();
    nodes.add(new OnnxNode(layer.name(), "Conv", "", convIns, List.of(convOut), List.of(
        new OnnxAttribute.Ints("kernel_shape", new long[] {s.kernelH(), s.kernelW()}),
        new OnnxAttribute.Ints("strides", new long[] {s.strideH(), s.strideW()}),
        new OnnxAttribute.Ints("pads",
            new long[] {s.padTop(), s.padLeft(), s.padBottom(), s.padRight()}),
        new OnnxAttribute.Ints("dilations", new long[] {s.dilationH(), s.dilationW()}),
        new OnnxAttribute.Int("group", s.groups()))));
    if (relu) {
      nodes.add(new OnnxNode(layer.name() + "/relu", "Relu", "", List.of(convOut),
          List.of(OUTPUT), List.of()));
    }
    OnnxGraph g = new OnnxGraph(layer.name(), nodes, inits,
        List.of(new OnnxGraph.ValueInfo(INPUT, io.convkit.onnx.OnnxTensor.FLOAT, dims(in))),
        List.of(new OnnxGraph.ValueInfo(OUTPUT, io.convkit.onnx.OnnxTensor.FLOAT, dims(out))));
    return new OnnxModel(IR_VERSION, List.of(new OnnxModel.OpsetId("", OPSET)), "convkit bench",
        g);
  }

  /** One forward pass on the preallocated input into the pinned output. */
  void run() {
    try (OrtSession.Result r = session.run(inputs, outputs)) {
      // The pinned output is not owned by the result: closing it frees nothing of ours.
    } catch (OrtException e) {
      throw new IllegalStateException("onnx runtime: " + e.getMessage(), e);
    }
  }

  /** A copy of the output of the last run. */
  float[] output() {
    float[] v = new float[yBuf.capacity()];
    yBuf.duplicate().rewind().get(v);
    return v;
  }

  /** "ONNX Runtime 1.23.2 (CPU, all optimisations)". */
  String implementation() {
    return "ONNX Runtime " + env.getVersion() + " (CPU, all optimisations)";
  }

  @Override
  public void close() {
    closeAll(y, x, session, options);
  }

  /** Whether ONNX Runtime's natives load here (false, not an exception, if not). */
  static boolean available() {
    try {
      OrtEnvironment.getEnvironment();
      return true;
    } catch (Throwable t) {
      return false;
    }
  }

  /** ORT's version, or null where it does not load. */
  static String version() {
    try {
      return OrtEnvironment.getEnvironment().getVersion();
    } catch (Throwable t) {
      return null;
    }
  }

  private static long[] dims(Shape s) {
    return new long[] {s.n(), s.c(), s.h(), s.w()};
  }

  private static FloatBuffer direct(long elements) {
    if (elements > Integer.MAX_VALUE / Float.BYTES) {
      throw new IllegalArgumentException("tensor of " + elements + " floats is too large");
    }
    return ByteBuffer.allocateDirect((int) elements * Float.BYTES).order(ByteOrder.nativeOrder())
        .asFloatBuffer();
  }

  private static void closeAll(AutoCloseable... all) {
    for (AutoCloseable c : all) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception ignored) {
          // already failing, or closing: nothing left to do with it
        }
      }
    }
  }
}
