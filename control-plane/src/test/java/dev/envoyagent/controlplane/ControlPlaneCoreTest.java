package dev.envoyagent.controlplane;

import static dev.envoyagent.controlplane.Fixtures.heartbeat;
import static dev.envoyagent.controlplane.Fixtures.local;
import static dev.envoyagent.controlplane.Fixtures.node;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.envoyagent.api.v1.Endpoint;
import dev.envoyagent.api.v1.HeartbeatGrpc;
import dev.envoyagent.api.v1.HeartbeatRequest;
import dev.envoyagent.api.v1.HeartbeatResponse;
import dev.envoyagent.api.v1.HostState;
import dev.envoyagent.api.v1.Node;
import dev.envoyagent.api.v1.RouteResponse;
import dev.envoyagent.model.InvalidInputException;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ControlPlaneCoreTest {

  private final TestClock clock = new TestClock(1_000_000);
  private ControlPlaneCore core;
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    core =
        ControlPlaneCore.create(
            Fixtures.base("1"), ControlPlaneCore.Options.defaults(clock, Runnable::run));
    String name = InProcessServerBuilder.generateName();
    InProcessServerBuilder builder = InProcessServerBuilder.forName(name);
    core.services().forEach(builder::addService);
    server = builder.build().start();
    channel = InProcessChannelBuilder.forName(name).build();
  }

  @AfterEach
  void stop() throws InterruptedException {
    core.close();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private HeartbeatResponse beat(HeartbeatRequest request) {
    return HeartbeatGrpc.newBlockingStub(channel).report(request);
  }

  private FleetView.Host host(String id) {
    return core.fleet().hosts().stream().filter(h -> h.id().equals(id)).findFirst().orElseThrow();
  }

  @Test
  void firstRequestGetsTheCurrentSnapshotAndAnAckIsRecorded() throws Exception {
    FakeAgent agent = FakeAgent.open(channel, node("h1", "10.0.0.5"), false);
    RouteResponse first = agent.next();
    assertThat(first.getSnapshot()).isEqualTo(core.current());
    assertThat(first.getNonce()).isNotEmpty();
    agent.ack(first);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> host("h1").appliedVersion().equals(core.current().getVersion()));
    assertThat(host("h1").streamConnected()).isTrue();
    assertThat(host("h1").refusing()).isFalse();
  }

  @Test
  void aNackRecordsTheRefusedVersionAndEveryErrorAndTheVersionStillApplied() throws Exception {
    FakeAgent agent = FakeAgent.open(channel, node("h1", "10.0.0.5"), false);
    RouteResponse first = agent.next();
    agent.nack(
        first, "0.old", List.of("services[0].local_port: 9001 is Envoy's admin port", "second"));
    await().atMost(Duration.ofSeconds(5)).until(() -> host("h1").refusing());
    FleetView.Host h1 = host("h1");
    assertThat(h1.nackedVersion()).isEqualTo(first.getSnapshot().getVersion());
    assertThat(h1.nackErrors()).hasSize(2);
    assertThat(h1.appliedVersion()).isEqualTo("0.old");
    agent.assertNothingMore(); // the same version is not sent again
  }

  @Test
  void aRouteChangeReachesEveryStreamWithAFreshNonce() throws Exception {
    FakeAgent a = FakeAgent.open(channel, node("a", "10.0.0.5"), false);
    FakeAgent b = FakeAgent.open(channel, node("b", "10.0.0.6"), false);
    RouteResponse a1 = a.next();
    RouteResponse b1 = b.next();
    core.replaceRoutes(Fixtures.base("2"));
    RouteResponse a2 = a.next();
    RouteResponse b2 = b.next();
    assertThat(a2.getSnapshot().getVersion())
        .startsWith("2.")
        .isEqualTo(b2.getSnapshot().getVersion());
    assertThat(List.of(a1.getNonce(), b1.getNonce(), a2.getNonce(), b2.getNonce()))
        .doesNotHaveDuplicates();
  }

  @Test
  void invalidRoutesAreRefusedAndThePreviousKeepServing() {
    String before = core.current().getVersion();
    var bad =
        Fixtures.base("2").toBuilder().setServices(1, Fixtures.base("2").getServices(0)).build();
    assertThatThrownBy(() -> core.replaceRoutes(bad))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("already used");
    assertThat(core.current().getVersion()).isEqualTo(before);
  }

  @Test
  void aSlowStreamGetsOnlyTheLatestSnapshotNotAQueue() throws Exception {
    FakeAgent slow = FakeAgent.open(channel, node("slow", "10.0.0.5"), true);
    slow.next();
    for (int v = 2; v <= 6; v++) {
      core.replaceRoutes(Fixtures.base(Integer.toString(v)));
    }
    slow.assertNothingMore();
    slow.request(5);
    assertThat(slow.next().getSnapshot().getVersion()).startsWith("6.");
    slow.assertNothingMore();
  }

  @Test
  void aStreamWithoutNodeIdIsRefused() throws Exception {
    FakeAgent agent = FakeAgent.open(channel, Node.getDefaultInstance(), false);
    assertThat(agent.closed.get(5, TimeUnit.SECONDS).getCode())
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
  }

  @Test
  void aClosedStreamShowsAsDisconnected() throws Exception {
    FakeAgent agent = FakeAgent.open(channel, node("h1", "10.0.0.5"), false);
    agent.next();
    agent.hangUp();
    await().atMost(Duration.ofSeconds(5)).until(() -> !host("h1").streamConnected());
    assertThat(core.routeDiscovery().openStreams()).isZero();
  }

  @Test
  void closeEndsStreamsWithUnavailable() throws Exception {
    FakeAgent agent = FakeAgent.open(channel, node("h1", "10.0.0.5"), false);
    agent.next();
    core.close();
    assertThat(agent.closed.get(5, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void healthyServingHostsAreMergedAndPushedThenRemovedWhenTheCheckFails() throws Exception {
    FakeAgent watcher = FakeAgent.open(channel, node("w", "10.0.0.9"), false);
    watcher.next();
    HeartbeatResponse response =
        beat(
            heartbeat(
                node("h1", "10.0.0.5"),
                HostState.SERVING,
                local("users", 8080, true),
                local("unrouted", 7000, true)));
    assertThat(response.getHeartbeatIntervalMs()).isEqualTo(10_000);
    assertThat(response.getDrain()).isFalse();
    RouteResponse merged = watcher.next();
    assertThat(merged.getSnapshot().getServices(0).getEndpointsList())
        .extracting(Endpoint::getAddress)
        .containsExactly("10.0.0.1", "10.0.0.5");
    assertThat(host("h1").localServices())
        .extracting(FleetView.LocalService::note)
        .containsExactly("", "no such service in the routes");

    beat(heartbeat(node("h1", "10.0.0.5"), HostState.SERVING, local("users", 8080, false)));
    assertThat(watcher.next().getSnapshot().getServices(0).getEndpointsCount()).isEqualTo(1);
    assertThat(host("h1").localServices().get(0).note())
        .isEqualTo("check failing: connection refused");
  }

  @Test
  void aDrainingHostIsRemoved() throws Exception {
    beat(heartbeat(node("h1", "10.0.0.5"), HostState.SERVING, local("users", 8080, true)));
    assertThat(core.current().getServices(0).getEndpointsCount()).isEqualTo(2);
    beat(heartbeat(node("h1", "10.0.0.5"), HostState.DRAINING, local("users", 8080, true)));
    assertThat(core.current().getServices(0).getEndpointsCount()).isEqualTo(1);
    assertThat(host("h1").state()).isEqualTo("DRAINING");
  }

  @Test
  void aSilentHostIsRemovedAfterThreeIntervalsAndShownAsLost() throws Exception {
    beat(heartbeat(node("h1", "10.0.0.5"), HostState.SERVING, local("users", 8080, true)));
    String registered = core.current().getVersion();
    clock.advance(30_000);
    core.refresh();
    assertThat(core.current().getVersion()).isEqualTo(registered);
    clock.advance(1);
    core.refresh();
    assertThat(core.current().getServices(0).getEndpointsCount()).isEqualTo(1);
    assertThat(host("h1").state()).isEqualTo("LOST");
    assertThat(host("h1").lastHeartbeatAgeMs()).isEqualTo(30_001);
    // Registration is a function of the inputs: back to the version without h1.
    assertThat(core.current().getVersion())
        .isEqualTo(SnapshotMerge.merge(Fixtures.base("1"), java.util.Map.of()).getVersion());
  }

  @Test
  void longGoneHostsAreForgotten() {
    beat(heartbeat(node("h1", "10.0.0.5"), HostState.SERVING));
    clock.advance(3_600_001);
    core.refresh();
    assertThat(core.fleet().hosts()).isEmpty();
  }

  @Test
  void aDrainRequestIsAnsweredAtTheNextHeartbeat() {
    assertThat(core.requestDrain("h1")).isFalse();
    beat(heartbeat(node("h1", "10.0.0.5"), HostState.SERVING));
    assertThat(core.requestDrain("h1")).isTrue();
    assertThat(beat(heartbeat(node("h1", "10.0.0.5"), HostState.SERVING)).getDrain()).isTrue();
    assertThat(host("h1").drainRequested()).isTrue();
  }

  @Test
  void aHeartbeatWithoutNodeIdIsRefused() {
    assertThatThrownBy(() -> beat(HeartbeatRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
  }
}
