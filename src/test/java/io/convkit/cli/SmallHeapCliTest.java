package io.convkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.nn.Network;
import io.convkit.nn.models.Models;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.nn.weights.ParamNaming;
import io.convkit.nn.weights.TorchvisionNames;
import io.convkit.testing.ChildJvm;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI in a child JVM under a small heap: arguments it cannot hold are one line on stderr
 * naming the value and exit 2, before any tensor exists; never an OutOfMemoryError's trace.
 */
class SmallHeapCliTest {
  private static ChildJvm.Result cli(String heap, String args) throws Exception {
    return ChildJvm.run(List.of(heap), Main.class, args.split(" "));
  }

  /** Exit 2, nothing on stdout, one line on stderr starting with {@code prefix}; returns it. */
  private static String refused(ChildJvm.Result r, String prefix) {
    assertEquals(2, r.exit(), r.toString());
    assertEquals("", r.out(), r.toString());
    String e = r.err();
    assertEquals(1, e.lines().count(), r.toString());
    assertTrue(!e.contains("Exception") && !e.contains("\tat ") && !e.contains("Error"),
        r.toString());
    assertTrue(e.startsWith(prefix), r.toString());
    return e.strip();
  }

  @Test
  void aBatchTooLargeForTheHeap() throws Exception {
    String e = refused(cli("-Xmx256m", "run resnet18 --batch 10000"), "convkit: --batch 10000:"
        + " resnet18 on 10000x3x224x224 needs at least 5.7 GiB of heap (the input 5.6 GiB as a"
        + " Java array, weights 44.6 MiB, the output 38.1 MiB), but ");
    assertTrue(e.endsWith(" of this JVM's 256.0 MiB heap is free (raise -Xmx)"), e);
  }

  @Test
  void anInputTooLargeForJavaCppsLimit() throws Exception {
    // Fits the heap (37 MiB of input), not the 256 MiB JavaCPP may allocate off-heap.
    String e = refused(cli("-Xmx256m", "run resnet18 --input 64x3x224x224"), "convkit: --input"
        + " 64x3x224x224: resnet18 on 64x3x224x224 needs at least 326.3 MiB off-heap (the input"
        + " 36.8 MiB, weights 44.6 MiB, the input and output of pool1 245.0 MiB), but ");
    assertTrue(e.contains("org.bytedeco.javacpp.maxBytes 256.0 MiB"), e);
  }

  @Test
  void anInputPastWhatAnArrayHolds() throws Exception {
    assertEquals("convkit: --input 1x3x100000x100000: the input 1x3x100000x100000 has"
        + " 30000000000 values, more than the 2147483639 one Java array holds",
        refused(cli("-Xmx256m", "run resnet18 --input 1x3x100000x100000"), "convkit: "));
    assertEquals("convkit: --input 2147483647x3x224x224: the input 2147483647x3x224x224 has"
        + " 323256418415616 values, more than the 2147483639 one Java array holds",
        refused(cli("-Xmx256m", "run vgg16 --input 2147483647x3x224x224"), "convkit: "));
  }

  @Test
  void tooManyThreads() throws Exception {
    int cores = Runtime.getRuntime().availableProcessors();
    int max = Math.min(256, 4 * cores);
    String want = "convkit: --threads 1024 is more than the limit of " + max + " (4 x " + cores
        + " available processors, at most 256)";
    assertEquals(want, refused(cli("-Xmx256m", "run resnet18 --threads 1024"), "convkit: "));
    assertEquals(want, refused(cli("-Xmx256m", "tour --threads 1024"), "convkit: "));
  }

  /**
   * mobilenet_v2's weights under torchvision's keys, and a 1 GiB tensor the model ignores
   * (torchvision's BN counter name) as a hole at the end of a sparse file.
   */
  private static Path weightsWithHugeIgnoredTensor(Path dir) throws Exception {
    Network net = Models.create("mobilenet_v2");
    NetworkWeights w = NetworkWeights.random(net, 3);
    ParamNaming names = TorchvisionNames.forModel(net);
    StringBuilder json = new StringBuilder("{");
    List<float[]> data = new ArrayList<>();
    long at = 0;
    for (NetworkWeights.Param p : NetworkWeights.params(net)) {
      float[] v = w.get(p.node(), p.name());
      StringBuilder shape = new StringBuilder("[");
      for (int d : p.shape()) {
        shape.append(shape.length() > 1 ? "," : "").append(d);
      }
      json.append(json.length() > 1 ? "," : "").append("\"").append(names.key(p.node(), p.name()))
          .append("\":{\"dtype\":\"F32\",\"shape\":").append(shape).append("],\"data_offsets\":[")
          .append(at).append(',').append(at + 4L * v.length).append("]}");
      at += 4L * v.length;
      data.add(v);
    }
    long huge = 1L << 28;
    json.append(",\"features.0.1.num_batches_tracked\":{\"dtype\":\"F32\",\"shape\":[")
        .append(huge).append("],\"data_offsets\":[").append(at).append(',')
        .append(at + 4 * huge).append("]}}");
    byte[] h = json.toString().getBytes(StandardCharsets.UTF_8);
    Path f = dir.resolve("mobilenet_v2.safetensors");
    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
      raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
      raf.write(h);
      for (float[] v : data) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        raf.write(b.array());
      }
      raf.setLength(8 + h.length + at + 4 * huge); // the 1 GiB tensor: a hole, no disk
    }
    return f;
  }

  @Test
  void weightsBesideAHugeUnusedTensorLoadUnderASmallHeap(@TempDir Path dir) throws Exception {
    Path f = weightsWithHugeIgnoredTensor(dir);
    ChildJvm.Result r = cli("-Xmx64m", "run mobilenet_v2 --input 1x3x64x64 --threads 1"
        + " --weights " + f);
    assertEquals(0, r.exit(), r.toString());
    assertTrue(r.out().startsWith("mobilenet_v2 on cpu(1 thread, "), r.toString());
    assertTrue(r.out().lines().findFirst().orElseThrow().endsWith(
        ", input 1x3x64x64, weights from " + f), r.toString());
    assertTrue(r.out().contains("top-5 of image 0"), r.toString());
  }
}
