package dev.envoyagent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.envoyagent.testkit.AdminClient;
import dev.envoyagent.testkit.HttpBackend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue #5, the reference control plane end to end: routes flow from it through the agent into
 * Envoy (the simulator) with the control plane in this JVM and as a process; a snapshot the agent
 * refuses is NACKed with its errors while the old config keeps serving; a killed and restarted
 * control plane is reconnected to and converged on; an agent started while the control plane is
 * down serves the last known good routes.
 */
class ControlPlaneIT extends FleetItSupport {

  @Test
  void inProcessRoutesFlowAndARefusedSnapshotIsNackedWhileTheOldConfigServes() throws Exception {
    Path dir = ItAgent.testDir("cp-inprocess");
    HttpBackend a = closeLater(HttpBackend.start("a"));
    HttpBackend b = closeLater(HttpBackend.start("b"));
    ItControlPlane cp = closeLater(ItControlPlane.inProcess(dir, 500));
    ItAgent agent = closeLater(ItAgent.create(dir, "host-1"));
    int webPort = dev.envoyagent.testkit.Ports.free();
    cp.routes(httpRoutes("1", "web", webPort, a.port()));
    cp.start();
    agent.controlPlaneAddresses = List.of(cp.address());
    agent.start();

    awaitApplied(agent, "1.", 60);
    String v1 = agent.appliedVersion();
    assertThat(v1).isEqualTo(cp.servingVersion());
    assertThat(spread(webPort, 10)).containsExactly(Map.entry("a", 10));
    await()
        .atMost(AgentHarness.scaled(10))
        .pollInterval(POLL)
        .until(() -> v1.equals(cp.host("host-1").path("applied_version").asText()));

    // A change flows without restart: the endpoint moves to b.
    long t0 = System.nanoTime();
    cp.routes(httpRoutes("2", "web", webPort, b.port()));
    awaitApplied(agent, "2.", 30);
    await()
        .atMost(AgentHarness.scaled(10))
        .pollInterval(POLL)
        .until(() -> get(webPort, "/").body().equals("b"));
    LOG.info(
        "in-process control plane: routes file change -> traffic on the new endpoint in {} ms",
        msSince(t0));
    String v2 = agent.appliedVersion();
    assertThat(spread(webPort, 10)).containsExactly(Map.entry("b", 10));
    assertThat(
            agent
                .envoyAdmin()
                .serverInfo()
                .path("command_line_options")
                .path("restart_epoch")
                .asInt())
        .isZero();

    // Valid for the control plane (same SnapshotValidator), refused by this host: a service on
    // Envoy's admin port.
    cp.routes(
        httpRoutes("3", "web", webPort, a.port())
            + httpService("admin-clash", agent.envoyAdminPort, a.port()));
    await()
        .atMost(AgentHarness.scaled(20))
        .pollInterval(POLL)
        .until(() -> cp.host("host-1").path("nacked_version").asText().startsWith("3."));
    JsonNode host = cp.host("host-1");
    LOG.info(
        "NACK as /fleet shows it: nacked_version={} nack_errors={} applied_version={} refusing={}",
        host.path("nacked_version").asText(),
        host.path("nack_errors"),
        host.path("applied_version").asText(),
        host.path("refusing"));
    assertThat(host.path("nacked_version").asText()).isEqualTo(cp.servingVersion());
    assertThat(host.path("nack_errors").toString())
        .contains("services[1].local_port")
        .contains(agent.envoyAdminPort + " is Envoy's admin port on this host");
    assertThat(host.path("refusing").asBoolean()).isTrue();
    assertThat(host.path("applied_version").asText()).isEqualTo(v2);
    assertThat(agent.appliedVersion()).isEqualTo(v2);
    // The old config keeps serving: the refused snapshot would have moved web back to a.
    assertThat(spread(webPort, 10)).containsExactly(Map.entry("b", 10));
    assertThat(agent.log())
        .contains("snapshot refused version=" + host.path("nacked_version").asText());
    await()
        .atMost(AgentHarness.scaled(10))
        .pollInterval(POLL)
        .until(() -> cp.host("host-1").path("last_error").asText().contains("refused"));
  }

  /**
   * Issue #13: what only Envoy can refuse. A listener Envoy cannot bind (files delivery: LDS
   * applies the other resources and rejects it) and a route regex over RE2's program-size limit
   * carried by a restart (refused before the restart by Envoy's validation of the restart-shaped
   * rendering) are both NACKed with Envoy's reason, and the old config keeps serving without a
   * restart.
   */
  @Test
  void whatOnlyEnvoyRefusesIsNackedWithEnvoysReasonAndTheOldConfigServes() throws Exception {
    HttpBackend a = closeLater(HttpBackend.start("a"));
    HttpBackend b = closeLater(HttpBackend.start("b"));
    HostOnControlPlane host = hostServingWebFromControlPlane("cp-envoy-refuses", a);
    ItControlPlane cp = host.cp();
    ItAgent agent = host.agent();
    int webPort = host.webPort();
    String v1 = agent.appliedVersion();
    long envoyPid = agent.status().path("epochs").get(0).path("pid").asLong();

    // 1. Files: web moves to b, and a new TCP listener on a port another process holds.
    try (java.net.ServerSocket taken =
        new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      cp.routes(
          httpRoutes("2", "web", webPort, b.port())
              + "  - {name: blocked, protocol: TCP, local_port: "
              + taken.getLocalPort()
              + ", endpoints: [{address: 127.0.0.1, port: "
              + a.port()
              + "}]}\n");
      await()
          .atMost(AgentHarness.scaled(30))
          .pollInterval(POLL)
          .until(() -> cp.host("host-1").path("nacked_version").asText().startsWith("2."));
      JsonNode nacked = cp.host("host-1");
      LOG.info("LDS partly rejected: nack_errors={}", nacked.path("nack_errors"));
      assertThat(nacked.path("nack_errors").toString())
          .contains("lds.json")
          .contains("listener blocked")
          .contains(Integer.toString(taken.getLocalPort()));
      assertThat(agent.log()).contains("previous files restored");
      await()
          .atMost(AgentHarness.scaled(10))
          .pollInterval(POLL)
          .until(() -> get(webPort, "/").body().equals("a"));
      assertThat(agent.appliedVersion()).isEqualTo(v1);
    }

    // 2. A restart (a new zone in agent.yaml, then SIGHUP) carrying a regex RE2 refuses: Envoy's
    // validation of the restart-shaped rendering refuses it before any new epoch starts.
    agent.zone = "us-east-1b";
    agent.writeConfig();
    cp.routes(
        httpRoutes("3", "web", webPort, b.port())
            + "  - name: regex\n    protocol: HTTP\n    local_port: "
            + dev.envoyagent.testkit.Ports.free()
            + "\n    endpoints: [{address: 127.0.0.1, port: "
            + a.port()
            + "}]\n"
            + "    routes:\n      - match: {regex: \"^/(abcdefghij){12}$\"}\n        targets: [{service: regex}]\n");
    await()
        .atMost(AgentHarness.scaled(30))
        .pollInterval(POLL)
        .until(() -> cp.host("host-1").path("nacked_version").asText().startsWith("3."));
    agent.signal("HUP");
    await()
        .atMost(AgentHarness.scaled(60))
        .pollInterval(POLL)
        .until(() -> cp.host("host-1").path("nack_errors").toString().contains("program size"));
    JsonNode refused = cp.host("host-1");
    LOG.info("restart refused by Envoy's validation: nack_errors={}", refused.path("nack_errors"));
    assertThat(refused.path("nack_errors").toString()).contains("Envoy refused the config");
    assertThat(agent.log()).contains("Envoy refused config version=3.");
    assertThat(agent.status().path("lastError").asText()).contains("program size");
    assertThat(agent.status().path("hotRestarts").asLong()).isZero();
    assertThat(agent.status().path("epochs").get(0).path("pid").asLong()).isEqualTo(envoyPid);
    assertThat(agent.appliedVersion()).isEqualTo(v1);
    assertThat(spread(webPort, 5)).containsExactly(Map.entry("a", 5));
  }

  /**
   * Issue #14's complete reload: moving routes.control_plane by SIGHUP moves the heartbeats too
   * (they used to keep going to the old control plane), and a burst of signals coalesces.
   */
  @Test
  void aSighupMovesRoutesAndHeartbeatsToTheNewControlPlaneAndABurstOfSignalsCoalesces()
      throws Exception {
    Path dir = ItAgent.testDir("cp-reload");
    HttpBackend a = closeLater(HttpBackend.start("a"));
    ItControlPlane first = closeLater(ItControlPlane.inProcess(dir.resolve("first"), 500));
    ItControlPlane second = closeLater(ItControlPlane.inProcess(dir.resolve("second"), 500));
    ItAgent agent = closeLater(ItAgent.create(dir, "host-1"));
    int webPort = dev.envoyagent.testkit.Ports.free();
    first.routes(httpRoutes("1", "web", webPort, a.port()));
    second.routes(httpRoutes("2", "web", webPort, a.port()));
    first.start();
    second.start();
    agent.controlPlaneAddresses = List.of(first.address());
    agent.start();
    awaitApplied(agent, "1.", 60);
    await()
        .atMost(AgentHarness.scaled(10))
        .pollInterval(POLL)
        .until(() -> first.host("host-1").path("last_heartbeat_age_ms").asLong(-1) >= 0);

    agent.controlPlaneAddresses = List.of(second.address());
    agent.writeConfig();
    long t0 = System.nanoTime();
    agent.signal("HUP");
    awaitApplied(agent, "2.", 30);
    await()
        .atMost(AgentHarness.scaled(10))
        .pollInterval(POLL)
        .until(() -> second.host("host-1").path("last_heartbeat_age_ms").asLong(-1) >= 0);
    LOG.info("SIGHUP to a new control plane: routes and heartbeats there after {} ms", msSince(t0));
    assertThat(agent.log()).contains("SIGHUP: reloaded").contains("restarted=\"heartbeats\"");
    long reloadsBefore = agent.status().path("reloads").asLong();
    assertThat(reloadsBefore).isEqualTo(1);

    long burstStart = System.nanoTime();
    Process burst =
        new ProcessBuilder(
                "sh", "-c", "for i in $(seq 100); do kill -HUP " + agent.process().pid() + "; done")
            .inheritIO()
            .start();
    assertThat(burst.waitFor()).isZero();
    long burstMs = msSince(burstStart);
    Thread.sleep(2500);
    long reloads = agent.status().path("reloads").asLong() - reloadsBefore;
    LOG.info(
        "100 SIGHUPs in {} ms gave {} reloads; last reload: {}",
        burstMs,
        reloads,
        agent.status().path("lastReload").asText());
    assertThat(burstMs).isLessThan(1000);
    assertThat(reloads).isBetween(1L, 2L);
    assertThat(agent.status().path("lastReload").asText()).startsWith("applied: ");
    assertThat(agent.alive()).isTrue();
  }

  @Test
  void processControlPlaneKilledAndRestartedIsReconnectedToAndConvergedOn() throws Exception {
    HttpBackend a = closeLater(HttpBackend.start("a"));
    HttpBackend b = closeLater(HttpBackend.start("b"));
    HostOnControlPlane host = hostServingWebFromControlPlane("cp-restart", a);
    ItControlPlane cp = host.cp();
    ItAgent agent = host.agent();
    int webPort = host.webPort();
    assertThat(spread(webPort, 10)).containsExactly(Map.entry("a", 10));
    await()
        .atMost(AgentHarness.scaled(10))
        .pollInterval(POLL)
        .until(() -> cp.host("host-1").path("stream_connected").asBoolean());

    cp.kill();
    await()
        .atMost(AgentHarness.scaled(20))
        .pollInterval(POLL)
        .until(() -> agent.log().contains("control plane stream lost"));
    // Envoy does not depend on the control plane.
    List<Map<String, Integer>> whileDown = new ArrayList<>();
    whileDown.add(spread(webPort, 10));
    cp.routes(httpRoutes("2", "web", webPort, b.port()));
    whileDown.add(spread(webPort, 10));
    assertThat(whileDown).allSatisfy(s -> assertThat(s).containsExactly(Map.entry("a", 10)));

    long t0 = System.nanoTime();
    cp.start();
    long cpUpMs = msSince(t0);
    awaitApplied(agent, "2.", 60);
    long convergedMs = msSince(t0);
    await()
        .atMost(AgentHarness.scaled(10))
        .pollInterval(POLL)
        .until(() -> get(webPort, "/").body().equals("b"));
    LOG.info(
        "control plane restarted: its /fleet answered after {} ms; agent applied version 2 {} ms after the "
            + "restart began; traffic on b after {} ms",
        cpUpMs,
        convergedMs,
        msSince(t0));
    assertThat(spread(webPort, 10)).containsExactly(Map.entry("b", 10));
    await()
        .atMost(AgentHarness.scaled(10))
        .pollInterval(POLL)
        .until(
            () ->
                agent.appliedVersion().equals(cp.host("host-1").path("applied_version").asText()));
    assertThat(cp.host("host-1").path("stream_connected").asBoolean()).isTrue();
    assertThat(agent.log())
        .contains("control plane reconnecting")
        .contains("control plane connected");
    assertThat(agent.status().path("controlPlaneConnected").asBoolean()).isTrue();
    // SIGTERM ends the streams with UNAVAILABLE and stops the process. (docs/control-plane.md says
    // exit code
    // 0; the process exits 143 because the command stops from a JVM shutdown hook: see the report.)
    int exit = cp.stop();
    LOG.info("control plane exit code after SIGTERM: {}", exit);
    assertThat(cp.log()).contains("control plane stopping streams=1");
    await()
        .atMost(AgentHarness.scaled(10))
        .pollInterval(POLL)
        .until(() -> agent.log().contains("control plane shutting down"));
  }

  @Test
  void aDrainAskedForAtTheControlPlaneReachesTheHostInAHeartbeatResponse() throws Exception {
    HttpBackend a = closeLater(HttpBackend.start("a"));
    HostOnControlPlane host = hostServingWebFromControlPlane("cp-drain", a);
    ItControlPlane cp = host.cp();
    ItAgent agent = host.agent();
    int webPort = host.webPort();
    await()
        .atMost(AgentHarness.scaled(10))
        .pollInterval(POLL)
        .until(() -> "SERVING".equals(cp.host("host-1").path("state").asText()));

    long asked = System.nanoTime();
    assertThat(new AdminClient(cp.httpPort).post("/fleet/host-1/drain").status()).isEqualTo(200);
    await()
        .atMost(AgentHarness.scaled(10))
        .pollInterval(POLL)
        .until(() -> "DRAINING".equals(agent.envoyAdmin().serverInfo().path("state").asText()));
    LOG.info("drain asked at the control plane: Envoy DRAINING after {} ms", msSince(asked));
    assertThat(agent.log()).contains("host draining reason=\"the control plane asked for it\"");
    assertThat(agent.envoyAdmin().get("/ready").status())
        .as("health checks fail while draining")
        .isEqualTo(503);
    assertThat(agent.status().path("lastError").asText())
        .isEqualTo("draining: the control plane asked for it");
    await()
        .atMost(AgentHarness.scaled(10))
        .pollInterval(POLL)
        .until(() -> "DRAINING".equals(cp.host("host-1").path("state").asText()));
    assertThat(cp.host("host-1").path("drain_requested").asBoolean()).isTrue();
  }

  @Test
  void agentStartedWhileTheControlPlaneIsDownServesTheLastKnownGoodRoutes() throws Exception {
    HttpBackend a = closeLater(HttpBackend.start("a"));
    HostOnControlPlane host = hostServingWebFromControlPlane("cp-lkg", a);
    ItControlPlane cp = host.cp();
    ItAgent agent = host.agent();
    int webPort = host.webPort();
    String v1 = agent.appliedVersion();
    assertThat(get(webPort, "/").body()).isEqualTo("a");

    agent.signal("TERM");
    assertThat(agent.process().waitFor(AgentHarness.scaled(30).toSeconds(), TimeUnit.SECONDS))
        .isTrue();
    assertThat(agent.envoyProcesses()).as("Envoy stopped with the agent").isEmpty();
    cp.kill();
    assertThat(get(webPort, "/").status()).as("nothing listens any more").isEqualTo(-1);

    agent.start();
    long t0 = agent.startedAtNanos();
    await()
        .atMost(AgentHarness.scaled(30))
        .pollInterval(java.time.Duration.ofMillis(20))
        .failFast("agent exited", () -> !agent.alive())
        .until(() -> get(webPort, "/").ok());
    long servedMs = msSince(t0);
    await().atMost(AgentHarness.scaled(10)).pollInterval(POLL).until(() -> agent.serving(v1));
    String phases =
        String.format(
            "agent JVM up (first log line) %d ms, LKG read %d ms, "
                + "'started Envoy' %d ms, 'Envoy LIVE' %d ms, first request through the listener %d ms",
            agent.loggedAtMs("envoy-agent starting"),
            agent.loggedAtMs("starting from the last applied routes"),
            agent.loggedAtMs("started Envoy epoch=0"),
            agent.loggedAtMs("Envoy LIVE epoch=0"),
            servedMs);
    LOG.info("last known good with the control plane down: {}", phases);
    assertThat(get(webPort, "/").body()).isEqualTo("a");
    assertThat(agent.log())
        .contains("starting from the last applied routes version=" + v1)
        .as("Envoy started from the files the last apply left, not rendered again")
        .contains("the config dir still holds the last known good's files version=" + v1);
    assertThat(agent.status().path("controlPlaneConnected").asBoolean()).isFalse();
    // Issue #5 asks for 2 s. The figures come from LastKnownGoodStartBench (p50/p90 on an idle
    // machine,
    // with the launcher's own JVM options); this bound only guards against regressions on a loaded
    // CI
    // machine. The log line above shows where the time went.
    assertThat(servedMs).as(phases).isLessThan(AgentHarness.scaled(5).toMillis());
  }
}
