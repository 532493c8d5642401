package dev.envoyagent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.envoyagent.testkit.AdminClient;
import dev.envoyagent.testkit.LoadGenerator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue #4 tests 1, 9 and 10: start from nothing, survive kill -9 of the agent (and the SIGUSR2
 * upgrade exit), stop on SIGTERM.
 */
class LifecycleIT extends AgentItSupport {

  @Test
  void startsFromNothingAndTrafficFlows() throws Exception {
    AgentHarness agent = startedAgent("start", AgentHarness.Options.files());

    AdminClient.Response ready = agent.envoyAdmin().get("/ready");
    assertThat(ready.status()).isEqualTo(200);
    assertThat(ready.body()).contains("LIVE");
    assertThat(
            agent
                .envoyAdmin()
                .serverInfo()
                .path("command_line_options")
                .path("restart_epoch")
                .asInt())
        .isZero();
    assertThat(agent.envoyProcesses()).hasSize(1);

    LoadGenerator load = load(agent, 2, 1);
    sleep(Duration.ofSeconds(3));
    assertNoFailures("start from nothing", load.stop());
    assertThat(web.requests()).isPositive();
    assertThat(echo.connections()).isPositive();
    assertThat(agent.agentLog())
        .contains("Envoy LIVE epoch=0")
        .contains("applied version=1 restart=yes");
  }

  @Test
  void killNineOfTheAgentLeavesEnvoyServingAndTheNextAgentAdoptsIt() throws Exception {
    AgentHarness agent = startedAgent("kill9", AgentHarness.Options.files());
    List<long[]> before = agent.statusEpochs();
    assertThat(before).hasSize(1);
    LoadGenerator load = load(agent, 2, 1);
    sleep(Duration.ofSeconds(1));

    agent.signalAgent("KILL");
    assertThat(agent.agent().waitFor(10, TimeUnit.SECONDS)).isTrue();
    sleep(Duration.ofSeconds(2)); // no agent at all: Envoy alone carries the load
    assertThat(agent.envoyProcesses()).containsExactly(before.get(0)[1]);

    Files.delete(
        agent.stateDir.resolve("status.json")); // so the status read below is the new agent's
    agent.startAgent();
    awaitServing(agent, "1", 90);
    await()
        .atMost(AgentHarness.scaled(30))
        .pollInterval(POLL)
        .until(() -> agent.agentLog().contains("adopted running Envoy"));
    sleep(Duration.ofSeconds(2));

    assertNoFailures("kill -9 of the agent, then adoption", load.stop());
    List<long[]> after = agent.statusEpochs();
    assertThat(after).hasSize(1);
    assertThat(after.get(0)).containsExactly(before.get(0));
    assertThat(agent.statusCount("hotRestarts")).isZero();
    assertThat(agent.statusCount("coldRestarts")).isZero();
    assertThat(agent.envoyProcesses()).containsExactly(before.get(0)[1]);
    assertThat(count(agent.agentLog(), "started Envoy epoch="))
        .as("epochs started by both agents")
        .isEqualTo(1);

    // The package-upgrade path: SIGUSR2 makes the agent exit at once and leave Envoy to the next
    // one.
    LoadGenerator upgrade = load(agent, 2, 1);
    agent.signalAgent("USR2");
    assertThat(agent.agent().waitFor(AgentHarness.scaled(20).toSeconds(), TimeUnit.SECONDS))
        .isTrue();
    assertThat(agent.agent().exitValue()).isZero();
    assertThat(agent.envoyProcesses()).containsExactly(before.get(0)[1]);
    Files.delete(agent.stateDir.resolve("status.json"));
    agent.startAgent();
    awaitServing(agent, "1", 90);
    sleep(Duration.ofSeconds(1));
    assertNoFailures("SIGUSR2 (agent upgrade), then adoption", upgrade.stop());
    assertThat(agent.statusEpochs().get(0)).containsExactly(before.get(0));
    assertThat(agent.agentLog()).contains("leaving Envoy running for the next agent to adopt");
    assertThat(count(agent.agentLog(), "started Envoy epoch="))
        .as("epochs started by all three agents")
        .isEqualTo(1);
  }

  @Test
  void sigtermDrainsAndLeavesNothingRunning() throws Exception {
    AgentHarness agent = startedAgent("sigterm", AgentHarness.Options.files());
    LoadGenerator load = load(agent, 2, 0);
    sleep(Duration.ofSeconds(1));
    long t0 = System.nanoTime();

    agent.signalAgent("TERM");
    assertThat(agent.agent().waitFor(AgentHarness.scaled(30).toSeconds(), TimeUnit.SECONDS))
        .isTrue();
    long stopMs = (System.nanoTime() - t0) / 1_000_000;
    LoadGenerator.Result result = load.stop();
    LOG.info(
        "SIGTERM: agent exited after {} ms with {}; load http ok={} failed={} (failures expected once "
            + "listeners close)",
        stopMs,
        agent.agent().exitValue(),
        result.httpOk(),
        result.httpFailed());

    assertThat(agent.agent().exitValue()).isZero();
    assertThat(stopMs).as("drain time honoured").isGreaterThanOrEqualTo(900);
    assertThat(agent.allProcesses()).isEmpty();
    assertThat(agent.agentLog())
        .contains("received SIGTERM")
        .contains("draining Envoy before stop")
        .contains("Envoy stopped")
        .contains("envoy-agent stopped");
    assertThat(Files.readString(agent.stateDir.resolve("envoy.log"), StandardCharsets.UTF_8))
        .isNotEmpty();
  }
}
