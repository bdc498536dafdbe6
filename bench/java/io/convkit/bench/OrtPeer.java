package io.convkit.bench;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import io.convkit.cli.NetworkPeer;
import io.convkit.nn.Network;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.tensor.Shape;

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
    try (OrtNetwork ort = new OrtNetwork(net, weights, in, threads)) {
      float[] y = ort.run(x, in);
      // The warm-up of ForwardCommands' tour and run: 200 ms at least.
      long end = System.nanoTime() + 200_000_000L;
      while (System.nanoTime() - end < 0) {
        ort.run(x, in);
      }
      long best = Long.MAX_VALUE;
      for (int i = 0; i < 2; i++) {
        long t0 = System.nanoTime();
        y = ort.run(x, in);
        best = Math.min(best, System.nanoTime() - t0);
      }
      return new Result(best / 1e6, y);
    } catch (OrtException e) {
      throw new IllegalStateException("onnx runtime on " + net.name() + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {}
}
