package dev.envoyagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.envoyagent.config.AgentConfigLoader;
import dev.envoyagent.config.AgentSettings;
import dev.envoyagent.metrics.AgentMetrics;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdminServerTest {

  @TempDir Path dir;
  final AtomicLong clock = new AtomicLong(5_000_000);
  final AtomicBoolean drained = new AtomicBoolean();
  final HttpClient http = HttpClient.newHttpClient();
  AdminServer server;
  StatusBoard board;
  int port;

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  void start() throws Exception {
    port = freePort();
    String yaml =
        "node: { id: h, cluster: c }\nroutes: { file: r.yaml }\nstate_dir: "
            + dir
            + "\nadmin: { listen: \"127.0.0.1:"
            + port
            + "\" }\n";
    AgentSettings settings =
        AgentConfigLoader.parse(yaml.getBytes(StandardCharsets.UTF_8), dir, "agent.yaml");
    board = new StatusBoard(dir.resolve("status.json"), clock::get, new AgentMetrics());
    server =
        new AdminServer(
            settings,
            board,
            () -> Map.of("draining", drained.get()),
            () -> drained.set(true),
            clock::get);
    server.start();
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  HttpResponse<String> call(String method, String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .method(method, HttpRequest.BodyPublishers.noBody())
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void readinessAndLivenessFollowTheSupervisor() throws Exception {
    start();
    assertThat(call("GET", "/healthz").statusCode()).as("no tick yet").isEqualTo(503);
    board.supervisor("STARTING", List.of(), "", "1");
    assertThat(call("GET", "/healthz").statusCode()).isEqualTo(200);
    HttpResponse<String> notReady = call("GET", "/ready");
    assertThat(notReady.statusCode()).isEqualTo(503);
    assertThat(notReady.body()).contains("Envoy is not serving (phase STARTING)");

    board.supervisor(
        "SERVING",
        List.of(new dev.envoyagent.envoy.EnvoyProcess(0, 42, 1, "d", "v", 0, 2, 0)),
        "1",
        "");
    assertThat(call("GET", "/ready").statusCode()).isEqualTo(200);
    clock.addAndGet(AdminServer.STALLED_AFTER.toMillis() + 1);
    HttpResponse<String> stalled = call("GET", "/healthz");
    assertThat(stalled.statusCode()).isEqualTo(503);
    assertThat(stalled.body()).contains("supervisor loop silent");
  }

  @Test
  void metricsAreValidPrometheusText() throws Exception {
    start();
    board.received("7");
    HttpResponse<String> metrics = call("GET", "/metrics");
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.headers().firstValue("Content-Type"))
        .hasValueSatisfying(t -> assertThat(t).startsWith("text/plain"));
    Pattern sample =
        Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*(\\{[^}]*})? (-?[0-9.]+(E-?[0-9]+)?|NaN|[+-]Inf)");
    for (String line : metrics.body().split("\n")) {
      if (!line.isEmpty() && !line.startsWith("#")) {
        assertThat(line).matches(sample);
      }
    }
    assertThat(metrics.body())
        .contains("envoy_agent_snapshots_received_total 1.0")
        .contains("envoy_agent_jvm_memory_heap_used ");
  }

  @Test
  void onlyDocumentedPathsAndMethodsAnswer() throws Exception {
    start();
    assertThat(call("GET", "/nope").statusCode()).isEqualTo(404);
    assertThat(call("POST", "/status").statusCode()).isEqualTo(405);
    assertThat(call("GET", "/drain").statusCode()).isEqualTo(405);
    assertThat(drained).isFalse();
    assertThat(call("POST", "/drain").statusCode()).isEqualTo(200);
    assertThat(drained).isTrue();
    HttpResponse<String> status = call("GET", "/status");
    assertThat(status.statusCode()).isEqualTo(200);
    assertThat(status.body()).contains("\"agent_version\"").contains("\"draining\" : true");
    assertThat(call("GET", "/history").body()).isEqualTo("[ ]");
    assertThat(call("GET", "/config").body()).isEqualTo("{ }");
  }
}
