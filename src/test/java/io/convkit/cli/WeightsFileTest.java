package io.convkit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.convkit.nn.Network;
import io.convkit.nn.models.Models;
import io.convkit.nn.weights.NetworkWeights;
import io.convkit.nn.weights.ParamNaming;
import io.convkit.nn.weights.SafeTensors;
import io.convkit.nn.weights.TensorData;
import io.convkit.nn.weights.TorchvisionNames;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code run --weights FILE}: a safetensors file under torchvision's keys binds every parameter;
 * a missing, mis-shaped or extra tensor is a one-line error naming it.
 */
class WeightsFileTest {
  /** resnet18's seeded weights written under torchvision's keys, plus edits. */
  private static Path write(Path dir, Network net, NetworkWeights w, String drop, String extra,
      String reshape) throws Exception {
    ParamNaming names = TorchvisionNames.forModel(net);
    Map<String, TensorData> t = new HashMap<>();
    for (NetworkWeights.Param p : NetworkWeights.params(net)) {
      String key = names.key(p.node(), p.name());
      if (key.equals(drop)) {
        continue;
      }
      int[] shape = key.equals(reshape) ? new int[] {p.size()} : p.shape();
      t.put(key, new TensorData(shape, w.get(p.node(), p.name())));
    }
    // torchvision's BN training counter: allowed, ignored.
    t.put("bn1.num_batches_tracked", new TensorData(new int[0], new float[] {1}));
    if (extra != null) {
      t.put(extra, new TensorData(new int[] {1}, new float[] {0}));
    }
    Path f = dir.resolve("w.safetensors");
    SafeTensors.write(f, t, Map.of("format", "pt"));
    return f;
  }

  @Test
  void everyParameterIsBoundFromTheFile(@TempDir Path dir) throws Exception {
    Network net = Models.create("resnet18");
    NetworkWeights seeded = NetworkWeights.random(net, 7);
    Path f = write(dir, net, seeded, null, null, null);
    NetworkWeights loaded = ForwardCommands.loadWeights(net, f);
    assertEquals(seeded.count(), loaded.count());
    for (NetworkWeights.Param p : NetworkWeights.params(net)) {
      assertArrayEquals(seeded.get(p.node(), p.name()), loaded.get(p.node(), p.name()), p.key());
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc = Main.run(new String[] {"run", "resnet18", "--input", "1x3x64x64", "--weights",
        f.toString()}, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("weights from " + f),
        out.toString(StandardCharsets.UTF_8));
  }

  /** Keys saved from DataParallel ("module." on every one) are stripped, and the run says so. */
  @Test
  void dataParallelKeysAreStrippedAndSaidSo(@TempDir Path dir) throws Exception {
    Network net = Models.create("resnet18");
    NetworkWeights seeded = NetworkWeights.random(net, 7);
    ParamNaming names = TorchvisionNames.forModel(net);
    Map<String, TensorData> t = new HashMap<>();
    for (NetworkWeights.Param p : NetworkWeights.params(net)) {
      t.put("module." + names.key(p.node(), p.name()),
          new TensorData(p.shape(), seeded.get(p.node(), p.name())));
    }
    Path f = dir.resolve("dp.safetensors");
    SafeTensors.write(f, t, null);
    NetworkWeights loaded = ForwardCommands.loadWeights(net, f);
    for (NetworkWeights.Param p : NetworkWeights.params(net)) {
      assertArrayEquals(seeded.get(p.node(), p.name()), loaded.get(p.node(), p.name()), p.key());
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc = Main.run(new String[] {"run", "resnet18", "--input", "1x3x64x64", "--threads", "1",
        "--weights", f.toString()}, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
    String first = out.toString(StandardCharsets.UTF_8).lines().findFirst().orElseThrow();
    assertTrue(first.endsWith("weights from " + f + " (its keys' 'module.' prefix, from"
        + " DataParallel, stripped)"), first);
  }

  @Test
  void aMissingMisShapedOrExtraTensorIsNamed(@TempDir Path dir) throws Exception {
    Network net = Models.create("resnet18");
    NetworkWeights seeded = NetworkWeights.random(net, 7);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ForwardCommands.loadWeights(net, write(dir, net, seeded, "layer2.0.conv1.weight",
            null, null)));
    assertTrue(e.getMessage().contains("layer2.0.conv1.weight"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ForwardCommands.loadWeights(net,
        write(dir, net, seeded, null, null, "fc.weight")));
    assertTrue(e.getMessage().contains("fc.weight") && e.getMessage().contains("[1000, 512]"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ForwardCommands.loadWeights(net,
        write(dir, net, seeded, null, "head.extra", null)));
    assertTrue(e.getMessage().contains("head.extra"), e.getMessage());
  }

  @Test
  void badWeightArgumentsAreOneLineErrors(@TempDir Path dir) throws Exception {
    for (String[] args : new String[][] {
        {"run", "resnet18", "--weights", dir.resolve("absent.safetensors").toString()},
        {"run", "lenet5", "--weights", write(dir, Models.create("resnet18"),
            NetworkWeights.random(Models.create("resnet18"), 1), null, null, null).toString()}}) {
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      int rc = Main.run(args, new PrintStream(new ByteArrayOutputStream(), true,
          StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
      String msg = err.toString(StandardCharsets.UTF_8).strip();
      assertEquals(2, rc, msg);
      assertEquals(1, msg.lines().count(), msg);
    }
  }
}
