package io.convkit.nn.weights;

/**
 * Maps a parameter of a network node (node name, parameter name: {@code weight}, {@code bias},
 * {@code running_mean}, {@code running_var}, {@code reduce.weight}, ...) to the key a
 * {@link WeightSource} stores it under.
 */
@FunctionalInterface
public interface ParamNaming {
  /** convkit's own keys: {@code node.param}. */
  ParamNaming NATIVE = (node, param) -> node + "." + param;

  String key(String node, String param);
}
