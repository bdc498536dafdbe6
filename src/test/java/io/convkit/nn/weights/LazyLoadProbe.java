package io.convkit.nn.weights;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Run by {@link SafeTensorsTest} in a small-heap child JVM: {@code take FILE} takes the small
 * tensors a, c of a file whose tensor "huge" (1 GiB) is never needed, then asks for "huge";
 * {@code count FILE} reads a large header and prints the number of tensors.
 */
public final class LazyLoadProbe {
  private LazyLoadProbe() {}

  public static void main(String[] args) throws Exception {
    StateDict sd = SafeTensors.read(Path.of(args[1]));
    if (args[0].equals("count")) {
      System.out.println("tensors " + sd.names().size());
      return;
    }
    System.out.println("a " + Arrays.toString(sd.take("a", 2, 3)));
    System.out.println("c " + Arrays.toString(sd.take("c", 3)));
    try {
      sd.take("huge", 1 << 28);
      System.out.println("huge was read");
    } catch (IllegalArgumentException e) {
      System.out.println("refused: " + e.getMessage());
    }
    sd.requireAllUsed(List.of("huge"));
    System.out.println("done");
  }
}
