package io.convkit.engine.cpu;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fixed pool for our own kernels: {@code threads - 1} workers plus the calling thread. A range
 * is cut into one contiguous chunk per thread; each chunk knows its worker index, so it can use
 * that worker's private scratch.
 */
final class WorkerPool implements AutoCloseable {
  private static final AtomicInteger POOLS = new AtomicInteger();

  /** The body of a parallel loop: run [begin, end) as worker {@code worker}. */
  interface RangeBody {
    void run(int begin, int end, int worker);
  }

  private final int threads;
  private final ExecutorService executor;

  WorkerPool(int threads) {
    this.threads = threads;
    int id = POOLS.incrementAndGet();
    AtomicInteger n = new AtomicInteger();
    this.executor = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, r -> {
      Thread t = new Thread(r, "convkit-cpu" + id + "-worker" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  int threads() {
    return threads;
  }

  /** Runs body over [0, n), split into at most {@code threads} chunks. */
  void parallelFor(int n, RangeBody body) {
    int chunks = Math.min(threads, n);
    if (chunks <= 1) {
      if (n > 0) {
        body.run(0, n, 0);
      }
      return;
    }
    @SuppressWarnings("unchecked")
    Future<?>[] futures = new Future<?>[chunks];
    for (int c = 1; c < chunks; c++) {
      int begin = (int) ((long) n * c / chunks);
      int end = (int) ((long) n * (c + 1) / chunks);
      int worker = c;
      futures[c] = executor.submit(() -> body.run(begin, end, worker));
    }
    RuntimeException first = null;
    try {
      body.run(0, (int) ((long) n / chunks), 0);
    } catch (RuntimeException e) {
      first = e;
    }
    for (int c = 1; c < chunks; c++) {
      try {
        futures[c].get();
      } catch (ExecutionException e) {
        if (first == null) {
          first = e.getCause() instanceof RuntimeException re ? re : new RuntimeException(e.getCause());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for convkit workers", e);
      }
    }
    if (first != null) {
      throw first;
    }
  }

  @Override
  public void close() {
    if (executor != null) {
      executor.shutdownNow();
    }
  }
}
