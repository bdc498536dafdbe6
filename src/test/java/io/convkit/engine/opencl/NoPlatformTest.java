package io.convkit.engine.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A machine with the OpenCL loader but no platform: a child JVM whose loader (ocl-icd) reads an
 * empty vendor directory. {@code Engines.openCl()} must throw a clear {@link OpenClException}
 * and {@code Engines.best()} fall back to the CPU engine with a log line saying why.
 */
class NoPlatformTest {
  @BeforeEach
  void needsTheLoader() {
    OpenClTests.deviceOrSkip(); // the loader is here (else there is nothing to hide a platform from)
  }

  @Test
  void openClSaysThereIsNoPlatformAndBestFallsBackToTheCpu(@TempDir Path empty)
      throws IOException, InterruptedException {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    ProcessBuilder pb = new ProcessBuilder(List.of(java.toString(), "-cp",
        System.getProperty("java.class.path"), NoPlatformProbe.class.getName()));
    pb.environment().put("OCL_ICD_VENDORS", empty.toString());
    pb.redirectErrorStream(true);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the probe JVM did not finish");
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("openCl: OpenClException: no OpenCL platform"), out);
    assertTrue(out.contains("best: cpu("), out);
    assertTrue(out.contains("no OpenCL GPU") && out.contains("using cpu("),
        "the fallback is not logged: " + out);
    assertTrue(Files.isDirectory(empty));
  }
}
