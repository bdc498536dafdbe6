package io.convkit.bench;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.convkit.cli.NetworkPeer;
import io.convkit.nn.Network;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.onnx.OnnxCodec;
import io.convkit.onnx.OnnxExport;
import io.convkit.tensor.Shape;
import java.nio.FloatBuffer;
import java.util.Map;

/**
 * ONNX Runtime as the CLI's same-run peer ({@code tour}): each network is exported with the
 * weights convkit runs and timed as the CLI times ours (the faster of two calls after 200 ms of
 * warm-up calls), all graph optimisations, {@code threads} intra-op threads, one inter-op.
 */
public final class OrtPeer implements NetworkPeer {
  private final int threads;
  private final OrtEnvironment env = OrtEnvironment.getEnvironment();

  public OrtPeer(int threads) {
    this.threads = threads;
  }

  @Override
  public String name() {
    return "ONNX Runtime " + env.getVersion() + " (" + threads + " intra-op thread"
        + (threads == 1 ? "" : "s") + ", all graph optimisations)";
  }

  @Override
  public Result run(Network net, NetworkWeights weights, float[] x, Shape in) {
    byte[] model = OnnxCodec.toBytes(OnnxExport.export(net, weights, in));
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setIntraOpNumThreads(threads);
      o.setInterOpNumThreads(1);
      o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      try (OrtSession s = env.createSession(model, o)) {
        model = null; // the session holds its own copy; let the bytes go before timing
        float[] y = call(s, x, in);
        // The warm-up of ForwardCommands' tour: two calls and 200 ms at least.
        long end = System.nanoTime() + 200_000_000L;
        while (System.nanoTime() - end < 0) {
          call(s, x, in);
        }
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 2; i++) {
          long t0 = System.nanoTime();
          y = call(s, x, in);
          best = Math.min(best, System.nanoTime() - t0);
        }
        return new Result(best / 1e6, y);
      }
    } catch (OrtException e) {
      throw new IllegalStateException("onnx runtime on " + net.name() + ": " + e.getMessage(), e);
    }
  }

  private float[] call(OrtSession s, float[] x, Shape in) throws OrtException {
    try (ai.onnxruntime.OnnxTensor t = ai.onnxruntime.OnnxTensor.createTensor(env,
            FloatBuffer.wrap(x), new long[] {in.n(), in.c(), in.h(), in.w()});
        OrtSession.Result r = s.run(Map.of("input", t))) {
      FloatBuffer b = ((ai.onnxruntime.OnnxTensor) r.get(0)).getFloatBuffer();
      float[] y = new float[b.remaining()];
      b.get(y);
      return y;
    }
  }

  @Override
  public void close() {}
}
