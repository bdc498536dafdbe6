package io.convkit.tensor;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The use count that keeps native memory alive while calls use it: the one lifetime mechanism of
 * convkit. Tensors, convolution weights, forward plans and forward passes each hold one; every
 * call that hands their memory to native code or a device {@linkplain #acquire acquires} it first
 * (engines do so through {@link Uses}) and releases it when the call returns.
 *
 * <p>{@link #close()} never frees memory under a call: it marks the resource closed at once (every
 * later acquire throws {@link IllegalStateException}) and runs the release action when the last
 * call using it returns, on that call's thread; with no call in flight it runs at once.
 *
 * <p>It also catches a data race that would give a wrong answer: a use is a read or a write, and
 * one thread's write excludes every other thread's use (a thread may read what it writes, as an
 * in-place call does). The conflicting acquire throws {@link IllegalStateException} naming the
 * resource and the thread that holds it.
 */
public final class Lifetime {
  private final String what;
  private Runnable release;
  private boolean closed;
  private int users;
  private Thread writer;
  private int writes;
  // Readers per thread; almost always zero or one entry.
  private final Map<Thread, int[]> readers = new IdentityHashMap<>(4);

  /** {@code what} names the resource in messages; {@code release} frees it once, after close. */
  public Lifetime(String what, Runnable release) {
    this.what = what;
    this.release = release;
  }

  /** What this guards, as messages name it. */
  public String what() {
    return what;
  }

  /**
   * Starts a use by the calling thread; {@code write} for a use that modifies the memory. Throws
   * {@link IllegalStateException} if closed, or if another thread is writing (or, for a write,
   * using) it.
   */
  public synchronized void acquire(boolean write) {
    if (closed) {
      throw new IllegalStateException(what + " is closed");
    }
    Thread me = Thread.currentThread();
    if (writer != null && writer != me) {
      throw new IllegalStateException(what + " is being written by thread \"" + writer.getName()
          + "\"; a tensor may be read by many threads at once but written by one with no reader");
    }
    if (write) {
      for (Thread t : readers.keySet()) {
        if (t != me) {
          throw new IllegalStateException(what + " is being read by thread \"" + t.getName()
              + "\"; it cannot be written at the same time");
        }
      }
      writer = me;
      writes++;
    } else {
      readers.computeIfAbsent(me, t -> new int[1])[0]++;
    }
    users++;
  }

  /** Ends a use started by {@link #acquire} on this thread, with the same {@code write}. */
  public void release(boolean write) {
    Runnable r = null;
    synchronized (this) {
      if (users == 0) {
        throw new IllegalStateException(what + ": released more often than acquired");
      }
      if (write) {
        if (--writes == 0) {
          writer = null;
        }
      } else {
        Thread me = Thread.currentThread();
        int[] n = readers.get(me);
        if (n != null && --n[0] == 0) {
          readers.remove(me);
        }
      }
      if (--users == 0 && closed) {
        r = release;
        release = null;
      }
    }
    if (r != null) {
      r.run();
    }
  }

  /** True once {@link #close()} has been called (the memory may still be in use by a call). */
  public synchronized boolean isClosed() {
    return closed;
  }

  /** Calls using it now. */
  public synchronized int users() {
    return users;
  }

  /**
   * Closes it: no new use may start, and the release action runs now if no call uses it, else
   * when the last one returns. Idempotent.
   */
  public void close() {
    Runnable r = null;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      if (users == 0) {
        r = release;
        release = null;
      }
    }
    if (r != null) {
      r.run();
    }
  }

  @Override
  public String toString() {
    return what;
  }
}
