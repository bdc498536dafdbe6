package io.convkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class MainTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @ParameterizedTest
  @ValueSource(strings = {"summary nope", "summary vgg16 --input 1x3x22",
      "summary vgg16 --input axb", "summary vgg16 --input", "summary mobilenet_v1 --alpha x",
      "summary resnet50 --variant v3", "frob", "summary", "summary vgg16 extra",
      "summary vgg16 --input 1x3x64x64", "check extra", "summary vgg16 --input 1x3x0x224",
      "summary vgg16 --option nokey"})
  void badArgumentsPrintOneLineAndExit2(String args) {
    assertEquals(2, run(args.split(" ")), args);
    String e = err.toString(StandardCharsets.UTF_8);
    assertEquals(1, e.lines().count(), e);
    assertTrue(e.startsWith("convkit: "), e);
    assertTrue(!e.contains("Exception") && !e.contains("\tat "), e);
  }

  @Test
  void summaryJson() {
    assertEquals(0, run("summary", "mobilenet_v2", "--input", "1x3x224x224", "--json"));
    String j = out.toString(StandardCharsets.UTF_8).trim();
    assertTrue(j.startsWith("{\"model\":\"mobilenet_v2\",\"input\":\"1x3x224x224\",\"layers\":["), j);
    assertTrue(j.contains("\"totals\":{\"params_trained\":3504872,"), j);
    assertTrue(j.contains("\"macs\":300774272"), j);
  }

  @Test
  void summaryTable() {
    assertEquals(0, run("summary", "resnet50", "--variant", "v1.5"));
    String t = out.toString(StandardCharsets.UTF_8);
    assertTrue(t.contains("params trained 25,557,032"), t);
    assertTrue(t.contains("FLOPs = 2 x MACs"), t);
  }

  @Test
  void checkPassesWithExitZero() {
    assertEquals(0, run("check"));
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("0 FAIL"));
  }
}
