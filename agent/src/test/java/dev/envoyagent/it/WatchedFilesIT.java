package dev.envoyagent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.envoyagent.it.AgentHarness.Endpoint;
import dev.envoyagent.testkit.LoadGenerator;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Issue #4 test 2: endpoint-only changes go through watched files, with no Envoy restart at all. */
class WatchedFilesIT extends AgentItSupport {

  static final int CHANGES = 200;

  @Test
  void twoHundredEndpointChangesCauseNoRestartAndEachIsVisibleInEnvoy() throws Exception {
    AgentHarness agent = startedAgent("watched-files", AgentHarness.Options.files().withRestartLimits(500, 0));
    List<long[]> epochsBefore = agent.statusEpochs();
    LoadGenerator load = load(agent, 1, 1);
    long t0 = System.nanoTime();
    long slowestMs = 0;

    for (int i = 2; i < CHANGES + 2; i++) {
      // Alternate one and two endpoints, and a weight unique to this change: each change is visible.
      List<Endpoint> endpoints = new ArrayList<>(List.of(new Endpoint(web.port(), i)));
      if (i % 2 == 0) {
        endpoints.add(new Endpoint(web2.port(), 1));
      }
      List<String> expected = endpoints.stream().map(e -> e.port() + ":" + e.weight()).sorted().toList();
      long changeStart = System.nanoTime();
      agent.routes(Integer.toString(i), endpoints, echo.port());
      await("change " + i + " visible in Envoy").atMost(AgentHarness.scaled(20)).pollInterval(java.time.Duration.ofMillis(50))
          .failFast("agent exited", () -> !agent.agent().isAlive())
          .until(() -> runningEndpoints(agent, "web").stream().sorted().toList().equals(expected));
      slowestMs = Math.max(slowestMs, (System.nanoTime() - changeStart) / 1_000_000);
    }
    long totalMs = (System.nanoTime() - t0) / 1_000_000;
    String last = Integer.toString(CHANGES + 1);
    awaitServing(agent, last, 30);

    LOG.info("{} endpoint changes applied in {} ms (slowest {} ms); hot restarts={} cold restarts={} applied={}",
        CHANGES, totalMs, slowestMs, agent.statusCount("hotRestarts"), agent.statusCount("coldRestarts"),
        agent.statusCount("appliedCount"));
    assertNoFailures("200 endpoint changes", load.stop());
    assertThat(agent.statusCount("hotRestarts")).isZero();
    assertThat(agent.statusCount("coldRestarts")).isZero();
    assertThat(agent.statusCount("rejectedCount")).isZero();
    assertThat(agent.statusEpochs()).hasSize(1);
    assertThat(agent.statusEpochs().get(0)).containsExactly(epochsBefore.get(0));
    assertThat(agent.envoyProcesses()).containsExactly(epochsBefore.get(0)[1]);
    assertThat(agent.envoyAdmin().serverInfo().path("command_line_options").path("restart_epoch").asInt()).isZero();
    assertThat(count(agent.agentLog(), "started Envoy epoch=")).isEqualTo(1);
    assertThat(count(agent.agentLog(), "restart=no")).as("changes applied without restart").isGreaterThanOrEqualTo(CHANGES / 2);
    assertThat(web2.requests()).as("traffic follows the endpoint changes").isPositive();
  }
}
