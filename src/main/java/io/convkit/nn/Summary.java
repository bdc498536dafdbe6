package io.convkit.nn;

import io.convkit.tensor.Shape;
import java.util.List;
import java.util.Locale;

/**
 * A network's per-layer counts for one input shape: output shape, parameters (trained and
 * deployed), MACs (conv and FC multiply-adds; FLOPs = 2 x MACs) and activation elements.
 */
public final class Summary {
  /** One layer's counts. {@code activations} is its output's element count. */
  public record Row(String name, String type, Shape output, long paramsTrained,
      long paramsDeployed, long macs, long activations) {}

  private final String model;
  private final Shape input;
  private final List<Row> rows;
  private final long paramsTrained;
  private final long paramsDeployed;
  private final long macs;
  private final long activations;

  /**
   * Totals are summed here, exactly: an input so large that a total (or FLOPs, 2 x MACs)
   * overflows a long is an IllegalArgumentException naming the model and input, never a negative
   * count in the table.
   */
  Summary(String model, Shape input, List<Row> rows) {
    this.model = model;
    this.input = input;
    this.rows = List.copyOf(rows);
    long trained = 0;
    long deployed = 0;
    long m = 0;
    long act = input.elements();
    try {
      for (Row r : this.rows) {
        trained = Math.addExact(trained, r.paramsTrained());
        deployed = Math.addExact(deployed, r.paramsDeployed());
        m = Math.addExact(m, r.macs());
        act = Math.addExact(act, r.activations());
      }
      Math.multiplyExact(2, m); // flops() must fit too
      Math.multiplyExact(4, act); // and the activation bytes
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(model + " at input " + input
          + ": the summary's totals (MACs, FLOPs or activation elements) overflow a 64-bit count");
    }
    this.paramsTrained = trained;
    this.paramsDeployed = deployed;
    this.macs = m;
    this.activations = act;
  }

  public String model() {
    return model;
  }

  public Shape input() {
    return input;
  }

  public List<Row> rows() {
    return rows;
  }

  public Row row(String name) {
    for (Row r : rows) {
      if (r.name().equals(name)) {
        return r;
      }
    }
    throw new IllegalArgumentException(model + ": no layer named '" + name + "'");
  }

  public long paramsTrained() {
    return paramsTrained;
  }

  public long paramsDeployed() {
    return paramsDeployed;
  }

  public long macs() {
    return macs;
  }

  /** FLOPs counted as 2 x MACs (one multiply and one add). */
  public long flops() {
    return 2 * macs();
  }

  /** Output elements of every layer plus the input (activation memory, in elements). */
  public long activations() {
    return activations;
  }

  /** The per-layer table and totals as text. */
  public String table() {
    int nw = Math.max(5, rows.stream().mapToInt(r -> r.name().length()).max().orElse(5));
    int tw = Math.max(4, rows.stream().mapToInt(r -> r.type().length()).max().orElse(4));
    String fmt = "%-" + nw + "s  %-" + tw + "s  %-16s  %13s  %13s  %15s  %12s%n";
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "model %s, input %s%n", model, input));
    b.append(String.format(Locale.ROOT, fmt, "layer", "type", "output", "params(trained)",
        "params(deploy)", "MACs", "activations"));
    for (Row r : rows) {
      b.append(String.format(Locale.ROOT, fmt, r.name(), r.type(), r.output(),
          group(r.paramsTrained()), group(r.paramsDeployed()), group(r.macs()),
          group(r.activations())));
    }
    b.append(String.format(Locale.ROOT,
        "totals: params trained %s (BN gamma/beta counted, no running statistics)%n"
            + "        params deployed %s (BN folded into conv weight and bias)%n"
            + "        MACs %s (%s G multiply-adds, conv and FC)   FLOPs = 2 x MACs = %s%n"
            + "        activation memory %s elements (%s MiB as float32, input included)%n",
        group(paramsTrained()), group(paramsDeployed()), group(macs()),
        String.format(Locale.ROOT, "%.3f", macs() / 1e9), group(flops()), group(activations()),
        String.format(Locale.ROOT, "%.1f", activations() * 4.0 / (1 << 20))));
    return b.toString();
  }

  /** The summary as JSON: model, input, layers, totals. */
  public String json() {
    StringBuilder b = new StringBuilder();
    b.append("{\"model\":").append(quote(model)).append(",\"input\":").append(quote(input.toString()))
        .append(",\"layers\":[");
    for (int i = 0; i < rows.size(); i++) {
      Row r = rows.get(i);
      b.append(i == 0 ? "" : ",").append("{\"name\":").append(quote(r.name()))
          .append(",\"type\":").append(quote(r.type()))
          .append(",\"output\":").append(quote(r.output().toString()))
          .append(",\"params\":").append(r.paramsTrained())
          .append(",\"params_deployed\":").append(r.paramsDeployed())
          .append(",\"macs\":").append(r.macs())
          .append(",\"activations\":").append(r.activations()).append('}');
    }
    b.append("],\"totals\":{\"params_trained\":").append(paramsTrained())
        .append(",\"params_deployed\":").append(paramsDeployed())
        .append(",\"macs\":").append(macs())
        .append(",\"flops\":").append(flops())
        .append(",\"activations\":").append(activations()).append("}}");
    return b.toString();
  }

  static String group(long v) {
    return String.format(Locale.ROOT, "%,d", v);
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }
}
