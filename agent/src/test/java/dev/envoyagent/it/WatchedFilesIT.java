package dev.envoyagent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.envoyagent.testkit.HttpBackend;
import dev.envoyagent.testkit.LoadGenerator;
import dev.envoyagent.testkit.Ports;
import dev.envoyagent.testkit.TcpEchoBackend;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Files delivery as a real Envoy takes it (issue #13): a 20-service mesh (HTTP with weighted
 * routes, gRPC, TCP, TCP to a DNS name resolved from a hosts file) takes 200 endpoint changes
 * through watched files, each confirmed by the agent from Envoy's subscription stats, with no
 * rollback and no restart, and Envoy holds one inotify instance per file subscription throughout.
 */
class WatchedFilesIT extends AgentItSupport {

  static final int CHANGES = 200;
  static final int API_SERVICES = 15;
  static final String DB_NAME = "db.mesh.test";

  @Test
  void aTwentyServiceMeshTakesTwoHundredEndpointChangesConfirmedFromStatsWithoutRestarts()
      throws Exception {
    web = closeLater(HttpBackend.start("web"));
    web2 = closeLater(HttpBackend.start("web2"));
    echo = closeLater(TcpEchoBackend.start());
    AgentHarness agent =
        closeLater(
            AgentHarness.create(
                "watched-files", AgentHarness.Options.files().withRestartLimits(500, 0)));
    Path hosts = agent.dir.resolve("hosts");
    Files.writeString(hosts, "127.0.0.1 " + DB_NAME + "\n");
    agent.faults(Map.of("ENVOY_SIM_HOSTS_FILE", hosts.toString()));
    Mesh mesh = new Mesh(agent.httpPort, agent.tcpPort);
    agent.rawRoutes(mesh.routes("1", 1, false));
    agent.startAgent();
    awaitServing(agent, "1", 90);
    long envoyPid = agent.statusEpochs().get(0)[1];
    int subscriptions = watchedFiles(agent);
    assertThat(subscriptions)
        .as("LDS, CDS, 18 RDS (HTTP, gRPC), 19 EDS (all but the DNS service)")
        .isEqualTo(39);
    assertThat(inotifyInstances(envoyPid))
        .as("one inotify instance per file subscription")
        .isEqualTo(subscriptions);
    assertThat(tcpExchange(mesh.dbPort)).as("TCP to a DNS name through Envoy").isEqualTo("ping");

    LoadGenerator load = load(agent, 1, 1);
    long t0 = System.nanoTime();
    long slowestMs = 0;
    int mostInotify = 0;
    for (int i = 2; i < CHANGES + 2; i++) {
      // Alternate one and two endpoints with a weight unique to this change: each one is visible.
      boolean both = i % 2 == 0;
      List<String> expected = new ArrayList<>(List.of(web.port() + ":" + i));
      if (both) {
        expected.add(web2.port() + ":1");
      }
      List<String> sorted = expected.stream().sorted().toList();
      String version = Integer.toString(i);
      long changeStart = System.nanoTime();
      agent.rawRoutes(mesh.routes(version, i, both));
      await("change " + i + " confirmed and visible in Envoy")
          .atMost(AgentHarness.scaled(20))
          .pollInterval(Duration.ofMillis(50))
          .failFast("agent exited", () -> !agent.agent().isAlive())
          .until(
              () ->
                  version.equals(agent.status().path("appliedVersion").asText())
                      && runningEndpoints(agent, "web").stream().sorted().toList().equals(sorted));
      slowestMs = Math.max(slowestMs, (System.nanoTime() - changeStart) / 1_000_000);
      if (i % 50 == 0) {
        mostInotify = Math.max(mostInotify, inotifyInstances(envoyPid));
      }
    }
    long totalMs = (System.nanoTime() - t0) / 1_000_000;
    LoadGenerator.Result result = load.stop();
    LOG.info(
        "{} endpoint changes on a 20-service mesh confirmed from stats in {} ms (slowest {} ms); "
            + "subscriptions={} inotify instances at most {}; hot restarts={} cold restarts={} rejected={} applied={}",
        CHANGES,
        totalMs,
        slowestMs,
        subscriptions,
        mostInotify,
        agent.statusCount("hotRestarts"),
        agent.statusCount("coldRestarts"),
        agent.statusCount("rejectedCount"),
        agent.statusCount("appliedCount"));
    assertNoFailures("200 endpoint changes", result);
    assertThat(mostInotify).isEqualTo(subscriptions);
    assertThat(inotifyInstances(envoyPid)).isEqualTo(subscriptions);
    assertThat(agent.statusCount("hotRestarts")).isZero();
    assertThat(agent.statusCount("coldRestarts")).isZero();
    assertThat(agent.statusCount("rejectedCount")).as("no rollback").isZero();
    assertThat(agent.agentLog())
        .doesNotContain("update refused")
        .doesNotContain("previous files restored");
    assertThat(agent.envoyProcesses()).containsExactly(envoyPid);
    assertThat(
            agent
                .envoyAdmin()
                .serverInfo()
                .path("command_line_options")
                .path("restart_epoch")
                .asInt())
        .isZero();
    assertThat(count(agent.agentLog(), "started Envoy epoch=")).isEqualTo(1);
    assertThat(count(agent.agentLog(), "restart=no"))
        .as("changes applied without restart")
        .isEqualTo(CHANGES);
    assertThat(web2.requests()).as("traffic follows the endpoint changes").isPositive();
    assertThat(agent.envoyAdmin().stat("cluster.web.update_rejected")).isZero();
  }

  @Test
  void aRenderNeedingMoreInotifyInstancesThanTheLimitLeavesIsRefusedNamingTheSysctl()
      throws Exception {
    echo = closeLater(TcpEchoBackend.start());
    AgentHarness agent =
        closeLater(AgentHarness.create("inotify-limit", AgentHarness.Options.files()));
    agent.agentEnv.put("ENVOY_AGENT_INOTIFY_MAX_USER_INSTANCES", "1");
    agent.routes("1", List.of(new AgentHarness.Endpoint(echo.port(), 1)), echo.port());
    agent.startAgent();
    await()
        .atMost(AgentHarness.scaled(30))
        .pollInterval(POLL)
        .failFast("agent exited", () -> !agent.agent().isAlive())
        .until(
            () ->
                agent.status() != null
                    && agent.status().path("lastError").asText().contains("inotify"));
    String error = agent.status().path("lastError").asText();
    LOG.info("inotify limit: {}", error);
    assertThat(error)
        .contains("fs.inotify.max_user_instances=1")
        .contains("need 10 inotify instances");
    assertThat(agent.agentLog()).contains("sysctl -w fs.inotify.max_user_instances=");
    assertThat(agent.envoyProcesses()).as("no Envoy started that would abort").isEmpty();
  }

  /** Watched files in Envoy's config dir: each is one file subscription. */
  private static int watchedFiles(AgentHarness agent) throws IOException {
    Path config = agent.stateDir.resolve("envoy");
    int top =
        (Files.exists(config.resolve("lds.json")) ? 1 : 0)
            + (Files.exists(config.resolve("cds.json")) ? 1 : 0);
    return top + jsonFiles(config.resolve("rds")) + jsonFiles(config.resolve("eds"));
  }

  private static int jsonFiles(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> files = Files.list(dir)) {
      return (int) files.filter(f -> f.getFileName().toString().endsWith(".json")).count();
    }
  }

  /** inotify instances the process holds: its fds linked to anon_inode:inotify. */
  static int inotifyInstances(long pid) throws IOException {
    int count = 0;
    try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      for (Path fd : (Iterable<Path>) fds::iterator) {
        try {
          if (Files.readSymbolicLink(fd).toString().equals("anon_inode:inotify")) {
            count++;
          }
        } catch (IOException e) {
          // closed while listed
        }
      }
    }
    return count;
  }

  private static String tcpExchange(int port) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 2000);
      socket.setSoTimeout(5000);
      OutputStream out = socket.getOutputStream();
      out.write("ping".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      return new String(in.readNBytes(4), StandardCharsets.US_ASCII);
    }
  }

  /** The mesh's routes: the harness's {@code web} and {@code echo}, and 18 more services. */
  private final class Mesh {
    final int webPort;
    final int echoPort;
    final int canaryPort = Ports.free();
    final int grpcPort = Ports.free();
    final int dbPort = Ports.free();
    final List<Integer> apiPorts = new ArrayList<>();

    Mesh(int webPort, int echoPort) {
      this.webPort = webPort;
      this.echoPort = echoPort;
      for (int i = 0; i < API_SERVICES; i++) {
        apiPorts.add(Ports.free());
      }
    }

    String routes(String version, int webWeight, boolean withWeb2) {
      StringBuilder yaml = new StringBuilder("version: \"" + version + "\"\nservices:\n");
      yaml.append("  - name: web\n    protocol: HTTP\n    local_port: ")
          .append(webPort)
          .append("\n")
          .append("    endpoints:\n      - {address: 127.0.0.1, port: ")
          .append(web.port())
          .append(", weight: ")
          .append(webWeight)
          .append("}\n");
      if (withWeb2) {
        yaml.append("      - {address: 127.0.0.1, port: ").append(web2.port()).append("}\n");
      }
      yaml.append("    routes:\n      - match: {prefix: /canary/}\n")
          .append(
              "        targets: [{service: web-canary, weight: 10}, {service: web, weight: 90}]\n")
          .append("      - match: {prefix: /}\n        targets: [{service: web}]\n");
      yaml.append(service("web-canary", "HTTP", canaryPort, "127.0.0.1", web2.port()));
      for (int i = 0; i < API_SERVICES; i++) {
        yaml.append(
            service(
                String.format("api-%02d", i + 1),
                "HTTP",
                apiPorts.get(i),
                "127.0.0.1",
                web.port()));
      }
      yaml.append(service("users-grpc", "GRPC", grpcPort, "127.0.0.1", web.port()));
      yaml.append(service("echo", "TCP", echoPort, "127.0.0.1", echo.port()));
      yaml.append(service("db", "TCP", dbPort, DB_NAME, echo.port()));
      return yaml.toString();
    }

    private static String service(
        String name, String protocol, int port, String address, int endpointPort) {
      return "  - {name: "
          + name
          + ", protocol: "
          + protocol
          + ", local_port: "
          + port
          + ", endpoints: [{address: "
          + address
          + ", port: "
          + endpointPort
          + "}]}\n";
    }
  }
}
