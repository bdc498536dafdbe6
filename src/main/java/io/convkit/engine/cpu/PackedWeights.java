package io.convkit.engine.cpu;

import io.convkit.tensor.Views;
import org.bytedeco.javacpp.FloatPointer;

/**
 * One layer's weights packed for one native kernel (made once, kept with the
 * {@link io.convkit.conv.ConvWeights} they came from, freed with them).
 */
final class PackedWeights implements AutoCloseable {
  private final FloatPointer owner;
  private final FloatPointer data;
  private final long floats;

  PackedWeights(long floats, String what) {
    this.floats = floats;
    this.owner = Views.allocate(Math.max(1, floats), what);
    this.data = Views.aligned(owner, Math.max(1, floats));
  }

  FloatPointer pointer() {
    return data;
  }

  long floats() {
    return floats;
  }

  @Override
  public void close() {
    owner.close();
  }
}
