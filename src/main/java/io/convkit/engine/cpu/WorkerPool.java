package io.convkit.engine.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed pool for our own kernels: {@code threads - 1} workers plus the calling thread. Each
 * worker owns a contiguous share of a loop's range and runs it from the front, a grain at a
 * time; one that finishes early takes grains from the back of the others' shares (a core that a
 * neighbour slows down then delays its last grain only, not its whole share). Owning the same
 * share in every loop matters at batch 1: the kernels number their tasks pixel-major, so worker
 * w computes about the same rows of every layer, and the next layer finds its input in the
 * cache of the core that wrote it (a shared counter handed out grains in whatever order the
 * threads came, and a 14x14 depthwise layer ran slower on 2 threads than on 1). Each grain
 * knows its worker index, so it can use that worker's private scratch.
 *
 * <p>Why not an ExecutorService: a direct kernel runs for tens of microseconds, and waking a
 * parked thread costs about as much. Workers spin for a while after each job (when the pool is
 * no larger than the machine: {@link #SPIN_NANOS}) and only then park, so back-to-back parallel
 * loops of one layer and of the next layer start at once.
 */
final class WorkerPool implements AutoCloseable {
  /**
   * How long an idle worker spins before it parks: 2 ms (it was 100 us). Waking a parked worker on
   * this KVM guest sometimes took a millisecond or more, and a network pass has gaps between its
   * parallel loops longer than 100 us; spinning through them costs at most 2 ms of one core after
   * the last call (OpenMP runtimes spin far longer by default). {@code -Dconvkit.spin.nanos} sets
   * it.
   */
  private static final long SPIN_NANOS = Long.getLong("convkit.spin.nanos", 2_000_000);

  /** The body of a parallel loop: run [begin, end) as worker {@code worker}. */
  interface RangeBody {
    void run(int begin, int end, int worker);
  }

  private static final AtomicInteger POOLS = new AtomicInteger();

  private final int threads;
  private final boolean spin;
  private final Thread[] workers;
  private volatile Job job = new Job(0, null, 0, 0, 1, null, null);

  /** (front, back) of a share as one long, so that owner and thieves update it with one CAS. */
  private static long share(int front, int back) {
    return ((long) front << 32) | (back & 0xffffffffL);
  }
  private volatile boolean closed;
  private volatile Throwable failure;

  /**
   * One parallel loop, published whole through the volatile {@link #job} field. The range is
   * cut into grains [i*grain, (i+1)*grain) on a fixed grid, so which indices run together never
   * depends on timing (an sgemm over a block of rows gives the same bits whoever runs it).
   * Worker w's share is the grains [w*G/chunks, (w+1)*G/chunks) of G, as {@link #share} in
   * {@code shares[w]}.
   */
  private record Job(long generation, RangeBody body, int n, int chunks, int grain,
      AtomicLongArray shares, AtomicInteger inside) {
    /** The bit of {@link #inside} set once the caller has taken every grain: no one enters. */
    static final int CLOSED = 1 << 30;

    static Job of(long generation, RangeBody body, int n, int chunks, int grain) {
      long grains = ((long) n + grain - 1) / grain;
      AtomicLongArray shares = new AtomicLongArray(chunks);
      for (int w = 0; w < chunks; w++) {
        shares.set(w, share((int) (grains * w / chunks), (int) (grains * (w + 1) / chunks)));
      }
      return new Job(generation, body, n, chunks, grain, shares, new AtomicInteger());
    }

    /** A worker joins the loop, unless the caller has closed it; then it runs nothing. */
    boolean enter() {
      for (;;) {
        int v = inside.get();
        if ((v & CLOSED) != 0) {
          return false;
        }
        if (inside.compareAndSet(v, v + 1)) {
          return true;
        }
      }
    }

    private void runGrain(int g, int worker) {
      long begin = (long) g * grain;
      body.run((int) begin, (int) Math.min(n, begin + grain), worker);
    }

    void drain(int worker) {
      for (;;) { // the own share, from the front
        long v = shares.get(worker);
        int front = (int) (v >>> 32);
        int back = (int) v;
        if (front >= back) {
          break;
        }
        if (shares.compareAndSet(worker, v, share(front + 1, back))) {
          runGrain(front, worker);
        }
      }
      for (int k = 1; k < chunks; k++) { // then the others', from the back
        int victim = (worker + k) % chunks;
        for (;;) {
          long v = shares.get(victim);
          int front = (int) (v >>> 32);
          int back = (int) v;
          if (front >= back) {
            break;
          }
          if (shares.compareAndSet(victim, v, share(front, back - 1))) {
            runGrain(back - 1, worker);
          }
        }
      }
    }
  }

  // Runs in a worker after it sees a new loop and before it joins it (tests make a worker late).
  private final Runnable beforeJoin;

  WorkerPool(int threads) {
    this(threads, () -> { });
  }

  WorkerPool(int threads, Runnable beforeJoin) {
    this.beforeJoin = beforeJoin;
    this.threads = threads;
    this.spin = threads <= Runtime.getRuntime().availableProcessors();
    this.workers = new Thread[threads - 1];
    int id = POOLS.incrementAndGet();
    for (int i = 0; i < workers.length; i++) {
      int chunk = i + 1;
      Thread t = new Thread(() -> loop(chunk), "convkit-cpu" + id + "-worker" + chunk);
      t.setDaemon(true);
      workers[i] = t;
      t.start();
    }
  }

  /** Runs body over [0, n) in grains of about n / (4 * threads). Not reentrant. */
  void parallelFor(int n, RangeBody body) {
    parallelFor(n, defaultGrain(n), body);
  }

  private int defaultGrain(int n) {
    return Math.max(1, n / (4 * threads));
  }

  /**
   * How many workers {@link #parallelFor(int, RangeBody)} over n tasks uses: worker indices lie
   * in [0, workers), so per-worker scratch sized for this many is enough (fewer tasks than
   * threads need fewer scratch slots).
   */
  int workers(int n) {
    return workers(n, defaultGrain(n));
  }

  /** How many workers {@link #parallelFor(int, int, RangeBody)} uses; at least 1. */
  int workers(int n, int grain) {
    int grains = (int) (((long) n + grain - 1) / grain);
    return Math.max(1, Math.min(threads, grains));
  }

  /** Runs body over [0, n) in grains of {@code grain} (the last may be shorter). Not reentrant. */
  void parallelFor(int n, int grain, RangeBody body) {
    int chunks = workers(n, grain);
    if (chunks <= 1) {
      if (n > 0) {
        body.run(0, n, 0);
      }
      return;
    }
    this.failure = null;
    Job j = Job.of(job.generation() + 1, body, n, chunks, grain);
    job = j;
    for (int i = 0; i < chunks - 1; i++) {
      LockSupport.unpark(workers[i]);
    }
    Throwable mine = null;
    try {
      j.drain(0);
    } catch (Throwable t) {
      mine = t;
    }
    // Every grain is taken (drain steals what the workers have not started). Close the loop
    // and wait only for the workers inside it, which may still run a grain they took: a worker
    // that has not woken yet is not waited for (on this KVM guest a parked thread sometimes
    // woke a millisecond late, and the caller, done with the whole range, used to wait for it
    // to come and find nothing: 14x14 and 7x7 layers took 1 ms on 2 threads, 0.1 on 1).
    j.inside().getAndAdd(Job.CLOSED);
    while ((j.inside().get() & ~Job.CLOSED) != 0) {
      Thread.onSpinWait();
    }
    // Every worker is done with the body: drop it, so that the pool (whose threads are GC roots)
    // keeps nothing of the caller alive between calls. Same generation, no chunks: a worker that
    // wakes late sees nothing to do.
    job = new Job(j.generation(), null, 0, 0, 1, null, null);
    Throwable t = mine != null ? mine : failure;
    failure = null;
    if (t instanceof RuntimeException re) {
      throw re;
    }
    if (t instanceof Error e) {
      throw e;
    }
    if (t != null) {
      throw new IllegalStateException(t);
    }
  }

  private void loop(int chunk) {
    long seen = 0;
    while (true) {
      long start = System.nanoTime();
      Job j;
      while ((j = job).generation() == seen && !closed) {
        if (spin && System.nanoTime() - start < SPIN_NANOS) {
          Thread.onSpinWait();
        } else {
          LockSupport.park(this);
        }
      }
      if (closed) {
        return;
      }
      seen = j.generation();
      int c = j.chunks();
      if (chunk < c) {
        beforeJoin.run();
      }
      if (chunk < c && j.enter()) {
        try {
          j.drain(chunk);
        } catch (Throwable t) {
          failure = t;
        } finally {
          j.inside().decrementAndGet();
        }
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    for (Thread t : workers) {
      LockSupport.unpark(t);
    }
  }
}
