package dev.envoyagent.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.envoyagent.testkit.AdminClient;
import dev.envoyagent.testkit.HttpBackend;
import dev.envoyagent.testkit.Ports;
import dev.envoyagent.testkit.SimulatorProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** "files" delivery: LDS/CDS/RDS/EDS from DiscoveryResponse files, applied on rename only. */
class FileConfigIT extends ItSupport {
  private final HttpClient http = HttpClient.newHttpClient();
  private HttpBackend a;
  private HttpBackend b;
  private AdminClient admin;
  private int httpPort;
  private Path lds;
  private Path cds;
  private Path rds;
  private Path eds;

  @BeforeEach
  void setUp() throws Exception {
    a = closeLater(HttpBackend.start("a"));
    b = closeLater(HttpBackend.start("b"));
    int adminPort = Ports.free();
    httpPort = Ports.free();
    admin = new AdminClient(adminPort);
    Path xds = dir.resolve("xds");
    lds = xds.resolve("lds.json");
    cds = xds.resolve("cds.json");
    rds = xds.resolve("rds/web.json");
    eds = xds.resolve("eds/svc.json");
    writeAtomically(eds, edsFile("v1", a.port()));
    writeAtomically(rds, rdsFile("v1", Configs.prefixRoute("/", "svc")));
    writeAtomically(
        cds,
        Configs.discovery("v1", Configs.clusterType(), Configs.edsCluster("svc", eds.toString())));
    writeAtomically(
        lds,
        ldsFile("v1", Configs.httpListener("web", httpPort, Configs.rds(rds.toString(), "web"))));
    Path bootstrap =
        write("bootstrap.json", Configs.filesBootstrap(adminPort, lds.toString(), cds.toString()));
    SimulatorProcess p = start(bootstrap, 0, 1, 2, env());
    awaitLive(admin, 0, p);
  }

  @Test
  void appliesFilesRenamedIntoPlaceAndIgnoresInPlaceWrites() throws Exception {
    assertThat(body("/")).isEqualTo("a");
    assertThat(versions()).isEqualTo("lds=v1 cds=v1 rds=v1 eds=v1");
    assertThat(admin.stat("listener_manager.lds.update_success")).isEqualTo(1);
    assertThat(admin.stat("cluster_manager.cds.update_success")).isEqualTo(1);
    assertThat(admin.stat("http.web.rds.web.update_success")).isEqualTo(1);
    assertThat(admin.stat("cluster.svc.update_success")).isEqualTo(1);

    Files.writeString(eds, edsFile("v2", b.port())); // in place: Envoy does not notice
    Thread.sleep(1500);
    assertThat(body("/")).isEqualTo("a");
    assertThat(admin.stat("cluster.svc.update_success")).isEqualTo(1);

    writeAtomically(eds, edsFile("v3", b.port()));
    await().atMost(Duration.ofSeconds(10)).until(() -> body("/").equals("b"));
    assertThat(admin.stat("cluster.svc.update_success")).isEqualTo(2);

    // A new cluster and a route to it: RDS first, then CDS (the agent's order); Envoy does not
    // check RDS clusters.
    writeAtomically(
        rds,
        rdsFile(
            "v2", Configs.prefixRoute("/other", "other") + ", " + Configs.prefixRoute("/", "svc")));
    writeAtomically(
        cds,
        Configs.discovery(
            "v2",
            Configs.clusterType(),
            Configs.edsCluster("svc", eds.toString()),
            Configs.staticCluster(
                "other", "STATIC", "", Configs.endpoint("127.0.0.1", a.port(), 1))));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> versions().equals("lds=v1 cds=v2 rds=v2 eds=v3"));
    assertThat(body("/other")).isEqualTo("a");
    assertThat(body("/")).isEqualTo("b");

    int second = Ports.free();
    writeAtomically(
        lds,
        ldsFile(
            "v2",
            Configs.httpListener("web", httpPort, Configs.rds(rds.toString(), "web")),
            Configs.httpListener(
                "second", second, Configs.inlineRoutes(Configs.prefixRoute("/", "other")))));
    await().atMost(Duration.ofSeconds(10)).until(() -> versions().startsWith("lds=v2"));
    assertThat(get(second, "/").body()).isEqualTo("a");
    assertThat(admin.stat("listener_manager.lds.update_success")).isEqualTo(2);
    assertThat(admin.stat("listener_manager.lds.update_rejected")).isZero();
  }

  /**
   * FilesystemSubscriptionImpl::refresh: a file that does not parse counts update_failure; a parsed
   * one whose resources are refused counts update_rejected; version_text moves on success only.
   */
  @Test
  void rejectsBadFilesAndKeepsServingTheOldConfig() throws Exception {
    // An unknown field is only a warning for xDS files; the EDS cluster without eds_config is then
    // refused.
    writeAtomically(
        cds,
        Configs.discovery(
            "v2",
            Configs.clusterType(),
            "{\"name\": \"svc\", \"type\": \"EDS\", \"no_such_field\": 1}"));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> admin.stat("cluster_manager.cds.update_rejected") == 1);
    assertThat(admin.stat("server.dynamic_unknown_fields")).isEqualTo(1);

    writeAtomically(
        eds,
        Configs.discovery(
            "v2",
            Configs.endpointType(),
            Configs.loadAssignment("wrong-name", Configs.endpoint("127.0.0.1", b.port(), 1))));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> admin.stat("cluster.svc.update_rejected") == 1);

    writeAtomically(rds, "{ not json");
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> admin.stat("http.web.rds.web.update_failure") == 1);
    assertThat(admin.stat("http.web.rds.web.update_rejected")).isZero();

    writeAtomically(
        lds,
        ldsFile(
            "v2",
            Configs.httpListener("web", httpPort, Configs.rds(rds.toString(), "web"))
                .replace("\"port_value\": " + httpPort, "\"port_value\": \"not-a-port\"")));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> admin.stat("listener_manager.lds.update_failure") == 1);
    assertThat(admin.stat("listener_manager.lds.update_rejected")).isZero();

    assertThat(versions()).isEqualTo("lds=v1 cds=v1 rds=v1 eds=v1");
    assertThat(body("/")).isEqualTo("a");
    assertThat(admin.stat("listener_manager.lds.update_success")).isEqualTo(1);
    assertThat(admin.stat("cluster_manager.cds.update_success")).isEqualTo(1);
    assertThat(admin.stat("listener_manager.lds.update_attempt")).isEqualTo(2);
  }

  private String versions() throws Exception {
    JsonNode dump = admin.json("/config_dump?include_eds");
    String l = "";
    String c = "";
    String r = "";
    String e = "";
    for (JsonNode cfg : dump.path("configs")) {
      String type = cfg.path("@type").asText();
      if (type.endsWith("ListenersConfigDump")) {
        l = cfg.path("dynamic_listeners").get(0).path("active_state").path("version_info").asText();
      } else if (type.endsWith("ClustersConfigDump")) {
        c = cfg.path("dynamic_active_clusters").get(0).path("version_info").asText();
      } else if (type.endsWith("RoutesConfigDump")) {
        r = cfg.path("dynamic_route_configs").get(0).path("version_info").asText();
      } else if (type.endsWith("EndpointsConfigDump")) {
        // ConfigDumpHandler::dumpEndpointConfigs never fills version_info: EDS versions are in the
        // stats.
        boolean found = false;
        for (JsonNode d : cfg.path("dynamic_endpoint_configs")) {
          assertThat(d.has("version_info")).isFalse();
          found |= d.path("endpoint_config").path("cluster_name").asText().equals("svc");
        }
        assertThat(found).isTrue();
        e = textStat("cluster.svc.version_text");
      }
    }
    assertThat(textStat("listener_manager.lds.version_text")).isEqualTo(l);
    assertThat(textStat("cluster_manager.cds.version_text")).isEqualTo(c);
    assertThat(textStat("http.web.rds.web.version_text")).isEqualTo(r);
    return "lds=" + l + " cds=" + c + " rds=" + r + " eds=" + e;
  }

  private String textStat(String name) throws Exception {
    String filter =
        java.net.URLEncoder.encode(
            "^" + name.replace(".", "\\.") + "$", java.nio.charset.StandardCharsets.UTF_8);
    JsonNode stats = admin.json("/stats?format=json&filter=" + filter).path("stats");
    assertThat(stats).hasSize(1);
    assertThat(stats.get(0).path("value").isTextual()).isTrue();
    return stats.get(0).path("value").asText();
  }

  private static String edsFile(String version, int port) {
    return Configs.discovery(
        version,
        Configs.endpointType(),
        Configs.loadAssignment("svc", Configs.endpoint("127.0.0.1", port, 1)));
  }

  private static String rdsFile(String version, String routes) {
    return Configs.discovery(
        version, Configs.routeType(), Configs.routeConfiguration("web", routes));
  }

  private static String ldsFile(String version, String... listeners) {
    return Configs.discovery(version, Configs.listenerType(), listeners);
  }

  private String body(String path) throws Exception {
    HttpResponse<String> r = get(httpPort, path);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return r.body();
  }

  private HttpResponse<String> get(int port, String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(10))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
