package dev.envoyagent.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.envoyagent.testkit.SimulatorProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code --mode validate}, {@code --hot-restart-version} and flag parsing, against the built
 * launcher.
 */
class ValidateIT extends ItSupport {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  private SimulatorProcess.Result validate(Path config, Map<String, String> env) throws Exception {
    return SimulatorProcess.run(
        List.of("--mode", "validate", "-c", config.toString()), env, TIMEOUT);
  }

  private String staticConfig(String routeCluster, String tcpCluster) {
    return Configs.staticBootstrap(
        9901,
        Configs.httpListener(
                "web", 10000, Configs.inlineRoutes(Configs.prefixRoute("/", routeCluster)))
            + ", "
            + Configs.tcpListener("tcp", 10001, tcpCluster),
        Configs.staticCluster("a", "STRICT_DNS", "", Configs.endpoint("localhost", 8080, 1)));
  }

  @Test
  void acceptsGoodConfigsInBothDeliveryShapesAndYaml() throws Exception {
    SimulatorProcess.Result r = validate(write("good.json", staticConfig("a", "a")), Map.of());
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(r.output()).contains("configuration '").contains("' OK");

    Path xds = dir.resolve("xds");
    Path eds =
        write(
            "xds/eds/a.json",
            Configs.discovery(
                "1",
                Configs.endpointType(),
                Configs.loadAssignment("a", Configs.endpoint("127.0.0.1", 8080, 1))));
    Path rds =
        write(
            "xds/rds/web.json",
            Configs.discovery(
                "1",
                Configs.routeType(),
                Configs.routeConfiguration("web", Configs.prefixRoute("/", "a"))));
    Path cds =
        write(
            "xds/cds.json",
            Configs.discovery("1", Configs.clusterType(), Configs.edsCluster("a", eds.toString())));
    Path lds =
        write(
            "xds/lds.json",
            Configs.discovery(
                "1",
                Configs.listenerType(),
                Configs.httpListener("web", 10000, Configs.rds(rds.toString(), "web"))));
    r =
        validate(
            write("files.json", Configs.filesBootstrap(9901, lds.toString(), cds.toString())),
            Map.of());
    // (valid here because validation reads none of these files: see
    // validateModeReadsNoXdsFileButChecksEverythingStatic)
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(xds).isDirectory();

    r =
        validate(
            write(
                "good.yaml",
                """
                admin: {address: {socket_address: {address: 127.0.0.1, port_value: 9901}}}
                static_resources:
                  clusters:
                  - name: a
                    type: STATIC
                    connect_timeout: 0.25s
                    load_assignment: {cluster_name: a, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 1}}}}]}]}
                """),
            Map.of());
    assertThat(r.exitCode()).as(r.output()).isZero();
  }

  @Test
  void rejectsBadConfigsWithAnEnvoyLikeLine() throws Exception {
    String good = staticConfig("a", "a");
    List<String[]> cases = new ArrayList<>();
    cases.add(
        new String[] {
          good.replace("\"connect_timeout\"", "\"no_such_field\": 1, \"connect_timeout\""),
          "no_such_field"
        });
    cases.add(new String[] {good.replace("\"STRICT_DNS\"", "\"ROUND_DNS\""), "ROUND_DNS"});
    cases.add(
        new String[] {
          good.replace("tcp_proxy.v3.TcpProxy", "tcp_proxy.v3.NoSuchProxy"), "NoSuchProxy"
        });
    cases.add(new String[] {staticConfig("missing", "a"), "unknown cluster 'missing'"});
    cases.add(
        new String[] {
          Configs.filesBootstrap(
              9901,
              dir.resolve("nope/lds.json").toString(),
              dir.resolve("nope/cds.json").toString()),
          "does not exist"
        });
    cases.add(new String[] {"{ broken", "Unable to parse"});
    for (int i = 0; i < cases.size(); i++) {
      SimulatorProcess.Result r = validate(write("bad-" + i + ".json", cases.get(i)[0]), Map.of());
      assertThat(r.exitCode()).as("case %d: %s", i, r.output()).isEqualTo(1);
      assertThat(r.output())
          .as("case %d", i)
          .contains("[critical]")
          .contains("error initializing configuration")
          .contains(cases.get(i)[1]);
    }
    SimulatorProcess.Result r =
        validate(write("good.json", good), Map.of("ENVOY_SIM_REJECT_ALL_CONFIG", "1"));
    assertThat(r.exitCode()).isEqualTo(1);
  }

  /**
   * TcpProxy::Config does not check cluster names (unknown ones fail each connection at run time).
   */
  @Test
  void tcpProxyClusterNamesAreNotChecked() throws Exception {
    SimulatorProcess.Result r = validate(write("tcp.json", staticConfig("a", "missing")), Map.of());
    assertThat(r.exitCode()).as(r.output()).isZero();
  }

  /**
   * ValidationInstance reads no xDS file: no LDS API, the CDS API created and discarded; static
   * resources are checked, including inline routes against static clusters and RE2 program sizes.
   */
  @Test
  void validateModeReadsNoXdsFileButChecksEverythingStatic() throws Exception {
    Path lds = write("xds/lds.json", "{ this is not json");
    Path cds =
        write(
            "xds/cds.json",
            Configs.discovery("1", Configs.clusterType(), "{\"name\": \"x\", \"type\": \"NOPE\"}"));
    SimulatorProcess.Result r =
        validate(
            write("files.json", Configs.filesBootstrap(9901, lds.toString(), cds.toString())),
            Map.of());
    assertThat(r.exitCode()).as(r.output()).isZero();

    String longRegex = "{\"safe_regex\": {\"regex\": \"/" + "x".repeat(120) + "\"}}";
    String regexConfig =
        Configs.staticBootstrap(
            9901,
            Configs.httpListener(
                "web",
                10000,
                Configs.inlineRoutes(Configs.route(longRegex, "{\"cluster\": \"a\"}"))),
            Configs.staticCluster("a", "STATIC", "", Configs.endpoint("127.0.0.1", 8080, 1)));
    r = validate(write("regex.json", regexConfig), Map.of());
    assertThat(r.exitCode()).as(r.output()).isEqualTo(1);
    assertThat(r.output()).contains("RE2 program size of").contains("> max program size of 100");

    // An RDS subscription of a static listener is created (path checked) but its file is never
    // read.
    Path rds = write("xds/rds.json", "garbage");
    r =
        validate(
            write(
                "rds.json",
                Configs.staticBootstrap(
                    9901,
                    Configs.httpListener("web", 10000, Configs.rds(rds.toString(), "web")),
                    Configs.staticCluster(
                        "a", "STATIC", "", Configs.endpoint("127.0.0.1", 8080, 1)))),
            Map.of());
    assertThat(r.exitCode()).as(r.output()).isZero();
    r =
        validate(
            write(
                "rds-missing.json",
                Configs.staticBootstrap(
                    9901,
                    Configs.httpListener(
                        "web", 10000, Configs.rds(dir.resolve("nope.json").toString(), "web")),
                    "")),
            Map.of());
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.output()).contains("does not exist");
  }

  /** DNS lookups are never awaited in validate mode: a quarter of DNS names costs about nothing. */
  @Test
  void validatingAThousandClustersWithDnsNamesTakesAboutAsLongAsIpOnly() throws Exception {
    Path ipOnly = write("ip.json", thousandClusters(false));
    Path withDns = write("dns.json", thousandClusters(true));
    validate(ipOnly, Map.of()); // warm the page cache
    long t0 = System.nanoTime();
    SimulatorProcess.Result ip = validate(ipOnly, Map.of());
    long ipMs = (System.nanoTime() - t0) / 1_000_000;
    t0 = System.nanoTime();
    SimulatorProcess.Result dns = validate(withDns, Map.of());
    long dnsMs = (System.nanoTime() - t0) / 1_000_000;
    assertThat(ip.exitCode()).as(ip.output()).isZero();
    assertThat(dns.exitCode()).as(dns.output()).isZero();
    System.out.printf(
        "validate 1000 clusters: IP-only %d ms, a quarter DNS-named %d ms%n", ipMs, dnsMs);
    assertThat(dnsMs).isLessThan(ipMs * 2 + 2000);
  }

  private static String thousandClusters(boolean dns) {
    StringBuilder clusters = new StringBuilder();
    StringBuilder routes = new StringBuilder();
    for (int i = 0; i < 1000; i++) {
      String name = "svc-" + i;
      boolean named = dns && i % 4 == 0;
      String type = !named ? "STATIC" : i % 8 == 0 ? "STRICT_DNS" : "LOGICAL_DNS";
      String address = named ? name + ".service.invalid" : "127.0.0." + (1 + i % 200);
      clusters
          .append(i == 0 ? "" : ", ")
          .append(
              Configs.staticCluster(name, type, "", Configs.endpoint(address, 8000 + i % 1000, 1)));
      routes.append(i == 0 ? "" : ", ").append(Configs.prefixRoute("/" + name + "/", name));
    }
    return Configs.staticBootstrap(
        9901,
        Configs.httpListener("web", 10000, Configs.inlineRoutes(routes.toString())),
        clusters.toString());
  }

  @Test
  void hotRestartVersionIsPrintedOnStderrAndSettable() throws Exception {
    SimulatorProcess.Result r =
        SimulatorProcess.run(List.of("--hot-restart-version"), Map.of(), TIMEOUT);
    assertThat(r.exitCode()).isZero();
    assertThat(r.output().trim()).isEqualTo("11.104");
    r =
        SimulatorProcess.run(
            List.of("--hot-restart-version"),
            Map.of("ENVOY_SIM_HOT_RESTART_VERSION", "12.7"),
            TIMEOUT);
    assertThat(r.output().trim()).isEqualTo("12.7");
  }

  @Test
  void unknownFlagsAndValuesAreRefused() throws Exception {
    SimulatorProcess.Result r = SimulatorProcess.run(List.of("--no-such-flag"), Map.of(), TIMEOUT);
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.output()).contains("PARSE ERROR: Argument: --no-such-flag");
    r = SimulatorProcess.run(List.of("--mode", "dance", "-c", "x.json"), Map.of(), TIMEOUT);
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.output()).contains("unknown mode 'dance'");
  }
}
