package dev.envoyagent.controlplane;

import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.api.v1.Service;
import dev.envoyagent.model.InvalidInputException;
import io.grpc.BindableService;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embeddable control plane: snapshot store, fleet, registration merge and the two gRPC
 * services. It owns no threads, sockets or files: the embedder adds {@link #services()} to its own
 * gRPC server, feeds routes with {@link #replaceRoutes}, and calls {@link #refresh()} about once a
 * second so hosts whose heartbeats stopped are deregistered.
 */
public final class ControlPlaneCore implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ControlPlaneCore.class);

  /**
   * @param heartbeatIntervalMs the interval agents are told to use; 3 missed ones deregister a host
   * @param forgetAfterMs hosts silent this long (and without a stream) leave the fleet view
   * @param pushExecutor runs the fan-out of new snapshots to streams; one thread is enough
   */
  public record Options(
      long heartbeatIntervalMs, long forgetAfterMs, Clock clock, Executor pushExecutor) {
    public Options {
      if (heartbeatIntervalMs < 100 || heartbeatIntervalMs > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "heartbeatIntervalMs out of range: " + heartbeatIntervalMs);
      }
      if (forgetAfterMs <= Registrations.staleAfterMs(heartbeatIntervalMs)) {
        throw new IllegalArgumentException("forgetAfterMs must exceed 3 heartbeat intervals");
      }
      Objects.requireNonNull(clock, "clock");
      Objects.requireNonNull(pushExecutor, "pushExecutor");
    }

    public static Options defaults(Clock clock, Executor pushExecutor) {
      return new Options(10_000, 3_600_000, clock, pushExecutor);
    }
  }

  private final Options options;
  private final SnapshotStore store;
  private final Fleet fleet = new Fleet();
  private final RouteDiscoveryService routeDiscovery;
  private final HeartbeatService heartbeat;

  private ControlPlaneCore(RouteSnapshot routes, Options options) throws InvalidInputException {
    this.options = options;
    this.store = new SnapshotStore(routes);
    this.routeDiscovery =
        new RouteDiscoveryService(store, fleet, options.clock(), options.pushExecutor());
    this.heartbeat =
        new HeartbeatService(
            fleet, options.clock(), options.heartbeatIntervalMs(), this::reregister);
  }

  /** Refuses routes that do not validate, with every problem. */
  public static ControlPlaneCore create(RouteSnapshot routes, Options options)
      throws InvalidInputException {
    return new ControlPlaneCore(routes, options);
  }

  public List<BindableService> services() {
    return List.of(routeDiscovery, heartbeat);
  }

  public RouteDiscoveryService routeDiscovery() {
    return routeDiscovery;
  }

  public HeartbeatService heartbeat() {
    return heartbeat;
  }

  /** The snapshot served now. */
  public RouteSnapshot current() {
    return store.current();
  }

  public SnapshotStore store() {
    return store;
  }

  /** New routes; refused (previous ones keep serving) when they do not validate. */
  public void replaceRoutes(RouteSnapshot routes) throws InvalidInputException {
    store.replaceBase(routes);
  }

  /**
   * Deregisters hosts whose heartbeats stopped and forgets long-gone ones; call about once a
   * second.
   */
  public void refresh() {
    long now = options.clock().millis();
    int forgotten = fleet.forgetSilentSince(now - options.forgetAfterMs());
    if (forgotten > 0) {
      LOG.info("hosts forgotten count={} silent_ms={}", forgotten, options.forgetAfterMs());
    }
    reregister();
  }

  /** Asks a host to drain at its next heartbeat; false for an unknown node id. */
  public boolean requestDrain(String nodeId) {
    boolean known = fleet.requestDrain(nodeId);
    LOG.info("drain requested node={} known={}", nodeId, known);
    return known;
  }

  public FleetView fleet() {
    RouteSnapshot base = store.base();
    Set<String> routed =
        base.getServicesList().stream().map(Service::getName).collect(Collectors.toSet());
    return FleetView.of(
        fleet.hosts(),
        routed,
        store.current().getVersion(),
        base.getVersion(),
        options.heartbeatIntervalMs(),
        options.clock().millis());
  }

  // Synchronized so that two callers (a heartbeat, the refresh tick) cannot store their results in
  // the opposite order to the one they computed them in, leaving an older registration set served.
  private synchronized void reregister() {
    long now = options.clock().millis();
    store.replaceRegistrations(
        Registrations.endpoints(
            fleet.hosts(), now, Registrations.staleAfterMs(options.heartbeatIntervalMs())));
  }

  /** Ends every route stream (UNAVAILABLE), so agents reconnect elsewhere; idempotent. */
  @Override
  public void close() {
    routeDiscovery.closeAll();
  }
}
