package dev.envoyagent.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.envoyagent.testkit.AdminClient;
import dev.envoyagent.testkit.HttpBackend;
import dev.envoyagent.testkit.Ports;
import dev.envoyagent.testkit.SimulatorProcess;
import dev.envoyagent.testkit.TcpEchoBackend;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/**
 * Epoch 0 serving a static ("restart" delivery) config: admin API, routing, TCP proxy, health
 * checks, signals.
 */
class ServeIT extends ItSupport {
  private final HttpClient http = HttpClient.newHttpClient();

  private record Setup(
      SimulatorProcess process,
      AdminClient admin,
      int httpPort,
      int tcpPort,
      HttpBackend a,
      HttpBackend b,
      HttpBackend c,
      TcpEchoBackend echo,
      Path logPath) {}

  private Setup serve(String... extraArgs) throws Exception {
    HttpBackend a = closeLater(HttpBackend.start("a"));
    HttpBackend b = closeLater(HttpBackend.start("b"));
    HttpBackend c = closeLater(HttpBackend.start("c"));
    TcpEchoBackend echo = closeLater(TcpEchoBackend.start());
    int adminPort = Ports.free();
    int httpPort = Ports.free();
    int tcpPort = Ports.free();
    int deadPort = Ports.free();
    String routes =
        String.join(
            ", ",
            Configs.route("{\"path\": \"/exact\"}", "{\"cluster\": \"b\"}"),
            Configs.route(
                "{\"prefix\": \"/hdr\", \"headers\": [{\"name\": \"x-pick\", \"string_match\": {\"exact\": \"c\"}}]}",
                "{\"cluster\": \"c\"}"),
            Configs.route("{\"safe_regex\": {\"regex\": \"/re/[0-9]+\"}}", "{\"cluster\": \"b\"}"),
            Configs.route(
                "{\"prefix\": \"/split\"}",
                "{\"weighted_clusters\": {\"clusters\": ["
                    + "{\"name\": \"a\", \"weight\": 3}, {\"name\": \"b\", \"weight\": 1}]}}"),
            Configs.route(
                "{\"prefix\": \"/retry\"}",
                "{\"cluster\": \"half-dead\", \"retry_policy\": "
                    + "{\"retry_on\": \"connect-failure\", \"num_retries\": 2}}"),
            Configs.route("{\"prefix\": \"/noretry\"}", "{\"cluster\": \"dead\"}"),
            Configs.route("{\"prefix\": \"/slow\"}", "{\"cluster\": \"a\", \"timeout\": \"0.3s\"}"),
            Configs.route("{\"prefix\": \"/hc\"}", "{\"cluster\": \"checked\"}"),
            Configs.prefixRoute("/", "a"));
    String hc =
        ", \"health_checks\": [{\"timeout\": \"0.5s\", \"interval\": \"0.2s\", \"no_traffic_interval\": \"0.2s\","
            + " \"unhealthy_threshold\": 1, \"healthy_threshold\": 1, \"http_health_check\": {\"path\": \"/health\"}}]";
    Path config =
        write(
            "bootstrap.json",
            Configs.staticBootstrap(
                adminPort,
                Configs.httpListener("web", httpPort, Configs.inlineRoutes(routes))
                    + ", "
                    + Configs.tcpListener("echo", tcpPort, "echo"),
                String.join(
                    ", ",
                    Configs.staticCluster(
                        "a", "STATIC", "", Configs.endpoint("127.0.0.1", a.port(), 1)),
                    Configs.staticCluster(
                        "b", "STATIC", "", Configs.endpoint("127.0.0.1", b.port(), 1)),
                    Configs.staticCluster(
                        "c", "STRICT_DNS", "", Configs.endpoint("localhost", c.port(), 1)),
                    Configs.staticCluster(
                        "dead", "STATIC", "", Configs.endpoint("127.0.0.1", deadPort, 1)),
                    Configs.staticCluster(
                        "half-dead",
                        "STATIC",
                        "",
                        Configs.endpoint("127.0.0.1", deadPort, 1),
                        Configs.endpoint("127.0.0.1", b.port(), 1)),
                    Configs.staticCluster(
                        "checked",
                        "STATIC",
                        hc,
                        Configs.endpoint("127.0.0.1", a.port(), 1),
                        Configs.endpoint("127.0.0.1", c.port(), 1)),
                    Configs.staticCluster(
                        "echo", "STATIC", "", Configs.endpoint("127.0.0.1", echo.port(), 1)))));
    Path logPath = dir.resolve("envoy.log");
    java.util.List<String> args =
        new java.util.ArrayList<>(
            java.util.List.of("--log-path", logPath.toString(), "--service-node", "override-node"));
    args.addAll(java.util.List.of(extraArgs));
    SimulatorProcess p = start(config, 0, 1, 2, env(), args.toArray(String[]::new));
    AdminClient admin = new AdminClient(adminPort);
    awaitLive(admin, 0, p);
    return new Setup(p, admin, httpPort, tcpPort, a, b, c, echo, logPath);
  }

  @Test
  void adminApiAnswersLikeEnvoy() throws Exception {
    Setup s = serve();
    AdminClient admin = s.admin();
    assertThat(admin.get("/ready")).isEqualTo(new AdminClient.Response(200, "LIVE\n"));
    JsonNode info = admin.serverInfo();
    assertThat(info.path("state").asText()).isEqualTo("LIVE");
    assertThat(info.path("hot_restart_version").asText()).isEqualTo("11.104");
    assertThat(info.path("command_line_options").path("restart_epoch").asInt()).isZero();
    assertThat(info.path("command_line_options").path("base_id").asLong()).isEqualTo(baseId);
    assertThat(info.path("node").path("id").asText()).isEqualTo("override-node");
    assertThat(info.path("node").path("locality").path("zone").asText()).isEqualTo("z1");
    assertThat(info.has("uptime_current_epoch")).isTrue();
    assertThat(info.has("uptime_all_epochs")).isTrue();
    assertThat(admin.get("/hot_restart_version").body().trim()).isEqualTo("11.104");
    JsonNode listeners = admin.json("/listeners?format=json");
    assertThat(listeners.path("listener_statuses")).hasSize(2);
    JsonNode clusters = admin.json("/clusters?format=json");
    assertThat(clusters.path("cluster_statuses")).hasSize(7);
    JsonNode dump = admin.json("/config_dump");
    assertThat(dump.path("configs").get(0).path("@type").asText())
        .endsWith("admin.v3.BootstrapConfigDump");
    assertThat(dump.toString())
        .contains("ListenersConfigDump")
        .contains("ClustersConfigDump")
        .contains("RoutesConfigDump");
    // AdminImpl::makeRequest: a handler that mutates server state answers other methods with 405.
    for (String mutation :
        new String[] {
          "/healthcheck/fail",
          "/healthcheck/ok",
          "/drain_listeners",
          "/quitquitquit",
          "/reset_counters",
          "/logging"
        }) {
      assertThat(admin.get(mutation))
          .as(mutation)
          .isEqualTo(new AdminClient.Response(405, "Method GET not allowed, POST required."));
    }
    assertThat(info.path("version").asText())
        .isEqualTo(BuildInfo.REVISION + "/1.36.2/Clean/RELEASE/BoringSSL");
    assertThat(status(s, "/", Map.of())).isEqualTo(200);
    assertThat(admin.stat("http.web.downstream_rq_total")).isEqualTo(1);
    assertThat(admin.stat("listener.127.0.0.1_" + s.httpPort() + ".downstream_cx_total"))
        .isGreaterThanOrEqualTo(1);
    assertThat(admin.stat("cluster.a.upstream_rq_total")).isEqualTo(1);

    assertThat(admin.post("/healthcheck/fail").status()).isEqualTo(200);
    assertThat(admin.get("/ready").status()).isEqualTo(503);
    assertThat(admin.serverInfo().path("state").asText()).isEqualTo("DRAINING");
    assertThat(admin.post("/healthcheck/ok").status()).isEqualTo(200);
    assertThat(admin.get("/ready").status()).isEqualTo(200);

    assertThat(admin.post("/quitquitquit").status()).isEqualTo(200);
    assertThat(s.process().waitFor(Duration.ofSeconds(20))).isZero();
  }

  @Test
  void routesByPathHeaderRegexAndWeight() throws Exception {
    Setup s = serve();
    assertThat(body(s, "/anything", Map.of())).isEqualTo("a");
    assertThat(body(s, "/exact", Map.of())).isEqualTo("b");
    assertThat(body(s, "/exact/more", Map.of())).isEqualTo("a");
    assertThat(body(s, "/hdr", Map.of("x-pick", "c"))).isEqualTo("c");
    assertThat(body(s, "/hdr", Map.of("x-pick", "z"))).isEqualTo("a");
    assertThat(body(s, "/re/42", Map.of())).isEqualTo("b");
    Map<String, Integer> split = new HashMap<>();
    for (int i = 0; i < 40; i++) {
      split.merge(body(s, "/split", Map.of()), 1, Integer::sum);
    }
    assertThat(split).containsEntry("a", 30).containsEntry("b", 10);
  }

  @Test
  void retriesConnectFailuresAndTimesOut() throws Exception {
    Setup s = serve();
    for (int i = 0; i < 6; i++) {
      assertThat(body(s, "/retry", Map.of())).isEqualTo("b");
    }
    assertThat(s.admin().stat("cluster.half-dead.upstream_rq_retry")).isGreaterThanOrEqualTo(3);
    HttpResponse<String> dead = send(s, "/noretry", Map.of());
    assertThat(dead.statusCode()).isEqualTo(503);
    assertThat(dead.body()).startsWith("upstream connect error or disconnect/reset before headers");
    s.a().delayMs(2000);
    HttpResponse<String> slow = send(s, "/slow", Map.of());
    assertThat(slow.statusCode()).isEqualTo(504);
    assertThat(slow.body()).isEqualTo("upstream request timeout");
  }

  @Test
  void activeHealthChecksMarkHostsAndSteerTraffic() throws Exception {
    Setup s = serve();
    s.c().healthStatus(503);
    await().atMost(Duration.ofSeconds(20)).until(() -> failedHosts(s.admin(), "checked") == 1);
    for (int i = 0; i < 6; i++) {
      assertThat(body(s, "/hc", Map.of())).isEqualTo("a");
    }
    s.c().healthStatus(200);
    await().atMost(Duration.ofSeconds(20)).until(() -> failedHosts(s.admin(), "checked") == 0);
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < 6; i++) {
      seen.merge(body(s, "/hc", Map.of()), 1, Integer::sum);
    }
    assertThat(seen).containsEntry("a", 3).containsEntry("c", 3);
  }

  @Test
  void tcpProxyCopiesBytesExactly() throws Exception {
    Setup s = serve();
    byte[] payload = new byte[300_000];
    ThreadLocalRandom.current().nextBytes(payload);
    try (Socket socket = new Socket("127.0.0.1", s.tcpPort())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      Thread writer =
          new Thread(
              () -> {
                try {
                  out.write(payload);
                  socket.shutdownOutput();
                } catch (java.io.IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              });
      writer.start();
      InputStream in = socket.getInputStream();
      byte[] back = in.readAllBytes();
      writer.join();
      assertThat(back).isEqualTo(payload);
    }
    assertThat(s.echo().connections()).isEqualTo(1);
  }

  @Test
  void signalsTermExitsCleanlyHupIsIgnoredUsr1ReopensTheLog() throws Exception {
    Setup s = serve();
    s.process().signal("HUP");
    Thread.sleep(300);
    assertThat(s.process().isAlive()).isTrue();
    assertThat(status(s, "/", Map.of())).isEqualTo(200);
    Path rotated = s.logPath().resolveSibling("envoy.log.1");
    Files.move(s.logPath(), rotated);
    s.process().signal("USR1");
    s.process().signal("HUP"); // logs a line, which must land in the reopened file
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> Files.exists(s.logPath()) && Files.readString(s.logPath()).contains("SIGHUP"));
    s.process().signal("TERM");
    assertThat(s.process().waitFor(Duration.ofSeconds(20))).isZero();
    assertThat(Files.readString(s.logPath())).contains("caught SIGTERM");
    assertThat(canConnect(s.httpPort())).as("listeners closed at once").isFalse();
  }

  @Test
  void versionFlagPrintsEnvoysLineWithTheInjectedRelease() throws Exception {
    SimulatorProcess.Result dflt =
        SimulatorProcess.run(java.util.List.of("--version"), env(), Duration.ofSeconds(30));
    assertThat(dflt.exitCode()).isZero();
    assertThat(dflt.output())
        .isEqualTo(
            "\nenvoy  version: " + BuildInfo.REVISION + "/1.36.2/Clean/RELEASE/BoringSSL\n\n");
    SimulatorProcess.Result old =
        SimulatorProcess.run(
            java.util.List.of("--version"),
            env("ENVOY_SIM_ENVOY_VERSION", "1.29.3"),
            Duration.ofSeconds(30));
    assertThat(old.output())
        .contains("envoy  version: " + BuildInfo.REVISION + "/1.29.3/Clean/RELEASE/BoringSSL");
    Setup s = serve();
    assertThat(s.admin().serverInfo().path("version").asText())
        .endsWith("/1.36.2/Clean/RELEASE/BoringSSL");
    assertThat(
            s.admin()
                .serverInfo()
                .path("node")
                .path("user_agent_build_version")
                .path("version")
                .path("minor_number")
                .asInt())
        .isEqualTo(36);
  }

  /**
   * DrainManagerImpl::drainClose: once the server fails health checks every response on a DEFAULT
   * drain-type listener closes its connection; a MODIFY_ONLY listener carries on.
   */
  @Test
  void healthCheckFailClosesConnectionsOnDefaultListenersOnly() throws Exception {
    HttpBackend a = closeLater(HttpBackend.start("a"));
    int adminPort = Ports.free();
    int ingress = Ports.free();
    int egress = Ports.free();
    String egressListener =
        Configs.httpListener("egress", egress, Configs.inlineRoutes(Configs.prefixRoute("/", "a")))
            .replaceFirst("\\{", "{\"drain_type\": \"MODIFY_ONLY\", ");
    Path config =
        write(
            "drain-types.json",
            Configs.staticBootstrap(
                adminPort,
                Configs.httpListener(
                        "web", ingress, Configs.inlineRoutes(Configs.prefixRoute("/", "a")))
                    + ", "
                    + egressListener,
                Configs.staticCluster(
                    "a", "STATIC", "", Configs.endpoint("127.0.0.1", a.port(), 1))));
    SimulatorProcess p = start(config, 0, 600, 900, env());
    AdminClient admin = new AdminClient(adminPort);
    awaitLive(admin, 0, p);
    try (Socket in = new Socket("127.0.0.1", ingress);
        Socket out = new Socket("127.0.0.1", egress)) {
      in.setSoTimeout(10_000);
      out.setSoTimeout(10_000);
      assertThat(exchange(in)).doesNotContain("connection: close");
      assertThat(exchange(out)).doesNotContain("connection: close");
      assertThat(admin.post("/healthcheck/fail").status()).isEqualTo(200);
      assertThat(exchange(in)).contains("connection: close");
      assertThat(in.getInputStream().read()).as("closed after the response").isEqualTo(-1);
      assertThat(exchange(out)).doesNotContain("connection: close");
      assertThat(exchange(out))
          .as("the MODIFY_ONLY connection lives on")
          .doesNotContain("connection: close");
    }
    assertThat(admin.post("/healthcheck/ok").status()).isEqualTo(200);
    try (Socket in = new Socket("127.0.0.1", ingress)) {
      in.setSoTimeout(10_000);
      assertThat(exchange(in)).doesNotContain("connection: close");
    }
  }

  @Test
  void drainingListenersAnswerWithConnectionClose() throws Exception {
    Setup s = serve("--drain-strategy", "immediate");
    try (Socket socket = new Socket("127.0.0.1", s.httpPort())) {
      socket.setSoTimeout(10_000);
      assertThat(exchange(socket)).doesNotContain("connection: close");
      assertThat(s.admin().post("/drain_listeners?graceful").status()).isEqualTo(200);
      assertThat(exchange(socket)).contains("connection: close");
      assertThat(socket.getInputStream().read()).as("closed after the response").isEqualTo(-1);
    }
  }

  private static String exchange(Socket socket) throws java.io.IOException {
    socket
        .getOutputStream()
        .write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
    InputStream in = socket.getInputStream();
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int c = in.read();
      if (c < 0) {
        throw new java.io.EOFException(head.toString());
      }
      head.append((char) c);
    }
    String lower = head.toString().toLowerCase(java.util.Locale.ROOT);
    int at = lower.indexOf("content-length:");
    int length = Integer.parseInt(lower.substring(at + 15, lower.indexOf("\r\n", at)).trim());
    in.readNBytes(length);
    return lower;
  }

  private static boolean canConnect(int port) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      return socket.isConnected();
    } catch (java.io.IOException e) {
      return false;
    }
  }

  private static long failedHosts(AdminClient admin, String cluster) throws Exception {
    for (JsonNode c : admin.json("/clusters?format=json").path("cluster_statuses")) {
      if (c.path("name").asText().equals(cluster)) {
        long n = 0;
        for (JsonNode h : c.path("host_statuses")) {
          if (h.path("health_status").path("failed_active_health_check").asBoolean()) {
            n++;
          }
        }
        return n;
      }
    }
    return -1;
  }

  private int status(Setup s, String path, Map<String, String> headers) throws Exception {
    return send(s, path, headers).statusCode();
  }

  private String body(Setup s, String path, Map<String, String> headers) throws Exception {
    HttpResponse<String> r = send(s, path, headers);
    assertThat(r.statusCode()).as("%s -> %s", path, r.body()).isEqualTo(200);
    return r.body();
  }

  private HttpResponse<String> send(Setup s, String path, Map<String, String> headers)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.httpPort() + path))
            .timeout(Duration.ofSeconds(10));
    headers.forEach(b::header);
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
  }
}
