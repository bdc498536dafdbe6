package io.convkit.bench;

import io.convkit.conv.Activation;
import io.convkit.conv.ConvSpec;
import io.convkit.tensor.Shape;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The benchmark layer suite: {@code bench/layers.csv}, on the test class path as
 * {@value #RESOURCE}. One layer a line, {@code name,n,c,h,w,k,r,s,stride,pad,dilation,groups,kind};
 * blank lines and lines starting with {@code #} are skipped.
 */
public final class LayerSuite {
  /** Where the suite lies on the class path. */
  public static final String RESOURCE = "io/convkit/bench/layers.csv";

  private static final int FIELDS = 13;

  private static volatile List<Layer> cached;

  private LayerSuite() {}

  /**
   * One layer of the suite: NCHW input {@code n x c x h x w}, {@code k} output channels, an
   * {@code r x s} kernel with the same stride, padding and dilation on both axes.
   */
  public record Layer(String name, int n, int c, int h, int w, int k, int r, int s, int stride,
      int pad, int dilation, int groups, String kind) {

    /**
     * The spec a deployed network would run: symmetric padding, a bias (the folded batch norm)
     * and a fused ReLU; named after the layer.
     */
    public ConvSpec spec() {
      return ConvSpec.builder(c, k, r, s)
          .name(name)
          .stride(stride)
          .padding(pad)
          .dilation(dilation)
          .groups(groups)
          .bias(true)
          .activation(Activation.RELU)
          .build();
    }

    /** The input shape {@code n x c x h x w}. */
    public Shape input() {
      return Shape.of(n, c, h, w);
    }

    /** One CSV line, in the suite's own column order. */
    public String csv() {
      return String.join(",", name, Integer.toString(n), Integer.toString(c), Integer.toString(h),
          Integer.toString(w), Integer.toString(k), Integer.toString(r), Integer.toString(s),
          Integer.toString(stride), Integer.toString(pad), Integer.toString(dilation),
          Integer.toString(groups), kind);
    }
  }

  /** The suite from the class path (parsed once). */
  public static List<Layer> load() {
    List<Layer> l = cached;
    if (l == null) {
      InputStream in = LayerSuite.class.getClassLoader().getResourceAsStream(RESOURCE);
      if (in == null) {
        throw new IllegalStateException("layer suite " + RESOURCE + " is not on the class path"
            + " (run mvn test-compile, and put target/test-classes on the class path)");
      }
      try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
        l = parse(r, RESOURCE);
      } catch (IOException e) {
        throw new UncheckedIOException("reading " + RESOURCE, e);
      }
      cached = l;
    }
    return l;
  }

  /** A suite from a file. */
  public static List<Layer> load(Path file) throws IOException {
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return parse(r, file.toString());
    }
  }

  /** Parses suite text; {@code source} names it in error messages. */
  public static List<Layer> parse(Reader reader, String source) throws IOException {
    BufferedReader br = reader instanceof BufferedReader b ? b : new BufferedReader(reader);
    List<Layer> layers = new ArrayList<>();
    Map<String, Integer> seen = new LinkedHashMap<>();
    String line;
    int lineNo = 0;
    while ((line = br.readLine()) != null) {
      lineNo++;
      String t = line.strip();
      if (t.isEmpty() || t.startsWith("#")) {
        continue;
      }
      String[] f = t.split(",", -1);
      if (f.length != FIELDS) {
        throw new IllegalArgumentException(source + ":" + lineNo + ": expected " + FIELDS
            + " fields (name,n,c,h,w,k,r,s,stride,pad,dilation,groups,kind), got " + f.length);
      }
      String name = f[0].strip();
      if (name.isEmpty()) {
        throw new IllegalArgumentException(source + ":" + lineNo + ": empty layer name");
      }
      Integer prev = seen.put(name, lineNo);
      if (prev != null) {
        throw new IllegalArgumentException(source + ":" + lineNo + ": layer " + name
            + " is already defined on line " + prev);
      }
      int[] v = new int[11];
      String[] cols = {"n", "c", "h", "w", "k", "r", "s", "stride", "pad", "dilation", "groups"};
      for (int i = 0; i < v.length; i++) {
        try {
          v[i] = Integer.parseInt(f[i + 1].strip());
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(source + ":" + lineNo + ": layer " + name + ": "
              + cols[i] + " is not an integer: '" + f[i + 1].strip() + "'");
        }
      }
      Layer layer = new Layer(name, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9],
          v[10], f[12].strip());
      try {
        layer.spec().outputShape(layer.input()); // validates every field at once
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(source + ":" + lineNo + ": " + e.getMessage(), e);
      }
      layers.add(layer);
    }
    return Collections.unmodifiableList(layers);
  }

  /** The suite's layer of that name; throws naming the known layers if there is none. */
  public static Layer byName(String name) {
    return byName(load(), name);
  }

  public static Layer byName(List<Layer> suite, String name) {
    for (Layer l : suite) {
      if (l.name().equals(name)) {
        return l;
      }
    }
    List<String> names = new ArrayList<>();
    for (Layer l : suite) {
      names.add(l.name());
    }
    throw new IllegalArgumentException("unknown layer '" + name + "'; the suite has "
        + String.join(", ", names));
  }

  /** The named layers in the order given (all of the suite if {@code names} is null or empty). */
  public static List<Layer> select(List<Layer> suite, List<String> names) {
    if (names == null || names.isEmpty()) {
      return suite;
    }
    List<Layer> out = new ArrayList<>();
    for (String n : names) {
      out.add(byName(suite, n));
    }
    return out;
  }
}
