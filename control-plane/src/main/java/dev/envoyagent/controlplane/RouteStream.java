package dev.envoyagent.controlplane;

import dev.envoyagent.api.v1.Node;
import dev.envoyagent.api.v1.RouteRequest;
import dev.envoyagent.api.v1.RouteResponse;
import dev.envoyagent.api.v1.RouteSnapshot;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One agent's route stream. gRPC delivers this stream's callbacks one at a time, but pushes come
 * from the fan-out thread, so every method that touches the call holds this object's lock.
 */
final class RouteStream implements StreamObserver<RouteRequest> {

  private static final Logger LOG = LoggerFactory.getLogger(RouteStream.class);

  /** Nonces remembered to tell which version an answer is about; older answers are stale anyway. */
  private static final int RECENT_NONCES = 8;

  private final long id;
  private final ServerCallStreamObserver<RouteResponse> call;
  private final RouteDiscoveryService service;
  private final Map<String, String> versionByNonce =
      new LinkedHashMap<>(16, 0.75f, false) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
          return size() > RECENT_NONCES;
        }
      };
  private Node node;
  private RouteSnapshot waiting;
  private String lastSentVersion = "";
  private boolean closed;

  RouteStream(
      long id, ServerCallStreamObserver<RouteResponse> call, RouteDiscoveryService service) {
    this.id = id;
    this.call = call;
    this.service = service;
  }

  @Override
  public synchronized void onNext(RouteRequest request) {
    if (closed) {
      return;
    }
    if (node == null) {
      first(request);
      return;
    }
    String nonce = request.getResponseNonce();
    String sentVersion = versionByNonce.get(nonce);
    long now = service.now();
    if (request.getErrorsCount() == 0) {
      service.fleet().acked(node.getId(), request.getVersionInfo(), now);
      LOG.info(
          "route ack node={} version={} nonce={}{}",
          node.getId(),
          request.getVersionInfo(),
          nonce,
          sentVersion == null ? " stale_nonce=true" : "");
    } else {
      String refused = sentVersion == null ? "(unknown nonce " + nonce + ")" : sentVersion;
      service
          .fleet()
          .nacked(node.getId(), request.getVersionInfo(), refused, request.getErrorsList(), now);
      LOG.warn(
          "route nack node={} refused={} applied={} errors={} first=\"{}\"",
          node.getId(),
          refused,
          request.getVersionInfo(),
          request.getErrorsCount(),
          request.getErrors(0));
    }
  }

  private void first(RouteRequest request) {
    if (request.getNode().getId().isEmpty()) {
      LOG.warn("route stream refused stream={} reason=\"first request has no node.id\"", id);
      close(Status.INVALID_ARGUMENT.withDescription("the first RouteRequest must carry node.id"));
      return;
    }
    node = request.getNode();
    long now = service.now();
    service.fleet().streamOpened(node, now);
    if (!request.getVersionInfo().isEmpty()) {
      // A reconnecting agent says what it still applies; that is as good as an ACK for the fleet
      // view.
      service.fleet().acked(node.getId(), request.getVersionInfo(), now);
    }
    LOG.info(
        "route stream opened node={} stream={} applied={}",
        node.getId(),
        id,
        request.getVersionInfo());
    waiting = service.current();
    drain();
  }

  /** The fan-out hands every new snapshot here; only the newest one waits. */
  synchronized void offer(RouteSnapshot snapshot) {
    if (closed || node == null) {
      return; // before the first request the stream gets current() then, not this
    }
    waiting = snapshot;
    drain();
  }

  synchronized void onReady() {
    drain();
  }

  private void drain() {
    if (closed || waiting == null || !call.isReady()) {
      return;
    }
    RouteSnapshot snapshot = waiting;
    waiting = null;
    if (snapshot.getVersion().equals(lastSentVersion)) {
      return;
    }
    String nonce = service.nextNonce();
    versionByNonce.put(nonce, snapshot.getVersion());
    lastSentVersion = snapshot.getVersion();
    try {
      call.onNext(RouteResponse.newBuilder().setSnapshot(snapshot).setNonce(nonce).build());
      LOG.debug(
          "route sent node={} version={} nonce={}", node.getId(), snapshot.getVersion(), nonce);
    } catch (RuntimeException e) {
      // The call ended between isReady() and onNext(); its cancel callback cleans up.
      LOG.info(
          "route send failed node={} version={} reason={}",
          node.getId(),
          snapshot.getVersion(),
          e.toString());
    }
  }

  @Override
  public synchronized void onError(Throwable t) {
    ended(Status.fromThrowable(t).getCode().toString());
  }

  @Override
  public synchronized void onCompleted() {
    if (!closed) {
      ended("agent completed");
      try {
        call.onCompleted();
      } catch (RuntimeException e) {
        LOG.debug("route stream completion failed stream={} reason={}", id, e.toString());
      }
    }
  }

  synchronized void onCancelled() {
    ended("cancelled");
  }

  synchronized void close(Status status) {
    if (!closed) {
      ended(status.getCode() + " " + status.getDescription());
      try {
        call.onError(status.asRuntimeException());
      } catch (RuntimeException e) {
        LOG.debug("route stream close failed stream={} reason={}", id, e.toString());
      }
    }
  }

  private void ended(String reason) {
    if (closed) {
      return;
    }
    closed = true;
    waiting = null;
    service.removed(this);
    if (node != null) {
      service.fleet().streamClosed(node.getId(), service.now());
      LOG.info("route stream closed node={} stream={} reason=\"{}\"", node.getId(), id, reason);
    }
  }
}
