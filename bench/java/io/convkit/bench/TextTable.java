package io.convkit.bench;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/** The benchmark commands' plain-text tables: columns padded to their widest cell. */
final class TextTable {
  private TextTable() {}

  /**
   * Prints the head, a rule and the rows. {@code right[i]} right-aligns column i; with
   * {@code groupByFirst} a blank line separates rows whose first cell differs.
   */
  static void print(PrintStream out, String[] head, boolean[] right, List<String[]> rows,
      boolean groupByFirst) {
    int[] width = new int[head.length];
    for (int i = 0; i < head.length; i++) {
      width[i] = head[i].length();
      for (String[] row : rows) {
        width[i] = Math.max(width[i], row[i].length());
      }
    }
    out.println(line(head, width, right));
    StringBuilder rule = new StringBuilder();
    for (int i = 0; i < width.length; i++) {
      rule.append(i == 0 ? "" : "  ").append("-".repeat(width[i]));
    }
    out.println(rule);
    String prev = null;
    for (String[] row : rows) {
      if (groupByFirst && prev != null && !prev.equals(row[0])) {
        out.println();
      }
      prev = row[0];
      out.println(line(row, width, right));
    }
  }

  private static String line(String[] cells, int[] width, boolean[] right) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < cells.length; i++) {
      if (i > 0) {
        b.append("  ");
      }
      String pad = " ".repeat(width[i] - cells[i].length());
      b.append(right[i] ? pad + cells[i] : (i == cells.length - 1 ? cells[i] : cells[i] + pad));
    }
    return b.toString().stripTrailing();
  }

  /** {@code v} formatted, or "-" for NaN and infinity. */
  static String num(double v, String fmt) {
    return Double.isNaN(v) || Double.isInfinite(v) ? "-" : String.format(Locale.ROOT, fmt, v);
  }
}
