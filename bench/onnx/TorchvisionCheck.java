import io.convkit.engine.Engine;
import io.convkit.engine.Engines;
import io.convkit.nn.forward.ForwardPass;
import io.convkit.nn.forward.ForwardPlan;
import io.convkit.onnx.OnnxCodec;
import io.convkit.onnx.OnnxImport;
import io.convkit.onnx.OnnxImportException;
import io.convkit.onnx.OnnxModel;
import io.convkit.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One row of bench/onnx/torchvision_check.sh: imports DIR/MODEL.onnx, runs DIR/MODEL.input.bin
 * on the CPU engine (and the reference engine when ENGINES includes "ref"), and prints
 * "MODEL | imported | ref err | cpu err" where err is max |ours - torch| / max |torch| against
 * DIR/MODEL.output.bin (PyTorch, float64). Run with Java's source launcher:
 * java -cp target/classes:$(cat cp.txt) bench/onnx/TorchvisionCheck.java DIR MODEL [ref,cpu,cl] (cl: the OpenCL engine on its first device).
 */
public class TorchvisionCheck {
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    String name = args[1];
    String engines = args.length > 2 ? args[2] : "cpu";
    OnnxImport.Imported im;
    try {
      OnnxModel m = OnnxCodec.read(dir.resolve(name + ".onnx"));
      im = OnnxImport.toNetwork(m, name);
    } catch (OnnxImportException e) {
      System.out.println("| " + name + " | refused: " + e.getMessage().replace("|", "/")
          + " | - | - | - |");
      return;
    }
    ByteBuffer xb = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(name + ".input.bin")))
        .order(ByteOrder.LITTLE_ENDIAN);
    float[] x = new float[xb.remaining() / 4];
    xb.asFloatBuffer().get(x);
    ByteBuffer yb = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(name + ".output.bin")))
        .order(ByteOrder.LITTLE_ENDIAN);
    double[] want = new double[yb.remaining() / 8];
    yb.asDoubleBuffer().get(want);
    String ref = engines.contains("ref") ? err(im, Engines.reference(), x, want) : "skipped";
    String cpu = engines.contains("cpu") ? err(im, Engines.cpu(2), x, want) : "skipped";
    String cl = engines.contains("cl") ? err(im, Engines.openCl(), x, want) : "skipped";
    System.out.println("| " + name + " | imported | " + ref + " | " + cpu + " | " + cl + " |");
  }

  private static String err(OnnxImport.Imported im, Engine e, float[] x, double[] want) {
    try (e; ForwardPlan plan = new ForwardPlan(im.network(), im.weights());
        ForwardPass pass = new ForwardPass(plan, e); Tensor t = Tensor.of(x, 1, 3, 224, 224);
        Tensor y = pass.forward(t)) {
      float[] got = y.toArray();
      if (got.length != want.length) {
        return "size " + got.length + " != " + want.length;
      }
      double largest = 0;
      double worst = 0;
      for (int i = 0; i < got.length; i++) {
        largest = Math.max(largest, Math.abs(want[i]));
        worst = Math.max(worst, Math.abs(got[i] - want[i]));
      }
      return String.format("%.2e", worst / largest);
    }
  }
}
