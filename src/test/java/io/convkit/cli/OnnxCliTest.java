package io.convkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.tensor.Shape;
import io.convkit.testing.ConvCases;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI's ONNX commands: export, run FILE.onnx with .npy in and out, summary FILE.onnx. */
class OnnxCliTest {
  @TempDir Path dir;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    out.reset();
    err.reset();
    return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @Test
  void anExportedModelRunsFromItsFileAsTheModelDoes() {
    Path onnx = dir.resolve("mnv2.onnx");
    assertEquals(0, run("export", "mobilenet_v2", "--alpha", "0.5", "--input", "1x3x64x64",
        "--onnx", onnx.toString()), err.toString(StandardCharsets.UTF_8));
    assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("mobilenet_v2_0.5: "),
        out.toString(StandardCharsets.UTF_8));
    Path x = dir.resolve("x.npy");
    Shape in = Shape.of(2, 3, 64, 64);
    Npy.write(x, in, ConvCases.data(5, in.elements()));
    Path fromModel = dir.resolve("a.npy");
    Path fromFile = dir.resolve("b.npy");
    assertEquals(0, run("run", "mobilenet_v2", "--alpha", "0.5", "--input-file", x.toString(),
        "--output-file", fromModel.toString()), err.toString(StandardCharsets.UTF_8));
    assertEquals(0, run("run", onnx.toString(), "--input-file", x.toString(), "--output-file",
        fromFile.toString()), err.toString(StandardCharsets.UTF_8));
    assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("mnv2 on cpu("),
        out.toString(StandardCharsets.UTF_8));
    // every time run prints has its peer from the same run, checked against ours
    assertTrue(out.toString(StandardCharsets.UTF_8).lines().anyMatch(l -> l.startsWith(
        "peer: ONNX Runtime ") && l.contains("same network and weights")),
        out.toString(StandardCharsets.UTF_8));
    Npy.Array a = Npy.read(fromModel);
    Npy.Array b = Npy.read(fromFile);
    assertEquals(Shape.of(2, 1000), a.shape());
    assertEquals(a.shape(), b.shape());
    double largest = 0;
    for (float v : a.data()) {
      largest = Math.max(largest, Math.abs(v));
    }
    for (int i = 0; i < a.data().length; i++) {
      assertTrue(Math.abs(a.data()[i] - b.data()[i]) <= 1e-4 * largest, "output " + i + ": "
          + a.data()[i] + " from the model, " + b.data()[i] + " from its ONNX file");
    }
    assertEquals(0, run("summary", onnx.toString()));
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("total"),
        out.toString(StandardCharsets.UTF_8));
  }

  @Test
  void badFilesAreOneLineAndExit2() throws Exception {
    Path junk = dir.resolve("junk.onnx");
    Files.write(junk, new byte[] {8, (byte) 0x80});
    Path txt = dir.resolve("x.npy");
    Files.writeString(txt, "not numpy");
    Path onnx = dir.resolve("lenet.onnx");
    assertEquals(0, run("export", "lenet_cifar", "--onnx", onnx.toString()));
    String[][] cases = {
        {"run", junk.toString()},
        {"run", dir.resolve("missing.onnx").toString()},
        {"run", onnx.toString(), "--weights", "w.safetensors"},
        {"run", onnx.toString(), "--input-file", txt.toString()},
        {"run", "lenet5", "--input-file", txt.toString(), "--batch", "2"},
        {"summary", junk.toString()},
        {"export", "lenet5"},
        {"export", "nope", "--onnx", dir.resolve("n.onnx").toString()}};
    for (String[] c : cases) {
      assertEquals(2, run(c), String.join(" ", c));
      String e = err.toString(StandardCharsets.UTF_8);
      assertEquals(1, e.lines().count(), String.join(" ", c) + ": " + e);
      assertTrue(!e.contains("\tat ") && !e.contains("Exception"), e);
    }
  }

  @Test
  void npyRoundTripAndRefusals() throws Exception {
    Path f = dir.resolve("a.npy");
    float[] v = {1, -2.5f, Float.NaN, 7};
    Npy.write(f, Shape.of(2, 2), v);
    Npy.Array a = Npy.read(f);
    assertEquals(Shape.of(2, 2), a.shape());
    assertEquals(Float.floatToRawIntBits(v[2]), Float.floatToRawIntBits(a.data()[2]));
    assertEquals(0, (Files.size(f) - 16) % 64, "the header padded so the data start on a 64-byte boundary");
    byte[] bytes = Files.readAllBytes(f);
    byte[] cut = java.util.Arrays.copyOf(bytes, bytes.length - 4);
    Files.write(f, cut);
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> Npy.read(f));
    assertEquals("'" + f + "' has shape 2x2 (16 bytes of float32) but 12 bytes of data",
        e.getMessage());
  }
}
