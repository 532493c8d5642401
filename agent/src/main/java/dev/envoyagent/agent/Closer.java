package dev.envoyagent.agent;

import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the composition root started, closed in reverse order: whoever starts a thing registers it
 * here at once, so stopping never depends on a hand-kept list. A failure to close one thing is
 * logged and the rest still close.
 */
final class Closer {

  private static final Logger LOG = LoggerFactory.getLogger(Closer.class);

  /** Like AutoCloseable, but may be interrupted while it waits. */
  @FunctionalInterface
  interface Step {
    void close() throws Exception;
  }

  private record Entry(String name, Step step) {}

  private final Deque<Entry> started = new ArrayDeque<>();

  /**
   * Registers {@code thing} to be closed; returns it, so a start and its registration are one line.
   */
  synchronized <T extends AutoCloseable> T register(String name, T thing) {
    started.push(new Entry(name, thing::close));
    return thing;
  }

  /**
   * Registers a closing step that is not an AutoCloseable (e.g. a drain, an executor's shutdown).
   */
  synchronized void onClose(String name, Step step) {
    started.push(new Entry(name, step));
  }

  /** Closes everything registered, newest first. */
  void closeAll() throws InterruptedException {
    while (true) {
      Entry next;
      synchronized (this) {
        next = started.poll();
      }
      if (next == null) {
        return;
      }
      try {
        next.step().close();
      } catch (InterruptedException e) {
        throw e;
      } catch (Exception e) {
        LOG.warn("closing {} failed reason={}", next.name(), e.toString());
      }
    }
  }

  /** An executor's close: no new work, then a bounded wait for what runs. */
  static Step executor(java.util.concurrent.ExecutorService executor, java.time.Duration wait) {
    return () -> {
      executor.shutdown();
      if (!executor.awaitTermination(wait.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
        executor.shutdownNow();
      }
    };
  }
}
