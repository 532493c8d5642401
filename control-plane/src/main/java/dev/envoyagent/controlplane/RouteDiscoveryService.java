package dev.envoyagent.controlplane;

import dev.envoyagent.api.v1.RouteDiscoveryGrpc;
import dev.envoyagent.api.v1.RouteRequest;
import dev.envoyagent.api.v1.RouteResponse;
import dev.envoyagent.api.v1.RouteSnapshot;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The route stream, server side: every open stream gets the current snapshot after the agent's
 * first request and every later version as it appears. Only the latest snapshot is ever waiting for
 * a stream (a slow agent skips versions instead of queueing them), and a stream is written only
 * while gRPC says it is ready, so one stuck agent costs at most one buffered snapshot.
 *
 * <p>Fan-out runs on {@code pushExecutor}; pushes that pile up while one runs are collapsed into
 * one, since each push sends whatever is current.
 */
public final class RouteDiscoveryService extends RouteDiscoveryGrpc.RouteDiscoveryImplBase {

  private final SnapshotStore store;
  private final Fleet fleet;
  private final Clock clock;
  private final Executor pushExecutor;
  private final Set<RouteStream> streams = ConcurrentHashMap.newKeySet();
  private final AtomicLong nonces = new AtomicLong();
  private final AtomicBoolean pushPending = new AtomicBoolean();
  private final AtomicLong streamIds = new AtomicLong();

  RouteDiscoveryService(SnapshotStore store, Fleet fleet, Clock clock, Executor pushExecutor) {
    this.store = store;
    this.fleet = fleet;
    this.clock = clock;
    this.pushExecutor = pushExecutor;
    store.addListener(snapshot -> schedulePush());
  }

  @Override
  public StreamObserver<RouteRequest> streamRoutes(StreamObserver<RouteResponse> responseObserver) {
    ServerCallStreamObserver<RouteResponse> call =
        (ServerCallStreamObserver<RouteResponse>) responseObserver;
    RouteStream stream = new RouteStream(streamIds.incrementAndGet(), call, this);
    call.setOnReadyHandler(stream::onReady);
    call.setOnCancelHandler(stream::onCancelled);
    streams.add(stream);
    return stream;
  }

  /** Streams open now (including ones that have not sent their first request). */
  public int openStreams() {
    return streams.size();
  }

  /** Ends every stream with UNAVAILABLE, so agents reconnect to whoever serves next. */
  void closeAll() {
    for (RouteStream stream : streams) {
      stream.close(Status.UNAVAILABLE.withDescription("control plane shutting down"));
    }
  }

  private void schedulePush() {
    if (pushPending.compareAndSet(false, true)) {
      pushExecutor.execute(this::pushAll);
    }
  }

  private void pushAll() {
    // Cleared before reading current(): a version that appears during this loop schedules another.
    pushPending.set(false);
    RouteSnapshot snapshot = store.current();
    for (RouteStream stream : streams) {
      stream.offer(snapshot);
    }
  }

  RouteSnapshot current() {
    return store.current();
  }

  Fleet fleet() {
    return fleet;
  }

  long now() {
    return clock.millis();
  }

  String nextNonce() {
    return Long.toString(nonces.incrementAndGet());
  }

  void removed(RouteStream stream) {
    streams.remove(stream);
  }
}
