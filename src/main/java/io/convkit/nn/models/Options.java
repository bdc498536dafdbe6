package io.convkit.nn.models;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/** A model's options (key=value), checked: an unknown key or a bad value is an error. */
final class Options {
  private final String model;
  private final Map<String, String> values;
  private final Set<String> used = new HashSet<>();

  Options(String model, Map<String, String> values) {
    this.model = model;
    this.values = values == null ? Map.of() : values;
  }

  String string(String key, String dflt, String... allowed) {
    used.add(key);
    String v = values.getOrDefault(key, dflt);
    if (allowed.length > 0 && !Set.of(allowed).contains(v)) {
      throw new IllegalArgumentException(model + ": option " + key + " must be one of "
          + String.join(", ", allowed) + ", got '" + v + "'");
    }
    return v;
  }

  double number(String key, double dflt, double min, double max) {
    used.add(key);
    String v = values.get(key);
    if (v == null) {
      return dflt;
    }
    double d;
    try {
      d = Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(model + ": option " + key + " must be a number, got '"
          + v + "'");
    }
    if (!(d >= min && d <= max)) {
      throw new IllegalArgumentException(model + ": option " + key + " must be in [" + min + ", "
          + max + "], got " + v);
    }
    return d;
  }

  boolean flag(String key) {
    return string(key, "false", "true", "false").equals("true");
  }

  /** Throws if an option was given that the model does not read. */
  void done() {
    for (String k : values.keySet()) {
      if (!used.contains(k)) {
        throw new IllegalArgumentException(model + ": unknown option '" + k + "'"
            + (used.isEmpty() ? " (it takes none)" : " (it takes " + String.join(", ", used) + ")"));
      }
    }
  }
}
