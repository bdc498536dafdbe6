package io.convkit.bench;

import static io.convkit.bench.TextTable.num;

import io.convkit.bench.LayerBench.Budget;
import io.convkit.bench.LayerBench.Result;
import io.convkit.bench.LayerSuite.Layer;
import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.engine.cpu.Blas;
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
 * {@code bench [--threads 1,2] [--layers name,name] [--csv FILE] [--peak-gflops X]}: the layer
 * suite at each thread count, against the GEMM-only ceiling, oneDNN and ONNX Runtime.
 *
 * <p>This process measures nothing itself: for each thread count T it starts a child JVM (same
 * java, same class path) with {@code OMP_NUM_THREADS=T} and {@code OPENBLAS_NUM_THREADS=T}, since
 * both libraries fix their pools when they load. The child first measures the sgemm peak
 * (M = N = K = 2048) at T threads, then each layer (our engine, GEMM ceiling, oneDNN, ONNX
 * Runtime on a one-Conv ONNX model of the layer with the same weights ({@link OrtConv}), in
 * alternating blocks, {@code --rounds} times over, each keeping its best), then the peak once more (the better of the two counts: a busy neighbour
 * on a shared machine lowers one of them), and prints lines starting with {@code @@} that this process collects. It
 * then prints one table row per layer and thread count and writes the CSV.
 *
 * <p>Further options: {@code --engine opencl} (the OpenCL engine beside the CPU engine; kernel
 * and transfer times apart), {@code --engine cpu}, {@code --engines
 * convkit,gemm,onednn,ort,opencl} (default: all), {@code --warmup-ms 300},
 * {@code --min-ms 600}, {@code --min-calls 10} (per block), {@code --rounds 2}, {@code --no-check} (skip
 * the cross-check of our output against oneDNN's and ORT's). Exit status: 0 success, 1 a layer or child
 * failed, 2 bad arguments.
 */
public final class BenchCommand {
  static final String DEFAULT_CSV = "target/bench/layers.csv";
  static final int PEAK_SIZE = 2048;

  private BenchCommand() {}

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** The parsed command line. */
  record Options(List<Integer> threads, List<String> layers, Path csv, double peakGflops,
      List<String> engines, Budget budget, int rounds, boolean check, boolean child) {}

  /** Alternating blocks per engine and layer (each engine keeps its best). */
  static final int DEFAULT_ROUNDS = 2;
  /** Per block: two rounds of 600 ms keep the suite's run time near one round of 1000 ms. */
  static final long DEFAULT_MIN_MS = 600;

  static final class BadArgs extends Exception {
    BadArgs(String message) {
      super(message);
    }
  }

  public static int run(String[] args) {
    Options o;
    List<Layer> layers;
    try {
      o = parse(args);
      if (o == null) {
        return 0; // --help
      }
      layers = LayerSuite.select(LayerSuite.load(), o.layers());
    } catch (BadArgs | IllegalArgumentException e) {
      System.err.println("bench: " + e.getMessage());
      return 2;
    }
    if (o.child()) {
      return child(o, layers);
    }
    return parent(o, layers);
  }

  static Options parse(String[] args) throws BadArgs {
    List<Integer> threads = null;
    List<String> layers = List.of();
    Path csv = Path.of(DEFAULT_CSV);
    double peak = Double.NaN;
    List<String> engines = LayerBench.ENGINES;
    long warmupMs = Budget.DEFAULT.warmupMs();
    long minMs = DEFAULT_MIN_MS;
    int minCalls = Budget.DEFAULT.minCalls();
    int rounds = DEFAULT_ROUNDS;
    boolean check = true;
    boolean child = false;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String opt = a;
      String val = null;
      int eq = a.indexOf('=');
      if (a.startsWith("--") && eq > 0) {
        opt = a.substring(0, eq);
        val = a.substring(eq + 1);
      }
      switch (opt) {
        case "-h", "--help" -> {
          System.out.println(usage());
          return null;
        }
        case "--child" -> child = true;
        case "--no-check" -> check = false;
        case "--threads", "--layers", "--csv", "--peak-gflops", "--engines", "--engine",
            "--warmup-ms", "--min-ms", "--min-calls", "--rounds" -> {
          if (val == null) {
            if (i + 1 >= args.length) {
              throw new BadArgs(opt + " needs a value; " + usage());
            }
            val = args[++i];
          }
          switch (opt) {
            case "--threads" -> {
              threads = new ArrayList<>();
              for (String t : list(opt, val)) {
                int n = intValue(opt, t);
                if (n < 1 || n > 1024) {
                  throw new BadArgs("--threads: " + n + " is not a thread count (1..1024)");
                }
                if (!threads.contains(n)) {
                  threads.add(n);
                }
              }
            }
            case "--layers" -> layers = list(opt, val);
            case "--csv" -> csv = Path.of(val);
            case "--peak-gflops" -> {
              try {
                peak = Double.parseDouble(val);
              } catch (NumberFormatException e) {
                throw new BadArgs("--peak-gflops: '" + val + "' is not a number");
              }
              if (!(peak > 0) || Double.isInfinite(peak)) {
                throw new BadArgs("--peak-gflops: must be a positive number, got " + val);
              }
            }
            case "--engines" -> {
              engines = new ArrayList<>(new LinkedHashSet<>(list(opt, val)));
              for (String e : engines) {
                if (!LayerBench.ENGINES.contains(e)) {
                  throw new BadArgs("--engines: unknown engine '" + e + "', expected "
                      + String.join(",", LayerBench.ENGINES));
                }
              }
            }
            case "--engine" -> engines = switch (val) {
              // Our engine on one device, beside the CPU engine (and its peers, for cpu).
              case "opencl" -> List.of(LayerBench.CONVKIT, LayerBench.OPENCL);
              case "cpu" -> List.of(LayerBench.CONVKIT, LayerBench.GEMM, LayerBench.ONEDNN,
                  LayerBench.ORT);
              default -> throw new BadArgs("--engine: unknown engine '" + val
                  + "', expected cpu or opencl");
            };
            case "--warmup-ms" -> warmupMs = nonNegative(opt, val);
            case "--min-ms" -> minMs = nonNegative(opt, val);
            case "--min-calls" -> {
              minCalls = intValue(opt, val);
              if (minCalls < 1) {
                throw new BadArgs("--min-calls: must be >= 1, got " + minCalls);
              }
            }
            case "--rounds" -> {
              rounds = intValue(opt, val);
              if (rounds < 1 || rounds > 100) {
                throw new BadArgs("--rounds: must be 1..100, got " + rounds);
              }
            }
            default -> throw new AssertionError(opt);
          }
        }
        default -> throw new BadArgs("unknown argument '" + a + "'; " + usage());
      }
    }
    if (threads == null) {
      int cores = Runtime.getRuntime().availableProcessors();
      threads = cores == 1 ? List.of(1) : List.of(1, cores);
    }
    if (child && threads.size() != 1) {
      throw new BadArgs("--child runs one thread count, got " + threads);
    }
    return new Options(List.copyOf(threads), layers, csv, peak, List.copyOf(engines),
        new Budget(warmupMs, minMs, minCalls), rounds, check, child);
  }

  static String usage() {
    return "usage: bench [--threads 1,2] [--layers name,name] [--csv FILE] [--peak-gflops X]"
        + " [--engine cpu|opencl] [--engines convkit,gemm,onednn,ort,opencl] [--warmup-ms 300]"
        + " [--min-ms 600] [--min-calls 10] [--rounds 2]"
        + " [--no-check]";
  }

  private static List<String> list(String opt, String val) throws BadArgs {
    List<String> out = new ArrayList<>();
    for (String s : val.split(",")) {
      if (!s.isBlank()) {
        out.add(s.strip());
      }
    }
    if (out.isEmpty()) {
      throw new BadArgs(opt + ": empty list");
    }
    return out;
  }

  private static int intValue(String opt, String val) throws BadArgs {
    try {
      return Integer.parseInt(val.strip());
    } catch (NumberFormatException e) {
      throw new BadArgs(opt + ": '" + val + "' is not an integer");
    }
  }

  private static long nonNegative(String opt, String val) throws BadArgs {
    int v = intValue(opt, val);
    if (v < 0) {
      throw new BadArgs(opt + ": must be >= 0, got " + v);
    }
    return v;
  }

  // ------------------------------------------------------------------------------------------
  // Child: measures at one thread count, prints @@ lines on stdout, progress on stderr.

  private static int child(Options o, List<Layer> layers) {
    int t = o.threads().get(0);
    PrintStream out = System.out;
    String tag = "[T=" + t + "] ";
    String omp = System.getenv("OMP_NUM_THREADS");
    if (omp == null || !omp.strip().equals(Integer.toString(t))) {
      System.err.println(tag + "warning: OMP_NUM_THREADS is " + omp + ", not " + t
          + ": oneDNN will not run on " + t + " threads");
    }
    String engineName;
    try (Engine e = Engines.cpu(t)) {
      engineName = e.name();
    }
    boolean onednn = o.engines().contains(LayerBench.ONEDNN) && LayerBench.oneDnnAvailable();
    String ortVersion = o.engines().contains(LayerBench.ORT) ? OrtConv.version() : null;
    String ort = ortVersion == null ? "" : ortVersion;
    ChildJvm.emit(out, "info", Integer.toString(t), engineName, Blas.config(),
        Boolean.toString(onednn), ort);
    System.err.printf(Locale.ROOT, "%s%s, oneDNN %s, ORT %s; sgemm peak %d^3 ...%n", tag,
        engineName, onednn ? "available" : "not used", ort.isEmpty() ? "not used" : ort,
        PEAK_SIZE);
    Budget peakBudget =
        new Budget(o.budget().warmupMs(), o.budget().minMs(), Math.min(5, o.budget().minCalls()));
    double peak = LayerBench.sgemmPeak(t, PEAK_SIZE, peakBudget);
    ChildJvm.emit(out, "peak", Integer.toString(t), Double.toString(peak));
    double fma = LayerBench.fmaPeak(t);
    ChildJvm.emit(out, "fma", Integer.toString(t), Double.toString(fma));
    System.err.printf(Locale.ROOT, "%ssgemm peak %.1f GFLOP/s, FMA peak %.1f GFLOP/s%n", tag, peak,
        fma);
    int failed = 0;
    long start = System.nanoTime();
    for (int i = 0; i < layers.size(); i++) {
      Layer l = layers.get(i);
      System.err.printf(Locale.ROOT, "%s%d/%d %s ...", tag, i + 1, layers.size(), l.name());
      long t0 = System.nanoTime();
      Result r;
      try {
        r = LayerBench.measure(l, t, o.budget(), o.engines(), o.check(), o.rounds());
      } catch (RuntimeException | Error e) {
        r = new Result(l.name(), t, "", "", l.spec().macs(l.input()) * 2, Double.NaN, Double.NaN,
            Double.NaN, "", Double.NaN, "benchmark failed: " + e, Result.Cl.NONE, Double.NaN, "",
            Double.NaN);
      }
      if (r.error() != null || r.opencl().error() != null) {
        failed++;
      }
      ChildJvm.emit(out, "result", r.layer(), Integer.toString(r.threads()), r.algorithm(),
          r.kernel(),
          Long.toString(r.flops()), Double.toString(r.oursMs()), Double.toString(r.gemmMs()),
          Double.toString(r.onednnMs()), r.onednnImpl(), Double.toString(r.maxRelError()),
          r.error() == null ? "" : r.error(), Double.toString(r.opencl().ms()),
          Double.toString(r.opencl().transferMs()), r.opencl().kernel(), r.opencl().device(),
          Double.toString(r.opencl().maxRelError()),
          r.opencl().error() == null ? "" : r.opencl().error(), Double.toString(r.ortMs()),
          r.ortImpl(), Double.toString(r.ortMaxRelError()));
      System.err.printf(Locale.ROOT, " %s%s (%.1f s)%n", r.error() != null ? "FAILED: " + r.error()
          : String.format(Locale.ROOT, "%.3f ms", r.oursMs()),
          r.opencl().error() != null ? "; opencl FAILED: " + r.opencl().error()
              : Double.isNaN(r.opencl().ms()) ? ""
              : String.format(Locale.ROOT, "; opencl %.3f ms", r.opencl().ms()),
          (System.nanoTime() - t0) / 1e9);
    }
    // Once more at the end: on a shared machine a neighbour may have disturbed the first one.
    double again = LayerBench.sgemmPeak(t, PEAK_SIZE, peakBudget);
    ChildJvm.emit(out, "peak", Integer.toString(t), Double.toString(again));
    ChildJvm.emit(out, "fma", Integer.toString(t), Double.toString(LayerBench.fmaPeak(t)));
    System.err.printf(Locale.ROOT, "%ssgemm peak again %.1f GFLOP/s%s%n", tag, again,
        Math.abs(again - peak) > 0.1 * Math.max(again, peak)
            ? " (differs by more than 10% from the first: was the machine busy?)" : "");
    System.err.printf(Locale.ROOT, "%sdone in %.1f s%n", tag, (System.nanoTime() - start) / 1e9);
    ChildJvm.emit(out, "done", Integer.toString(t));
    return failed == 0 ? 0 : 1;
  }

  // ------------------------------------------------------------------------------------------
  // Parent: one child per thread count, then the table and the CSV.

  /** What one child reported. */
  static final class ChildReport {
    String engine = "?";
    String blasConfig = "?";
    boolean onednn;
    String ort = ""; // ORT's version, empty where not used
    double peak = Double.NaN; // sgemm
    double fma = Double.NaN; // the FMA loop's
    boolean done;
    final Map<String, Result> results = new LinkedHashMap<>();
  }

  private static int parent(Options o, List<Layer> layers) {
    Map<Integer, ChildReport> reports = new LinkedHashMap<>();
    boolean ok = true;
    for (int t : o.threads()) {
      ChildReport rep = new ChildReport();
      reports.put(t, rep);
      int rc;
      try {
        rc = runChild(o, layers, t, rep);
      } catch (IOException e) {
        System.err.println("bench: cannot run the child JVM for " + t + " threads: " + e);
        rc = -1;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        System.err.println("bench: interrupted");
        return 1;
      }
      if (rc != 0 || !rep.done) {
        ok = false;
        if (!rep.done) {
          System.err.println("bench: the child for " + t + " threads exited with status " + rc
              + " before it finished (" + rep.results.size() + " of " + layers.size()
              + " layers measured)");
        }
      }
    }
    PrintStream out = System.out;
    printTable(out, o, layers, reports);
    if (o.engines().contains(LayerBench.OPENCL)) {
      printOpenClTable(out, o, layers, reports);
    }
    try {
      writeCsv(o, layers, reports);
      out.println("CSV: " + o.csv().toAbsolutePath().normalize());
    } catch (IOException e) {
      System.err.println("bench: cannot write " + o.csv() + ": " + e.getMessage());
      ok = false;
    }
    for (ChildReport r : reports.values()) {
      for (Result res : r.results.values()) {
        ok &= res.error() == null && res.opencl().error() == null;
      }
    }
    return ok ? 0 : 1;
  }

  private static int runChild(Options o, List<Layer> layers, int t, ChildReport rep)
      throws IOException, InterruptedException {
    List<String> args = new ArrayList<>();
    args.add("--child");
    args.add("--threads");
    args.add(Integer.toString(t));
    List<String> names = new ArrayList<>();
    for (Layer l : layers) {
      names.add(l.name());
    }
    args.add("--layers");
    args.add(String.join(",", names));
    args.add("--engines");
    args.add(String.join(",", o.engines()));
    args.add("--warmup-ms");
    args.add(Long.toString(o.budget().warmupMs()));
    args.add("--min-ms");
    args.add(Long.toString(o.budget().minMs()));
    args.add("--min-calls");
    args.add(Integer.toString(o.budget().minCalls()));
    args.add("--rounds");
    args.add(Integer.toString(o.rounds()));
    if (!o.check()) {
      args.add("--no-check");
    }
    System.err.println("bench: " + layers.size() + " layer(s) at T=" + t);
    return ChildJvm.run("bench", BenchCommand.class, args, t, f -> collect(f, rep));
  }

  private static void collect(String[] f, ChildReport rep) {
    switch (f[0]) {
      case "info" -> {
        rep.engine = f[2];
        rep.blasConfig = f[3];
        rep.onednn = Boolean.parseBoolean(f[4]);
        rep.ort = f[5];
      }
      case "peak" -> { // the best of the child's measurements
        double p = Double.parseDouble(f[2]);
        rep.peak = Double.isNaN(rep.peak) ? p : Math.max(rep.peak, p);
      }
      case "fma" -> {
        double p = Double.parseDouble(f[2]);
        rep.fma = Double.isNaN(rep.fma) ? p : Math.max(rep.fma, p);
      }
      case "result" -> {
        Result.Cl cl = new Result.Cl(Double.parseDouble(f[12]), Double.parseDouble(f[13]), f[14],
            f[15], Double.parseDouble(f[16]), f[17].isEmpty() ? null : f[17]);
        Result r = new Result(f[1], Integer.parseInt(f[2]), f[3], f[4], Long.parseLong(f[5]),
            Double.parseDouble(f[6]), Double.parseDouble(f[7]), Double.parseDouble(f[8]), f[9],
            Double.parseDouble(f[10]), f[11].isEmpty() ? null : f[11], cl,
            Double.parseDouble(f[18]), f[19], Double.parseDouble(f[20]));
        rep.results.put(r.layer(), r);
      }
      case "done" -> rep.done = true;
      default -> throw new IllegalArgumentException("unknown record " + f[0]);
    }
  }

  /**
   * The percentage base for thread count {@code t}: --peak-gflops, else the FMA peak measured in
   * the same child (the sgemm peak where the CPU has no AVX2).
   */
  private static double peakFor(Options o, ChildReport rep) {
    return !Double.isNaN(o.peakGflops()) ? o.peakGflops() : Double.isNaN(rep.fma) ? rep.peak
        : rep.fma;
  }

  private static void printTable(PrintStream out, Options o, List<Layer> layers,
      Map<Integer, ChildReport> reports) {
    out.println();
    for (Map.Entry<Integer, ChildReport> e : reports.entrySet()) {
      ChildReport r = e.getValue();
      out.printf(Locale.ROOT, "T=%d: %s; oneDNN %s; ORT %s; %s%n", e.getKey(), r.engine,
          r.onednn ? "available" : "not used", r.ort.isEmpty() ? "not used" : r.ort,
          r.blasConfig);
    }
    StringBuilder peaks = new StringBuilder("sgemm peak (M=N=K=" + PEAK_SIZE
        + ", median of calls, best of the measurements before and after the layers):");
    for (Map.Entry<Integer, ChildReport> e : reports.entrySet()) {
      peaks.append(String.format(Locale.ROOT, "  T=%d %s GFLOP/s", e.getKey(),
          num(e.getValue().peak, "%.1f")));
    }
    io.convkit.engine.cpu.Isa isa = io.convkit.engine.cpu.Isa.best();
    peaks.append("\nFMA peak (12 " + isa.name() + " FMA chains of " + isa.fmaLanes()
        + " lanes per thread, best of the rounds before and after the layers):");
    for (Map.Entry<Integer, ChildReport> e : reports.entrySet()) {
      peaks.append(String.format(Locale.ROOT, "  T=%d %s GFLOP/s", e.getKey(),
          num(e.getValue().fma, "%.1f")));
    }
    if (!Double.isNaN(o.peakGflops())) {
      peaks.append(String.format(Locale.ROOT, "; %%peak below is of the given %.1f GFLOP/s",
          o.peakGflops()));
    } else {
      peaks.append("; %peak below is of the FMA peak at the same T");
    }
    out.println(peaks);
    out.println();
    String[] head = {"layer", "T", "algorithm (kernel)", "ms", "GFLOP/s", "%peak", "gemm ms",
        "gemm GF/s", "vs gemm", "oneDNN ms", "oneDNN GF/s", "vs oneDNN", "oneDNN impl", "ORT ms",
        "ORT GF/s", "vs ORT", "err", "ORT err"};
    boolean[] right = {false, true, false, true, true, true, true, true, true, true, true, true,
        false, true, true, true, true, true};
    List<String[]> rows = new ArrayList<>();
    List<String> ortFailures = new ArrayList<>();
    for (Layer l : layers) {
      for (Map.Entry<Integer, ChildReport> e : reports.entrySet()) {
        Result r = e.getValue().results.get(l.name());
        if (r == null) {
          rows.add(new String[] {l.name(), e.getKey().toString(), "(not measured)", "", "", "",
              "", "", "", "", "", "", "", "", "", "", "", ""});
          continue;
        }
        double peak = peakFor(o, e.getValue());
        String alg = r.error() != null && Double.isNaN(r.oursMs())
            ? "FAILED: " + r.error()
            : r.algorithm() + " (" + r.kernel() + ")";
        String err = errCell(r.maxRelError());
        String ortErr = errCell(r.ortMaxRelError());
        // The reason of a failure is long: it goes below the table.
        String ortMs = r.ortImpl().startsWith("failed") ? "failed"
            : r.ortImpl().equals("unavailable") ? "unavailable" : num(r.ortMs(), "%.3f");
        if (r.ortImpl().startsWith("failed")) {
          ortFailures.add(r.layer() + " T=" + r.threads() + ": ORT " + r.ortImpl());
        }
        rows.add(new String[] {r.layer(), Integer.toString(r.threads()), alg,
            num(r.oursMs(), "%.3f"), num(r.oursGflops(), "%.1f"), num(r.pctPeak(peak), "%.0f%%"),
            num(r.gemmMs(), "%.3f"), num(r.gemmGflops(), "%.1f"), num(r.vsGemm(), "%.2f"),
            num(r.onednnMs(), "%.3f"), num(r.onednnGflops(), "%.1f"), num(r.vsOneDnn(), "%.2f"),
            r.onednnImpl(), ortMs, num(r.ortGflops(), "%.1f"), num(r.vsOrt(), "%.2f"), err,
            ortErr});
      }
    }
    TextTable.print(out, head, right, rows, reports.size() > 1);
    for (String f : ortFailures) {
      out.println(f);
    }
    out.println();
    out.println("ms: median per call. vs gemm = gemm_ms/our_ms (1.00: as fast as the bare GEMM);"
        + " vs oneDNN = onednn_ms/our_ms (above 1: faster than oneDNN);"
        + " vs ORT = ort_ms/our_ms (above 1: faster than ONNX Runtime on the layer as a one-Conv"
        + " ONNX model, same weights, same run);"
        + " err: max |ours - oneDNN| / max |oneDNN|, ORT err: max |ours - ORT| / max |ORT| (! above "
        + LayerBench.CHECK_TOLERANCE + ").");
  }

  private static String errCell(double e) {
    return Double.isNaN(e) ? ""
        : String.format(Locale.ROOT, "%.0e", e) + (e > LayerBench.CHECK_TOLERANCE ? " !" : "");
  }

  private static void printOpenClTable(PrintStream out, Options o, List<Layer> layers,
      Map<Integer, ChildReport> reports) {
    String device = "";
    for (ChildReport r : reports.values()) {
      for (Result res : r.results.values()) {
        if (!res.opencl().device().isEmpty()) {
          device = res.opencl().device();
        }
      }
    }
    out.println();
    if (device.isEmpty()) {
      out.println("OpenCL: not measured (no OpenCL device here, or every layer failed).");
    }
    out.println("OpenCL engine on " + (device.isEmpty() ? "-" : device) + ": kernel time with the"
        + " tensors on the device (median per call, waiting for the device), and the transfer of"
        + " the input up and the output back, timed on its own.");
    out.println();
    String[] head = {"layer", "T", "OpenCL kernels", "ms", "GFLOP/s", "%peak", "transfer ms",
        "CPU engine ms", "vs CPU", "err vs CPU"};
    boolean[] right = {false, true, false, true, true, true, true, true, true, true};
    List<String[]> rows = new ArrayList<>();
    for (Layer l : layers) {
      for (Map.Entry<Integer, ChildReport> e : reports.entrySet()) {
        Result r = e.getValue().results.get(l.name());
        if (r == null) {
          continue;
        }
        Result.Cl c = r.opencl();
        String kernels = c.error() != null ? "FAILED: " + c.error() : c.kernel();
        double pct = 100.0 * r.openclGflops() / peakFor(o, e.getValue());
        rows.add(new String[] {r.layer(), Integer.toString(r.threads()), kernels,
            num(c.ms(), "%.3f"), num(r.openclGflops(), "%.1f"), num(pct, "%.0f%%"),
            num(c.transferMs(), "%.3f"), num(r.oursMs(), "%.3f"), num(r.openclVsCpu(), "%.2f"),
            num(c.maxRelError(), "%.0e")});
      }
    }
    TextTable.print(out, head, right, rows, false);
    out.println();
    out.println("%peak: of the CPU's FMA peak measured at the same T (meaningful for a CPU"
        + " OpenCL device such as PoCL); vs CPU = cpu_ms/opencl_ms (above 1: OpenCL faster);"
        + " err vs CPU: max |opencl - cpu| / max |cpu|.");
  }

  static final String CSV_HEADER = "layer,threads,n,c,h,w,k,r,s,stride,pad,dilation,groups,kind,"
      + "algorithm,kernel,gflop,convkit_ms,convkit_gflops,gemm_ms,gemm_gflops,onednn_ms,"
      + "onednn_gflops,onednn_impl,vs_gemm,vs_onednn,peak_gflops,pct_peak,max_rel_err,error,"
      + "opencl_device,opencl_kernel,opencl_ms,opencl_gflops,opencl_transfer_ms,opencl_vs_cpu,"
      + "opencl_max_rel_err,opencl_error,ort_ms,ort_gflops,vs_ort,ort_max_rel_err,ort_impl";

  private static void writeCsv(Options o, List<Layer> layers, Map<Integer, ChildReport> reports)
      throws IOException {
    Path file = o.csv();
    Path dir = file.toAbsolutePath().getParent();
    if (dir != null) {
      Files.createDirectories(dir);
    }
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8))) {
      w.println(CSV_HEADER);
      for (Layer l : layers) {
        for (Map.Entry<Integer, ChildReport> e : reports.entrySet()) {
          Result r = e.getValue().results.get(l.name());
          double peak = peakFor(o, e.getValue());
          List<String> c = new ArrayList<>(List.of(l.csv().split(",")));
          c.add(1, e.getKey().toString());
          if (r == null) {
            c.add("");
            c.add("");
            c.add(Csv.num(l.spec().macs(l.input()) * 2 / 1e9, "%.6f"));
            for (int i = 0; i < 9; i++) { // convkit_ms .. vs_onednn
              c.add("");
            }
            c.add(Csv.num(peak, "%.2f"));
            c.add("");
            c.add("");
            c.add("not measured");
            for (int i = 0; i < 13; i++) { // opencl_*, ort_*
              c.add("");
            }
          } else {
            c.add(r.algorithm());
            c.add(r.kernel());
            c.add(Csv.num(r.flops() / 1e9, "%.6f"));
            c.add(Csv.num(r.oursMs(), "%.4f"));
            c.add(Csv.num(r.oursGflops(), "%.2f"));
            c.add(Csv.num(r.gemmMs(), "%.4f"));
            c.add(Csv.num(r.gemmGflops(), "%.2f"));
            c.add(Csv.num(r.onednnMs(), "%.4f"));
            c.add(Csv.num(r.onednnGflops(), "%.2f"));
            c.add(r.onednnImpl());
            c.add(Csv.num(r.vsGemm(), "%.3f"));
            c.add(Csv.num(r.vsOneDnn(), "%.3f"));
            c.add(Csv.num(peak, "%.2f"));
            c.add(Csv.num(r.pctPeak(peak), "%.1f"));
            c.add(Csv.num(r.maxRelError(), "%.2e"));
            c.add(r.error() == null ? "" : r.error());
            Result.Cl cl = r.opencl();
            c.add(cl.device());
            c.add(cl.kernel());
            c.add(Csv.num(cl.ms(), "%.4f"));
            c.add(Csv.num(r.openclGflops(), "%.2f"));
            c.add(Csv.num(cl.transferMs(), "%.4f"));
            c.add(Csv.num(r.openclVsCpu(), "%.3f"));
            c.add(Csv.num(cl.maxRelError(), "%.2e"));
            c.add(cl.error() == null ? "" : cl.error());
            c.add(Csv.num(r.ortMs(), "%.4f"));
            c.add(Csv.num(r.ortGflops(), "%.2f"));
            c.add(Csv.num(r.vsOrt(), "%.3f"));
            c.add(Csv.num(r.ortMaxRelError(), "%.2e"));
            c.add(r.ortImpl());
          }
          w.println(Csv.row(c));
        }
      }
    }
  }
}
