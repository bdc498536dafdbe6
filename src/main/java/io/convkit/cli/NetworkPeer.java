package io.convkit.cli;

import io.convkit.nn.Network;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.tensor.Shape;
import java.lang.reflect.InvocationTargetException;

/**
 * Another runtime that the CLI measures beside convkit in the same run, so that no speed figure
 * it prints stands without its peer: ONNX Runtime running the network exported with the same
 * weights. The implementation lives with the benchmarks ({@code io.convkit.bench.OrtPeer}, in
 * {@code target/convkit.jar}), as ONNX Runtime is not a dependency of the library; where it is
 * absent, {@link #load} says why and the CLI prints no peer column values.
 */
public interface NetworkPeer extends AutoCloseable {
  /** What runs, e.g. "ONNX Runtime 1.23.2 (2 intra-op threads)". */
  String name();

  /** One measurement: ms per call (the faster of two after 200 ms of warm-up calls), output. */
  record Result(double ms, float[] output) {}

  /** Runs {@code net} with {@code weights} on {@code x} of shape {@code in}. */
  Result run(Network net, NetworkWeights weights, float[] x, Shape in);

  @Override
  void close();

  /** The peer at {@code threads}, or an exception whose message says why there is none. */
  static NetworkPeer load(int threads) {
    try {
      return (NetworkPeer) Class.forName("io.convkit.bench.OrtPeer").getConstructor(int.class)
          .newInstance(threads);
    } catch (ClassNotFoundException | NoClassDefFoundError e) {
      throw new IllegalStateException("ONNX Runtime is only in target/convkit.jar's bench classes");
    } catch (InvocationTargetException e) {
      throw new IllegalStateException("ONNX Runtime cannot start: " + e.getCause().getMessage(),
          e.getCause());
    } catch (ReflectiveOperationException | LinkageError e) {
      throw new IllegalStateException("ONNX Runtime cannot start: " + e, e);
    }
  }
}
