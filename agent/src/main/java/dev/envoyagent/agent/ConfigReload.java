package dev.envoyagent.agent;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Runs reloads asked for by SIGHUP: at once for the first signal, then at most one per {@code
 * minGap}; signals that arrive meanwhile coalesce into one more reload, which reads the config as
 * it is by then. So a burst of 100 signals in a second gives two reloads, not 100.
 */
final class ConfigReload {

  static final Duration MIN_GAP = Duration.ofSeconds(1);

  private final ScheduledExecutorService executor;
  private final Runnable reload;
  private final LongSupplier nanoTime;
  private final Duration minGap;
  private boolean queued;
  private long lastStartNanos;
  private boolean ranBefore;

  ConfigReload(
      ScheduledExecutorService executor, Runnable reload, LongSupplier nanoTime, Duration minGap) {
    this.executor = executor;
    this.reload = reload;
    this.nanoTime = nanoTime;
    this.minGap = minGap;
  }

  /** A reload is wanted (a signal handler calls this). */
  synchronized void request() {
    if (queued) {
      return; // the queued reload will read the config as it is then
    }
    queued = true;
    long waitNanos =
        ranBefore ? Math.max(0, lastStartNanos + minGap.toNanos() - nanoTime.getAsLong()) : 0;
    executor.schedule(this::run, waitNanos, TimeUnit.NANOSECONDS);
  }

  private void run() {
    synchronized (this) {
      queued = false;
      ranBefore = true;
      lastStartNanos = nanoTime.getAsLong();
    }
    reload.run();
  }
}
