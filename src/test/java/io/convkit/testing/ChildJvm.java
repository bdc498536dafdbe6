package io.convkit.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a test's probe in a child JVM (same java, same class path), so that a native crash
 * (SIGSEGV) is a non-zero exit status the test reports, not a dead test run.
 */
public final class ChildJvm {
  private ChildJvm() {}

  /** The child's exit status (-1 when it had to be killed) and its stdout and stderr together. */
  public record Result(int exitStatus, String output) {}

  /** Runs {@code mainClass.main(args)}; kills the child after {@code timeoutSeconds}. */
  public static Result run(Class<?> mainClass, long timeoutSeconds, String... args)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx512m");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(mainClass.getName());
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[][] out = new byte[1][];
    // Drain the pipe on its own thread, so a chatty child never blocks on a full pipe.
    Thread reader = new Thread(() -> {
      try (InputStream in = p.getInputStream()) {
        out[0] = in.readAllBytes();
      } catch (IOException e) {
        out[0] = ("(reading the child's output failed: " + e + ")").getBytes(StandardCharsets.UTF_8);
      }
    });
    reader.start();
    int status;
    if (p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      status = p.exitValue();
    } else {
      p.destroyForcibly().waitFor();
      status = -1;
    }
    reader.join();
    return new Result(status, new String(out[0], StandardCharsets.UTF_8));
  }
}
