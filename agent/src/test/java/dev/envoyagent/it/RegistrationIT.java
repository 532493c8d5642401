package dev.envoyagent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.envoyagent.testkit.HttpBackend;
import dev.envoyagent.testkit.Ports;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Issue #5, the registration loop: two agents with a local HTTP service each, checked on /health,
 * register it through heartbeats; the control plane adds both as endpoints of {@code svc}, and the
 * other host's Envoy routes to both. One check failing takes that backend out of the other host's
 * Envoy within a few heartbeat intervals (registration, not Envoy health checks: {@code svc} has
 * none), and it comes back when the check passes.
 *
 * <p>Both "hosts" share one machine, so only one Envoy can bind {@code svc}'s local port. Host B's
 * Envoy routes it; host A's Envoy runs with the simulator's ENVOY_SIM_REJECT_ALL_CONFIG fault while
 * serving (not while validating): it is LIVE, so host A reports SERVING and registers its service,
 * but it takes no listener or cluster from the watched files (the agent's later updates there are
 * refused or time out). Host A's own routing is not under test here; its registration is.
 */
class RegistrationIT extends FleetItSupport {

  static final int HEARTBEAT_MS = 500;
  static final java.time.Duration FAST_POLL = java.time.Duration.ofMillis(20);

  @Test
  void aFailingLocalCheckDeregistersTheBackendFromTheOtherHostsEnvoyAndItComesBack()
      throws Exception {
    Path dir = ItAgent.testDir("registration");
    HttpBackend backendA = closeLater(HttpBackend.start("a"));
    HttpBackend backendB = closeLater(HttpBackend.start("b"));
    ItControlPlane cp = closeLater(ItControlPlane.inProcess(dir, HEARTBEAT_MS));
    int svcPort = Ports.free();
    cp.routes(httpRoutes("1", "svc", svcPort));
    cp.start();

    ItAgent hostA = closeLater(ItAgent.create(dir, "host-a"));
    hostA.writeEnvoyBinary(Map.of("ENVOY_SIM_REJECT_ALL_CONFIG", "1"));
    ItAgent hostB = closeLater(ItAgent.create(dir, "host-b"));
    for (ItAgent agent : List.of(hostA, hostB)) {
      agent.controlPlaneAddresses = List.of(cp.address());
      agent.heartbeatIntervalMs = HEARTBEAT_MS;
    }
    hostA.localServices = List.of(ItAgent.httpLocalService("svc", backendA.port()));
    hostB.localServices = List.of(ItAgent.httpLocalService("svc", backendB.port()));
    List<Integer> bothPorts =
        java.util.stream.Stream.of(backendA.port(), backendB.port()).sorted().toList();
    long t0 = System.nanoTime();
    hostB.start();
    hostA.start();

    await()
        .atMost(AgentHarness.scaled(60))
        .pollInterval(POLL)
        .failFast("an agent exited", () -> !hostA.alive() || !hostB.alive())
        .until(() -> registered(cp, "host-a") && registered(cp, "host-b"));
    await()
        .atMost(AgentHarness.scaled(30))
        .pollInterval(POLL)
        .until(() -> clusterPorts(hostB, "svc").equals(bothPorts));
    LOG.info(
        "both backends registered and in host B's Envoy {} ms after the agents started",
        msSince(t0));
    Map<String, Integer> both = spread(svcPort, 20);
    LOG.info("host B's listener, both registered: {}", both);
    assertThat(both).containsOnlyKeys("a", "b");
    assertThat(both.get("a")).isGreaterThanOrEqualTo(5);
    assertThat(both.get("b")).isGreaterThanOrEqualTo(5);
    JsonNode fleetHostA = cp.host("host-a");
    assertThat(fleetHostA.path("state").asText()).isEqualTo("SERVING");
    assertThat(fleetHostA.path("address").asText()).isEqualTo("127.0.0.1");

    // A's check fails: registration (not Envoy) takes it out of B's Envoy.
    backendA.healthStatus(503);
    long down = System.nanoTime();
    await()
        .atMost(AgentHarness.scaled(20))
        .pollInterval(FAST_POLL)
        .until(() -> clusterPorts(hostB, "svc").equals(List.of(backendB.port())));
    long removedMs = msSince(down);
    JsonNode local = cp.host("host-a").path("local_services").get(0);
    assertThat(local.path("registered").asBoolean()).isFalse();
    assertThat(local.path("healthy").asBoolean()).isFalse();
    assertThat(local.path("note").asText()).contains("check failing").contains("503");
    long aBefore = backendA.requests();
    Map<String, Integer> onlyB = spread(svcPort, 20);
    LOG.info(
        "A's /health answers 503: out of host B's Envoy after {} ms ({} heartbeat intervals); 20 requests: {}",
        removedMs,
        String.format("%.1f", removedMs / (double) HEARTBEAT_MS),
        onlyB);
    assertThat(onlyB).containsExactly(Map.entry("b", 20));
    assertThat(backendA.requests())
        .as("requests that reached A after it was deregistered")
        .isEqualTo(aBefore);
    assertThat(hostA.log()).contains("local service down name=svc port=" + backendA.port());

    // A's check passes again: it is registered and routed to again.
    backendA.healthStatus(200);
    long up = System.nanoTime();
    await()
        .atMost(AgentHarness.scaled(20))
        .pollInterval(FAST_POLL)
        .until(() -> clusterPorts(hostB, "svc").equals(bothPorts));
    long backMs = msSince(up);
    Map<String, Integer> again = spread(svcPort, 20);
    LOG.info(
        "A's /health answers 200 again: back in host B's Envoy after {} ms ({} heartbeat intervals); "
            + "20 requests: {}",
        backMs,
        String.format("%.1f", backMs / (double) HEARTBEAT_MS),
        again);
    assertThat(again).containsOnlyKeys("a", "b");
    assertThat(registered(cp, "host-a")).isTrue();
    assertThat(hostA.log()).contains("local service up name=svc port=" + backendA.port());
    // "Within a few heartbeat intervals": the path is check (200 ms) + heartbeat (500 ms) + push +
    // apply.
    assertThat(removedMs).as("deregistration time").isLessThan(AgentHarness.scaled(5).toMillis());
    assertThat(backMs).as("re-registration time").isLessThan(AgentHarness.scaled(5).toMillis());
    // The Envoy of B was never restarted for any of this: endpoints are watched files.
    assertThat(
            hostB
                .envoyAdmin()
                .serverInfo()
                .path("command_line_options")
                .path("restart_epoch")
                .asInt())
        .isZero();
  }

  private static boolean registered(ItControlPlane cp, String host) {
    JsonNode locals = cp.host(host).path("local_services");
    return locals.size() == 1 && locals.get(0).path("registered").asBoolean();
  }

  /**
   * The ports of the hosts Envoy has in {@code cluster} now, sorted (its /clusters?format=json).
   */
  static List<Integer> clusterPorts(ItAgent agent, String cluster) {
    List<Integer> ports = new ArrayList<>();
    try {
      for (JsonNode status :
          agent.envoyAdmin().json("/clusters?format=json").path("cluster_statuses")) {
        if (cluster.equals(status.path("name").asText())) {
          for (JsonNode host : status.path("host_statuses")) {
            ports.add(host.path("address").path("socket_address").path("port_value").asInt());
          }
        }
      }
    } catch (IOException e) {
      return List.of(-1);
    }
    ports.sort(null);
    return ports;
  }
}
