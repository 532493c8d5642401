package dev.envoyagent.controlplane;

import static dev.envoyagent.controlplane.Fixtures.heartbeat;
import static dev.envoyagent.controlplane.Fixtures.local;
import static dev.envoyagent.controlplane.Fixtures.node;
import static org.assertj.core.api.Assertions.assertThat;

import dev.envoyagent.api.v1.Endpoint;
import dev.envoyagent.api.v1.HeartbeatRequest;
import dev.envoyagent.api.v1.HostState;
import dev.envoyagent.api.v1.Node;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RegistrationsTest {

  private static final long STALE = Registrations.staleAfterMs(10_000);

  private final Fleet fleet = new Fleet();

  private Map<String, List<Endpoint>> at(long now) {
    return Registrations.endpoints(fleet.hosts(), now, STALE);
  }

  @Test
  void healthyServicesOfAServingHostBecomeEndpointsWithItsZone() {
    fleet.heartbeat(
        heartbeat(
            node("h1", "10.0.0.5"),
            HostState.SERVING,
            local("users", 8080, true),
            local("db", 5432, false)),
        1000);
    assertThat(at(1000))
        .isEqualTo(
            Map.of(
                "users",
                List.of(
                    Endpoint.newBuilder()
                        .setAddress("10.0.0.5")
                        .setPort(8080)
                        .setZone("us-east-1a")
                        .build())));
  }

  @Test
  void drainingDownAndStartingHostsRegisterNothing() {
    for (HostState state : List.of(HostState.DRAINING, HostState.DOWN, HostState.STARTING)) {
      fleet.heartbeat(heartbeat(node("h1", "10.0.0.5"), state, local("users", 8080, true)), 1000);
      assertThat(at(1000)).as(state.name()).isEmpty();
    }
  }

  @Test
  void endpointsGoAfterThreeMissedHeartbeats() {
    fleet.heartbeat(
        heartbeat(node("h1", "10.0.0.5"), HostState.SERVING, local("users", 8080, true)), 1000);
    assertThat(at(1000 + STALE)).hasSize(1);
    assertThat(at(1000 + STALE + 1)).isEmpty();
    HostRecord host = fleet.host("h1").orElseThrow();
    assertThat(Registrations.whyHostNotRegistered(host, 1000 + STALE + 1, STALE))
        .hasValue("no heartbeat for 30001 ms");
  }

  @Test
  void addressFallsBackToThePrivateIpv4AndABadZoneIsLeftOut() {
    Node node = node("h1", "").toBuilder().setZone("Not A Zone").build();
    fleet.heartbeat(heartbeat(node, HostState.SERVING, local("users", 8080, true)), 1000);
    assertThat(at(1000).get("users"))
        .containsExactly(Endpoint.newBuilder().setAddress("10.9.9.9").setPort(8080).build());
  }

  @Test
  void anUnusableAddressOrPortIsNotRegisteredAndSaysWhy() {
    fleet.heartbeat(
        heartbeat(node("h1", "[::1]"), HostState.SERVING, local("users", 8080, true)), 1000);
    fleet.heartbeat(
        heartbeat(node("h2", "10.0.0.6"), HostState.SERVING, local("users", 0, true)), 1000);
    assertThat(at(1000)).isEmpty();
    assertThat(
            Registrations.whyHostNotRegistered(fleet.host("h1").orElseThrow(), 1000, STALE)
                .orElseThrow())
        .startsWith("host address");
    assertThat(Registrations.whyServiceNotRegistered(local("users", 0, true)))
        .hasValue("port 0 is out of range (1-65535)");
  }

  @Test
  void twoHostsClaimingOneAddressGiveOneEndpointAndListsAreSorted() {
    fleet.heartbeat(
        heartbeat(node("h2", "10.0.0.7"), HostState.SERVING, local("users", 8080, true)), 1000);
    fleet.heartbeat(
        heartbeat(node("h1", "10.0.0.7"), HostState.SERVING, local("users", 8080, true)), 1000);
    fleet.heartbeat(
        heartbeat(node("h3", "10.0.0.2"), HostState.SERVING, local("users", 8080, true)), 1000);
    assertThat(at(1000).get("users"))
        .extracting(Endpoint::getAddress)
        .containsExactly("10.0.0.2", "10.0.0.7");
  }

  @Test
  void aHostThatOnlyHasAStreamIsNotRegistered() {
    fleet.streamOpened(node("h1", "10.0.0.5"), 1000);
    HeartbeatRequest none = fleet.host("h1").orElseThrow().heartbeat();
    assertThat(none.getLocalServicesCount()).isZero();
    assertThat(Registrations.whyHostNotRegistered(fleet.host("h1").orElseThrow(), 1000, STALE))
        .hasValue("no heartbeat yet");
  }
}
