package io.convkit.bench;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.convkit.bench.LayerBench.Budget;
import io.convkit.bench.LayerBench.Timing;
import io.convkit.nn.Network;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.onnx.OnnxCodec;
import io.convkit.onnx.OnnxExport;
import io.convkit.tensor.Shape;
import java.nio.FloatBuffer;
import java.util.Map;

/**
 * ONNX Runtime as the same-run peer of a whole network: the network is exported by
 * {@link OnnxExport} with the very weights convkit runs ({@link NetworkBench#weights}), and
 * ORT runs the file's bytes with all graph optimisations (its Conv+BN/activation fusions and its
 * NCHWc layout), {@code threads} intra-op threads and one inter-op thread, on the same input.
 * A call is {@code session.run} with the input wrapped from a Java array and the output copied
 * into one, as convkit's call reads from and copies back to host memory.
 */
final class OrtNetwork implements AutoCloseable {
  private final OrtEnvironment env = OrtEnvironment.getEnvironment();
  private final OrtSession.SessionOptions options = new OrtSession.SessionOptions();
  private final OrtSession session;

  /** {@code net} with {@code weights}, exported for inputs of {@code input}'s C, H and W. */
  OrtNetwork(Network net, NetworkWeights weights, Shape input, int threads) throws OrtException {
    byte[] model = OnnxCodec.toBytes(OnnxExport.export(net, weights, input));
    options.setIntraOpNumThreads(threads);
    options.setInterOpNumThreads(1);
    options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
    session = env.createSession(model, options);
  }

  /** One forward pass of {@code x} (shape {@code in}); returns the first output. */
  float[] run(float[] x, Shape in) {
    try (ai.onnxruntime.OnnxTensor t = ai.onnxruntime.OnnxTensor.createTensor(env,
            FloatBuffer.wrap(x), new long[] {in.n(), in.c(), in.h(), in.w()});
        OrtSession.Result r = session.run(Map.of("input", t))) {
      FloatBuffer b = ((ai.onnxruntime.OnnxTensor) r.get(0)).getFloatBuffer();
      float[] y = new float[b.remaining()];
      b.get(y);
      return y;
    } catch (OrtException e) {
      throw new IllegalStateException("onnx runtime: " + e.getMessage(), e);
    }
  }

  /** Times {@link #run} at {@code batch} images as {@link NetworkBench#measure} times ours. */
  NetworkBench.Result measure(NetworkBench.ModelSpec model, Network net, int batch,
      Budget budget) {
    Shape in = net.nativeInput();
    Shape shape = Shape.of(batch, in.c(), in.h(), in.w());
    float[] x = NetworkBench.input(shape);
    Timing t = LayerBench.time(() -> run(x, shape), budget);
    return new NetworkBench.Result(model.text(), batch, t.medianMs(), t.calls(), t.p10Ms(),
        t.p90Ms(), "", run(x, shape));
  }

  @Override
  public void close() throws OrtException {
    session.close();
    options.close();
  }
}
