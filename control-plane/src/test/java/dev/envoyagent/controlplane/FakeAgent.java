package dev.envoyagent.controlplane;

import static org.assertj.core.api.Assertions.assertThat;

import dev.envoyagent.api.v1.Node;
import dev.envoyagent.api.v1.RouteDiscoveryGrpc;
import dev.envoyagent.api.v1.RouteRequest;
import dev.envoyagent.api.v1.RouteResponse;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The agent's side of a route stream, driven by hand. Waits are bounded queue polls, not sleeps.
 */
final class FakeAgent implements ClientResponseObserver<RouteRequest, RouteResponse> {

  private final BlockingQueue<RouteResponse> responses = new LinkedBlockingQueue<>();
  final CompletableFuture<Status> closed = new CompletableFuture<>();
  private final boolean manualFlow;
  private ClientCallStreamObserver<RouteRequest> requests;

  private FakeAgent(boolean manualFlow) {
    this.manualFlow = manualFlow;
  }

  /**
   * Opens a stream; with {@code manualFlow} the agent accepts one response, then only what {@link
   * #request} allows.
   */
  static FakeAgent open(Channel channel, Node node, boolean manualFlow) {
    FakeAgent agent = new FakeAgent(manualFlow);
    RouteDiscoveryGrpc.newStub(channel).streamRoutes(agent);
    agent.requests.onNext(RouteRequest.newBuilder().setNode(node).build());
    return agent;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<RouteRequest> requestStream) {
    this.requests = requestStream;
    if (manualFlow) {
      requestStream.disableAutoRequestWithInitial(1);
    }
  }

  void request(int n) {
    requests.request(n);
  }

  RouteResponse next() throws InterruptedException {
    RouteResponse response = responses.poll(10, TimeUnit.SECONDS);
    assertThat(response).as("a response within 10 s").isNotNull();
    return response;
  }

  /** Nothing more arrived; gives in-flight messages a bounded moment first. */
  void assertNothingMore() throws InterruptedException {
    assertThat(responses.poll(200, TimeUnit.MILLISECONDS)).isNull();
  }

  void ack(RouteResponse response) {
    requests.onNext(
        RouteRequest.newBuilder()
            .setVersionInfo(response.getSnapshot().getVersion())
            .setResponseNonce(response.getNonce())
            .build());
  }

  void nack(RouteResponse response, String stillApplied, List<String> errors) {
    requests.onNext(
        RouteRequest.newBuilder()
            .setVersionInfo(stillApplied)
            .setResponseNonce(response.getNonce())
            .addAllErrors(errors)
            .build());
  }

  void hangUp() {
    requests.cancel("agent gone", null);
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
