package io.convkit.engine.opencl;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The OpenCL kernels' tuning parameters for one device, read from the data file
 * {@code kernels-cl/tuning.txt} (first matching line wins) or given explicitly.
 *
 * @param gemm which GEMM kernel: {@link Gemm#PACKED} (CPU devices) or {@link Gemm#TILED} (GPUs)
 * @param mr packed GEMM: rows of C per work-item
 * @param nv packed GEMM: float8 vectors of columns per work-item
 * @param pl packed GEMM: work-items per work-group (along the columns)
 * @param tsm tiled GEMM: rows of the work-group's tile
 * @param tsn tiled GEMM: columns of the work-group's tile
 * @param tsk tiled GEMM: depth of a local-memory slice
 * @param wptm tiled GEMM: rows per work-item
 * @param wptn tiled GEMM: columns per work-item
 * @param lx work-group width of the elementwise and direct kernels
 * @param depthwiseRows depthwise: one work-item per output row (CPU devices) instead of per pixel
 */
public record Tuning(Gemm gemm, int mr, int nv, int pl, int tsm, int tsn, int tsk, int wptm, int wptn,
    int lx, boolean depthwiseRows) {
  /** The two GEMM kernels. */
  public enum Gemm {
    PACKED,
    TILED
  }

  static final String RESOURCE = OpenClEngine.KERNELS + "tuning.txt";

  public Tuning {
    if (gemm == null) {
      throw new IllegalArgumentException("tuning: gemm is null");
    }
    check("mr", mr, 1, 16);
    check("nv", nv, 1, 3);
    check("pl", pl, 1, 1024);
    check("tsk", tsk, 1, 256);
    check("wptm", wptm, 1, 16);
    check("wptn", wptn, 1, 16);
    check("lx", lx, 1, 1024);
    if (tsm < wptm || tsm % wptm != 0 || tsn < wptn || tsn % wptn != 0) {
      throw new IllegalArgumentException("tuning: the tile " + tsm + "x" + tsn
          + " must be a multiple of the work per item " + wptm + "x" + wptn);
    }
  }

  private static void check(String what, int v, int lo, int hi) {
    if (v < lo || v > hi) {
      throw new IllegalArgumentException("tuning: " + what + " must be in [" + lo + ", " + hi
          + "], got " + v);
    }
  }

  /** Work-items in one tiled-GEMM work-group. */
  public int tiledWorkGroup() {
    return (tsm / wptm) * (tsn / wptn);
  }

  /** This tuning with another GEMM kernel (tests run both kernels on one device). */
  public Tuning withGemm(Gemm g) {
    return new Tuning(g, mr, nv, pl, tsm, tsn, tsk, wptm, wptn, lx, depthwiseRows);
  }

  /** The parameters the data file gives a device, by its name and type ("GPU", "CPU", ...). */
  public static Tuning forDevice(String deviceName, String deviceType) {
    try (InputStream in = Tuning.class.getClassLoader().getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("the tuning data " + RESOURCE + " is not on the class path");
      }
      BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      String line;
      int number = 0;
      while ((line = r.readLine()) != null) {
        number++;
        line = line.strip();
        if (line.isEmpty() || line.startsWith("#")) {
          continue;
        }
        String[] f = line.split("\\s+");
        String match = f[0];
        boolean hit = match.equals("default")
            || match.startsWith("type:") && match.substring(5).equalsIgnoreCase(deviceType)
            || match.startsWith("name:")
                && deviceName.toLowerCase(Locale.ROOT).contains(
                    match.substring(5).replace('_', ' ').toLowerCase(Locale.ROOT));
        if (hit) {
          return parse(f, RESOURCE + " line " + number);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + RESOURCE + ": " + e.getMessage(), e);
    }
    throw new IllegalStateException(RESOURCE + " has no line for " + deviceName + " ("
        + deviceType + ") and no default line");
  }

  private static Tuning parse(String[] fields, String where) {
    Map<String, String> kv = new LinkedHashMap<>();
    for (int i = 1; i < fields.length; i++) {
      int eq = fields[i].indexOf('=');
      if (eq <= 0) {
        throw new IllegalStateException(where + ": expected key=value, got '" + fields[i] + "'");
      }
      kv.put(fields[i].substring(0, eq), fields[i].substring(eq + 1));
    }
    try {
      Tuning t = new Tuning(Gemm.valueOf(kv.getOrDefault("gemm", "tiled").toUpperCase(Locale.ROOT)),
          num(kv, "mr", 6), num(kv, "nv", 2), num(kv, "pl", 1), num(kv, "tsm", 32), num(kv, "tsn", 32),
          num(kv, "tsk", 8), num(kv, "wptm", 4), num(kv, "wptn", 4), num(kv, "lx", 32),
          direct(kv.getOrDefault("depthwise", "pixels")));
      kv.keySet().removeAll(java.util.List.of("gemm", "mr", "nv", "pl", "tsm", "tsn", "tsk", "wptm",
          "wptn", "lx", "depthwise"));
      if (!kv.isEmpty()) {
        throw new IllegalArgumentException("unknown keys " + kv.keySet());
      }
      return t;
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(where + ": " + e.getMessage(), e);
    }
  }

  private static boolean direct(String v) {
    return switch (v) {
      case "rows" -> true;
      case "pixels" -> false;
      default -> throw new IllegalArgumentException("depthwise must be rows or pixels, got " + v);
    };
  }

  private static int num(Map<String, String> kv, String key, int dflt) {
    String v = kv.get(key);
    return v == null ? dflt : Integer.parseInt(v);
  }
}
