package io.convkit.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The child JVMs of the benchmark commands: one per thread count T (same java, same class path,
 * the parent's heap and JavaCPP settings), with {@code OMP_NUM_THREADS}, {@code
 * OPENBLAS_NUM_THREADS} and {@code POCL_MAX_PTHREAD_COUNT} set to T, since OpenMP, OpenBLAS
 * and PoCL fix their pools when they load. The child prints its results as {@code @@} lines
 * ({@link #emit}); its stderr (progress) goes straight to ours.
 */
final class ChildJvm {
  static final String TAG = "@@";

  private ChildJvm() {}

  /**
   * Runs {@code mainClass} with {@code args} at {@code threads} threads; hands each {@code @@}
   * record's fields (the kind first) to {@code record}, echoes other stdout lines to stderr, and
   * returns the exit status. {@code what} names the command in messages.
   */
  static int run(String what, Class<?> mainClass, List<String> args, int threads,
      Consumer<String[]> record) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("-Xmx") || a.startsWith("-Xms") || a.startsWith("-Xss")
          || a.startsWith("-XX:MaxDirectMemorySize") || a.startsWith("-Dorg.bytedeco.") || a.startsWith("-Dconvkit.")) {
        cmd.add(a);
      }
    }
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(mainClass.getName());
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    String t = Integer.toString(threads);
    pb.environment().put("OMP_NUM_THREADS", t);
    pb.environment().put("OPENBLAS_NUM_THREADS", t);
    // PoCL's CPU device otherwise runs on every core whatever T is.
    pb.environment().put("POCL_MAX_PTHREAD_COUNT", t);
    // PoCL's LLVM replaces the JVM's SIGSEGV handler; the JDK's signal chaining library keeps
    // the JVM's first (without it the child died now and then with status 139, no hs_err).
    Path jsig = Path.of(System.getProperty("java.home"), "lib", "libjsig.so");
    if (Files.isRegularFile(jsig)) {
      pb.environment().put("LD_PRELOAD", jsig.toString());
    }
    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
    pb.redirectInput(ProcessBuilder.Redirect.INHERIT);
    System.err.println(what + ": starting a child JVM with OMP_NUM_THREADS=" + t
        + " OPENBLAS_NUM_THREADS=" + t + " POCL_MAX_PTHREAD_COUNT=" + t);
    Process p = pb.start();
    try (BufferedReader r = new BufferedReader(
        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (!line.startsWith(TAG)) {
          System.err.println("[T=" + t + " stdout] " + line); // a library's own chatter
          continue;
        }
        try {
          record.accept(line.substring(TAG.length()).split("\t", -1));
        } catch (RuntimeException e) {
          System.err.println(what + ": unreadable line from the child: " + line + " (" + e + ")");
        }
      }
    } finally {
      if (p.isAlive()) {
        p.destroy();
      }
    }
    return p.waitFor();
  }

  /** One record for the parent: {@code @@kind\tfield\tfield...} (tabs and newlines in a field
   * become spaces). */
  static void emit(PrintStream out, String kind, String... fields) {
    StringBuilder b = new StringBuilder(TAG).append(kind);
    for (String f : fields) {
      b.append('\t').append(f == null ? "" : f.replaceAll("[\t\r\n]+", " "));
    }
    out.println(b);
    out.flush();
  }
}
