package dev.envoyagent.health;

import dev.envoyagent.api.v1.HeartbeatGrpc;
import dev.envoyagent.api.v1.HeartbeatRequest;
import dev.envoyagent.api.v1.HeartbeatResponse;
import dev.envoyagent.config.AgentSettings.ListenAddress;
import dev.envoyagent.support.ChannelFactory;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends a heartbeat every interval (±10% jitter, so a fleet does not beat in step), as a unary call
 * with a deadline. A failed beat moves to the next control-plane address; the cadence itself bounds
 * the retries. The control plane may change the interval or ask the host to drain.
 *
 * <p>Confined to one thread: every beat, scheduled or asked for with {@link #beatNow()}, runs on
 * the single-threaded {@code executor} it is given (and owns: {@link #close()} shuts it down after
 * the last beat), so its channel and counters need no locks and two beats never overlap.
 */
public final class HeartbeatSender implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(HeartbeatSender.class);

  private final List<ListenAddress> addresses;
  private final ChannelFactory channels;
  private final Supplier<HeartbeatRequest> content;
  private final Consumer<HeartbeatResponse> onResponse;
  private final ScheduledExecutorService executor;
  private final Random random;
  private final Duration timeout;
  private final java.util.function.LongConsumer latencyMs;

  private volatile long intervalMs;
  private int addressIndex;
  private ManagedChannel channel;
  private boolean failing;
  private volatile long sent;
  private volatile long failed;
  private volatile boolean closed;

  public HeartbeatSender(
      List<ListenAddress> addresses,
      ChannelFactory channels,
      Duration interval,
      Duration timeout,
      Supplier<HeartbeatRequest> content,
      Consumer<HeartbeatResponse> onResponse,
      ScheduledExecutorService executor,
      Random random,
      java.util.function.LongConsumer latencyMs) {
    this.latencyMs = latencyMs;
    this.addresses = List.copyOf(addresses);
    this.channels = channels;
    this.intervalMs = interval.toMillis();
    this.timeout = timeout;
    this.content = content;
    this.onResponse = onResponse;
    this.executor = executor;
    this.random = random;
  }

  public void start() {
    schedule(Math.round(intervalMs * random.nextDouble() * 0.5));
  }

  /**
   * Sends one heartbeat now (also used when the host starts draining: the control plane must know
   * at once).
   */
  public void beatNow() {
    executor.execute(this::beat);
  }

  public long sent() {
    return sent;
  }

  public long failed() {
    return failed;
  }

  private void schedule(long delayMs) {
    if (!closed) {
      executor.schedule(this::beatAndReschedule, delayMs, TimeUnit.MILLISECONDS);
    }
  }

  private void beatAndReschedule() {
    beat();
    double jitter = 1 + (random.nextDouble() * 0.2 - 0.1);
    schedule(Math.round(intervalMs * jitter));
  }

  private void beat() {
    if (closed) {
      return;
    }
    ListenAddress target = addresses.get(addressIndex % addresses.size());
    try {
      if (channel == null) {
        channel = channels.open(target);
      }
      HeartbeatRequest request =
          content.get().toBuilder().setSentAtMs(System.currentTimeMillis()).build();
      long started = System.nanoTime();
      HeartbeatResponse response =
          HeartbeatGrpc.newBlockingStub(channel)
              .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
              .report(request);
      sent++;
      latencyMs.accept((System.nanoTime() - started) / 1_000_000);
      if (failing) {
        LOG.info("heartbeats reach the control plane again target={}", target);
        failing = false;
      }
      if (response.hasHeartbeatIntervalMs()
          && response.getHeartbeatIntervalMs() >= 200
          && response.getHeartbeatIntervalMs() != intervalMs) {
        LOG.info(
            "heartbeat interval set by the control plane interval_ms={}",
            response.getHeartbeatIntervalMs());
        intervalMs = response.getHeartbeatIntervalMs();
      }
      onResponse.accept(response);
    } catch (StatusRuntimeException e) {
      failure(target, e.getStatus());
    } catch (IOException e) {
      failure(target, Status.UNAVAILABLE.withDescription(e.getMessage()));
    }
  }

  private void failure(ListenAddress target, Status status) {
    failed++;
    if (!failing) {
      LOG.warn(
          "heartbeat failed target={} status={} reason=\"{}\"; retrying every interval on the next address",
          target,
          status.getCode(),
          dev.envoyagent.support.GrpcReason.of(status));
      failing = true;
    }
    if (channel != null) {
      channel.shutdownNow();
      channel = null;
    }
    addressIndex++;
  }

  /** Stops after any beat already asked for (a last DRAINING beat on shutdown still goes out). */
  @Override
  public void close() {
    try {
      executor.execute(
          () -> {
            closed = true;
            if (channel != null) {
              channel.shutdownNow();
              channel = null;
            }
          });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      closed = true; // closed before
    }
    executor.shutdown();
  }
}
