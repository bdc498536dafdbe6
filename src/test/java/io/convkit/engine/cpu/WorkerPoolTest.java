package io.convkit.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * The pool's shares and stealing: every index of a loop runs exactly once, as a worker index the
 * pool said it would use and in the grains of a fixed grid, [i*grain, (i+1)*grain) (one
 * worker: the range in one call), so that no result depends on who ran what,
 * whatever the thread count, range and grain (a thief and an owner never take the same grain);
 * a body's exception reaches the caller and leaves the pool usable.
 */
class WorkerPoolTest {
  @Test
  void everyIndexRunsOnceOnAWorkerInRange() {
    for (int threads : new int[] {1, 2, 3, 5}) {
      try (WorkerPool pool = new WorkerPool(threads)) {
        for (int n : new int[] {0, 1, 2, 3, 7, 64, 1001}) {
          for (int grain : new int[] {1, 3, 64, 0}) {
            int g = grain == 0 ? Math.max(1, n / (4 * threads)) : grain;
            for (int rep = 0; rep < 20; rep++) {
              AtomicIntegerArray runs = new AtomicIntegerArray(Math.max(n, 1));
              int workers = pool.workers(n, g);
              int[] bad = {-1};
              pool.parallelFor(n, g, (b, e, w) -> {
                if (w < 0 || w >= workers || b >= e
                    || workers > 1 && (b % g != 0 || e != Math.min(n, b + g))) {
                  bad[0] = w;
                }
                for (int i = b; i < e; i++) {
                  runs.incrementAndGet(i);
                  if (i % 7 == 0) {
                    Thread.onSpinWait(); // uneven grains, so that thieves steal
                  }
                }
              });
              assertEquals(-1, bad[0], "threads " + threads + " n " + n + " grain " + g
                  + ": a grain off the grid or outside [0, " + workers + ") workers");
              for (int i = 0; i < n; i++) {
                assertEquals(1, runs.get(i), "threads " + threads + " n " + n + " grain " + g
                    + ": index " + i + " ran " + runs.get(i) + " times");
              }
            }
          }
        }
      }
    }
  }

  /**
   * A worker that has not joined a loop is not waited for: with the worker held before it joins,
   * the caller runs every grain itself and returns; the worker, released, finds the loop closed
   * and runs nothing of it, and the next loops use it again.
   */
  @Test
  void theCallerDoesNotWaitForAWorkerThatHasNotJoined() throws Exception {
    CountDownLatch held = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicBoolean first = new AtomicBoolean(true);
    try (WorkerPool pool = new WorkerPool(2, () -> {
      if (first.getAndSet(false)) {
        held.countDown();
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    })) {
      AtomicIntegerArray runs = new AtomicIntegerArray(64);
      int[] byWorker = new int[2];
      assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
        pool.parallelFor(64, 4, (b, e, w) -> {
          if (w == 0) {
            try {
              held.await(); // the worker has seen the loop and is held before joining it
            } catch (InterruptedException x) {
              Thread.currentThread().interrupt();
            }
          }
          synchronized (byWorker) {
            byWorker[w] += e - b;
          }
          for (int i = b; i < e; i++) {
            runs.incrementAndGet(i);
          }
        });
      }, "the caller waited for a worker that had not joined the loop");
      assertEquals(64, byWorker[0], "the caller ran every grain");
      for (int i = 0; i < 64; i++) {
        assertEquals(1, runs.get(i), "index " + i);
      }
      release.countDown();
      AtomicIntegerArray again = new AtomicIntegerArray(1000);
      for (int rep = 0; rep < 50; rep++) {
        pool.parallelFor(1000, 7, (b, e, w) -> {
          for (int i = b; i < e; i++) {
            again.incrementAndGet(i);
          }
        });
      }
      for (int i = 0; i < 1000; i++) {
        assertEquals(50, again.get(i), "index " + i + " after the late worker came back");
      }
    }
  }

  @Test
  void aBodysExceptionReachesTheCallerAndThePoolGoesOn() {
    try (WorkerPool pool = new WorkerPool(2)) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> pool.parallelFor(100, 5, (b, end, w) -> {
            if (b <= 97 && 97 < end) {
              throw new IllegalStateException("index 97");
            }
          }));
      assertTrue(e.getMessage().contains("97"), e.getMessage());
      AtomicIntegerArray runs = new AtomicIntegerArray(100);
      pool.parallelFor(100, 5, (b, end, w) -> {
        for (int i = b; i < end; i++) {
          runs.incrementAndGet(i);
        }
      });
      for (int i = 0; i < 100; i++) {
        assertEquals(1, runs.get(i), "index " + i);
      }
    }
  }
}
