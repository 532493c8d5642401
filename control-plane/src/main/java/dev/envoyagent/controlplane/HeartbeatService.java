package dev.envoyagent.controlplane;

import dev.envoyagent.api.v1.HeartbeatGrpc;
import dev.envoyagent.api.v1.HeartbeatRequest;
import dev.envoyagent.api.v1.HeartbeatResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records each heartbeat, re-derives the registrations (a host's health may have changed) and
 * answers with the interval to use and whether an operator asked this host to drain.
 */
public final class HeartbeatService extends HeartbeatGrpc.HeartbeatImplBase {

  private static final Logger LOG = LoggerFactory.getLogger(HeartbeatService.class);

  private final Fleet fleet;
  private final Clock clock;
  private final long intervalMs;
  private final Runnable afterHeartbeat;

  HeartbeatService(Fleet fleet, Clock clock, long intervalMs, Runnable afterHeartbeat) {
    this.fleet = fleet;
    this.clock = clock;
    this.intervalMs = intervalMs;
    this.afterHeartbeat = afterHeartbeat;
  }

  @Override
  public void report(HeartbeatRequest request, StreamObserver<HeartbeatResponse> response) {
    String nodeId = request.getNode().getId();
    if (nodeId.isEmpty()) {
      LOG.warn("heartbeat refused reason=\"no node.id\"");
      response.onError(
          Status.INVALID_ARGUMENT
              .withDescription("a heartbeat must carry node.id")
              .asRuntimeException());
      return;
    }
    boolean known = fleet.host(nodeId).filter(HostRecord::hasHeartbeat).isPresent();
    fleet.heartbeat(request, clock.millis());
    if (!known) {
      LOG.info(
          "host joined node={} cluster={} zone={} state={} applied={}",
          nodeId,
          request.getNode().getCluster(),
          request.getNode().getZone(),
          request.getState(),
          request.getAppliedVersion());
    }
    afterHeartbeat.run();
    boolean drain = fleet.host(nodeId).map(HostRecord::drainRequested).orElse(false);
    response.onNext(
        HeartbeatResponse.newBuilder()
            .setHeartbeatIntervalMs((int) intervalMs)
            .setDrain(drain)
            .build());
    response.onCompleted();
  }
}
