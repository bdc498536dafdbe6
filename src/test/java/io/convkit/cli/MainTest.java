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
      "summary vgg16 --option nokey", "run nope", "run", "run vgg16 --batch 0",
      "run vgg16 --engine gpu", "run vgg16 --input 1x3x22", "run lenet5 --weights /no/such/file",
      "run alexnet --input 1x3x64x64", "run vgg16 --threads x", "run lenet5 extra",
      "run lenet5 --engine", "tour --models lenet5,nope", "tour extra", "tour --threads 0",
      "bench-net --threads 0", "bench-net --threads x", "bench-net --models nope",
      "bench-net --models resnet50:variant=v3", "bench-net --models resnet50:v1.5",
      "bench-net --engines gpu", "bench-net --engines", "bench-net --min-calls 0",
      "bench-net --rounds 0",
      "bench-net --frob", "bench-net --models ,", "run lenet5 --threads 100000",
      "tour --threads 100000", "run lenet5 --batch 2 --input 3x1x32x32",
      "run resnet18 --input 1x3x100000x100000"})
  void badArgumentsPrintOneLineAndExit2(String args) {
    assertEquals(2, run(args.split(" ")), args);
    String e = err.toString(StandardCharsets.UTF_8);
    assertEquals(1, e.lines().count(), e);
    assertTrue(e.startsWith("convkit: "), e);
    assertTrue(!e.contains("Exception") && !e.contains("\tat "), e);
  }

  @Test
  void benchNetHelpPrintsUsageAndMeasuresNothing() {
    assertEquals(0, run("bench-net", "--help"));
    assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("usage: bench-net"));
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
  void runPrintsTop5TimeAndLayers() {
    assertEquals(0, run("run", "lenet5", "--batch", "2", "--threads", "1"));
    String t = out.toString(StandardCharsets.UTF_8);
    assertTrue(t.contains("input 2x1x32x32"), t);
    assertTrue(t.contains("top-5 of image 0"), t);
    assertTrue(t.contains("time per image"), t);
    assertTrue(t.lines().anyMatch(l -> l.startsWith("c3 ") && l.contains("conv")), t);
    // the subsampling runs as a depthwise conv with its tanh fused; only the RBF is on the host
    assertTrue(t.lines().anyMatch(l -> l.startsWith("s2 ") && l.contains("conv")
        && l.contains("TANH") && l.contains("nhwc_depthwise")), t);
    assertTrue(t.lines().anyMatch(l -> l.startsWith("output ") && l.contains("host")), t);
  }

  @Test
  void runOnTheReferenceEngine() {
    assertEquals(0, run("run", "lenet_cifar", "--engine", "reference"));
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("on reference"));
  }

  @Test
  void anEmptyWeightsFileIsAOneLineErrorNamingIt() throws Exception {
    java.nio.file.Path f = java.nio.file.Files.createTempFile("convkit", ".safetensors");
    try {
      assertEquals(2, run("run", "resnet18", "--weights", f.toString()));
      String e = err.toString(StandardCharsets.UTF_8);
      assertTrue(e.contains(f.getFileName().toString()) && e.lines().count() == 1, e);
    } finally {
      java.nio.file.Files.delete(f);
    }
  }

  @Test
  void tourOfTwoModels() {
    assertEquals(0, run("tour", "--models", "lenet5,inception_bottleneck"));
    String t = out.toString(StandardCharsets.UTF_8);
    assertTrue(t.lines().anyMatch(l -> l.startsWith("lenet5 ") && l.contains("10P 0E 0F")), t);
    assertTrue(t.lines().anyMatch(l -> l.startsWith("inception_bottleneck ")), t);
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("[2/2] inception_bottleneck"));
  }

  @Test
  void checkPassesWithExitZero() {
    assertEquals(0, run("check"));
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("0 FAIL"));
  }
}
