package io.convkit.nn.weights;

/**
 * Where trained weights come from: named float tensors, e.g. a safetensors file's state dict.
 * {@link NetworkWeights#load} asks for every parameter a network needs by the name a
 * {@link ParamNaming} gives it, with the shape it expects.
 */
public interface WeightSource {
  /**
   * The tensor {@code name}, flattened in row-major order. Throws
   * {@link IllegalArgumentException} naming it when it is missing or its shape is not
   * {@code expectedShape}.
   */
  float[] take(String name, int... expectedShape);
}
