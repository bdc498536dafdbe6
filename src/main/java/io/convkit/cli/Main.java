package io.convkit.cli;

import io.convkit.nn.Network;
import io.convkit.nn.Summary;
import io.convkit.nn.models.Models;
import io.convkit.nn.tables.TableCheck;
import io.convkit.tensor.Shape;
import io.convkit.engine.opencl.OpenClException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code java -jar target/convkit.jar COMMAND ...}. Bad arguments print one line and exit 2: a
 * malformed or out-of-range value, a thread count over {@link MemoryCheck#maxThreads}, a batch or
 * input this JVM cannot hold (checked before any tensor exists), an unreadable weights file;
 * an OutOfMemoryError that gets past those checks is one line and exit 2 as well.
 */
public final class Main {
  private Main() {}

  static final String USAGE = """
      usage: java -jar target/convkit.jar COMMAND [options]
        bench [--threads 1,2] [--layers a,b] [--csv FILE] [--peak-gflops X]
              the layer suite (bench/layers.csv) on the CPU engine, beside the GEMM-only
              ceiling, oneDNN and ONNX Runtime (a one-Conv model per layer), in one child JVM
              per thread count
        bench-net [--threads 1,2] [--models a,b] [--engines cpu,opencl,ort] [--csv FILE]
              whole networks: latency at batch 1, throughput at batch 8 (lenet5: 64), per
              engine and thread count, beside ONNX Runtime on the same network exported with
              the same weights, in the same run
        summary MODEL|FILE.onnx [--input 1x3x224x224] [--json] [--alpha A] [--variant V] [--se]
              per-layer output shape, parameters (trained / deployed) and MACs, with totals
        check
              every source-table row (T1-T10): PASS / EXPLAINED / FAIL; exit 1 on any FAIL
        run MODEL|FILE.onnx [--engine cpu|opencl|reference] [--batch N] [--threads N]
              [--input NxCxHxW | --input-file IN.npy] [--output-file OUT.npy]
              [--alpha A] [--variant V] [--se] [--weights FILE]
              one forward pass with seeded random weights: top-5 classes, time per image (beside
              ONNX Runtime's on the same network in this run, from target/convkit.jar), and
              per-layer time with GFLOP/s. Threads: at most 4 x the cores (256 at most); a batch
              or input this JVM cannot hold is refused before anything is allocated. Weights
              keys that all carry DataParallel's 'module.' prefix are stripped (and it says so).
              Exit 1 (one line naming the count) when an output is NaN or infinite. An ONNX
              file is imported (its weights included); .npy files are float32, C order
        export MODEL --onnx OUT.onnx [--weights FILE] [--input NxCxHxW] [--alpha A] ...
              the model with its weights (seeded random by default) as ONNX, opset 17
        tour [--threads N] [--models a,b]
              every model at its native input: params, MACs, table-check rows, CPU and OpenCL
              time per image, the largest difference between the engines
        models
              the model names""";

  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String[] args) {
    return run(args, System.out, System.err);
  }

  /** The command's exit status: 0 ok, 1 a failed check, 2 bad arguments (one line on err). */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 0 || args[0].equals("--help") || args[0].equals("help")) {
      (args.length == 0 ? err : out).println(USAGE);
      return args.length == 0 ? 2 : 0;
    }
    String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
    try {
      return switch (args[0]) {
        case "bench" -> bench(rest);
        case "bench-net" -> benchNet(rest, out, err);
        case "summary" -> summary(rest, out);
        case "check" -> check(rest, out);
        case "run" -> ForwardCommands.run(rest, out, err);
        case "export" -> ForwardCommands.export(rest, out);
        case "tour" -> ForwardCommands.tour(rest, out, err);
        case "models" -> {
          if (rest.length > 0) {
            throw new IllegalArgumentException("models takes no arguments, got '" + rest[0] + "'");
          }
          out.println(String.join("\n", Models.names()));
          yield 0;
        }
        default -> throw new IllegalArgumentException("unknown command '" + args[0]
            + "' (try --help)");
      };
    } catch (IllegalArgumentException e) {
      err.println("convkit: " + oneLine(e.getMessage()));
      return 2;
    } catch (ArithmeticException e) {
      err.println("convkit: the input is too large to count (" + oneLine(e.getMessage()) + ")");
      return 2;
    } catch (UncheckedIOException e) {
      err.println("convkit: " + oneLine(e.getMessage()));
      return 2;
    } catch (OpenClException e) {
      err.println("convkit: OpenCL: " + oneLine(e.getMessage()));
      return 2;
    } catch (OutOfMemoryError e) {
      // The last resort: the checks before allocating are lower bounds. The failed allocation
      // is gone by now, so there is room to say so in one line.
      err.println("convkit: out of memory (" + oneLine(e.getMessage()) + "); try a smaller"
          + " --batch or --input, or a larger -Xmx / -Dorg.bytedeco.javacpp.maxBytes");
      return 2;
    }
  }

  private static String oneLine(String s) {
    return s == null ? "bad arguments" : s.replace('\n', ' ');
  }

  private static int summary(String[] args, PrintStream out) {
    String model = null;
    Shape input = null;
    boolean json = false;
    Map<String, String> opts = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--json" -> json = true;
        case "--se" -> opts.put("se", "true");
        case "--input", "--alpha", "--variant", "--option" -> {
          if (i + 1 >= args.length) {
            throw new IllegalArgumentException(a + " needs a value");
          }
          String v = args[++i];
          switch (a) {
            case "--input" -> input = parseInput(v);
            case "--alpha" -> opts.put("alpha", v);
            case "--variant" -> opts.put("variant", v);
            default -> {
              int eq = v.indexOf('=');
              if (eq < 1) {
                throw new IllegalArgumentException("--option needs KEY=VALUE, got '" + v + "'");
              }
              opts.put(v.substring(0, eq), v.substring(eq + 1));
            }
          }
        }
        default -> {
          if (a.startsWith("-") || model != null) {
            throw new IllegalArgumentException("summary: unexpected argument '" + a + "'");
          }
          model = a;
        }
      }
    }
    if (model == null) {
      throw new IllegalArgumentException("summary needs a MODEL (one of: "
          + String.join(", ", Models.names()) + ")");
    }
    if (model.endsWith(".onnx") && !opts.isEmpty()) {
      throw new IllegalArgumentException("summary " + model + ": an ONNX file carries its "
          + "architecture; drop --alpha, --variant, --se and --option");
    }
    Network net = model.endsWith(".onnx")
        ? ForwardCommands.importOnnx(java.nio.file.Path.of(model)).network()
        : Models.create(model, opts);
    Summary s = net.summary(input == null ? net.nativeInput() : input);
    out.println(json ? s.json() : s.table());
    return 0;
  }

  static Shape parseInput(String v) {
    Shape s = Shape.parse(v);
    if (s.rank() != 4) {
      throw new IllegalArgumentException("malformed shape '" + v + "': expected NxCxHxW, e.g."
          + " 1x3x224x224");
    }
    return s;
  }

  private static int check(String[] args, PrintStream out) {
    if (args.length > 0) {
      throw new IllegalArgumentException("check takes no arguments, got '" + args[0] + "'");
    }
    List<TableCheck.Result> results = TableCheck.run();
    out.print(TableCheck.report(results));
    return results.stream().anyMatch(r -> r.status() == TableCheck.Status.FAIL) ? 1 : 0;
  }

  /**
   * {@code bench-net}: bench/'s NetBenchCommand, by reflection like {@link #bench}; its bad
   * arguments (an IllegalArgumentException, thrown before any measurement) exit 2 here.
   */
  private static int benchNet(String[] args, PrintStream out, PrintStream err) {
    Method m;
    try {
      m = Class.forName("io.convkit.bench.NetBenchCommand")
          .getMethod("run", String[].class, PrintStream.class, PrintStream.class);
    } catch (ClassNotFoundException e) {
      err.println("convkit: bench-net is only in target/convkit.jar (build it with mvn package)");
      return 2;
    } catch (ReflectiveOperationException e) {
      err.println("convkit: bench-net is broken in this build: " + e);
      return 1;
    }
    try {
      return (Integer) m.invoke(null, args, out, err);
    } catch (InvocationTargetException e) {
      if (e.getCause() instanceof IllegalArgumentException iae) {
        throw iae;
      }
      err.println("convkit: bench-net failed: " + e.getCause());
      return 1;
    } catch (IllegalAccessException e) {
      err.println("convkit: bench-net is broken in this build: " + e);
      return 1;
    }
  }

  /** The harness lives in bench/ (with oneDNN, which the library itself does not depend on). */
  private static int bench(String[] args) {
    try {
      Class<?> c = Class.forName("io.convkit.bench.BenchCommand");
      Method m = c.getMethod("run", String[].class);
      return (Integer) m.invoke(null, (Object) args);
    } catch (ClassNotFoundException e) {
      System.err.println("convkit: bench is only in target/convkit.jar (build it with mvn package)");
      return 2;
    } catch (InvocationTargetException e) {
      Throwable t = e.getCause();
      System.err.println("convkit: bench failed: " + t);
      return 1;
    } catch (ReflectiveOperationException e) {
      System.err.println("convkit: bench is broken in this build: " + e);
      return 1;
    }
  }
}
