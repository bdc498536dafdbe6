package io.convkit.tensor;

/**
 * The resources one call uses, acquired together and released together
 * ({@code try (Uses u = Uses.begin("conv1").read("input", x).write("output", y)) { ... }}): while
 * it is open none of them can be freed, and no other thread can write what it reads or use what
 * it writes (see {@link Lifetime}). An acquire that fails releases what was acquired before it
 * and throws {@link IllegalStateException} naming the call and the role.
 */
public final class Uses implements AutoCloseable {
  private final String op;
  private Lifetime[] held = new Lifetime[8];
  private boolean[] writes = new boolean[8];
  private int count;
  private boolean closed;

  private Uses(String op) {
    this.op = op;
  }

  /** An empty scope for call {@code op} (named in messages). */
  public static Uses begin(String op) {
    return new Uses(op);
  }

  /** Acquires {@code t} for reading, as argument {@code role}; a null tensor is skipped. */
  public Uses read(String role, Tensor t) {
    return tensor(role, t, false);
  }

  /** Acquires {@code t} for writing, as argument {@code role}; a null tensor is skipped. */
  public Uses write(String role, Tensor t) {
    return tensor(role, t, true);
  }

  /**
   * Acquires {@code l} for reading (weights, plans); a null lifetime is skipped. A null
   * {@code role} leaves the message to the lifetime's own name.
   */
  public Uses hold(String role, Lifetime l) {
    if (l != null) {
      acquire(role, l, false);
    }
    return this;
  }

  private Uses tensor(String role, Tensor t, boolean write) {
    if (t == null) {
      return this;
    }
    if (t.isClosed()) { // a closed view of an open tensor: its own flag, not the lifetime's
      fail(new IllegalStateException(t.describe() + " is closed"), role);
    }
    acquire(role, t.lifetime(), write);
    return this;
  }

  private void acquire(String role, Lifetime l, boolean write) {
    try {
      l.acquire(write);
    } catch (IllegalStateException e) {
      fail(e, role);
    }
    if (count == held.length) {
      held = java.util.Arrays.copyOf(held, 2 * count);
      writes = java.util.Arrays.copyOf(writes, 2 * count);
    }
    held[count] = l;
    writes[count++] = write;
  }

  private void fail(IllegalStateException e, String role) {
    close();
    // A resource that names itself (a pass, a plan) needs no role.
    throw new IllegalStateException(role == null ? e.getMessage()
        : op + ": the " + role + ": " + e.getMessage(), e);
  }

  /** Releases everything, last acquired first. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    RuntimeException first = null;
    for (int i = count - 1; i >= 0; i--) {
      try {
        held[i].release(writes[i]);
      } catch (RuntimeException e) {
        if (first == null) {
          first = e;
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
