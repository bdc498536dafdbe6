package io.convkit.bench;

import static io.convkit.bench.TextTable.num;

import io.convkit.bench.LayerBench.Budget;
import io.convkit.bench.NetworkBench.ModelSpec;
import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.engine.opencl.OpenClEngine;
import io.convkit.nn.Network;
import io.convkit.nn.forward.ForwardPlan;
import io.convkit.nn.weights.NetworkWeights;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code bench-net [--threads 1,2] [--models a,b] [--engines cpu,opencl,ort] [--csv FILE]}:
 * whole networks, latency at batch 1 and throughput at batch 8 (LeNet-5: 64), on each engine at
 * each thread count, beside ONNX Runtime ({@code ort}, {@link OrtNetwork}) running the same
 * network exported with the same weights, measured in the same child JVM in alternating blocks
 * (ours, ORT, ours, ORT: {@code --rounds 2}; each engine's figure is its best block's median).
 *
 * <p>Like {@code bench}, this process measures nothing itself: it starts one child JVM per
 * thread count ({@link ChildJvm}: OMP/OpenBLAS/PoCL thread counts set in its environment),
 * which measures every model with {@link NetworkBench} and prints {@code @@} records; this
 * process prints the table and writes the CSV. Further options: {@code --warmup-ms 500},
 * {@code --min-ms 1000}, {@code --min-calls 3} (per model, batch, engine and round). Exit status: 0
 * success, 1 a measurement or child failed, 2 bad arguments (an {@link IllegalArgumentException}
 * from {@link #run}).
 */
public final class NetBenchCommand {
  static final String DEFAULT_CSV = "target/bench/networks.csv";
  static final List<String> DEFAULT_MODELS =
      List.of("lenet5", "mobilenet_v1", "mobilenet_v2", "resnet50:variant=v1.5", "vgg16",
          "efficientnet_b0", "convnext_tiny");
  // cpu-nchw: the CPU engine keeping NCHW between layers (the first engine's OpenBLAS paths), to
  // show in one run what the NHWC kernels changed; cpu-exact: the CPU engine of precision EXACT
  // (no Winograd), to show what Winograd changed.
  static final List<String> ENGINES = List.of("cpu", "cpu-nchw", "cpu-exact", "opencl", "ort");
  static final Budget DEFAULT_BUDGET = new Budget(500, 1000, 3);
  /**
   * Blocks per engine, alternating: ours, ORT, ours, ORT, ... for each model; each engine's
   * figure is its best block's median. On 2 shared cores one block of either can be slowed by a
   * neighbour by 30%; alternating blocks keep such a spell from falling on one side only.
   */
  static final int DEFAULT_ROUNDS = 2;

  private NetBenchCommand() {}

  public static void main(String[] args) {
    try {
      System.exit(run(args, System.out, System.err));
    } catch (IllegalArgumentException e) {
      System.err.println("bench-net: " + e.getMessage());
      System.exit(2);
    }
  }

  record Options(int rounds, List<Integer> threads, List<ModelSpec> models, List<String> engines, Path csv,
      Budget budget, boolean child) {}

  /**
   * Runs the command; bad arguments throw {@link IllegalArgumentException} (one line) before
   * any measurement. Returns null from {@link #parse} for --help.
   */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    Options o = parse(args);
    if (o == null) {
      out.println(usage());
      return 0;
    }
    return o.child() ? child(o) : parent(o, out, err);
  }

  static String usage() {
    return "usage: bench-net [--threads 1,2] [--models " + String.join(",", DEFAULT_MODELS)
        + "] [--engines cpu,cpu-nchw,opencl,ort] [--csv " + DEFAULT_CSV + "] [--rounds 2] [--warmup-ms 500]"
        + " [--min-ms 1000] [--min-calls 3]";
  }

  static Options parse(String[] args) {
    List<Integer> threads = null;
    List<String> models = DEFAULT_MODELS;
    List<String> engines = List.of("cpu", "opencl", "ort");
    Path csv = Path.of(DEFAULT_CSV);
    long warmupMs = DEFAULT_BUDGET.warmupMs();
    long minMs = DEFAULT_BUDGET.minMs();
    int minCalls = DEFAULT_BUDGET.minCalls();
    boolean child = false;
    int rounds = DEFAULT_ROUNDS;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "-h", "--help" -> {
          return null;
        }
        case "--child" -> child = true;
        case "--threads", "--models", "--engines", "--csv", "--warmup-ms", "--min-ms",
            "--min-calls", "--rounds" -> {
          if (i + 1 >= args.length) {
            throw new IllegalArgumentException("bench-net: " + a + " needs a value");
          }
          String v = args[++i];
          switch (a) {
            case "--threads" -> {
              threads = new ArrayList<>();
              for (String t : list(a, v)) {
                int n = number(a, t, 1, 1024);
                if (!threads.contains(n)) {
                  threads.add(n);
                }
              }
            }
            case "--models" -> models = list(a, v);
            case "--engines" -> {
              engines = new ArrayList<>(new LinkedHashSet<>(list(a, v)));
              for (String e : engines) {
                if (!ENGINES.contains(e)) {
                  throw new IllegalArgumentException("bench-net: --engines: unknown engine '" + e
                      + "', expected some of " + String.join(", ", ENGINES));
                }
              }
            }
            case "--csv" -> csv = Path.of(v);
            case "--warmup-ms" -> warmupMs = number(a, v, 0, Integer.MAX_VALUE);
            case "--min-ms" -> minMs = number(a, v, 0, Integer.MAX_VALUE);
            case "--rounds" -> rounds = number(a, v, 1, 100);
            default -> minCalls = number(a, v, 1, Integer.MAX_VALUE);
          }
        }
        default -> throw new IllegalArgumentException("bench-net: unexpected argument '" + a
            + "' (" + usage() + ")");
      }
    }
    List<ModelSpec> specs = new ArrayList<>();
    for (String m : models) {
      try {
        specs.add(ModelSpec.parse(m));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("bench-net: --models: " + e.getMessage(), e);
      }
    }
    if (threads == null) {
      int cores = Runtime.getRuntime().availableProcessors();
      threads = cores == 1 ? List.of(1) : List.of(1, cores);
    }
    if (child && threads.size() != 1) {
      throw new IllegalArgumentException("bench-net: --child runs one thread count");
    }
    return new Options(rounds, List.copyOf(threads), List.copyOf(specs), List.copyOf(engines), csv,
        new Budget(warmupMs, minMs, minCalls), child);
  }

  private static List<String> list(String opt, String v) {
    List<String> out = new ArrayList<>();
    for (String s : v.split(",")) {
      if (!s.isBlank()) {
        out.add(s.strip());
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("bench-net: " + opt + ": empty list");
    }
    return out;
  }

  private static int number(String opt, String v, int min, int max) {
    try {
      int n = Integer.parseInt(v.strip());
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw new IllegalArgumentException("bench-net: " + opt + ": '" + v + "' is not a whole number"
        + " in " + min + ".." + max);
  }

  // ------------------------------------------------------------------------------------------
  // Child: one thread count; @@ records on stdout, progress on stderr.

  private static int child(Options o) {
    int t = o.threads().get(0);
    PrintStream out = System.out;
    String tag = "[T=" + t + "] ";
    Engine cpu = Engines.cpu(t);
    Engine cl = null;
    if (o.engines().contains("opencl")) {
      try {
        cl = Engines.openCl();
        ChildJvm.emit(out, "engine", "opencl", label(cl));
      } catch (RuntimeException | LinkageError e) {
        ChildJvm.emit(out, "engine", "opencl", "");
        System.err.println(tag + "no OpenCL engine: " + e.getMessage());
      }
    }
    ChildJvm.emit(out, "engine", "cpu", cpu.name());
    Engine v1 = null;
    if (o.engines().contains("cpu-nchw")) {
      v1 = Engines.cpu(t, io.convkit.tensor.Layout.NCHW);
      ChildJvm.emit(out, "engine", "cpu-nchw", v1.name());
    }
    Engine exact = null;
    if (o.engines().contains("cpu-exact")) {
      exact = Engines.cpu(t, io.convkit.engine.Precision.EXACT);
      ChildJvm.emit(out, "engine", "cpu-exact", exact.name());
    }
    if (o.engines().contains("ort")) {
      ChildJvm.emit(out, "engine", "ort", "ONNX Runtime "
          + ai.onnxruntime.OrtEnvironment.getEnvironment().getVersion() + " (CPU, "
          + t + " intra-op threads, all graph optimisations)");
    }
    int failed = 0;
    long start = System.nanoTime();
    try {
      for (ModelSpec m : o.models()) {
        Network net = m.create();
        NetworkWeights weights = NetworkBench.weights(net);
        OrtNetwork peer = null;
        if (o.engines().contains("ort")) {
          try {
            peer = new OrtNetwork(net, weights, net.nativeInput(), t);
          } catch (ai.onnxruntime.OrtException | RuntimeException ex) {
            failed++;
            System.err.println(tag + m.text() + ": ONNX Runtime cannot run the export: " + ex);
          }
        }
        try (ForwardPlan plan = new ForwardPlan(net, weights)) {
          for (int round = 0; round < o.rounds(); round++) {
            float[] cpuOut = null;
            for (String engineName : o.engines()) {
              Engine e = switch (engineName) {
                case "cpu" -> cpu;
                case "cpu-nchw" -> v1;
                case "cpu-exact" -> exact;
                default -> cl;
              };
              boolean ort = engineName.equals("ort");
              if (ort ? peer == null : e == null) {
                continue;
              }
              for (int batch : new int[] {1, m.throughputBatch()}) {
                System.err.printf(Locale.ROOT, "%s%s batch %d on %s, round %d ...", tag, m.text(),
                    batch, engineName, round + 1);
                long t0 = System.nanoTime();
                try {
                  NetworkBench.Result r = ort ? peer.measure(m, net, batch, o.budget())
                      : NetworkBench.measure(m, net, plan, e, batch, o.budget(), batch == 1);
                  double diff = Double.NaN;
                  if (batch == 1 && engineName.equals("cpu")) {
                    cpuOut = r.output();
                  } else if (batch == 1 && cpuOut != null) {
                    diff = NetworkBench.maxRelDiff(cpuOut, r.output());
                  }
                  ChildJvm.emit(out, "result", m.text(), Integer.toString(batch),
                      Integer.toString(t), engineName, Double.toString(r.msPerCall()),
                      Integer.toString(r.calls()), Double.toString(r.p10Ms()),
                      Double.toString(r.p90Ms()), r.profile(), Double.toString(diff), "");
                  System.err.printf(Locale.ROOT, " %.2f ms per call, %d calls (%.0f s)%n",
                      r.msPerCall(), r.calls(), (System.nanoTime() - t0) / 1e9);
                } catch (RuntimeException | OutOfMemoryError ex) {
                  failed++;
                  ChildJvm.emit(out, "result", m.text(), Integer.toString(batch),
                      Integer.toString(t), engineName, "NaN", "0", "NaN", "NaN", "", "NaN",
                      "failed: " + ex);
                  System.err.println(" FAILED: " + ex);
                }
              }
            }
          }
        } finally {
          if (peer != null) {
            try {
              peer.close();
            } catch (ai.onnxruntime.OrtException ex) {
              System.err.println(tag + "closing the ONNX Runtime session: " + ex);
            }
          }
        }
      }
    } finally {
      cpu.close();
      if (exact != null) {
        exact.close();
      }
      if (v1 != null) {
        v1.close();
      }
      if (cl != null) {
        cl.close();
      }
    }
    System.err.printf(Locale.ROOT, "%sdone in %.0f s%n", tag, (System.nanoTime() - start) / 1e9);
    ChildJvm.emit(out, "done", Integer.toString(t));
    return failed == 0 ? 0 : 1;
  }

  /** "PoCL pthread-haswell-AMD EPYC ..." for PoCL, else the platform and device. */
  static String label(Engine e) {
    if (e instanceof OpenClEngine c) {
      String platform = c.device().platformName();
      boolean pocl = platform.toLowerCase(Locale.ROOT).contains("portable computing")
          || platform.toLowerCase(Locale.ROOT).contains("pocl");
      return (pocl ? "PoCL (CPU): " : platform + ": ") + c.device().name();
    }
    return e.name();
  }

  // ------------------------------------------------------------------------------------------
  // Parent.

  /** One row: a model at a batch, thread count and engine. */
  record Row(String model, int batch, int threads, String engine, double msPerCall, int calls,
      double p10Ms, double p90Ms, String profile, double diffVsCpu, String error) {
    double msPerImage() {
      return msPerCall / batch;
    }

    double imagesPerSecond() {
      return 1000.0 * batch / msPerCall;
    }

  }

  /** ONNX Runtime's ms per image for {@code r}'s model, batch and threads in this run, or NaN. */
  static double ortMs(Row r, List<Row> rows) {
    for (Row o : rows) {
      if (o.engine().equals("ort") && o.error() == null && o.model().equals(r.model())
          && o.batch() == r.batch() && o.threads() == r.threads()) {
        return o.msPerImage();
      }
    }
    return Double.NaN;
  }

  /**
   * Adds {@code r}, or, where a row of the same model, batch, threads and engine is there from
   * an earlier round, keeps the faster of the two (a failed round never replaces a result). The
   * profile and the output difference come from the rounds that have them.
   */
  static void keepBest(List<Row> rows, Row r) {
    for (int i = 0; i < rows.size(); i++) {
      Row q = rows.get(i);
      if (q.model().equals(r.model()) && q.batch() == r.batch() && q.threads() == r.threads()
          && q.engine().equals(r.engine())) {
        boolean better = q.error() != null ? r.error() == null || !(r.msPerCall() >= q.msPerCall())
            : r.error() == null && r.msPerCall() < q.msPerCall();
        Row best = better ? r : q;
        Row other = better ? q : r;
        rows.set(i, new Row(best.model(), best.batch(), best.threads(), best.engine(),
            best.msPerCall(), best.calls(), best.p10Ms(), best.p90Ms(),
            best.profile().isEmpty() ? other.profile() : best.profile(),
            Double.isNaN(best.diffVsCpu()) ? other.diffVsCpu() : best.diffVsCpu(), best.error()));
        return;
      }
    }
    rows.add(r);
  }

  private static int parent(Options o, PrintStream out, PrintStream err) {
    List<Row> rows = new ArrayList<>();
    Map<String, String> engines = new LinkedHashMap<>();
    boolean ok = true;
    for (int t : o.threads()) {
      List<String> args = new ArrayList<>(List.of("--child", "--threads", Integer.toString(t),
          "--engines", String.join(",", o.engines()), "--warmup-ms",
          Long.toString(o.budget().warmupMs()), "--min-ms", Long.toString(o.budget().minMs()),
          "--min-calls", Integer.toString(o.budget().minCalls()), "--rounds",
          Integer.toString(o.rounds()), "--models"));
      List<String> names = new ArrayList<>();
      for (ModelSpec m : o.models()) {
        names.add(m.text());
      }
      args.add(String.join(",", names));
      boolean[] done = {false};
      int rc;
      try {
        rc = ChildJvm.run("bench-net", NetBenchCommand.class, args, t, f -> {
          switch (f[0]) {
            case "engine" -> engines.put(f[1].equals("opencl") ? f[1] : f[1] + ", T=" + t, f[2]);
            case "result" -> keepBest(rows, new Row(f[1], Integer.parseInt(f[2]),
                Integer.parseInt(f[3]), f[4], Double.parseDouble(f[5]), Integer.parseInt(f[6]),
                Double.parseDouble(f[7]), Double.parseDouble(f[8]), f[9],
                Double.parseDouble(f[10]), f[11].isEmpty() ? null : f[11]));
            case "done" -> done[0] = true;
            default -> throw new IllegalArgumentException("unknown record " + f[0]);
          }
        });
      } catch (IOException e) {
        err.println("bench-net: cannot run the child JVM for " + t + " threads: " + e);
        rc = -1;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return 1;
      }
      if (rc != 0 || !done[0]) {
        ok = false;
        err.println("bench-net: the child for " + t + " threads exited with status " + rc
            + (done[0] ? "" : " before it finished"));
      }
    }
    // model, batch, engine, T
    List<Row> sorted = new ArrayList<>();
    for (ModelSpec m : o.models()) {
      for (int batch : new int[] {1, m.throughputBatch()}) {
        for (String e : o.engines()) {
          for (int t : o.threads()) {
            for (Row r : rows) {
              if (r.model().equals(m.text()) && r.batch() == batch && r.engine().equals(e)
                  && r.threads() == t) {
                sorted.add(r);
              }
            }
          }
        }
      }
    }
    printTable(out, engines, sorted);
    try {
      writeCsv(o.csv(), engines, sorted);
      out.println("CSV: " + o.csv().toAbsolutePath().normalize());
    } catch (IOException e) {
      err.println("bench-net: cannot write " + o.csv() + ": " + e.getMessage());
      ok = false;
    }
    for (Row r : sorted) {
      ok &= r.error() == null;
    }
    return ok ? 0 : 1;
  }

  private static void printTable(PrintStream out, Map<String, String> engines, List<Row> rows) {
    out.println();
    for (Map.Entry<String, String> e : engines.entrySet()) {
      out.println(e.getKey() + ": " + (e.getValue().isEmpty() ? "no device (not measured)"
          : e.getValue()));
    }
    out.println();
    String[] head = {"model", "batch", "T", "engine", "ms/call", "ms/image", "images/s", "calls",
        "ORT ms", "ours/ORT", "cl vs cpu", "batch-1 time by step kind (one profiled call)"};
    boolean[] right = {false, true, true, false, true, true, true, true, true, true, true, false};
    List<String[]> cells = new ArrayList<>();
    for (Row r : rows) {
      String eng = r.engine().equals("opencl") && engines.getOrDefault("opencl", "")
          .startsWith("PoCL") ? "opencl (PoCL)" : r.engine();
      if (r.error() != null) {
        cells.add(new String[] {r.model(), Integer.toString(r.batch()),
            Integer.toString(r.threads()), eng, "-", "-", "-", "-", "-", "-", "-", r.error()});
        continue;
      }
      double ort = r.engine().equals("ort") ? Double.NaN : ortMs(r, rows);
      cells.add(new String[] {r.model(), Integer.toString(r.batch()),
          Integer.toString(r.threads()), eng, num(r.msPerCall(), "%.2f"),
          num(r.msPerImage(), "%.2f"), num(r.imagesPerSecond(), "%.1f"),
          Integer.toString(r.calls()), num(ort, "%.2f"), num(r.msPerImage() / ort, "%.2f"),
          num(r.diffVsCpu(), "%.0e"), r.profile()});
    }
    TextTable.print(out, head, right, cells, true);
    out.println();
    out.println("ms/call: median of the timed calls (input from host memory, output read back)."
        + " ORT ms: ONNX Runtime's ms/image in this run (same network, weights, input, batch"
        + " and threads; the block after ours); ours/ORT = our ms/image / ORT's (below 1:"
        + " faster). cl vs cpu: max |engine - cpu| / max |cpu| at batch 1 (ort too).");
  }

  static final String CSV_HEADER = "model,batch,threads,engine,device,ms_per_call,ms_per_image,"
      + "images_per_s,calls,p10_ms,p90_ms,ort_ms_per_image,ours_vs_ort,max_rel_diff_vs_cpu,"
      + "profile_batch1,error";

  private static void writeCsv(Path file, Map<String, String> engines, List<Row> rows)
      throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    if (dir != null) {
      Files.createDirectories(dir);
    }
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8))) {
      w.println(CSV_HEADER);
      for (Row r : rows) {
        double ort = r.engine().equals("ort") ? Double.NaN : ortMs(r, rows);
        List<String> c = List.of(r.model(), Integer.toString(r.batch()),
            Integer.toString(r.threads()), r.engine(), engines.getOrDefault(
                r.engine().equals("opencl") ? "opencl" : r.engine() + ", T=" + r.threads(), ""),
            Csv.num(r.msPerCall(), "%.3f"), Csv.num(r.msPerImage(), "%.3f"),
            Csv.num(r.imagesPerSecond(), "%.2f"), Integer.toString(r.calls()),
            Csv.num(r.p10Ms(), "%.3f"), Csv.num(r.p90Ms(), "%.3f"), Csv.num(ort, "%.3f"),
            Csv.num(r.msPerImage() / ort, "%.3f"), Csv.num(r.diffVsCpu(), "%.2e"), r.profile(),
            r.error() == null ? "" : r.error());
        w.println(Csv.row(c));
      }
    }
  }
}
