package dev.envoyagent.source;

import dev.envoyagent.api.v1.Node;
import dev.envoyagent.api.v1.RouteDiscoveryGrpc;
import dev.envoyagent.api.v1.RouteRequest;
import dev.envoyagent.api.v1.RouteResponse;
import dev.envoyagent.config.AgentSettings.ListenAddress;
import dev.envoyagent.support.Backoff;
import dev.envoyagent.support.ChannelFactory;
import dev.envoyagent.support.GrpcReason;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one route stream open to the control plane, xDS style: every snapshot is answered with an
 * ACK (the version now applied) or a NACK (with the reasons). On any failure it moves to the next
 * address and reconnects with capped, jittered exponential backoff; it never gives up and never
 * exits the agent. All state changes run on {@code executor}, one thread.
 */
public final class ControlPlaneClient implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ControlPlaneClient.class);
  static final Duration PEM_CHECK = Duration.ofSeconds(30);

  /** What the client hands on; called on the client's executor. */
  public interface Handler {
    void onSnapshot(RouteResponse response);

    default void onConnection(boolean connected, String target) {}
  }

  private final List<ListenAddress> addresses;
  private final ChannelFactory channels;
  private final Node node;
  private final Backoff backoff;
  private final Duration splay;
  private final ScheduledExecutorService executor;
  private final Random random;
  private final Handler handler;

  private int addressIndex;
  private int failures;
  private long generation;
  private ManagedChannel channel;
  private StreamObserver<RouteRequest> requests;
  private String appliedVersion = "";
  private String pemStamp;
  private boolean closed;
  private long reconnects;
  private long connectedStream;

  public ControlPlaneClient(
      List<ListenAddress> addresses,
      ChannelFactory channels,
      Node node,
      Backoff backoff,
      Duration splay,
      ScheduledExecutorService executor,
      Random random,
      Handler handler) {
    if (addresses.isEmpty()) {
      throw new IllegalArgumentException("no control-plane address");
    }
    this.addresses = List.copyOf(addresses);
    this.channels = channels;
    this.node = node;
    this.backoff = backoff;
    this.splay = splay;
    this.executor = executor;
    this.random = random;
    this.handler = handler;
  }

  /** Connects after a random part of the splay, so a fleet-wide restart does not stampede. */
  public void start() {
    long delay = splay.isZero() ? 0 : (long) (random.nextDouble() * splay.toMillis());
    LOG.info("control plane client starting targets={} splay_ms={}", addresses, delay);
    pemStamp = channels.filesStamp();
    executor.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    executor.scheduleWithFixedDelay(
        this::checkPemFiles, PEM_CHECK.toMillis(), PEM_CHECK.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Tells the control plane that {@code version} now runs (answering {@code nonce}). */
  public void ack(String nonce, String version) {
    executor.execute(
        () -> {
          appliedVersion = version;
          send(
              RouteRequest.newBuilder()
                  .setNode(node)
                  .setVersionInfo(version)
                  .setResponseNonce(nonce)
                  .build());
        });
  }

  /** Refuses the snapshot of {@code nonce}; the agent keeps running {@code appliedVersion}. */
  public void nack(String nonce, List<String> errors) {
    executor.execute(
        () ->
            send(
                RouteRequest.newBuilder()
                    .setNode(node)
                    .setVersionInfo(appliedVersion)
                    .setResponseNonce(nonce)
                    .addAllErrors(errors)
                    .build()));
  }

  public long reconnects() {
    return reconnects;
  }

  private void connect() {
    if (closed) {
      return;
    }
    ListenAddress target = addresses.get(addressIndex % addresses.size());
    long stream = ++generation;
    try {
      channel = channels.open(target);
    } catch (IOException e) {
      LOG.warn(
          "control plane connection refused before it started target={} reason={}",
          target,
          e.getMessage());
      retry(stream, target);
      return;
    }
    requests =
        RouteDiscoveryGrpc.newStub(channel)
            .streamRoutes(
                new StreamObserver<>() {
                  @Override
                  public void onNext(RouteResponse response) {
                    post(() -> received(stream, target, response));
                  }

                  @Override
                  public void onError(Throwable error) {
                    post(() -> lost(stream, target, Status.fromThrowable(error)));
                  }

                  @Override
                  public void onCompleted() {
                    post(
                        () ->
                            lost(
                                stream,
                                target,
                                Status.UNAVAILABLE.withDescription("server closed the stream")));
                  }
                });
    send(RouteRequest.newBuilder().setNode(node).setVersionInfo(appliedVersion).build());
  }

  /**
   * gRPC calls back from its own threads; the executor may already be gone when the agent stops.
   */
  private void post(Runnable action) {
    try {
      executor.execute(action);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      LOG.debug("route stream event after shutdown ignored");
    }
  }

  private void received(long stream, ListenAddress target, RouteResponse response) {
    if (stream != generation) {
      return;
    }
    if (connectedStream != stream) {
      connectedStream = stream;
      LOG.info(
          "control plane connected target={} version={}",
          target,
          response.getSnapshot().getVersion());
      handler.onConnection(true, target.toString());
    }
    failures = 0;
    handler.onSnapshot(response);
  }

  private void lost(long stream, ListenAddress target, Status status) {
    if (stream != generation || closed) {
      return;
    }
    // One line, no stack trace: an unreachable control plane is expected, and Envoy keeps serving.
    LOG.warn(
        "control plane stream lost target={} status={} reason=\"{}\"",
        target,
        status.getCode(),
        GrpcReason.of(status));
    handler.onConnection(false, target.toString());
    retry(stream, target);
  }

  private void retry(long stream, ListenAddress target) {
    closeChannel();
    failures++;
    reconnects++;
    addressIndex++;
    Duration wait = backoff.delay(failures, random);
    LOG.info(
        "control plane reconnecting next_target={} in_ms={} attempt={}",
        addresses.get(addressIndex % addresses.size()),
        wait.toMillis(),
        failures);
    executor.schedule(this::connect, wait.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void send(RouteRequest request) {
    if (requests == null) {
      return;
    }
    try {
      requests.onNext(request);
    } catch (RuntimeException e) {
      LOG.debug("cannot send on the route stream: {}", e.toString());
    }
  }

  /** A rotated certificate is used at once: reconnect with the new files. */
  private void checkPemFiles() {
    String now = channels.filesStamp();
    if (!now.equals(pemStamp)) {
      pemStamp = now;
      LOG.info("control plane TLS files changed; reconnecting with them");
      generation++;
      closeChannel();
      executor.execute(this::connect);
    }
  }

  private void closeChannel() {
    requests = null;
    if (channel != null) {
      channel.shutdownNow();
      channel = null;
    }
  }

  @Override
  public void close() {
    executor.execute(
        () -> {
          closed = true;
          generation++;
          closeChannel();
        });
  }
}
