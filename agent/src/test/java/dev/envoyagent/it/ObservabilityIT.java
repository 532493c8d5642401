package dev.envoyagent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.envoyagent.testkit.HttpBackend;
import dev.envoyagent.testkit.Ports;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.DoublePredicate;
import org.junit.jupiter.api.Test;

/**
 * Issue #7 end to end: the agent's metrics move as events happen (driven through the routes file,
 * SIGHUP, a killed Envoy and the control plane), {@code /metrics} parses as Prometheus text, and
 * {@code envoy-agent status} prints and exits 0 for a healthy agent, 1 for a degraded one (routes
 * refused, control plane down) and 2 for an unreachable one.
 */
class ObservabilityIT extends FleetItSupport {

  static final String APPLIED = "envoy_agent_snapshots_applied_total";
  static final String RECEIVED = "envoy_agent_snapshots_received_total";
  static final String REJECTED = "envoy_agent_snapshots_rejected_total";
  static final String SOURCE_REFUSED = "envoy_agent_snapshots_source_refused_total";
  static final String HOT = "envoy_agent_supervisor_restarts_hot_total";
  static final String CRASHES = "envoy_agent_envoy_crashes_total";
  static final String LIVE_EPOCHS = "envoy_agent_envoy_live_epochs";
  static final String CP_CONNECTED = "envoy_agent_control_plane_connected";
  static final String CP_DISCONNECTS = "envoy_agent_control_plane_disconnects_total";
  static final String LKG_AGE = "envoy_agent_state_last_known_good_age_seconds";
  static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @Test
  void metricsMoveAsEventsHappen() throws Exception {
    Path dir = ItAgent.testDir("obs-metrics");
    HttpBackend a = closeLater(HttpBackend.start("a"));
    HttpBackend b = closeLater(HttpBackend.start("b"));
    ItAgent agent = closeLater(ItAgent.create(dir, "obs-host"));
    int webPort = Ports.free();
    agent.useRoutesFile = true;
    agent.routes(httpRoutes("1", "web", webPort, a.port()));
    agent.start();
    awaitApplied(agent, "1", 60);

    PrometheusText m = metrics(agent);
    LOG.info(
        "after start: applied={} received={} live_epochs={} hot={} lkg_age={} apply_time_count={}",
        m.value(APPLIED),
        m.value(RECEIVED),
        m.value(LIVE_EPOCHS),
        m.value(HOT),
        m.value(LKG_AGE),
        m.value("envoy_agent_snapshots_apply_time_count"));
    assertThat(m.type(APPLIED)).isEqualTo("counter");
    assertThat(m.type(LIVE_EPOCHS)).isEqualTo("gauge");
    assertThat(m.value(APPLIED)).isEqualTo(1);
    assertThat(m.value(RECEIVED)).isEqualTo(1);
    assertThat(m.value("envoy_agent_snapshots_apply_time_count")).isEqualTo(1);
    assertThat(m.value(LIVE_EPOCHS)).isEqualTo(1);
    assertThat(m.value(CP_CONNECTED)).isZero();
    assertThat(m.value("envoy_agent_host_draining")).isZero();
    assertThat(m.value("envoy_agent_snapshots_apply_lag_seconds")).isZero();
    assertThat(m.value(LKG_AGE)).isBetween(0.0, 60.0);
    assertThat(m.value(HOT) + m.value(REJECTED) + m.value(SOURCE_REFUSED) + m.value(CRASHES))
        .isZero();
    assertThat(m.samples()).anyMatch(s -> s.name().startsWith("envoy_agent_jvm_memory"));
    assertThat(m.value("envoy_agent_jvm_cds_archive_mapped"))
        .isEqualTo(m.value("envoy_agent_jvm_appcds_archive_mapped"));
    assertThat(m.value("envoy_agent_jvm_appcds_archive_mapped"))
        .as("the archive the build wrote is mapped")
        .isEqualTo(1);

    // A routes change applied through the watched files: applied and received move, no restart.
    agent.routes(httpRoutes("2", "web", webPort, b.port()));
    awaitMetric(agent, APPLIED, v -> v == 2);
    m = metrics(agent);
    assertThat(m.value(RECEIVED)).isEqualTo(2);
    assertThat(m.value(HOT)).isZero();
    assertThat(get(webPort, "/").body()).isEqualTo("b");

    // A routes file that does not validate: source_refused; the status command says degraded.
    agent.routes(httpRoutes("3", "web", 80, b.port()));
    awaitMetric(agent, SOURCE_REFUSED, v -> v == 1);
    assertThat(metrics(agent).value(APPLIED)).isEqualTo(2);
    ItProcesses.Outcome refusedFile = status(agent.adminAddress());
    LOG.info(
        "status with a refused routes file (exit {}):\n{}",
        refusedFile.exitCode(),
        refusedFile.output());
    assertThat(refusedFile.exitCode()).isEqualTo(1);
    assertThat(refusedFile.output())
        .contains("DEGRADED")
        .contains("routes refused")
        .contains("local_port");

    // Valid routes this host refuses (a service on Envoy's admin port): rejected.
    agent.routes(
        httpRoutes("4", "web", webPort, a.port())
            + httpService("clash", agent.envoyAdminPort, a.port()));
    awaitMetric(agent, REJECTED, v -> v == 1);
    m = metrics(agent);
    assertThat(m.value(RECEIVED)).isEqualTo(3);
    assertThat(m.value(APPLIED)).isEqualTo(2);
    assertThat(get(webPort, "/").body()).as("version 2 still serves").isEqualTo("b");

    // A new zone in agent.yaml + SIGHUP changes the bootstrap: a hot restart; two epochs, then one.
    agent.routes(httpRoutes("5", "web", webPort, a.port()));
    awaitMetric(agent, APPLIED, v -> v == 3);
    agent.zone = "us-east-1b";
    agent.writeConfig();
    agent.signal("HUP");
    awaitMetric(agent, HOT, v -> v == 1);
    awaitMetric(agent, LIVE_EPOCHS, v -> v == 2);
    awaitMetric(agent, LIVE_EPOCHS, v -> v == 1);
    assertThat(
            agent
                .envoyAdmin()
                .serverInfo()
                .path("command_line_options")
                .path("restart_epoch")
                .asInt())
        .isOne();

    // Envoy killed: a crash, then a new epoch 0 from the last applied config.
    long pid = agent.envoyProcesses().get(0);
    ItProcesses.kill("KILL", pid);
    awaitMetric(agent, CRASHES, v -> v == 1);
    await()
        .atMost(AgentHarness.scaled(60))
        .pollInterval(POLL)
        .until(
            () -> get(webPort, "/").body().equals("a") && metrics(agent).value(LIVE_EPOCHS) == 1);
    m = metrics(agent);
    LOG.info(
        "after every event: applied={} received={} rejected={} source_refused={} hot={} crashes={} "
            + "failed_restarts={} live_epochs={} apply_time_count={}",
        m.value(APPLIED),
        m.value(RECEIVED),
        m.value(REJECTED),
        m.value(SOURCE_REFUSED),
        m.value(HOT),
        m.value(CRASHES),
        m.value("envoy_agent_supervisor_failed_restarts_total"),
        m.value(LIVE_EPOCHS),
        m.value("envoy_agent_snapshots_apply_time_count"));
    assertThat(m.value(HOT)).isEqualTo(1);
    assertThat(m.value(REJECTED)).isEqualTo(1);
    assertThat(m.value(SOURCE_REFUSED)).isEqualTo(1);
  }

  @Test
  void statusPrintsAndExitsHealthyDegradedAndUnreachable() throws Exception {
    Path dir = ItAgent.testDir("obs-status");
    HttpBackend a = closeLater(HttpBackend.start("a"));
    ItControlPlane cp = closeLater(ItControlPlane.inProcess(dir, 500));
    ItAgent agent = closeLater(ItAgent.create(dir, "status-host"));
    int webPort = Ports.free();
    cp.routes(httpRoutes("1", "web", webPort, a.port()));
    cp.start();
    agent.controlPlaneAddresses = List.of(cp.address());
    agent.start();
    awaitApplied(agent, "1.", 60);
    await()
        .atMost(AgentHarness.scaled(10))
        .pollInterval(POLL)
        .until(() -> agent.admin().get("/ready").status() == 200);

    ItProcesses.Outcome healthy = status(agent.adminAddress());
    LOG.info("status, healthy (exit {}):\n{}", healthy.exitCode(), healthy.output());
    assertThat(healthy.exitCode()).isZero();
    assertThat(healthy.output())
        .contains("HEALTHY")
        .contains("SERVING")
        .containsPattern("routes +applied " + java.util.regex.Pattern.quote(agent.appliedVersion()))
        .containsPattern("control plane +" + cp.address() + " +connected")
        .doesNotContain("problem");
    ItProcesses.Outcome json =
        ItProcesses.runAgentCommand("status", "--admin", agent.adminAddress(), "--json");
    assertThat(json.exitCode()).isZero();
    JsonNode view = new ObjectMapper().readTree(json.output());
    assertThat(view.path("ready").asBoolean()).isTrue();
    assertThat(view.path("status").path("appliedVersion").asText())
        .isEqualTo(agent.appliedVersion());
    PrometheusText m = metrics(agent);
    assertThat(m.value(CP_CONNECTED)).isEqualTo(1);
    assertThat(m.value(CP_DISCONNECTS)).isZero();
    assertThat(m.value("envoy_agent_heartbeat_sent")).isPositive();

    // The control plane sends a snapshot this host refuses: NACKed, degraded (exit 1).
    cp.routes(
        httpRoutes("2", "web", webPort, a.port())
            + httpService("clash", agent.envoyAdminPort, a.port()));
    awaitMetric(agent, REJECTED, v -> v == 1);
    ItProcesses.Outcome refused = status(agent.adminAddress());
    LOG.info(
        "status, control-plane snapshot refused (exit {}):\n{}",
        refused.exitCode(),
        refused.output());
    assertThat(refused.exitCode()).isEqualTo(1);
    assertThat(refused.output())
        .contains("DEGRADED")
        .containsPattern("newest routes 2\\.\\S+ were refused")
        .contains("is Envoy's admin port");

    // Fixed routes: healthy again.
    cp.routes(httpRoutes("3", "web", webPort, a.port()));
    awaitApplied(agent, "3.", 30);
    assertThat(status(agent.adminAddress()).exitCode()).isZero();

    // The control plane goes away: Envoy keeps serving, the agent is degraded (exit 1).
    cp.kill();
    awaitMetric(agent, CP_CONNECTED, v -> v == 0);
    assertThat(metrics(agent).value(CP_DISCONNECTS)).isEqualTo(1);
    ItProcesses.Outcome cpDown = status(agent.adminAddress());
    LOG.info("status, control plane down (exit {}):\n{}", cpDown.exitCode(), cpDown.output());
    assertThat(cpDown.exitCode()).isEqualTo(1);
    assertThat(cpDown.output())
        .contains("DEGRADED")
        .containsPattern("control plane +" + cp.address() + " +disconnected")
        .contains("control plane unreachable (serving the last known good routes)");
    assertThat(get(webPort, "/").body()).isEqualTo("a");

    // The agent gone: unreachable (exit 2).
    agent.signal("KILL");
    assertThat(agent.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
    ItProcesses.Outcome unreachable = status(agent.adminAddress());
    LOG.info("status, agent gone (exit {}):\n{}", unreachable.exitCode(), unreachable.output());
    assertThat(unreachable.exitCode()).isEqualTo(2);
    assertThat(unreachable.output()).contains("UNREACHABLE").contains(agent.adminAddress());
  }

  static ItProcesses.Outcome status(String admin) throws Exception {
    return ItProcesses.runAgentCommand("status", "--admin", admin);
  }

  /** GET /metrics: 200 in the Prometheus text content type, parsed strictly. */
  static PrometheusText metrics(ItAgent agent) throws Exception {
    HttpResponse<String> response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://" + agent.adminAddress() + "/metrics"))
                .timeout(Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-type"))
        .hasValueSatisfying(
            type -> assertThat(type).startsWith("text/plain").contains("version=0.0.4"));
    return PrometheusText.parse(response.body());
  }

  static void awaitMetric(ItAgent agent, String name, DoublePredicate until) {
    await()
        .atMost(AgentHarness.scaled(60))
        .pollInterval(POLL)
        .failFast("agent exited", () -> !agent.alive())
        .until(() -> until.test(metrics(agent).value(name)));
  }
}
