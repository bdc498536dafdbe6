package io.convkit.nn.weights;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Named tensors read from a file; hands each out once, checked against the shape the model
 * expects. A model's loader takes every tensor it needs, then calls {@link #requireAllUsed} so
 * that a file for another variant of the model (extra or renamed tensors) is an error rather
 * than a silently half-loaded network. Taking a tensor drops the dictionary's reference to its
 * values, so the model owns them alone. Not thread-safe.
 *
 * <p>A dictionary from {@link SafeTensors#read} holds only the header: a tensor's bytes are read
 * from the file when it is taken, after its name and shape are accepted, so a tensor the model
 * does not use costs nothing however large. The file is reopened for each take (no handle is
 * held, nothing to close); it must stay in place and unchanged until the last take, and a file
 * changed since its header was read is an {@link java.io.UncheckedIOException}.
 *
 * <p>Keys saved from a {@code DataParallel} model all carry a {@code module.} prefix. The
 * dictionary never renames silently: a missing tensor's message says so, and
 * {@link #withoutPrefix} strips it on request (the CLI's {@code run --weights} does, and says so).
 */
public final class StateDict {
  /** DataParallel's prefix, which {@link #take}'s message points out. */
  static final String DATA_PARALLEL = "module.";

  /** A tensor not read yet: its shape, and how to read its values. */
  interface Lazy {
    int[] shape();

    float[] read();
  }

  private final String source;
  private final Set<String> names;
  private final Map<String, Lazy> pending;
  private final Map<String, String> unreadable;
  private final Map<String, String> metadata;
  private final Set<String> taken = new HashSet<>();

  public StateDict(Map<String, TensorData> tensors, String source) {
    this(inMemory(tensors, source), Map.of(), Map.of(), source);
  }

  private static Map<String, Lazy> inMemory(Map<String, TensorData> tensors, String source) {
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(tensors, "tensors");
    Map<String, Lazy> m = new HashMap<>();
    for (Map.Entry<String, TensorData> e : tensors.entrySet()) {
      if (e.getKey() == null || e.getValue() == null) {
        throw new IllegalArgumentException(source + ": null tensor name or value ("
            + e.getKey() + ")");
      }
      TensorData t = e.getValue();
      m.put(e.getKey(), new Lazy() {
        @Override
        public int[] shape() {
          return t.shape();
        }

        @Override
        public float[] read() {
          return t.data();
        }
      });
    }
    return m;
  }

  /**
   * {@code unreadable}: name to dtype of the tensors in the file whose dtype is not read (I64,
   * ...); they are listed, and taking one is an error naming the dtype.
   */
  StateDict(Map<String, Lazy> tensors, Map<String, String> unreadable,
      Map<String, String> metadata, String source) {
    this.source = Objects.requireNonNull(source, "source");
    this.pending = new HashMap<>(tensors);
    this.unreadable = Map.copyOf(unreadable);
    Set<String> all = new TreeSet<>(pending.keySet());
    all.addAll(unreadable.keySet());
    this.names = Collections.unmodifiableSet(all);
    this.metadata = Collections.unmodifiableMap(new TreeMap<>(metadata));
  }

  /**
   * The same tensors with {@code prefix} removed from every name, e.g. {@code "module."} for a
   * checkpoint saved from {@code DataParallel}; values are still read only when taken. Every name
   * must start with the prefix (IllegalArgumentException naming one that does not), and nothing
   * may have been taken from this dictionary yet (IllegalStateException): use one or the other.
   */
  public StateDict withoutPrefix(String prefix) {
    Objects.requireNonNull(prefix, "prefix");
    if (!taken.isEmpty()) {
      throw new IllegalStateException(source + ": withoutPrefix after " + taken.size()
          + " tensors were taken; strip the prefix first");
    }
    for (String n : names) {
      if (!n.startsWith(prefix)) {
        throw new IllegalArgumentException("cannot strip '" + prefix + "' from the keys of "
            + source + ": '" + n + "' does not start with it");
      }
    }
    Map<String, Lazy> t = new HashMap<>();
    pending.forEach((k, v) -> t.put(k.substring(prefix.length()), v));
    Map<String, String> u = new HashMap<>();
    unreadable.forEach((k, v) -> u.put(k.substring(prefix.length()), v));
    return new StateDict(t, u, metadata, source);
  }

  /** True when there are keys and every one starts with {@code prefix}. */
  public boolean allKeysStartWith(String prefix) {
    Objects.requireNonNull(prefix, "prefix");
    return !names.isEmpty() && names.stream().allMatch(n -> n.startsWith(prefix));
  }

  /** Where the tensors came from (the file), as used in messages. */
  public String source() {
    return source;
  }

  /** Every tensor name, taken or not, sorted. */
  public Set<String> names() {
    return names;
  }

  public boolean has(String name) {
    return names.contains(name);
  }

  /** The file's __metadata__ (empty if it had none). */
  public Map<String, String> metadata() {
    return metadata;
  }

  /**
   * The tensor's values (read from the file now, for a file-backed dictionary);
   * IllegalArgumentException naming the source and tensor if missing
   * ("missing tensor 'layer1.0.conv1.weight' in FILE") or mis-shaped ("tensor 'fc.weight' in
   * FILE has shape [1000, 512], the model expects [1000, 2048]"). Marks it used. Taking the
   * same tensor twice is an IllegalStateException (two layers reading one name).
   */
  public float[] take(String name, int... expectedShape) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(expectedShape, "expectedShape");
    String dtype = unreadable.get(name);
    if (dtype != null) {
      throw new IllegalArgumentException("tensor '" + name + "' in " + source + " has dtype "
          + dtype + "; only F32, F16 and BF16 tensors can be read");
    }
    if (taken.contains(name)) {
      throw new IllegalStateException("tensor '" + name + "' in " + source
          + " was already taken");
    }
    Lazy t = pending.get(name);
    if (t == null) {
      throw new IllegalArgumentException("missing tensor '" + name + "' in " + source
          + hint(name));
    }
    int[] shape = t.shape();
    if (!sameUpToUnitDims(shape, expectedShape)) {
      throw new IllegalArgumentException("tensor '" + name + "' in " + source + " has shape "
          + Arrays.toString(shape) + ", the model expects " + Arrays.toString(expectedShape));
    }
    // Read only now that name and shape are accepted; a failed read leaves it pending.
    float[] values = t.read();
    pending.remove(name);
    taken.add(name);
    return values;
  }

  /**
   * Whether two shapes hold the same values in the same order: equal once dimensions of size 1
   * are dropped. torchvision stores ConvNeXt's pointwise layers as Linear {@code [out][in]} where
   * the model has a 1x1 conv {@code [out][in][1][1]}, and its layer scale as {@code [C][1][1]};
   * a transposed or resized tensor still fails.
   */
  static boolean sameUpToUnitDims(int[] a, int[] b) {
    return Arrays.equals(withoutUnitDims(a), withoutUnitDims(b));
  }

  private static int[] withoutUnitDims(int[] s) {
    return Arrays.stream(s).filter(d -> d != 1).toArray();
  }

  /** Like take, but returns null when absent (optional tensors such as a bias). */
  public float[] takeIfPresent(String name, int... expectedShape) {
    return has(name) ? take(name, expectedShape) : null;
  }

  /**
   * Throws IllegalArgumentException listing (up to 10, then a count) the tensors never taken,
   * e.g. "FILE has 3 tensors the model does not use: a, b, c". Names listed in ignore are
   * exempt: an entry matches a name equal to it or ending in '.' + entry, so
   * {@code List.of("num_batches_tracked")} exempts every BN layer's counter; an entry ending in
   * '.' matches the names it starts ({@code "aux1."}: a training-only head).
   */
  public void requireAllUsed(Collection<String> ignore) {
    Collection<String> ign = ignore == null ? List.of() : ignore;
    List<String> unused = new ArrayList<>();
    for (String n : names) {
      if (!taken.contains(n) && ign.stream().noneMatch(i -> n.equals(i) || n.endsWith("." + i)
          || (i.endsWith(".") && n.startsWith(i)))) {
        unused.add(n);
      }
    }
    if (unused.isEmpty()) {
      return;
    }
    StringBuilder sb = new StringBuilder(source).append(" has ").append(unused.size())
        .append(unused.size() == 1 ? " tensor" : " tensors").append(" the model does not use: ");
    sb.append(String.join(", ", unused.subList(0, Math.min(10, unused.size()))));
    if (unused.size() > 10) {
      sb.append(", and ").append(unused.size() - 10).append(" more");
    }
    throw new IllegalArgumentException(sb.toString());
  }

  /**
   * Every key carrying DataParallel's "module." prefix, or else a name differing only by a
   * prefix, if exactly one.
   */
  private String hint(String name) {
    if (!name.startsWith(DATA_PARALLEL) && allKeysStartWith(DATA_PARALLEL)) {
      return ": its keys carry a '" + DATA_PARALLEL + "' prefix (saved from DataParallel?);"
          + " strip it (StateDict.withoutPrefix(\"" + DATA_PARALLEL + "\"); in Python"
          + " {k.removeprefix('" + DATA_PARALLEL + "'): v for k, v in sd.items()})";
    }
    List<String> near = names.stream()
        .filter(n -> n.endsWith("." + name) || name.endsWith("." + n)).limit(2).toList();
    return near.size() == 1 ? " (it has '" + near.get(0) + "': a different prefix?)" : "";
  }
}
