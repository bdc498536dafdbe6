package io.convkit.nn.tables;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One printed figure from the source tables (T1-T10), as copied into
 * {@code source_tables.tsv}: an id, its table, what it states, the figure exactly as printed and
 * its unit ({@code 1}, {@code K}, {@code M}, {@code G} scale a number; {@code shape},
 * {@code product}, {@code formula}, {@code ratio} and {@code fact} are checked as stated).
 */
public record TableRow(String id, String table, String what, String printed, String unit) {
  static final String RESOURCE = "source_tables.tsv";

  /** Every row, in file order. */
  public static List<TableRow> all() {
    List<TableRow> rows = new ArrayList<>();
    try (InputStream in = TableRow.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("resource " + RESOURCE + " is missing from the build");
      }
      BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        String[] f = line.split("\t", -1);
        if (f.length != 5) {
          throw new IllegalStateException(RESOURCE + ": bad row (" + f.length + " fields): " + line);
        }
        rows.add(new TableRow(f[0], f[1], f[2], f[3], f[4]));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return rows;
  }

  /**
   * The interval the printed figure stands for, in absolute units: half a unit of its last
   * significant digit either side (569 M: [568.5e6, 569.5e6); 4.2 M: [4.15e6, 4.25e6)). Trailing
   * zeros of a whole number are not significant (15300 is 153 hundreds: +-50; 650,000 is 65
   * ten-thousands), the usual reading of rounded figures.
   */
  public double[] interval() {
    String s = printed.replace(",", "").trim();
    double scale = scale(unit);
    char last = s.charAt(s.length() - 1);
    if (last == 'K' || last == 'M' || last == 'G') {
      scale *= scale(String.valueOf(last));
      s = s.substring(0, s.length() - 1);
    }
    double v = Double.parseDouble(s);
    double half;
    int dot = s.indexOf('.');
    if (dot >= 0) {
      half = 0.5 * Math.pow(10, -(s.length() - dot - 1));
    } else {
      int zeros = 0;
      for (int i = s.length() - 1; i > 0 && s.charAt(i) == '0'; i--) {
        zeros++;
      }
      half = 0.5 * Math.pow(10, zeros);
    }
    return new double[] {(v - half) * scale, (v + half) * scale};
  }

  /** The printed figure as a number in absolute units. */
  public double value() {
    double[] i = interval();
    return (i[0] + i[1]) / 2;
  }

  public boolean numeric() {
    return unit.equals("1") || unit.equals("K") || unit.equals("M") || unit.equals("G");
  }

  static double scale(String u) {
    return switch (u) {
      case "1" -> 1;
      case "K" -> 1e3;
      case "M" -> 1e6;
      case "G" -> 1e9;
      default -> throw new IllegalStateException("not a numeric unit: " + u);
    };
  }
}
