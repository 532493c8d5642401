package dev.envoyagent.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.envoyagent.it.AgentHarness.Endpoint;
import dev.envoyagent.testkit.LoadGenerator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue #4 tests 3 and 4, with {@code envoy.delivery: restart} so that every routes change changes
 * the bootstrap and needs a hot restart.
 */
class BootstrapRestartIT extends AgentItSupport {

  @Test
  void twentyBootstrapChangesUnderLoadLoseNoRequestAndLeaveOneEnvoy() throws Exception {
    AgentHarness.Options options = AgentHarness.Options.restart().withRestartLimits(500, 100);
    AgentHarness agent = startedAgent("bootstrap-changes", options);
    LoadGenerator load = load(agent, 3, 1);
    long t0 = System.nanoTime();

    List<String> expected = List.of();
    for (int i = 2; i <= 21; i++) {
      List<Endpoint> endpoints = endpointsFor(i);
      expected = endpoints.stream().map(e -> e.port() + ":" + e.weight()).sorted().toList();
      agent.routes(Integer.toString(i), endpoints, echo.port());
      sleep(Duration.ofMillis(1500));
    }
    awaitServing(agent, "21", 120);
    long appliedMs = (System.nanoTime() - t0) / 1_000_000;
    // The last parent is told to exit parent_shutdown_time_s after its child is LIVE.
    sleep(Duration.ofSeconds(options.parentShutdownS() + 2));

    LoadGenerator.Result result = load.stop();
    long hot = agent.statusCount("hotRestarts");
    int epochsStarted = count(agent.agentLog(), "started Envoy epoch=");
    LOG.info(
        "20 bootstrap changes: last applied after {} ms; hot restarts={} epochs started={} failed restarts={}",
        appliedMs,
        hot,
        epochsStarted,
        agent.statusCount("failedRestarts"));
    assertNoFailures("20 bootstrap changes under load", result);
    assertThat(hot).isBetween(1L, 20L);
    assertThat(epochsStarted).as("epochs (0 included)").isLessThanOrEqualTo(21);
    assertThat(agent.statusCount("coldRestarts")).isZero();
    assertThat(agent.envoyProcesses())
        .as("Envoy processes after the last parent-shutdown time")
        .hasSize(1);
    assertThat(agent.statusEpochs()).hasSize(1);
    // A failed child's epoch number is used again by the retry, so failures do not advance epochs.
    assertThat(agent.statusEpochs().get(0)[0])
        .as("serving epoch")
        .isEqualTo(hot - agent.statusCount("failedRestarts"));
    assertThat(runningEndpoints(agent, "web").stream().sorted().toList()).isEqualTo(expected);
  }

  @Test
  void aHundredChangesInTwoSecondsAreCoalescedAndTheLastOneWins() throws Exception {
    int minIntervalMs = 3000;
    AgentHarness agent =
        startedAgent("burst", AgentHarness.Options.restart().withRestartLimits(minIntervalMs, 500));
    LoadGenerator load = load(agent, 2, 0);
    long t0 = System.nanoTime();

    for (int i = 2; i <= 101; i++) {
      agent.routes(Integer.toString(i), endpointsFor(i), echo.port());
      sleep(Duration.ofMillis(20));
    }
    long burstMs = (System.nanoTime() - t0) / 1_000_000;
    awaitServing(agent, "101", 90);
    long appliedMs = (System.nanoTime() - t0) / 1_000_000;
    sleep(Duration.ofSeconds(1));

    LoadGenerator.Result result = load.stop();
    long hot = agent.statusCount("hotRestarts");
    LOG.info(
        "100 changes in {} ms: last applied after {} ms; hot restarts={} (min interval {} ms)",
        burstMs,
        appliedMs,
        hot,
        minIntervalMs);
    assertNoFailures("100 changes in 2 s", result);
    // At most one restart per min interval over the whole episode, plus the first one.
    assertThat(hot).isBetween(1L, Math.min(5L, 1 + appliedMs / minIntervalMs));
    assertThat(runningEndpoints(agent, "web").stream().sorted().toList())
        .isEqualTo(
            endpointsFor(101).stream().map(e -> e.port() + ":" + e.weight()).sorted().toList());
    assertThat(agent.status().path("appliedVersion").asText()).isEqualTo("101");
  }

  /** Change {@code i}: web with weight i, and web2 on even changes. */
  private List<Endpoint> endpointsFor(int i) {
    List<Endpoint> endpoints = new ArrayList<>(List.of(new Endpoint(web.port(), i)));
    if (i % 2 == 0) {
      endpoints.add(new Endpoint(web2.port(), 1));
    }
    return endpoints;
  }
}
