package io.convkit.nn;

import io.convkit.tensor.Shape;
import java.util.List;

/**
 * One node's operation in a {@link Network}: it knows its hyper-parameters and reports its output
 * shape, parameters and multiply-adds for given input shapes. No weights are held here: counting
 * never allocates them (the forward pass attaches weights later).
 *
 * <p>Parameters are reported two ways. {@link #paramsTrained()}: what training learns (batch
 * norm's gamma and beta counted, its running statistics not). {@link #paramsDeployed()}: what an
 * inference deployment stores once batch norm is folded into the preceding convolution.
 * {@link #macs} counts convolution and fully-connected multiply-adds only (plus the two small
 * FCs of squeeze-and-excitation); bias, BN, activations and pooling count zero.
 */
public interface Layer {
  /** A short type name for summaries, e.g. "conv", "maxpool", "add". */
  String type();

  /** How many inputs the layer takes: 1, or -1 for two or more (add, concat). */
  default int arity() {
    return 1;
  }

  /** The output shape; throws {@link IllegalArgumentException} naming the problem. */
  Shape outputShape(List<Shape> inputs);

  default long paramsTrained() {
    return 0;
  }

  default long paramsDeployed() {
    return paramsTrained();
  }

  default long macs(List<Shape> inputs) {
    return 0;
  }

  /** A one-line description of the hyper-parameters. */
  default String describe() {
    return type();
  }

  /** Checks that a layer taking one input got exactly one. */
  static Shape single(String type, List<Shape> inputs) {
    if (inputs.size() != 1) {
      throw new IllegalArgumentException(type + ": expected 1 input, got " + inputs.size());
    }
    return inputs.get(0);
  }

  /** Checks that an input is 4-d NCHW. */
  static Shape nchw(String type, List<Shape> inputs) {
    Shape s = single(type, inputs);
    if (s.rank() != 4) {
      throw new IllegalArgumentException(type + ": expected an NCHW input, got " + s);
    }
    return s;
  }
}
