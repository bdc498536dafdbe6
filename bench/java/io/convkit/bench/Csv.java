package io.convkit.bench;

import java.util.List;
import java.util.Locale;

/** The CSV the benchmark commands write: RFC 4180 quoting, missing numbers as empty fields. */
final class Csv {
  private Csv() {}

  /** {@code v} in {@code fmt}, or an empty field when it is NaN or infinite (not measured). */
  static String num(double v, String fmt) {
    return Double.isNaN(v) || Double.isInfinite(v) ? "" : String.format(Locale.ROOT, fmt, v);
  }

  /** One line: the fields joined by commas, each quoted where it holds a comma, quote or newline. */
  static String row(List<String> fields) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < fields.size(); i++) {
      b.append(i == 0 ? "" : ",").append(field(fields.get(i)));
    }
    return b.toString();
  }

  private static String field(String s) {
    if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0) {
      return s;
    }
    return '"' + s.replace("\"", "\"\"") + '"';
  }
}
