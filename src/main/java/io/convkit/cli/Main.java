package io.convkit.cli;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * {@code java -jar target/convkit.jar COMMAND ...}. Bad arguments print one line and exit 2.
 */
public final class Main {
  private Main() {}

  static final String USAGE = """
      usage: java -jar target/convkit.jar COMMAND [options]
        bench [--threads 1,2] [--layers a,b] [--csv FILE] [--peak-gflops X]
              the layer suite (bench/layers.csv) on the CPU engine, beside the GEMM-only
              ceiling and oneDNN, in one child JVM per thread count""";

  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String[] args) {
    if (args.length == 0 || args[0].equals("--help") || args[0].equals("help")) {
      System.out.println(USAGE);
      return args.length == 0 ? 2 : 0;
    }
    String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
    return switch (args[0]) {
      case "bench" -> bench(rest);
      default -> {
        System.err.println("convkit: unknown command '" + args[0] + "' (try --help)");
        yield 2;
      }
    };
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
