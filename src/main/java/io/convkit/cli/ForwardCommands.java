package io.convkit.cli;

import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.engine.opencl.OpenClException;
import io.convkit.nn.Network;
import io.convkit.nn.Summary;
import io.convkit.nn.forward.ForwardPass;
import io.convkit.nn.forward.ForwardPlan;
import io.convkit.nn.forward.Step;
import io.convkit.nn.models.Models;
import io.convkit.nn.tables.TableCheck;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.nn.weights.SafeTensors;
import io.convkit.nn.weights.StateDict;
import io.convkit.nn.weights.TorchvisionNames;
import io.convkit.onnx.OnnxCodec;
import io.convkit.onnx.OnnxExport;
import io.convkit.onnx.OnnxImport;
import io.convkit.onnx.OnnxModel;
import io.convkit.tensor.Shape;
import io.convkit.tensor.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/** {@code run} (one model's forward pass) and {@code tour} (every model, one line each). */
final class ForwardCommands {
  /** The seed of the random weights and input the commands use. */
  static final long SEED = 1;

  private ForwardCommands() {}

  // ------------------------------------------------------------------------------------- run

  static int run(String[] args, PrintStream out, PrintStream err) {
    String model = null;
    String engineName = "cpu";
    int batch = 1;
    String batchArg = null;
    String inputArg = null;
    int threads = Runtime.getRuntime().availableProcessors();
    Path weightsFile = null;
    Path inputFile = null;
    Path outputFile = null;
    Shape input = null;
    Map<String, String> opts = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--se" -> opts.put("se", "true");
        case "--engine", "--batch", "--threads", "--weights", "--input", "--alpha", "--variant",
            "--input-file", "--output-file" -> {
          if (i + 1 >= args.length) {
            throw new IllegalArgumentException(a + " needs a value");
          }
          String v = args[++i];
          switch (a) {
            case "--engine" -> {
              if (!List.of("cpu", "opencl", "reference").contains(v)) {
                throw new IllegalArgumentException("--engine must be cpu, opencl or reference, got '"
                    + v + "'");
              }
              engineName = v;
            }
            case "--batch" -> {
              batch = positive(a, v);
              batchArg = v;
            }
            case "--threads" -> threads = MemoryCheck.threads(a, v);
            case "--weights" -> weightsFile = Path.of(v);
            case "--input" -> {
              input = Main.parseInput(v);
              inputArg = v;
            }
            case "--alpha" -> opts.put("alpha", v);
            case "--input-file" -> inputFile = Path.of(v);
            case "--output-file" -> outputFile = Path.of(v);
            default -> opts.put("variant", v);
          }
        }
        default -> {
          if (a.startsWith("-") || model != null) {
            throw new IllegalArgumentException("run: unexpected argument '" + a + "'");
          }
          model = a;
        }
      }
    }
    if (model == null) {
      throw new IllegalArgumentException("run needs a MODEL (one of: "
          + String.join(", ", Models.names()) + ") or an ONNX file");
    }
    if (input != null && batchArg != null && input.n() != batch) {
      throw new IllegalArgumentException("--batch " + batchArg + " contradicts --input "
          + inputArg + " (N = " + input.n() + "); give one of them");
    }
    Npy.Array given = null;
    if (inputFile != null) {
      if (input != null || batchArg != null) {
        throw new IllegalArgumentException("--input-file gives the input's shape; drop --input"
            + " and --batch");
      }
      given = Npy.read(inputFile);
      if (given.shape().rank() != 4) {
        throw new IllegalArgumentException("--input-file '" + inputFile + "' has shape "
            + given.shape() + "; expected NxCxHxW");
      }
      input = given.shape();
      inputArg = "--input-file " + inputFile;
    }
    boolean onnx = model.endsWith(".onnx");
    if (onnx && (weightsFile != null || !opts.isEmpty())) {
      throw new IllegalArgumentException("run " + model + ": an ONNX file carries its weights and"
          + " architecture; drop --weights, --alpha, --variant and --se");
    }
    OnnxImport.Imported imported = onnx ? importOnnx(Path.of(model)) : null;
    Network net = onnx ? imported.network() : Models.create(model, opts);
    Shape shape = input != null ? input : net.nativeInput();
    shape = Shape.of(input != null ? shape.n() : batch, shape.c(), shape.h(), shape.w());
    // A shape the network cannot take, or one this JVM cannot hold, is a bad argument, before
    // any tensor exists.
    String what = inputArg != null ? (given != null ? inputArg : "--input " + inputArg)
        : batchArg != null ? "--batch " + batchArg : "run " + model;
    MemoryCheck.require(what, net, shape, engineName);
    NetworkWeights weights;
    String weightsFrom;
    if (imported != null) {
      weights = imported.weights();
      weightsFrom = "weights from " + model;
    } else if (weightsFile != null) {
      Loaded l = load(net, weightsFile);
      weights = l.weights();
      weightsFrom = "weights from " + weightsFile + l.note();
    } else {
      weights = NetworkWeights.random(net, SEED);
      weightsFrom = "seeded random weights (He init, seed " + SEED + ")";
    }
    float[] inputData = given != null ? given.data() : randomInput(shape);
    try (Engine engine = engine(engineName, threads);
        ForwardPlan plan = new ForwardPlan(net, weights);
        ForwardPass pass = new ForwardPass(plan, engine);
        Tensor x = Tensor.of(inputData, shape.dims())) {
      boolean slow = engineName.equals("reference");
      out.printf(Locale.ROOT, "%s on %s, input %s, %s%n", net.name(), engine.name(), shape,
          weightsFrom);
      long t0 = System.nanoTime();
      if (slow) {
        pass.setProfiling(true);
      }
      Tensor output = pass.forward(x);
      float[] y = output.toArray();
      Shape outShape = output.shape();
      engine.finish();
      long first = System.nanoTime() - t0;
      List<List<ForwardPass.StepTime>> passes = new ArrayList<>();
      long steady = first;
      if (!slow) {
        steady = best(pass, x); // as the peer is timed: 200 ms of warm-up, the faster of two
        y = pass.forward(x).toArray();
        pass.setProfiling(true);
        for (int k = 0; k < PROFILE_PASSES; k++) {
          pass.forward(x);
          passes.add(pass.times());
        }
      }
      int classes = y.length / shape.n();
      if (outputFile != null) {
        Npy.write(outputFile, outShape, y);
      }
      String bad = nonFinite(y);
      if (bad != null) {
        // A ranking of NaNs looks plausible and means nothing: fail instead (a failed check).
        err.println("convkit: run: " + bad + "; no top-5 (check the weights and the input)");
        return 1;
      }
      out.printf(Locale.ROOT, "top-5 of image 0 (class: output): %s%n", top5(y, classes));
      out.printf(Locale.ROOT, "time per image %.2f ms (batch %d: %.2f ms per call; first call %.2f"
          + " ms)%n", steady / 1e6 / shape.n(), shape.n(), steady / 1e6, first / 1e6);
      if (!slow) {
        out.println(peerLine(net, weights, inputData, shape, threads, steady / 1e6, y));
      }
      out.println();
      out.print(layerTable(passes.isEmpty() ? pass.times() : medianTimes(passes)));
    }
    return 0;
  }

  // ---------------------------------------------------------------------------------- export

  /**
   * {@code export MODEL --onnx OUT.onnx [--weights F.safetensors] [--input NxCxHxW] [model
   * options]}: the model with its weights (seeded random ones by default, as {@code run}) as an
   * ONNX file (opset 17).
   */
  static int export(String[] args, PrintStream out) {
    String model = null;
    Path onnxFile = null;
    Path weightsFile = null;
    Shape input = null;
    Map<String, String> opts = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--se" -> opts.put("se", "true");
        case "--onnx", "--weights", "--input", "--alpha", "--variant" -> {
          if (i + 1 >= args.length) {
            throw new IllegalArgumentException(a + " needs a value");
          }
          String v = args[++i];
          switch (a) {
            case "--onnx" -> onnxFile = Path.of(v);
            case "--weights" -> weightsFile = Path.of(v);
            case "--input" -> input = Main.parseInput(v);
            case "--alpha" -> opts.put("alpha", v);
            default -> opts.put("variant", v);
          }
        }
        default -> {
          if (a.startsWith("-") || model != null) {
            throw new IllegalArgumentException("export: unexpected argument '" + a + "'");
          }
          model = a;
        }
      }
    }
    if (model == null || onnxFile == null) {
      throw new IllegalArgumentException("export needs a MODEL and --onnx OUT.onnx");
    }
    Network net = Models.create(model, opts);
    Shape shape = input != null ? input : net.nativeInput();
    net.shapes(shape); // a shape the network cannot take is a bad argument
    NetworkWeights weights = weightsFile != null ? load(net, weightsFile).weights()
        : NetworkWeights.random(net, SEED);
    OnnxModel m = OnnxExport.export(net, weights, shape);
    try {
      OnnxCodec.write(m, onnxFile);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot write '" + onnxFile + "': " + e.getMessage(), e);
    }
    out.printf(Locale.ROOT, "%s: %d ONNX nodes, %d initializers (%s), opset %d -> %s%n",
        net.name(), m.graph().nodes().size(), m.graph().initializers().size(),
        weightsFile != null ? "weights from " + weightsFile : "seeded random weights, seed " + SEED,
        OnnxExport.OPSET, onnxFile);
    return 0;
  }

  /**
   * An ONNX file as a network with its weights; a file that cannot be read or imported is a bad
   * argument naming it (one line).
   */
  static OnnxImport.Imported importOnnx(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("no such ONNX file '" + file + "'");
    }
    OnnxModel m;
    try {
      m = OnnxCodec.read(file);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read '" + file + "': " + e.getMessage(), e);
    }
    String name = file.getFileName().toString();
    name = name.substring(0, name.length() - ".onnx".length());
    try {
      return OnnxImport.toNetwork(m, name);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Every parameter of {@code net} from a safetensors file under torchvision's state_dict keys;
   * a missing, mis-shaped or extra tensor is an error naming it (BN's num_batches_tracked, a
   * training counter, is the one extra allowed).
   */
  static NetworkWeights loadWeights(Network net, Path file) {
    return load(net, file).weights();
  }

  /** Loaded weights, and a note for the header line (empty, or what was done to the keys). */
  record Loaded(NetworkWeights weights, String note) {}

  /**
   * {@link #loadWeights}. Keys that all carry DataParallel's "module." prefix (torchvision's own
   * keys never do) are stripped, and the note says so: the prefix is how PyTorch saves a wrapped
   * model, not a different model.
   */
  static Loaded load(Network net, Path file) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("--weights: no such file '" + file + "'");
    }
    StateDict sd;
    try {
      sd = SafeTensors.read(file); // the header only: tensors are read as they are taken
    } catch (IOException e) {
      throw new IllegalArgumentException("--weights: cannot read '" + file + "': " + e.getMessage(),
          e);
    }
    String note = "";
    if (sd.allKeysStartWith("module.")) {
      sd = sd.withoutPrefix("module.");
      note = " (its keys' 'module.' prefix, from DataParallel, stripped)";
    }
    NetworkWeights w = NetworkWeights.load(net, sd::take, TorchvisionNames.forModel(net));
    sd.requireAllUsed(TorchvisionNames.unused(net));
    return new Loaded(w, note);
  }

  static int positive(String flag, String v) {
    try {
      int n = Integer.parseInt(v);
      if (n >= 1) {
        return n;
      }
    } catch (NumberFormatException e) {
      // fall through
    }
    throw new IllegalArgumentException(flag + " must be a whole number >= 1, got '" + v + "'");
  }

  private static Engine engine(String name, int threads) {
    return switch (name) {
      case "reference" -> Engines.reference();
      case "opencl" -> {
        try {
          yield Engines.openCl();
        } catch (OpenClException e) {
          throw new IllegalArgumentException("--engine opencl: " + e.getMessage());
        }
      }
      default -> Engines.cpu(threads);
    };
  }

  static float[] randomInput(Shape s) {
    Random r = new Random(SEED);
    float[] a = new float[Math.toIntExact(s.elements())];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) r.nextGaussian();
    }
    return a;
  }

  /** Null when every output is finite, else e.g. "1000 of 1000 outputs are NaN, 0 infinite". */
  static String nonFinite(float[] y) {
    int nan = 0;
    int inf = 0;
    for (float v : y) {
      if (Float.isNaN(v)) {
        nan++;
      } else if (Float.isInfinite(v)) {
        inf++;
      }
    }
    if (nan == 0 && inf == 0) {
      return null;
    }
    return nan + " of " + y.length + " outputs are NaN, " + inf + " infinite";
  }

  static String top5(float[] y, int classes) {
    List<Integer> best = new ArrayList<>();
    for (int k = 0; k < Math.min(5, classes); k++) {
      int arg = -1;
      for (int i = 0; i < classes; i++) {
        if (!best.contains(i) && (arg < 0 || y[i] > y[arg])) {
          arg = i;
        }
      }
      best.add(arg);
    }
    StringBuilder b = new StringBuilder();
    for (int i : best) {
      b.append(b.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%d: %.4g", i, y[i]));
    }
    return b.toString();
  }

  /**
   * Passes profiled by {@code run}: one pass on this machine swings a step by 1.5x or more (a
   * worker waking late, the host's noise), so the table gives each step's median.
   */
  static final int PROFILE_PASSES = 7;

  /** Each step's median time over the passes (all from one plan, so the steps line up). */
  static List<ForwardPass.StepTime> medianTimes(List<List<ForwardPass.StepTime>> passes) {
    List<ForwardPass.StepTime> first = passes.get(0);
    List<ForwardPass.StepTime> out = new ArrayList<>(first.size());
    long[] nanos = new long[passes.size()];
    for (int i = 0; i < first.size(); i++) {
      for (int p = 0; p < passes.size(); p++) {
        nanos[p] = passes.get(p).get(i).nanos();
      }
      Arrays.sort(nanos);
      ForwardPass.StepTime t = first.get(i);
      out.add(new ForwardPass.StepTime(t.step(), nanos[nanos.length / 2], t.macs(), t.output(),
          t.ran()));
    }
    return out;
  }

  static String layerTable(List<ForwardPass.StepTime> times) {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "%-34s %-10s %-16s %9s %9s  %s  [%s]%n", "step", "kind",
        "output", "ms", "GFLOP/s", "op", "ran"));
    long total = 0;
    long macs = 0;
    for (ForwardPass.StepTime t : times) {
      total += t.nanos();
      macs += t.macs();
      b.append(String.format(Locale.ROOT, "%-34s %-10s %-16s %9.3f %9s  %s  [%s]%n",
          t.step().name(), t.step().kind().name().toLowerCase(), t.output(), t.nanos() / 1e6,
          t.macs() == 0 ? "-" : String.format(Locale.ROOT, "%.1f", 2.0 * t.macs() / t.nanos()),
          t.step().describe(), t.ran()));
    }
    b.append(String.format(Locale.ROOT, "%-34s %-10s %-16s %9.3f %9.1f  (profiled: each step's"
        + " median of the passes, the engine waited for after each step)%n", "total", "", "",
        total / 1e6, 2.0 * macs / total));
    return b.toString();
  }

  // ------------------------------------------------------------------------------------ tour

  static int tour(String[] args, PrintStream out, PrintStream err) {
    int threads = Runtime.getRuntime().availableProcessors();
    List<String> models = Models.names();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--threads", "--models" -> {
          if (i + 1 >= args.length) {
            throw new IllegalArgumentException(args[i] + " needs a value");
          }
          String v = args[++i];
          if (args[i - 1].equals("--threads")) {
            threads = MemoryCheck.threads("--threads", v);
          } else {
            models = List.of(v.split(","));
            for (String m : models) {
              Models.create(m); // an unknown name is a bad argument before any work
            }
          }
        }
        default -> throw new IllegalArgumentException("tour: unexpected argument '" + args[i]
            + "'");
      }
    }
    Map<String, List<TableCheck.Result>> checks = TableCheck.runByModel();
    Engine openCl = null;
    String noOpenCl = null;
    try {
      openCl = Engines.openCl();
    } catch (OpenClException | LinkageError e) {
      noOpenCl = e.getMessage();
    }
    NetworkPeer peer = null;
    String noPeer = null;
    try {
      peer = NetworkPeer.load(threads);
    } catch (IllegalStateException e) {
      noPeer = e.getMessage();
    }
    try (Engine cpu = Engines.cpu(threads)) {
      out.printf(Locale.ROOT, "tour: every model at its native input, batch 1, seeded random weights;"
          + " CPU %s, OpenCL %s; peer %s%n", cpu.name(), openCl != null ? openCl.name()
          : "none (" + noOpenCl + ")", peer != null ? peer.name() : "none (" + noPeer + ")");
      out.printf(Locale.ROOT, "%-22s %-12s %13s %9s %-15s %10s %10s %9s %9s %8s%n", "model",
          "input", "params", "GMACs", "table rows", "cpu ms", "opencl ms", "max diff", "ort ms",
          "cpu/ort");
      long start = System.nanoTime();
      int i = 0;
      for (String m : models) {
        err.printf(Locale.ROOT, "[%d/%d] %s (%.0f s so far)%n", ++i, models.size(), m,
            (System.nanoTime() - start) / 1e9);
        out.println(tourLine(m, cpu, openCl, peer, checks.get(m)));
        out.flush();
      }
      out.printf(Locale.ROOT, "%d models in %.0f s. ms = time per image, the faster of two calls after"
          + " 200 ms of warm-up calls (the first allocates and, on OpenCL, builds kernels); max diff = max"
          + " |cpu - opencl| / max |cpu output| (and of ORT's output: '!' above 1e-4); ort ms ="
          + " ONNX Runtime on the same network exported with the same weights, timed the same way"
          + " right after ours; cpu/ort above 1: ORT is faster.%n", models.size(),
          (System.nanoTime() - start) / 1e9);
    } finally {
      if (openCl != null) {
        openCl.close();
      }
    }
    return 0;
  }

  /** The faster of two timed calls, output read back (the machine is shared: noisy). */
  /** Warm-up for a tour measurement: at least two calls and {@value #WARMUP_MS} ms (the JIT). */
  static final long WARMUP_MS = 200;

  private static void warmUp(ForwardPass pass, Tensor x) {
    long end = System.nanoTime() + WARMUP_MS * 1_000_000L;
    int calls = 0;
    while (calls++ < 2 || System.nanoTime() - end < 0) {
      pass.forward(x).toArray();
    }
  }

  private static long best(ForwardPass pass, Tensor x) {
    warmUp(pass, x);
    long best = Long.MAX_VALUE;
    for (int i = 0; i < 2; i++) {
      long t0 = System.nanoTime();
      pass.forward(x).toArray();
      best = Math.min(best, System.nanoTime() - t0);
    }
    return best;
  }

  private static String tourLine(String model, Engine cpu, Engine openCl, NetworkPeer peer,
      List<TableCheck.Result> rows) {
    Network net = Models.create(model);
    Shape in = net.nativeInput();
    Summary s = net.summary();
    long macs = 0;
    for (Summary.Row r : s.rows()) {
      macs += r.macs();
    }
    String table = "-";
    if (rows != null && !rows.isEmpty()) {
      int pass = 0;
      int explained = 0;
      for (TableCheck.Result r : rows) {
        pass += r.status() == TableCheck.Status.PASS ? 1 : 0;
        explained += r.status() == TableCheck.Status.EXPLAINED ? 1 : 0;
      }
      int fail = rows.size() - pass - explained;
      table = pass + "P " + explained + "E " + fail + "F";
    }
    String cpuMs;
    String clMs = "-";
    String diff = "-";
    String ortMs = "-";
    String ratio = "-";
    NetworkWeights weights = NetworkWeights.random(net, SEED);
    double cpuTime;
    float[] input = randomInput(in);
    try (ForwardPlan plan = new ForwardPlan(net, weights);
        Tensor x = Tensor.of(input, in.dims())) {
      float[] a;
      try (ForwardPass pass = new ForwardPass(plan, cpu)) {
        cpuTime = best(pass, x) / 1e6; // its warm-up allocates and compiles
        a = pass.forward(x).toArray();
        cpuMs = ms(cpuTime);
      }
      if (openCl != null) {
        try (ForwardPass pass = new ForwardPass(plan, openCl)) {
          clMs = ms(best(pass, x) / 1e6); // its warm-up builds the kernels
          diff = String.format(Locale.ROOT, "%.1e", relDiff(a, pass.forward(x).toArray()));
        }
      }
      if (peer != null && peerRoom(net) != null) {
        ortMs = "no heap";
      } else if (peer != null) {
        try {
          NetworkPeer.Result r = peer.run(net, weights, input, in);
          ortMs = ms(r.ms());
          ratio = String.format(Locale.ROOT, "%.2f", cpuTime / r.ms());
          if (!(relDiff(a, r.output()) <= 1e-4)) {
            ortMs += "!"; // a peer that computes something else is no peer
          }
        } catch (RuntimeException e) {
          ortMs = "failed";
        }
      }
    }
    return String.format(Locale.ROOT, "%-22s %-12s %,13d %9.3f %-15s %10s %10s %9s %9s %8s", model,
        in, net.paramsTrained(), macs / 1e9, table, cpuMs, clMs, diff, ortMs, ratio);
  }

  /**
   * ONNX Runtime on the same network, weights and input, in this run (the peer of the time just
   * printed), or why there is none.
   */
  private static String peerLine(Network net, NetworkWeights weights, float[] x, Shape shape,
      int threads, double oursMs, float[] ours) {
    String room = peerRoom(net);
    if (room != null) {
      return "peer: none (" + room + ")";
    }
    try (NetworkPeer peer = NetworkPeer.load(threads)) {
      NetworkPeer.Result r = peer.run(net, weights, x, shape);
      double d = relDiff(ours, r.output());
      return String.format(Locale.ROOT, "peer: %s, same network and weights: %.2f ms per call"
          + " (ours / ORT %.2f; outputs differ by %.1e of the largest)", peer.name(), r.ms(),
          oursMs / r.ms(), d);
    } catch (RuntimeException e) {
      return "peer: none (" + e.getMessage() + ")";
    }
  }

  /**
   * Null when this JVM's free heap can hold the export for the peer (the weights about three
   * times over: the records, the file's bytes, and slack), else why not: a small heap runs
   * without its peer rather than fail.
   */
  static String peerRoom(Network net) {
    Runtime rt = Runtime.getRuntime();
    long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
    long need = 3 * NetworkWeights.bytes(net) + (16L << 20);
    return need <= free ? null : String.format(Locale.ROOT, "exporting %s for ONNX Runtime needs"
        + " about %d MB of heap, %d MB are free", net.name(), need >> 20, free >> 20);
  }

  /** Milliseconds to three significant digits or so: 0.05, 5.93, 42.1. */
  private static String ms(double v) {
    return String.format(Locale.ROOT, v < 10 ? "%.2f" : "%.1f", v);
  }

  /** max |a - b| / max |a| (NaN when the lengths differ). */
  private static double relDiff(float[] a, float[] b) {
    if (a.length != b.length) {
      return Double.NaN;
    }
    double max = 0;
    double d = 0;
    for (int k = 0; k < a.length; k++) {
      max = Math.max(max, Math.abs(a[k]));
      d = Math.max(d, Math.abs(a[k] - b[k]));
    }
    return max == 0 ? d : d / max;
  }
}
