package dev.envoyagent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.envoyagent.testkit.HttpBackend;
import dev.envoyagent.testkit.LoadGenerator;
import dev.envoyagent.testkit.TcpEchoBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Plumbing shared by the end-to-end tests: real HTTP and TCP backends, steady load through Envoy's
 * local listeners, and cleanup of every process (the agent and its detached Envoys).
 */
abstract class AgentItSupport extends ItResources {

  HttpBackend web;
  HttpBackend web2;
  TcpEchoBackend echo;

  /**
   * A harness with backends, routes version {@code "1"} on backend {@code web}, and the agent
   * started.
   */
  AgentHarness startedAgent(String name, AgentHarness.Options options) throws Exception {
    web = closeLater(HttpBackend.start("web"));
    web2 = closeLater(HttpBackend.start("web2"));
    echo = closeLater(TcpEchoBackend.start());
    AgentHarness agent = closeLater(AgentHarness.create(name, options));
    agent.routes("1", List.of(new AgentHarness.Endpoint(web.port(), 1)), echo.port());
    long t0 = System.nanoTime();
    agent.startAgent();
    awaitServing(agent, "1", 90);
    LOG.info("{}: agent serving version 1 after {} ms", name, (System.nanoTime() - t0) / 1_000_000);
    return agent;
  }

  static void awaitServing(AgentHarness agent, String version, int seconds) {
    await()
        .atMost(AgentHarness.scaled(seconds))
        .pollInterval(POLL)
        .failFast("agent exited", () -> !agent.agent().isAlive())
        .until(() -> agent.servingVersion(version));
  }

  LoadGenerator load(AgentHarness agent, int httpClients, int tcpClients) {
    return closeLater(
        LoadGenerator.start(
            new LoadGenerator.Settings(
                agent.httpPort, "/", httpClients, agent.tcpPort, tcpClients, 5)));
  }

  static void assertNoFailures(String what, LoadGenerator.Result result) {
    LOG.info(
        "{}: http ok={} failed={} connections={} tcp ok={} failed={}",
        what,
        result.httpOk(),
        result.httpFailed(),
        result.httpConnections(),
        result.tcpOk(),
        result.tcpFailed());
    assertThat(result.failureSamples()).as(what + ": failure samples").isEmpty();
    assertThat(result.failures()).as(what + ": failed requests").isZero();
    assertThat(result.httpOk()).as(what + ": HTTP requests that got through").isPositive();
    if (result.tcpOk() + result.tcpFailed() > 0) {
      assertThat(result.tcpOk()).as(what + ": TCP exchanges that got through").isPositive();
    }
  }

  /** Waits (bounded) with load running, so the load sees whatever happens meanwhile. */
  static void sleep(Duration d) throws InterruptedException {
    Thread.sleep(d.toMillis());
  }

  /**
   * Every {@code attempt=N in_ms=M} the agent logged for Envoy (re)starts, in order: the backoff.
   */
  static List<Long> backoffDelays(String log) {
    List<Long> delays = new ArrayList<>();
    Matcher m = Pattern.compile("attempt=(\\d+) in_ms=(\\d+)").matcher(log);
    while (m.find()) {
      delays.add(Long.parseLong(m.group(2)));
    }
    return delays;
  }

  /**
   * The endpoints Envoy runs for cluster {@code cluster}, as "port:weight", read from its
   * /config_dump (EDS files or static clusters alike: any ClusterLoadAssignment of that name).
   * Distinct entries: enough for these tests, whose endpoints never repeat.
   */
  static List<String> runningEndpoints(AgentHarness agent, String cluster) {
    try {
      List<String> found = new ArrayList<>();
      collectEndpoints(agent.envoyAdmin().json("/config_dump?include_eds"), cluster, found);
      return found.stream().distinct().toList(); // the bootstrap section repeats static clusters
    } catch (java.io.IOException e) {
      return List.of("admin unreachable: " + e.getMessage());
    }
  }

  private static void collectEndpoints(
      com.fasterxml.jackson.databind.JsonNode node, String cluster, List<String> out) {
    if (node.isObject()
        && cluster.equals(node.path("cluster_name").asText())
        && node.has("endpoints")) {
      for (var locality : node.path("endpoints")) {
        for (var lb : locality.path("lb_endpoints")) {
          out.add(
              lb.path("endpoint").path("address").path("socket_address").path("port_value").asInt()
                  + ":"
                  + lb.path("load_balancing_weight").asInt(1));
        }
      }
      return;
    }
    node.forEach(child -> collectEndpoints(child, cluster, out));
  }

  static int count(String text, String needle) {
    int n = 0;
    for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }
}
