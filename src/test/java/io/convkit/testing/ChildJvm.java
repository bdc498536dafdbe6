package io.convkit.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a main class in a child JVM (this JVM's java and class path), so a test can see what
 * only a process shows: its exit status, a crash, an OutOfMemoryError under a small -Xmx, and
 * exactly what it prints. Output goes to files, so a chatty child never blocks on a full pipe.
 */
public final class ChildJvm {
  /** A hang guard, not a timing assertion: a child still running after this is a failure. */
  private static final long LIMIT_SECONDS = 300;

  /** The child's exit status and everything it printed. */
  public record Result(int exit, String out, String err) {
    @Override
    public String toString() {
      return "exit " + exit + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
    }
  }

  private ChildJvm() {}

  /** {@code java JVM_ARGS -cp CLASSPATH MAIN ARGS}. */
  public static Result run(List<String> jvmArgs, Class<?> main, String... args)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmArgs);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(main.getName());
    cmd.addAll(List.of(args));
    Path out = Files.createTempFile("convkit-child", ".out");
    Path err = Files.createTempFile("convkit-child", ".err");
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd)
          .redirectOutput(out.toFile())
          .redirectError(err.toFile());
      pb.environment().put("OMP_NUM_THREADS", "1");
      pb.environment().put("OPENBLAS_NUM_THREADS", "1");
      Process p = pb.start();
      if (!p.waitFor(LIMIT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor();
        fail("child JVM still running after " + LIMIT_SECONDS + " s: " + cmd + "\n"
            + Files.readString(err, StandardCharsets.UTF_8));
      }
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}
