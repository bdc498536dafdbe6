package io.convkit.cli;

import io.convkit.conv.ConvPlan;
import io.convkit.conv.Planner;
import io.convkit.engine.cpu.CpuEngine;
import io.convkit.nn.ConvLayer;
import io.convkit.nn.Linear;
import io.convkit.nn.Network;
import io.convkit.nn.PoolLayer;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.tensor.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.javacpp.Pointer;

/**
 * The CLI's checks before anything is allocated: a thread count within a sane bound, and the
 * memory a {@code run} needs against what this JVM and machine can give, so that a batch or input
 * too large is one line naming the argument instead of an OutOfMemoryError halfway through.
 *
 * <p>The estimate is a lower bound, so it never refuses a run that would fit: heap for the
 * random input (a Java array) and the weights; off-heap (JavaCPP, which caps its allocations at
 * {@code org.bytedeco.javacpp.maxBytes}, by default the -Xmx value) for the input tensor, the
 * deployed weights, the largest conv, pool or FC's input and output (they coexist: no step runs
 * in place) and the CPU engine's workspace for its largest conv on one thread. A run that passes
 * and still runs out (buffer pooling, host steps) meets Main's last-resort OutOfMemoryError line.
 */
final class MemoryCheck {
  /** Past this many threads, whatever the machine, only contention and per-thread scratch grow. */
  static final int THREAD_CAP = 256;
  /** HotSpot's largest array: the random input is one float[]. */
  static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

  private MemoryCheck() {}

  /** The largest thread count accepted: 4 x the available processors, at most 256. */
  static int maxThreads() {
    return Math.min(THREAD_CAP, 4 * Runtime.getRuntime().availableProcessors());
  }

  /** {@code flag}'s value as a thread count: a whole number in [1, {@link #maxThreads}]. */
  static int threads(String flag, String v) {
    int n = ForwardCommands.positive(flag, v);
    int max = maxThreads();
    if (n > max) {
      throw new IllegalArgumentException(flag + " " + n + " is more than the limit of " + max
          + " (4 x " + Runtime.getRuntime().availableProcessors() + " available processors, at"
          + " most " + THREAD_CAP + ")");
    }
    return n;
  }

  /**
   * Throws IllegalArgumentException starting with {@code what} (the argument that set the input:
   * "--batch 10000", "--input ...") when {@code net} on {@code input} cannot fit, or the network
   * cannot take that input at all.
   */
  static void require(String what, Network net, Shape input, String engine) {
    long elements = elements(input);
    if (elements > MAX_ARRAY) {
      throw new IllegalArgumentException(what + ": the input " + input + " has " + elements
          + " values, more than the " + MAX_ARRAY + " one Java array holds");
    }
    Map<String, Shape> shapes;
    try {
      shapes = net.shapes(input);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new IllegalArgumentException(what + ": " + net.name() + " cannot take " + input + ": "
          + e.getMessage(), e);
    }
    long in = 4 * elements;
    long weights = NetworkWeights.bytes(net);
    Shape outShape = shapes.get(net.nodes().get(net.nodes().size() - 1).name());
    long out = 4 * elements(outShape);
    long heapNeed = sum(in, weights, out);
    String heapParts = "the input " + bytes(in) + " as a Java array, weights " + bytes(weights)
        + ", the output " + bytes(out);
    Runtime rt = Runtime.getRuntime();
    long heapUsed = rt.totalMemory() - rt.freeMemory();
    long heapFree = rt.maxMemory() - heapUsed;
    if (heapNeed > heapFree) {
      throw new IllegalArgumentException(String.format(Locale.ROOT, "%s: %s on %s needs at least"
          + " %s of heap (%s), but %s of this JVM's %s heap is free (raise -Xmx)", what,
          net.name(), input, bytes(heapNeed), heapParts, bytes(heapFree), bytes(rt.maxMemory())));
    }

    List<String> parts = new ArrayList<>();
    long offNeed = in;
    parts.add("the input " + bytes(in));
    if (!engine.equals("opencl")) { // there these live on the device
      long deployed = 4 * net.paramsDeployed();
      offNeed = sum(offNeed, deployed);
      parts.add("weights " + bytes(deployed));
      long layer = 0;
      String layerName = null;
      for (Network.Node n : net.nodes()) {
        if (n.layer() instanceof ConvLayer || n.layer() instanceof PoolLayer
            || n.layer() instanceof Linear) {
          String src = n.inputs().get(0);
          long b = sum(4 * elements(shapes.get(n.name())),
              src.equals(Network.INPUT) ? 0 : 4 * elements(shapes.get(src)));
          if (b > layer) {
            layer = b;
            layerName = n.name();
          }
        }
      }
      if (layerName != null) {
        offNeed = sum(offNeed, layer);
        parts.add("the input and output of " + layerName + " " + bytes(layer));
      }
      // Checked before planning: the planner refuses tensors past 2^31 values with a message
      // that would not name the argument.
      checkOffHeap(what, net, input, offNeed, heapNeed, parts);
      if (engine.equals("cpu")) {
        // The NHWC kernels keep a packed copy of each dense, grouped and depthwise conv's
        // weights, the dense ones with each group's output channels rounded up to 16, the
        // depthwise to 8.
        long packed = 0;
        for (Network.Node n : net.nodes()) {
          if (n.layer() instanceof ConvLayer c && !c.spec().hasConnections()) {
            var sp = c.spec();
            long taps = (long) sp.kernelH() * sp.kernelW();
            long g = sp.groups();
            long kg = sp.outChannels() / g;
            boolean depthwise = g == sp.inChannels() && g == sp.outChannels();
            if (g == 1 || !depthwise && kg >= CpuEngine.GROUPED_MIN_OUTPUTS) { // dense, grouped
              packed = sum(packed, 4 * g * ((kg + 15) / 16 * 16) * (sp.inChannels() / g) * taps);
            } else if (depthwise) {
              packed = sum(packed, 4 * ((sp.inChannels() + 7L) / 8 * 8) * taps);
            }
          }
        }
        if (packed > 0) {
          offNeed = sum(offNeed, packed);
          parts.add("packed conv weights " + bytes(packed));
        }
        long ws = 0;
        for (Network.Node n : net.nodes()) {
          if (n.layer() instanceof ConvLayer c) {
            ConvPlan p;
            try {
              p = Planner.plan(c.spec(), shapes.get(n.inputs().get(0)));
            } catch (IllegalArgumentException e) {
              throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
            }
            ws = Math.max(ws, Math.max(p.workspaceBytes(), p.scratchBytesPerThread()));
          }
        }
        if (ws > 0) {
          offNeed = sum(offNeed, ws);
          parts.add("workspace " + bytes(ws));
        }
      }
    }
    checkOffHeap(what, net, input, offNeed, heapNeed, parts);
  }

  private static void checkOffHeap(String what, Network net, Shape input, long need,
      long heapNeed, List<String> parts) {
    long avail = Long.MAX_VALUE;
    String limit = null;
    long max = Pointer.maxBytes();
    if (max > 0) {
      avail = max - Pointer.totalBytes();
      limit = "JavaCPP may allocate " + bytes(avail) + " more (org.bytedeco.javacpp.maxBytes "
          + bytes(max) + ", by default the -Xmx value)";
    }
    long maxPhys = Pointer.maxPhysicalBytes();
    Runtime rt = Runtime.getRuntime();
    // The heap's new objects grow the process too, past what its committed free space absorbs.
    long heapGrowth = Math.max(0, heapNeed - rt.freeMemory());
    if (maxPhys > 0) {
      long a = maxPhys - Pointer.physicalBytes() - heapGrowth;
      if (a < avail) {
        avail = a;
        limit = "the process may grow by " + bytes(Math.max(0, a)) + " more"
            + " (org.bytedeco.javacpp.maxPhysicalBytes " + bytes(maxPhys) + ")";
      }
    }
    long phys = Pointer.availablePhysicalBytes();
    if (phys > 0 && phys - heapGrowth < avail) {
      avail = phys - heapGrowth;
      limit = "the machine has " + bytes(Math.max(0, avail)) + " of memory available";
    }
    if (need > avail) {
      throw new IllegalArgumentException(String.format(Locale.ROOT, "%s: %s on %s needs at least"
          + " %s off-heap (%s), but %s", what, net.name(), input, bytes(need),
          String.join(", ", parts), limit));
    }
  }

  /** The shape's element count, saturating instead of overflowing (it is only compared). */
  static long elements(Shape s) {
    long n = 1;
    for (int d : s.dims()) {
      n = n > (Long.MAX_VALUE / 8) / d ? Long.MAX_VALUE / 8 : n * d;
    }
    return n;
  }

  private static long sum(long... v) {
    long s = 0;
    for (long x : v) {
      s = x > Long.MAX_VALUE / 2 - s ? Long.MAX_VALUE / 2 : s + x;
    }
    return s;
  }

  /** "1.5 GiB", "44.6 MiB", "512 bytes". */
  static String bytes(long b) {
    String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (b < 1024) {
      return b + " bytes";
    }
    double v = b;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
