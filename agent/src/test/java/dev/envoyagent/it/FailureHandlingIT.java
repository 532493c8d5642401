package dev.envoyagent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.envoyagent.it.AgentHarness.Endpoint;
import dev.envoyagent.testkit.AdminClient;
import dev.envoyagent.testkit.LoadGenerator;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Issue #4 tests 5 to 8: a refused config, a new epoch that never gets LIVE, a new hot-restart
 * version, and Envoy crashes. Faults are switched through the fault file the Envoy wrapper reads at
 * every exec, so they hit only the epochs started while they are set.
 */
class FailureHandlingIT extends AgentItSupport {

  @Test
  void invalidConfigIsNeverStartedAndTheOldOneKeepsServing() throws Exception {
    AgentHarness agent = startedAgent("invalid-config", AgentHarness.Options.restart());
    long pid = agent.statusEpochs().get(0)[1];
    LoadGenerator load = load(agent, 2, 1);

    // 1. Routes the agent itself refuses (two services on one port): nothing is rendered.
    agent.rawRoutes(
        "version: \"2\"\nservices:\n"
            + "  - {name: web, protocol: HTTP, local_port: "
            + agent.httpPort
            + ", endpoints: [{address: 127.0.0.1, port: "
            + web2.port()
            + "}]}\n"
            + "  - {name: echo, protocol: TCP, local_port: "
            + agent.httpPort
            + ", endpoints: [{address: 127.0.0.1, port: "
            + echo.port()
            + "}]}\n");
    await()
        .atMost(AgentHarness.scaled(20))
        .pollInterval(POLL)
        .until(() -> agent.status().path("lastError").asText().contains("refused"));
    assertThat(agent.agentLog()).contains("routes file refused");

    // 2. Routes that Envoy refuses in --mode validate: no new epoch is started.
    agent.faults(Map.of("ENVOY_SIM_REJECT_ALL_CONFIG", "1"));
    agent.routes("3", List.of(new Endpoint(web2.port(), 1)), echo.port());
    await()
        .atMost(AgentHarness.scaled(30))
        .pollInterval(POLL)
        .until(() -> "3".equals(agent.status().path("lastRejected").asText()));
    sleep(Duration.ofSeconds(2));
    assertThat(agent.status().path("lastError").asText()).contains("Envoy refused the config");
    assertThat(agent.agentLog()).contains("Envoy refused config version=3");
    assertThat(agent.statusCount("hotRestarts")).isZero();
    assertThat(agent.status().path("appliedVersion").asText()).isEqualTo("1");
    assertThat(agent.envoyProcesses()).containsExactly(pid);
    assertThat(runningEndpoints(agent, "web")).containsExactly(web.port() + ":1");
    assertThat(count(agent.agentLog(), "started Envoy epoch=")).isEqualTo(1);

    // 3. The fault clears and the next change goes through.
    agent.faults(Map.of());
    agent.routes("4", List.of(new Endpoint(web2.port(), 1)), echo.port());
    awaitServing(agent, "4", 60);
    sleep(Duration.ofSeconds(1));
    assertNoFailures("refused configs", load.stop());
    assertThat(agent.statusCount("hotRestarts")).isEqualTo(1);
    assertThat(agent.statusCount("rejectedCount")).isGreaterThanOrEqualTo(1);
    assertThat(web2.requests()).isPositive();
  }

  @Test
  void childThatNeverGetsLiveIsKilledTheParentServesOnAndTheNextBootstrapChangeApplies()
      throws Exception {
    AgentHarness agent =
        startedAgent(
            "never-live",
            AgentHarness.Options.restart().withRestartLimits(500, 100).withReadyTimeoutS(4));
    long parent = agent.statusEpochs().get(0)[1];
    LoadGenerator load = load(agent, 2, 1);

    agent.faults(Map.of("ENVOY_SIM_NEVER_LIVE", "1"));
    agent.routes("2", List.of(new Endpoint(web2.port(), 1)), echo.port());
    await()
        .atMost(AgentHarness.scaled(40))
        .pollInterval(POLL)
        .until(() -> agent.statusCount("failedRestarts") >= 1);
    agent.faults(Map.of());
    sleep(Duration.ofMillis(500));
    LoadGenerator.Result duringFault = load.stop();
    // SIGKILL, not SIGTERM: a child that shuts down before it terminated its parent takes the
    // serving parent down with it (Envoy's shutdown() sends the parent a terminate request).
    assertThat(agent.agentLog())
        .contains("was not LIVE within 4 s; killed")
        .contains("parent keeps serving");
    assertThat(agent.envoyProcesses()).contains(parent);
    assertNoFailures("child never LIVE: the parent serves", duringFault);

    // The killed child left the INITIALIZING flag set in shared memory, so a hot restart could
    // never succeed again: the retry of version 2 is a planned cold restart, and its cost counted.
    long t0 = System.nanoTime();
    LoadGenerator recovering = load(agent, 2, 0);
    awaitServing(agent, "2", 90);
    long recoveryMs = (System.nanoTime() - t0) / 1_000_000;
    LoadGenerator.Result duringRecovery = recovering.stop();
    LOG.info(
        "never LIVE: recovered after {} ms; failed restarts={} cold restarts={}; during recovery http ok={} "
            + "failed={} (a cold restart closes the listeners)",
        recoveryMs,
        agent.statusCount("failedRestarts"),
        agent.statusCount("coldRestarts"),
        duringRecovery.httpOk(),
        duringRecovery.httpFailed());
    assertThat(agent.agentLog())
        .contains("planned cold restart reason=\"epoch 1 was killed before it was LIVE");
    assertThat(agent.statusCount("coldRestarts")).isEqualTo(1);
    assertThat(agent.statusCount("failedRestarts"))
        .as("no hot restart tried into the stuck flag")
        .isEqualTo(1);
    LoadGenerator after = load(agent, 2, 1);
    sleep(Duration.ofSeconds(2));
    assertNoFailures("after recovery", after.stop());
    assertThat(web2.requests()).isPositive();
  }

  @Test
  void anEnvoyOlderThanTheSupportedMinimumIsRefusedAtStartNamingBoth() throws Exception {
    echo = closeLater(dev.envoyagent.testkit.TcpEchoBackend.start());
    AgentHarness agent = closeLater(AgentHarness.create("old-envoy", AgentHarness.Options.files()));
    agent.writeEnvoyBinary(Map.of("ENVOY_SIM_ENVOY_VERSION", "1.29.7"));
    agent.routes("1", List.of(new Endpoint(echo.port(), 1)), echo.port());
    Process process = agent.startAgent();
    assertThat(
            process.waitFor(
                AgentHarness.scaled(30).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS))
        .as("the agent exits")
        .isTrue();
    LOG.info("old Envoy: exit {}: {}", process.exitValue(), agent.agentLog().strip());
    assertThat(process.exitValue()).isEqualTo(1);
    assertThat(agent.agentLog())
        .contains("envoy.binary: Envoy 1.29.7")
        .contains("older than 1.30.0");
    assertThat(agent.envoyProcesses()).isEmpty();
  }

  @Test
  void newHotRestartVersionMeansAColdRestartWithDrain() throws Exception {
    AgentHarness agent = startedAgent("hot-restart-version", AgentHarness.Options.files());
    long oldPid = agent.statusEpochs().get(0)[1];
    LoadGenerator load = load(agent, 2, 0);
    sleep(Duration.ofSeconds(1));

    // A package upgrade installs an Envoy whose hot-restart version differs; nobody tells the
    // agent.
    agent.writeEnvoyBinary(Map.of("ENVOY_SIM_HOT_RESTART_VERSION", "12.104"));
    long t0 = System.nanoTime();
    // Watched from outside: when the old Envoy starts failing health checks, and when it is gone.
    AtomicLong drainingAt = new AtomicLong();
    AtomicLong oldGoneAt = new AtomicLong();
    await()
        .atMost(AgentHarness.scaled(60))
        .pollInterval(Duration.ofMillis(50))
        .until(
            () -> {
              AdminClient.EpochState state = agent.envoyAdmin().epochState();
              if (drainingAt.get() == 0 && state != null && "DRAINING".equals(state.state())) {
                drainingAt.set(System.nanoTime());
              }
              if (oldGoneAt.get() == 0 && !agent.envoyProcesses().contains(oldPid)) {
                oldGoneAt.set(System.nanoTime());
              }
              return agent.statusCount("coldRestarts") == 1
                  && agent.servingVersion("1")
                  && agent.statusEpochs().size() == 1
                  && agent.statusEpochs().get(0)[1] != oldPid;
            });
    long coldMs = (System.nanoTime() - t0) / 1_000_000;
    LoadGenerator.Result during = load.stop();
    LOG.info(
        "hot-restart version change: cold restart done after {} ms; during it http ok={} failed={}",
        coldMs,
        during.httpOk(),
        during.httpFailed());

    assertThat(agent.agentLog())
        .contains("Envoy binary or flags changed on disk")
        .contains(
            "planned cold restart reason=\"hot-restart version changes from 11.104 to 12.104\"");
    assertThat(drainingAt.get()).as("old Envoy seen failing health checks (draining)").isPositive();
    long drainedMs = (oldGoneAt.get() - drainingAt.get()) / 1_000_000;
    LOG.info(
        "hot-restart version change: old Envoy drained {} ms before it was stopped", drainedMs);
    assertThat(drainedMs)
        .as("drain before the stop (drain_time_s 1, polled every 50 ms)")
        .isGreaterThanOrEqualTo(900);
    assertThat(agent.envoyAdmin().serverInfo().path("hot_restart_version").asText())
        .isEqualTo("12.104");
    assertThat(
            agent
                .envoyAdmin()
                .serverInfo()
                .path("command_line_options")
                .path("restart_epoch")
                .asInt())
        .isZero();
    assertThat(agent.statusCount("hotRestarts")).isZero();
    assertThat(agent.envoyProcesses()).hasSize(1).doesNotContain(oldPid);
    LoadGenerator after = load(agent, 2, 1);
    sleep(Duration.ofSeconds(2));
    assertNoFailures("after the cold restart", after.stop());
  }

  @Test
  void envoyCrashesAreRestartedWithGrowingBackoffAndTheAgentStaysUp() throws Exception {
    AgentHarness agent = startedAgent("crash", AgentHarness.Options.files());
    long first = agent.statusEpochs().get(0)[1];

    // One crash: epoch 0 again, from the last applied config.
    AgentHarness.kill("KILL", first);
    await()
        .atMost(AgentHarness.scaled(30))
        .pollInterval(POLL)
        .until(
            () ->
                agent.servingVersion("1")
                    && agent.statusEpochs().size() == 1
                    && agent.statusEpochs().get(0)[1] != first);
    assertThat(agent.agentLog())
        .contains("Envoy exited unexpectedly")
        .contains("no Envoy is running");
    assertThat(agent.statusCount("envoyCrashes")).isEqualTo(1);
    long second = agent.statusEpochs().get(0)[1];

    // A crash loop: every new Envoy aborts soon after it starts; the waits between starts grow.
    agent.faults(Map.of("ENVOY_SIM_CRASH_AFTER_MS", "1000"));
    AgentHarness.kill("KILL", second);
    await()
        .atMost(AgentHarness.scaled(60))
        .pollInterval(POLL)
        .until(() -> backoffDelays(agent.agentLog()).size() >= 4);
    List<Long> delays = backoffDelays(agent.agentLog());
    LOG.info(
        "crash loop: backoff delays {} ms; crashes={} failed starts={} last error \"{}\"",
        delays,
        agent.statusCount("envoyCrashes"),
        agent.statusCount("failedRestarts"),
        agent.status().path("lastError").asText());
    assertThat(delays.subList(1, delays.size())).isSortedAccordingTo(Long::compare);
    assertThat(delays.get(delays.size() - 1)).isGreaterThan(2 * delays.get(1));
    assertThat(agent.agent().isAlive()).isTrue();
    assertThat(agent.status().path("lastError").asText()).isNotEmpty();
    assertThat(agent.statusCount("envoyCrashes") + agent.statusCount("failedRestarts"))
        .isGreaterThanOrEqualTo(3);

    // The fault clears: the next start sticks. An Envoy started just before may still be up for
    // its last second, so wait for one that has lived well past the crash delay.
    agent.faults(Map.of());
    await()
        .atMost(AgentHarness.scaled(60))
        .pollInterval(POLL)
        .ignoreExceptions()
        .until(
            () ->
                agent.servingVersion("1")
                    && agent.envoyAdmin().get("/ready").status() == 200
                    && agent
                        .envoyAdmin()
                        .serverInfo()
                        .path("uptime_current_epoch")
                        .asText("0s")
                        .matches("([3-9]|\\d\\d+)s"));
    assertThat(agent.envoyProcesses()).hasSize(1);
    assertThat(agent.agent().isAlive()).isTrue();
    LoadGenerator after = load(agent, 2, 1);
    sleep(Duration.ofSeconds(2));
    assertNoFailures("after the crash loop", after.stop());
  }
}
