package dev.envoyagent.controlplane;

import static org.assertj.core.api.Assertions.assertThat;

import dev.envoyagent.api.v1.Node;
import dev.envoyagent.api.v1.RouteDiscoveryGrpc;
import dev.envoyagent.api.v1.RouteRequest;
import dev.envoyagent.api.v1.RouteResponse;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A bare route stream for server tests: sends the first request, collects responses, ACKs on
 * demand.
 */
final class StreamProbe implements StreamObserver<RouteResponse> {

  final BlockingQueue<RouteResponse> responses = new LinkedBlockingQueue<>();
  final CompletableFuture<Status> closed = new CompletableFuture<>();
  private final StreamObserver<RouteRequest> requests;

  StreamProbe(Channel channel, String nodeId) {
    requests = RouteDiscoveryGrpc.newStub(channel).streamRoutes(this);
    requests.onNext(
        RouteRequest.newBuilder()
            .setNode(Node.newBuilder().setId(nodeId).setCluster("web"))
            .build());
  }

  RouteResponse next() throws InterruptedException {
    RouteResponse response = responses.poll(15, TimeUnit.SECONDS);
    assertThat(response).as("a snapshot within 15 s").isNotNull();
    return response;
  }

  void ack(RouteResponse response) {
    requests.onNext(
        RouteRequest.newBuilder()
            .setVersionInfo(response.getSnapshot().getVersion())
            .setResponseNonce(response.getNonce())
            .build());
  }

  void cancel() {
    requests.onError(Status.CANCELLED.asException());
  }

  @Override
  public void onNext(RouteResponse value) {
    responses.add(value);
  }

  @Override
  public void onError(Throwable t) {
    closed.complete(Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    closed.complete(Status.OK);
  }
}
