package dev.envoyagent.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.envoyagent.testkit.AdminClient;
import dev.envoyagent.testkit.HttpBackend;
import dev.envoyagent.testkit.Ports;
import dev.envoyagent.testkit.SimulatorProcess;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The configuration side of the simulator against Envoy's source: one test per behaviour of
 * docs/envoy-simulator.md.
 */
class XdsConformanceIT extends ItSupport {
  private static final Duration T = Duration.ofSeconds(15);
  private final HttpClient http = HttpClient.newHttpClient();

  private String tcpListener(String name, int port) {
    return Configs.tcpListener(name, port, "svc");
  }

  private static String lds(String version, String... listeners) {
    return Configs.discovery(version, Configs.listenerType(), listeners);
  }

  private static String cds(String version, String... clusters) {
    return Configs.discovery(version, Configs.clusterType(), clusters);
  }

  private static String staticCluster(String name, String address, int port) {
    return Configs.staticCluster(name, "STATIC", "", Configs.endpoint(address, port, 1));
  }

  /**
   * LdsApiImpl/CdsApiHelper::onConfigUpdate: good resources apply, bad ones are rejected;
   * error_state for listeners.
   */
  @Test
  void partialUpdatesApplyTheGoodResourcesAndReportTheBadOnes() throws Exception {
    HttpBackend a = closeLater(HttpBackend.start("a"));
    int adminPort = Ports.free();
    int p1 = Ports.free();
    int p2 = Ports.free();
    Path ldsFile = dir.resolve("xds/lds.json");
    Path cdsFile = dir.resolve("xds/cds.json");
    Path edsFile = dir.resolve("xds/eds/foo.json");
    writeAtomically(
        edsFile,
        Configs.discovery(
            "e1",
            Configs.endpointType(),
            Configs.loadAssignment("foo", Configs.endpoint("127.0.0.1", a.port(), 1))));
    writeAtomically(
        cdsFile,
        cds(
            "v1",
            staticCluster("svc", "127.0.0.1", a.port()),
            Configs.edsCluster("foo", edsFile.toString())));
    writeAtomically(ldsFile, lds("v1", tcpListener("one", p1)));
    SimulatorProcess p =
        start(
            write(
                "bootstrap.json",
                Configs.filesBootstrap(adminPort, ldsFile.toString(), cdsFile.toString())),
            0,
            1,
            2,
            env());
    AdminClient admin = new AdminClient(adminPort);
    awaitLive(admin, 0, p);

    writeAtomically(
        ldsFile,
        lds("v2", tcpListener("one", p1), tcpListener("two", p2), tcpListener("three", p1)));
    await().atMost(T).until(() -> admin.stat("listener_manager.lds.update_rejected") == 1);
    assertThat(connects(p2)).isTrue(); // "two" applied
    JsonNode listeners = dump(admin, "ListenersConfigDump");
    assertThat(listeners.path("version_info").asText())
        .isEqualTo("v2"); // any_applied moves the dump's version
    assertThat(text(admin, "listener_manager.lds.version_text"))
        .isEqualTo("v1"); // the subscription's does not
    JsonNode three = null;
    JsonNode unnamed = null;
    for (JsonNode l : listeners.path("dynamic_listeners")) {
      if (l.path("name").asText().equals("three")) {
        three = l;
      } else if (!l.has("name") && l.has("error_state")) {
        unnamed = l;
      }
    }
    assertThat(three).as(listeners.toString()).isNotNull();
    assertThat(three.has("active_state")).isFalse();
    assertThat(three.path("error_state").path("details").asText())
        .contains("has duplicate address");
    assertThat(three.path("error_state").path("failed_configuration").path("name").asText())
        .isEqualTo("three");
    assertThat(three.path("error_state").has("last_update_attempt")).isTrue();
    assertThat(unnamed).as(listeners.toString()).isNotNull();
    assertThat(unnamed.path("error_state").path("details").asText())
        .contains("has duplicate address");
    assertThat(p.log())
        .contains("Filesystem config update rejected: Error adding/updating listener(s) three: ");

    writeAtomically(
        cdsFile,
        cds(
            "v2",
            staticCluster("svc", "127.0.0.1", a.port()),
            Configs.edsCluster("foo", edsFile.toString()),
            staticCluster("good", "127.0.0.1", a.port()),
            staticCluster("bad", "not-an-ip", a.port())));
    await().atMost(T).until(() -> admin.stat("cluster_manager.cds.update_rejected") == 1);
    JsonNode clusters = dump(admin, "ClustersConfigDump");
    assertThat(clusters.path("version_info").asText()).isEqualTo("v2");
    assertThat(text(admin, "cluster_manager.cds.version_text")).isEqualTo("v1");
    assertThat(clusters.toString())
        .contains("\"good\"")
        .doesNotContain("\"bad\"")
        .doesNotContain("error_state");
    assertThat(p.log())
        .contains("Error adding/updating cluster(s) bad: malformed IP address: not-an-ip");

    // The JSON the agent reads: text readouts as strings first, then numbers.
    String filter =
        "^(listener_manager\\.lds\\.|cluster\\.foo\\.)(version_text|update_rejected|update_failure)$";
    JsonNode stats =
        admin
            .json("/stats?format=json&filter=" + URLEncoder.encode(filter, StandardCharsets.UTF_8))
            .path("stats");
    assertThat(stats.toString())
        .isEqualTo(
            "[{\"name\":\"cluster.foo.version_text\",\"value\":\"e1\"},"
                + "{\"name\":\"listener_manager.lds.version_text\",\"value\":\"v1\"},"
                + "{\"name\":\"cluster.foo.update_failure\",\"value\":0},"
                + "{\"name\":\"cluster.foo.update_rejected\",\"value\":0},"
                + "{\"name\":\"listener_manager.lds.update_failure\",\"value\":0},"
                + "{\"name\":\"listener_manager.lds.update_rejected\",\"value\":1}]");
    assertThat(admin.get("/stats?filter=version_text").body())
        .contains("cluster_manager.cds.version_text: \"v1\"\n");
    assertThat(
            admin.get("/stats?filter=" + URLEncoder.encode("(", StandardCharsets.UTF_8)).status())
        .isEqualTo(400);
    assertThat(admin.get("/stats?filter=cds.version$").body())
        .isEqualTo(
            "cluster_manager.cds.version: " + Long.toUnsignedString(XxHash64.hash("v1")) + "\n");
    assertThat(admin.get("/stats/prometheus").body()).doesNotContain("text_value");
    assertThat(admin.get("/stats/prometheus?text_readouts").body())
        .contains("envoy_cluster_foo_version_text{text_value=\"e1\"} 1");

    // EdsClusterImpl::onConfigUpdate: no resource at all counts update_empty (and is a success).
    writeAtomically(edsFile, Configs.discovery("e2", Configs.endpointType()));
    await().atMost(T).until(() -> admin.stat("cluster.foo.update_empty") == 1);
    assertThat(text(admin, "cluster.foo.version_text")).isEqualTo("e2");

    // A listener whose address another process holds is refused like any bad resource, with the
    // bind error Envoy's ListenSocketImpl::bind throws (SocketBindException).
    try (java.net.ServerSocket taken =
        new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      int held = taken.getLocalPort();
      writeAtomically(
          ldsFile,
          lds("v3", tcpListener("one", p1), tcpListener("two", p2), tcpListener("four", held)));
      await().atMost(T).until(() -> admin.stat("listener_manager.lds.update_rejected") == 2);
      assertThat(connects(p2)).isTrue();
      JsonNode four = null;
      for (JsonNode l : dump(admin, "ListenersConfigDump").path("dynamic_listeners")) {
        if (l.path("name").asText().equals("four")) {
          four = l;
        }
      }
      assertThat(four).isNotNull();
      assertThat(four.path("error_state").path("details").asText())
          .contains("cannot bind '127.0.0.1:" + held + "': Address already in use");
    }
  }

  /**
   * Filesystem::WatcherImpl: one inotify instance per subscription; none left: RELEASE_ASSERT,
   * status 134.
   */
  @Test
  void oneInotifyInstancePerSubscriptionAndAbortWhenNoneIsLeft() throws Exception {
    HttpBackend a = closeLater(HttpBackend.start("a"));
    int adminPort = Ports.free();
    Path ldsFile = dir.resolve("xds/lds.json");
    Path cdsFile = dir.resolve("xds/cds.json");
    Path edsFile = dir.resolve("xds/eds/foo.json");
    Path rdsFile = dir.resolve("xds/rds/web.json");
    writeAtomically(
        edsFile,
        Configs.discovery(
            "1",
            Configs.endpointType(),
            Configs.loadAssignment("foo", Configs.endpoint("127.0.0.1", a.port(), 1))));
    writeAtomically(
        rdsFile,
        Configs.discovery(
            "1",
            Configs.routeType(),
            Configs.routeConfiguration("web", Configs.prefixRoute("/", "foo"))));
    writeAtomically(cdsFile, cds("1", Configs.edsCluster("foo", edsFile.toString())));
    writeAtomically(
        ldsFile,
        lds(
            "1",
            Configs.httpListener("web", Ports.free(), Configs.rds(rdsFile.toString(), "web"))));
    Path bootstrap =
        write(
            "bootstrap.json",
            Configs.filesBootstrap(adminPort, ldsFile.toString(), cdsFile.toString()));
    SimulatorProcess p = start(bootstrap, 0, 1, 2, env());
    AdminClient admin = new AdminClient(adminPort);
    awaitLive(admin, 0, p);
    assertThat(inotifyFds(p.pid())).isEqualTo(4); // LDS, CDS, EDS foo, RDS web

    Files.writeString(
        edsFile.resolveSibling("bar.json"),
        Configs.discovery(
            "1",
            Configs.endpointType(),
            Configs.loadAssignment("bar", Configs.endpoint("127.0.0.1", a.port(), 1))));
    writeAtomically(
        cdsFile,
        cds(
            "2",
            Configs.edsCluster("foo", edsFile.toString()),
            Configs.edsCluster("bar", edsFile.toString().replace("foo.json", "bar.json"))));
    await().atMost(T).until(() -> inotifyFds(p.pid()) == 5);
    p.close();

    int held = FileWatcher.countUserInotifyInstances();
    SimulatorProcess.Result r =
        SimulatorProcess.run(
            List.of("-c", bootstrap.toString(), "--base-id", String.valueOf(baseId + 1)),
            env("ENVOY_SIM_INOTIFY_MAX_USER_INSTANCES", String.valueOf(held + 1)),
            Duration.ofSeconds(60));
    assertThat(r.exitCode()).as(r.output()).isEqualTo(134);
    assertThat(r.output())
        .contains(
            "[critical][assert] [source/common/filesystem/inotify/watcher_impl.cc:23] "
                + "assert failure: inotify_fd_ >= 0. Details: Consider increasing value of user.max_inotify_watches "
                + "via sysctl");
  }

  /**
   * MessageUtil::loadFromJson with the validation visitors of server.cc;
   * Config::Utility::checkLocalInfo.
   */
  @Test
  void unknownFieldsFollowTheValidationVisitorsAndSubscriptionsNeedANode() throws Exception {
    int adminPort = Ports.free();
    Path ldsFile = dir.resolve("xds/lds.json");
    Path cdsFile = dir.resolve("xds/cds.json");
    writeAtomically(cdsFile, cds("1", staticCluster("svc", "127.0.0.1", 9)));
    writeAtomically(ldsFile, lds("1", tcpListener("one", Ports.free())));
    String files = Configs.filesBootstrap(adminPort, ldsFile.toString(), cdsFile.toString());

    Path unknownStatic =
        write("unknown.json", files.replaceFirst("\\{", "{\"no_such_bootstrap_field\": 1, "));
    SimulatorProcess.Result r =
        SimulatorProcess.run(
            List.of("-c", unknownStatic.toString(), "--base-id", String.valueOf(baseId)),
            env(),
            Duration.ofSeconds(60));
    assertThat(r.exitCode()).as(r.output()).isEqualTo(1);
    assertThat(r.output())
        .contains("error initializing configuration")
        .contains("has unknown fields");

    SimulatorProcess p =
        start(
            unknownStatic,
            0,
            1,
            2,
            env(),
            "--allow-unknown-static-fields",
            "--reject-unknown-dynamic-fields");
    AdminClient admin = new AdminClient(adminPort);
    awaitLive(admin, 0, p);
    assertThat(admin.stat("server.static_unknown_fields")).isEqualTo(1);
    writeAtomically(
        ldsFile,
        lds("2", tcpListener("one", Ports.free()).replace("\"name\"", "\"nope\": 1, \"name\"")));
    await().atMost(T).until(() -> admin.stat("listener_manager.lds.update_rejected") == 1);
    assertThat(admin.stat("listener_manager.lds.update_failure")).isZero();
    p.close();

    SimulatorProcess q = start(write("b2.json", files), 0, 1, 2, env());
    awaitLive(admin, 0, q);
    writeAtomically(
        ldsFile,
        lds("3", tcpListener("one", Ports.free()).replace("\"name\"", "\"nope\": 1, \"name\"")));
    await().atMost(T).until(() -> "3".equals(text(admin, "listener_manager.lds.version_text")));
    assertThat(admin.stat("server.dynamic_unknown_fields")).isEqualTo(1);
    assertThat(q.log())
        .contains("Unknown field: type envoy.service.discovery.v3.DiscoveryResponse reason");
    q.close();

    Path noNode = write("nonode.json", files.replace(Configs.node() + ", ", ""));
    r =
        SimulatorProcess.run(
            List.of("-c", noNode.toString(), "--base-id", String.valueOf(baseId)),
            env(),
            Duration.ofSeconds(60));
    assertThat(r.exitCode()).as(r.output()).isEqualTo(1);
    assertThat(r.output())
        .contains(
            ": node 'id' and 'cluster' are required. Set it either in 'node' config or "
                + "via --service-node and --service-cluster options.");
    r =
        SimulatorProcess.run(
            List.of(
                "-c", noNode.toString(), "--base-id", String.valueOf(baseId), "--mode", "validate"),
            env(),
            Duration.ofSeconds(60));
    assertThat(r.exitCode())
        .as("validate creates the CDS API, so the node is checked: %s", r.output())
        .isEqualTo(1);
    assertThat(r.output())
        .contains("type.googleapis.com/envoy.config.cluster.v3.Cluster: node 'id' and 'cluster'");
  }

  /**
   * ClusterManagerImpl::addOrUpdateCluster: a modified cluster warms; traffic stays on the old one
   * until then.
   */
  @Test
  void aModifiedClusterWarmsBeforeReplacingTheOldOne() throws Exception {
    HttpBackend a = closeLater(HttpBackend.start("a"));
    HttpBackend b = closeLater(HttpBackend.start("b"));
    b.delayMs(3000); // the health check path is /slow: the first round takes 3 s
    int adminPort = Ports.free();
    int httpPort = Ports.free();
    Path ldsFile = dir.resolve("xds/lds.json");
    Path cdsFile = dir.resolve("xds/cds.json");
    writeAtomically(cdsFile, cds("1", staticCluster("svc", "127.0.0.1", a.port())));
    writeAtomically(
        ldsFile,
        lds(
            "1",
            Configs.httpListener(
                "web", httpPort, Configs.inlineRoutes(Configs.prefixRoute("/", "svc")))));
    SimulatorProcess p =
        start(
            write(
                "bootstrap.json",
                Configs.filesBootstrap(adminPort, ldsFile.toString(), cdsFile.toString())),
            0,
            1,
            2,
            env());
    AdminClient admin = new AdminClient(adminPort);
    awaitLive(admin, 0, p);
    assertThat(get(httpPort)).isEqualTo("a");

    String hc =
        ", \"health_checks\": [{\"timeout\": \"10s\", \"interval\": \"1s\", \"no_traffic_interval\": \"1s\","
            + " \"unhealthy_threshold\": 1, \"healthy_threshold\": 1, \"http_health_check\": {\"path\": \"/slow\"}}]";
    writeAtomically(
        cdsFile,
        cds(
            "2",
            Configs.staticCluster(
                "svc", "STATIC", hc, Configs.endpoint("127.0.0.1", b.port(), 1))));
    await().atMost(T).until(() -> admin.stat("cluster_manager.warming_clusters") == 1);
    assertThat(
            dump(admin, "ClustersConfigDump")
                .path("dynamic_warming_clusters")
                .get(0)
                .path("cluster")
                .path("name")
                .asText())
        .isEqualTo("svc");
    assertThat(get(httpPort)).isEqualTo("a"); // still the old cluster
    await().atMost(T).until(() -> get(httpPort).equals("b"));
    assertThat(admin.stat("cluster_manager.warming_clusters")).isZero();
    assertThat(admin.stat("cluster_manager.cluster_modified")).isEqualTo(1);
  }

  /**
   * WatchedDirectory (source/common/config/watched_directory.cc): any rename into the directory
   * reloads the file.
   */
  @Test
  void watchedDirectoryReloadsOnAnyRenameIntoIt() throws Exception {
    int adminPort = Ports.free();
    Path ldsFile = dir.resolve("xds/lds.json");
    Path cdsFile = dir.resolve("xds/cds.json");
    Path watched = Files.createDirectories(dir.resolve("xds/watch"));
    writeAtomically(cdsFile, cds("1", staticCluster("svc", "127.0.0.1", 9)));
    writeAtomically(ldsFile, lds("1", tcpListener("one", Ports.free())));
    String config =
        Configs.filesBootstrap(adminPort, ldsFile.toString(), cdsFile.toString())
            .replace(
                "{\"path\": \"" + ldsFile + "\"}",
                "{\"path\": \""
                    + ldsFile
                    + "\", \"watched_directory\": {\"path\": \""
                    + watched
                    + "\"}}");
    SimulatorProcess p = start(write("bootstrap.json", config), 0, 1, 2, env());
    AdminClient admin = new AdminClient(adminPort);
    awaitLive(admin, 0, p);
    writeAtomically(
        ldsFile, lds("2", tcpListener("one", Ports.free()))); // not in the watched directory
    Thread.sleep(1000);
    assertThat(text(admin, "listener_manager.lds.version_text")).isEqualTo("1");
    writeAtomically(watched.resolve("..data"), "swap");
    await().atMost(T).until(() -> "2".equals(text(admin, "listener_manager.lds.version_text")));
    assertThat(inotifyFds(p.pid())).isEqualTo(2);
  }

  /**
   * ENVOY_SIM_HOSTS_FILE answers STRICT_DNS/LOGICAL_DNS lookups; a name it lacks resolves to
   * nothing.
   */
  @Test
  void dnsClustersResolveFromAHostsFileOffTheDispatcher() throws Exception {
    HttpBackend a = closeLater(HttpBackend.start("a"));
    int adminPort = Ports.free();
    int httpPort = Ports.free();
    Path hosts = write("hosts", "127.0.0.1 backend.test\n");
    String routes =
        Configs.prefixRoute("/missing", "missing") + ", " + Configs.prefixRoute("/", "dns");
    String config =
        Configs.staticBootstrap(
            adminPort,
            Configs.httpListener("web", httpPort, Configs.inlineRoutes(routes)),
            Configs.staticCluster(
                    "dns", "STRICT_DNS", "", Configs.endpoint("backend.test", a.port(), 1))
                + ", "
                + Configs.staticCluster(
                    "missing", "LOGICAL_DNS", "", Configs.endpoint("nowhere.test", 1, 1)));
    SimulatorProcess p =
        start(
            write("bootstrap.json", config),
            0,
            1,
            2,
            env("ENVOY_SIM_HOSTS_FILE", hosts.toString()));
    AdminClient admin = new AdminClient(adminPort);
    awaitLive(admin, 0, p);
    assertThat(get(httpPort)).isEqualTo("a");
    HttpResponse<String> missing =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/missing"))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(missing.statusCode()).isEqualTo(503);
    assertThat(admin.stat("cluster.missing.membership_total")).isZero();
  }

  private String get(int port) throws IOException, InterruptedException {
    return http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/"))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  private static boolean connects(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static JsonNode dump(AdminClient admin, String type) throws IOException {
    for (JsonNode c : admin.json("/config_dump").path("configs")) {
      if (c.path("@type").asText().endsWith(type)) {
        return c;
      }
    }
    throw new AssertionError("no " + type);
  }

  private static String text(AdminClient admin, String name) throws IOException {
    for (JsonNode s : admin.json("/stats?format=json&type=TextReadouts").path("stats")) {
      if (s.path("name").asText().equals(name)) {
        return s.path("value").asText();
      }
    }
    return null;
  }

  /** {@code anon_inode:inotify} links in /proc/PID/fd: the process's inotify instances. */
  static int inotifyFds(long pid) throws IOException {
    int n = 0;
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/" + pid + "/fd"))) {
      for (Path fd : fds) {
        try {
          if (Files.readSymbolicLink(fd).toString().equals("anon_inode:inotify")) {
            n++;
          }
        } catch (IOException e) {
          // closed meanwhile
        }
      }
    }
    return n;
  }
}
