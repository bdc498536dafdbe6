package io.convkit.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The use count behind every tensor, weights, plan and pass. */
class LifetimeTest {
  @Test
  void closeWithoutUsersReleasesAtOnce() {
    AtomicInteger released = new AtomicInteger();
    Lifetime l = new Lifetime("thing", released::incrementAndGet);
    l.close();
    l.close();
    assertEquals(1, released.get());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> l.acquire(false));
    assertEquals("thing is closed", e.getMessage());
  }

  @Test
  void closeDuringUseReleasesWhenTheLastUseEnds() {
    AtomicInteger released = new AtomicInteger();
    Lifetime l = new Lifetime("thing", released::incrementAndGet);
    l.acquire(false);
    l.acquire(true);
    l.close();
    assertTrue(l.isClosed());
    assertEquals(0, released.get(), "freed under a call");
    assertThrows(IllegalStateException.class, () -> l.acquire(false));
    l.release(true);
    assertEquals(0, released.get());
    l.release(false);
    assertEquals(1, released.get());
    assertThrows(IllegalStateException.class, () -> l.release(false));
  }

  @Test
  void aThreadMayReadWhatItWritesButOtherThreadsMayNot() throws Exception {
    Lifetime l = new Lifetime("tensor [4]", () -> {});
    l.acquire(true);
    l.acquire(false); // an in-place call: output and input are one tensor
    AtomicReference<Throwable> other = new AtomicReference<>();
    Thread t = new Thread(() -> {
      try {
        l.acquire(false);
      } catch (Throwable e) {
        other.set(e);
      }
    }, "reader-1");
    t.start();
    t.join();
    assertTrue(other.get() instanceof IllegalStateException, String.valueOf(other.get()));
    assertTrue(other.get().getMessage().startsWith("tensor [4] is being written by thread \""
        + Thread.currentThread().getName() + "\""), other.get().getMessage());
    l.release(false);
    l.release(true);
  }

  @Test
  void aWriteWaitsForNoReaderAndReadersShare() throws Exception {
    Lifetime l = new Lifetime("tensor [4]", () -> {});
    CountDownLatch held = new CountDownLatch(1);
    CountDownLatch done = new CountDownLatch(1);
    Thread reader = new Thread(() -> {
      l.acquire(false);
      held.countDown();
      try {
        done.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      l.release(false);
    }, "reader-2");
    reader.start();
    held.await();
    l.acquire(false); // readers share
    l.release(false);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> l.acquire(true));
    assertTrue(e.getMessage().startsWith("tensor [4] is being read by thread \"reader-2\""),
        e.getMessage());
    done.countDown();
    reader.join();
    l.acquire(true); // no reader left
    l.release(true);
    assertEquals(0, l.users());
  }

  @Test
  void aViewSharesItsOwnersLifetime() {
    Tensor t = Tensor.zeros(2, 3);
    Tensor v = t.view(Shape.of(6));
    assertTrue(v.sameMemory(t));
    assertTrue(t.sameMemory(v));
    try (Tensor other = Tensor.zeros(2, 3)) {
      assertFalse(other.sameMemory(t));
    }
    try (Uses u = Uses.begin("probe").read("input", v)) {
      t.close(); // freed only when the probe's use ends
      assertTrue(t.isClosed());
      assertTrue(v.isClosed());
      assertEquals(1, t.lifetime().users());
    }
    assertEquals(0, t.lifetime().users());
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> Uses.begin("probe").read("input", v));
    assertEquals("probe: the input: tensor 6 is closed", e.getMessage());
  }

  @Test
  void aFailedAcquireReleasesWhatCameBefore() {
    Tensor a = Tensor.zeros(2);
    Tensor b = Tensor.zeros(3);
    b.close();
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> Uses.begin("add").read("first input", a).read("second input", b));
    assertEquals("add: the second input: tensor 3 is closed", e.getMessage());
    assertEquals(0, a.lifetime().users());
    a.close();
  }
}
