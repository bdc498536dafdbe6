package io.convkit.bench;

import io.convkit.bench.LayerBench.Budget;
import io.convkit.bench.LayerBench.Timing;
import io.convkit.conv.ConvSpec;
import io.convkit.engine.Engine;
import io.convkit.nn.Network;
import io.convkit.nn.forward.ForwardPass;
import io.convkit.nn.forward.ForwardPlan;
import io.convkit.nn.forward.Step;
import io.convkit.nn.models.Models;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * One whole network at one batch size on one engine: seeded random weights (as {@code run}),
 * a seeded Gaussian input in host memory, and calls of {@code pass.forward(x).toArray()}: the
 * input is read from the host and the output read back, every call, so on the OpenCL engine
 * a call includes both transfers and the wait for the device.
 *
 * <p>{@link LayerBench#time} measures: warm-up calls until the warm-up time has passed (at least
 * one: the first call assigns and allocates the buffers and, on OpenCL, builds kernels), then
 * timed calls until both the minimum time and the minimum number of calls are reached; the
 * figure is the median. A slow case (VGG-16 at batch 8 on PoCL: seconds per call) thus runs
 * one warm-up and the minimum number of timed calls, a fast one many.
 */
public final class NetworkBench {
  /** The seed of the weights and the input (the CLI's {@code run} uses the same). */
  static final long SEED = 1;

  private NetworkBench() {}

  /**
   * A model with its options, written {@code name} or {@code name:key=value:key=value}, e.g.
   * {@code resnet50:variant=v1.5}.
   */
  public record ModelSpec(String text, String name, Map<String, String> options) {
    public static ModelSpec parse(String text) {
      String[] parts = text.strip().split(":");
      Map<String, String> opts = new LinkedHashMap<>();
      for (int i = 1; i < parts.length; i++) {
        int eq = parts[i].indexOf('=');
        if (eq < 1) {
          throw new IllegalArgumentException("model '" + text + "': options are KEY=VALUE after"
              + " ':', e.g. resnet50:variant=v1.5");
        }
        opts.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
      }
      ModelSpec m = new ModelSpec(text.strip(), parts[0], Map.copyOf(opts));
      m.create(); // an unknown model or option is a bad argument before any work
      return m;
    }

    public Network create() {
      return Models.create(name, options);
    }

    /** The batch of the throughput figure: 64 for LeNet-5 (a 32x32 image is tiny), else 8. */
    public int throughputBatch() {
      return name.startsWith("lenet") ? 64 : 8;
    }
  }

  /** One measurement. {@code profile}: where a profiled call's time went (batch 1 only). */
  public record Result(String model, int batch, double msPerCall, int calls, double p10Ms,
      double p90Ms, String profile, float[] output) {
    public double msPerImage() {
      return msPerCall / batch;
    }

    public double imagesPerSecond() {
      return 1000.0 * batch / msPerCall;
    }
  }

  /** The seeded random weights every engine and peer runs {@code net} with. */
  public static NetworkWeights weights(Network net) {
    return NetworkWeights.random(net, SEED);
  }

  /**
   * Times {@code plan} on {@code engine} at {@code batch} images of the network's native input;
   * with {@code profile}, one more call with per-step timing gives the breakdown by kind.
   */
  public static Result measure(ModelSpec model, Network net, ForwardPlan plan, Engine engine,
      int batch, Budget budget, boolean profile) {
    Shape in = net.nativeInput();
    Shape shape = Shape.of(batch, in.c(), in.h(), in.w());
    try (ForwardPass pass = new ForwardPass(plan, engine);
        Tensor x = Tensor.of(input(shape), shape.dims())) {
      Timing t = LayerBench.time(() -> pass.forward(x).toArray(), budget);
      float[] y = pass.forward(x).toArray();
      String where = "";
      if (profile) {
        pass.setProfiling(true);
        pass.forward(x);
        where = breakdown(pass.times());
      }
      return new Result(model.text(), batch, t.medianMs(), t.calls(), t.p10Ms(), t.p90Ms(),
          where, y);
    }
  }

  static float[] input(Shape s) {
    Random r = new Random(SEED);
    float[] a = new float[Math.toIntExact(s.elements())];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) r.nextGaussian();
    }
    return a;
  }

  /** The step kinds by share of the profiled time, largest first, down to 3%: "3x3 64%, ...". */
  static String breakdown(List<ForwardPass.StepTime> times) {
    Map<String, Long> ns = new LinkedHashMap<>();
    long total = 0;
    for (ForwardPass.StepTime t : times) {
      ns.merge(category(t.step()), t.nanos(), Long::sum);
      total += t.nanos();
    }
    List<Map.Entry<String, Long>> e = new ArrayList<>(ns.entrySet());
    e.sort((a, b) -> Long.compare(b.getValue(), a.getValue()));
    StringBuilder b = new StringBuilder();
    for (Map.Entry<String, Long> c : e) {
      double pct = 100.0 * c.getValue() / Math.max(1, total);
      if (pct < 3 && b.length() > 0) {
        break;
      }
      b.append(b.length() == 0 ? "" : ", ")
          .append(String.format(Locale.ROOT, "%s %.0f%%", c.getKey(), pct));
    }
    return b.toString();
  }

  /** conv KxK / conv 1x1 / depthwise / grouped / fc / pool / add / host. */
  static String category(Step s) {
    if (s instanceof Step.Conv c && c.conv() != null) {
      ConvSpec spec = c.conv().spec();
      if (spec.groups() > 1 && spec.groups() == spec.inChannels()) {
        return "depthwise";
      }
      if (spec.groups() > 1) {
        return "grouped";
      }
      return "conv" + spec.kernelH() + "x" + spec.kernelW();
    }
    return s.kind().name().toLowerCase(Locale.ROOT);
  }

  /** max |a - b| / max |a|. */
  static double maxRelDiff(float[] a, float[] b) {
    double max = 0;
    double d = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i]));
      d = Math.max(d, Math.abs(a[i] - b[i]));
    }
    return max == 0 ? d : d / max;
  }
}
