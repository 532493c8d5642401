package dev.envoyagent.ec2;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Polls {@code spot/instance-action} and {@code autoscaling/target-lifecycle-state} about every
 * {@link Settings#interval()} (jittered, so a fleet does not poll in step) on its own thread, and
 * calls {@link Listener#onNotice} once, at the first notice; then it stops polling. Each poll is
 * bounded by the {@link Ec2Metadata}'s timeouts. Expected failures (404 = no notice, timeouts, 5xx)
 * are one log line, never a stack trace; repeated failures are logged once a minute so the log says
 * notices may be late.
 */
public final class TerminationWatcher implements AutoCloseable {
  static final String SPOT = SdkEc2Metadata.META + "spot/instance-action";
  static final String LIFECYCLE = SdkEc2Metadata.META + "autoscaling/target-lifecycle-state";
  private static final Logger log = LoggerFactory.getLogger(TerminationWatcher.class);

  /**
   * Called once, on the watcher's thread; should hand the drain to the agent's own loop and return.
   */
  @FunctionalInterface
  public interface Listener {
    void onNotice(TerminationNotice notice);
  }

  /**
   * @param interval mean time between polls (5 s in production)
   * @param jitter each delay is interval × (1 ± jitter), 0–0.5
   * @param lifecycleGrace deadline given to an Auto Scaling termination, which IMDS does not time
   */
  public record Settings(Duration interval, double jitter, Duration lifecycleGrace) {
    public Settings {
      Objects.requireNonNull(interval, "interval");
      Objects.requireNonNull(lifecycleGrace, "lifecycleGrace");
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("interval must be positive: " + interval);
      }
      if (jitter < 0 || jitter > 0.5) {
        throw new IllegalArgumentException("jitter must be 0-0.5: " + jitter);
      }
    }

    public static Settings defaults() {
      return new Settings(Duration.ofSeconds(5), 0.2, Duration.ofSeconds(120));
    }
  }

  private final Ec2Metadata metadata;
  private final Settings settings;
  private final Clock clock;
  private final DoubleSupplier random;
  private final Listener listener;
  private final AtomicBoolean started = new AtomicBoolean();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicBoolean noticed = new AtomicBoolean();
  private final AtomicInteger failures = new AtomicInteger();
  private final ScheduledExecutorService scheduler;
  private volatile String lifecycleState;

  /**
   * @param random uniform in [0, 1), e.g. {@code ThreadLocalRandom.current()::nextDouble}
   */
  public TerminationWatcher(
      Ec2Metadata metadata,
      Settings settings,
      Clock clock,
      DoubleSupplier random,
      Listener listener) {
    this.metadata = Objects.requireNonNull(metadata, "metadata");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.random = Objects.requireNonNull(random, "random");
    this.listener = Objects.requireNonNull(listener, "listener");
    this.scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "ec2-termination-watcher");
              t.setDaemon(true);
              return t;
            });
  }

  /** Starts polling now; a second call is refused. */
  public void start() {
    if (closed.get() || !started.compareAndSet(false, true)) {
      throw new IllegalStateException("termination watcher already started or closed");
    }
    log.info(
        "ec2 termination watcher started interval_s={} jitter={} paths={},{}",
        settings.interval().toMillis() / 1000.0,
        settings.jitter(),
        SPOT,
        LIFECYCLE);
    scheduler.execute(this::tick);
  }

  /** Whether a notice has been delivered. */
  public boolean noticed() {
    return noticed.get();
  }

  /**
   * One poll of both paths, without calling the listener: a notice, or empty when there is none or
   * IMDS could not answer (logged).
   */
  public Optional<TerminationNotice> pollOnce() {
    Instant now = clock.instant();
    Optional<String> spot = readQuietly(SPOT);
    if (spot.isPresent()) {
      return Optional.of(TerminationNotices.fromSpot(spot.get(), now));
    }
    Optional<String> state = readQuietly(LIFECYCLE);
    if (state.isPresent()) {
      String s = state.get().trim();
      if (!s.equals(lifecycleState)) {
        log.info("asg lifecycle state={} previous={}", s, lifecycleState);
        lifecycleState = s;
      }
      return TerminationNotices.fromLifecycle(s, now, settings.lifecycleGrace());
    }
    return Optional.empty();
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      scheduler.shutdownNow();
    }
  }

  /** interval × (1 + jitter × (2r − 1)) for r in [0, 1): uniformly within ±jitter. */
  static Duration nextDelay(Duration interval, double jitter, double r) {
    double factor = 1 + jitter * (2 * r - 1);
    return Duration.ofNanos(Math.round(interval.toNanos() * factor));
  }

  private void tick() {
    if (closed.get()) {
      return;
    }
    Optional<TerminationNotice> notice = pollOnce();
    if (notice.isPresent() && noticed.compareAndSet(false, true)) {
      deliver(notice.get());
      return;
    }
    if (!closed.get()) {
      Duration next = nextDelay(settings.interval(), settings.jitter(), random.getAsDouble());
      scheduler.schedule(this::tick, next.toNanos(), TimeUnit.NANOSECONDS);
    }
  }

  private void deliver(TerminationNotice n) {
    log.warn(
        "ec2 termination notice kind={} action={} deadline={} remaining_s={}; draining this host now",
        n.kind(),
        n.action(),
        n.deadline(),
        n.remaining(clock.instant()).toSeconds());
    try {
      listener.onNotice(n);
    } catch (RuntimeException e) {
      log.error("ec2 termination listener failed kind={}", n.kind(), e);
    }
  }

  private Optional<String> readQuietly(String path) {
    try {
      Optional<String> value = metadata.read(path);
      int before = failures.getAndSet(0);
      if (before > 0) {
        log.info("imds poll recovered path={} after_failures={}", path, before);
      }
      return value;
    } catch (Ec2MetadataException | IllegalStateException e) {
      if (closed.get()) {
        return Optional.empty(); // interrupted by close(): not a failure worth a line
      }
      int n = failures.incrementAndGet();
      // First failure, then about once a minute at the default interval: enough to act on, not a
      // flood.
      if (n == 1 || n % 12 == 0) {
        log.warn(
            "imds poll failed path={} reason=\"{}\" consecutive_failures={}; termination notices may be late",
            path,
            Ec2MetadataException.reason(e),
            n);
      }
      return Optional.empty();
    }
  }
}
