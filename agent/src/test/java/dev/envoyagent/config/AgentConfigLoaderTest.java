package dev.envoyagent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.envoyagent.model.InvalidInputException;
import dev.envoyagent.model.Problem;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AgentConfigLoaderTest {

  static final Path BASE = Path.of("/etc/envoy-agent");
  static final String MINIMAL =
      """
      node: { id: i-0abc, cluster: web }
      routes: { file: routes.yaml }
      """;

  static AgentSettings parse(String yaml) throws InvalidInputException {
    return AgentConfigLoader.parse(yaml.getBytes(StandardCharsets.UTF_8), BASE, "agent.yaml");
  }

  static List<String> problems(String yaml) {
    try {
      parse(yaml);
      return List.of();
    } catch (InvalidInputException e) {
      return e.problems().stream().map(Problem::toString).toList();
    }
  }

  @Test
  void aMinimalConfigGetsTheDocumentedDefaults() throws Exception {
    AgentSettings settings = parse(MINIMAL);
    assertThat(settings.node()).isEqualTo(new AgentSettings.NodeSettings("i-0abc", "web", ""));
    assertThat(settings.routesFile()).contains(Path.of("/etc/envoy-agent/routes.yaml"));
    assertThat(settings.stateDir()).isEqualTo(Path.of("/var/lib/envoy-agent"));
    assertThat(settings.envoy())
        .isEqualTo(
            new AgentSettings.EnvoySettings(
                Path.of("/usr/bin/envoy"),
                Path.of("/var/lib/envoy-agent/envoy"),
                9901,
                0,
                60,
                90,
                Delivery.FILES,
                2,
                60,
                10));
    assertThat(settings.restart()).isEqualTo(new AgentSettings.RestartSettings(5000, 500));
    assertThat(settings.adminListen())
        .isEqualTo(new AgentSettings.ListenAddress("127.0.0.1", 9902));
    assertThat(settings.historyKeep()).isEqualTo(10);
  }

  @Test
  void everyFieldCanBeSet() throws Exception {
    AgentSettings settings =
        parse(
            """
        node: { id: host-7, cluster: payments, zone: eu-west-1b }
        routes: { file: /srv/routes.json }
        envoy:
          binary: ../bin/envoy
          config_dir: /run/envoy
          admin_port: 19000
          base_id: 7
          drain_time_s: 5
          parent_shutdown_time_s: 10
          delivery: restart
          concurrency: 4
          ready_timeout_s: 30
          stop_timeout_s: 5
        restart: { min_interval_ms: 100, debounce_ms: 50 }
        state_dir: state
        admin: { listen: "[::1]:19001" }
        history: { keep: 3 }
        """);
    assertThat(settings.node().zone()).isEqualTo("eu-west-1b");
    assertThat(settings.routesFile()).contains(Path.of("/srv/routes.json"));
    assertThat(settings.stateDir()).isEqualTo(Path.of("/etc/envoy-agent/state"));
    assertThat(settings.envoy())
        .isEqualTo(
            new AgentSettings.EnvoySettings(
                Path.of("/etc/bin/envoy"),
                Path.of("/run/envoy"),
                19000,
                7,
                5,
                10,
                Delivery.RESTART,
                4,
                30,
                5));
    assertThat(settings.restart()).isEqualTo(new AgentSettings.RestartSettings(100, 50));
    assertThat(settings.adminListen()).isEqualTo(new AgentSettings.ListenAddress("::1", 19001));
    assertThat(settings.adminListen()).hasToString("[::1]:19001");
    assertThat(settings.historyKeep()).isEqualTo(3);
  }

  @Test
  void theConfigDirFollowsTheStateDir() throws Exception {
    assertThat(parse(MINIMAL + "state_dir: /data/agent\n").envoy().configDir())
        .isEqualTo(Path.of("/data/agent/envoy"));
  }

  @Test
  void requiredFieldsAreNamed() {
    assertThat(problems("envoy: { delivery: files }\n"))
        .containsExactly(
            "node.id: must be set (this host's unique name, e.g. its instance id)",
            "node.cluster: must be set (the group of hosts this one belongs to)",
            "routes: set routes.file, routes.control_plane or both (where the routes come from)");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
      bad id               | node: { id: 'a b', cluster: web }                    | node.id: "a b" must be 1-128 letters, digits, '.', '_', ':' or '-'
      bad cluster          | node: { id: a, cluster: 'web/1' }                    | node.cluster: "web/1" must be 1-128 letters, digits, '.', '_', ':' or '-'
      bad zone             | node: { id: a, cluster: web, zone: EU }              | node.zone: "EU" must be lowercase letters, digits and '-' (e.g. us-east-1a)
      unknown field        | node: { id: a, cluster: web, name: x }               | node.name: unknown field (known fields: id, cluster, zone, address)
      admin port           | envoy: { admin_port: 70000 }                         | envoy.admin_port: 70000 is out of range (1-65535)
      base id              | envoy: { base_id: 2000000 }                          | envoy.base_id: 2000000 is out of range (0-1000000)
      drain zero           | envoy: { drain_time_s: 0 }                           | envoy.drain_time_s: 0 is out of range (1-3600)
      shutdown range       | envoy: { parent_shutdown_time_s: 9000 }              | envoy.parent_shutdown_time_s: 9000 is out of range (1-7200)
      drain >= shutdown    | envoy: { drain_time_s: 60, parent_shutdown_time_s: 60 } | envoy.parent_shutdown_time_s: 60 must be greater than envoy.drain_time_s 60
      delivery             | envoy: { delivery: xds }                             | envoy.delivery: "xds" is not one of files, restart
      delivery type        | envoy: { delivery: 1 }                               | envoy.delivery: expected a string, got number 1 (quote it)
      listen form          | admin: { listen: localhost }                         | admin.listen: "localhost" must be host:port, e.g. 127.0.0.1:9902 or [::1]:9902
      listen port          | admin: { listen: '127.0.0.1:0' }                     | admin.listen: port 0 is out of range (1-65535)
      listen clash         | admin: { listen: '127.0.0.1:9901' }                  | admin.listen: port 9901 is also envoy.admin_port; use another
      history              | history: { keep: 0 }                                 | history.keep: 0 is out of range (1-1000)
      concurrency          | envoy: { concurrency: 0 }                            | envoy.concurrency: 0 is out of range (1-256)
      ready timeout        | envoy: { ready_timeout_s: 0 }                        | envoy.ready_timeout_s: 0 is out of range (1-3600)
      stop timeout         | envoy: { stop_timeout_s: 601 }                       | envoy.stop_timeout_s: 601 is out of range (1-600)
      restart interval     | restart: { min_interval_ms: 4000000 }                | restart.min_interval_ms: 4000000 is out of range (0-3600000)
      debounce             | restart: { debounce_ms: 70000 }                      | restart.debounce_ms: 70000 is out of range (0-60000)
      top-level typo       | statedir: /x                                         | statedir: unknown field (known fields: node, routes, envoy, state_dir, admin, history, restart, heartbeat, local_services, logging, metrics, ec2)
      node address         | node: { id: a, cluster: web, address: db.example }   | node.address: "db.example" must be an IPv4 or IPv6 address
      heartbeat interval   | heartbeat: { interval_ms: 100 }                      | heartbeat.interval_ms: 100 is out of range (200-600000)
      heartbeat timeout    | heartbeat: { interval_ms: 1000, timeout_ms: 1000 }   | heartbeat.timeout_ms: 1000 must be less than heartbeat.interval_ms 1000
      local name           | 'local_services: [ { port: 80, check: { tcp: true } } ]' | local_services[0].name: must be set (the routes service it serves)
      local port           | 'local_services: [ { name: a, check: { tcp: true } } ]'  | local_services[0].port: must be set (1-65535)
      local check none     | 'local_services: [ { name: a, port: 80 } ]'          | local_services[0].check: set exactly one of http_path or tcp: true
      local check both     | 'local_services: [ { name: a, port: 80, check: { tcp: true, http_path: /h } } ]' | local_services[0].check: set exactly one of http_path or tcp: true
      local check path     | 'local_services: [ { name: a, port: 80, check: { http_path: h } } ]' | local_services[0].check.http_path: "h" must start with '/'
      local timeout        | 'local_services: [ { name: a, port: 80, check: { tcp: true }, interval_ms: 200, timeout_ms: 300 } ]' | local_services[0].timeout_ms: 300 is longer than interval_ms 200
      local rise           | 'local_services: [ { name: a, port: 80, check: { tcp: true }, rise: 0 } ]' | local_services[0].rise: 0 is out of range (1-100)
      local twice          | 'local_services: [ { name: a, port: 80, check: { tcp: true } }, { name: a, port: 81, check: { tcp: true } } ]' | local_services[1].name: "a" is already listed as local_services[0]
      cp no addresses      | 'routes: { file: r.yaml, control_plane: { plaintext: true } }' | routes.control_plane.addresses: must list at least one host:port
      cp bad address       | 'routes: { file: r.yaml, control_plane: { addresses: [ cp ], plaintext: true } }' | routes.control_plane.addresses[0]: "cp" must be host:port, e.g. cp.example.internal:18000
      cp no tls            | 'routes: { file: r.yaml, control_plane: { addresses: [ "cp:1" ] } }' | routes.control_plane.tls: must be set, or plaintext: true given explicitly
      cp tls and plain     | 'routes: { file: r.yaml, control_plane: { addresses: [ "cp:1" ], plaintext: true, tls: { ca_file: ca.pem } } }' | routes.control_plane.plaintext: cannot be true together with tls
      cp no ca             | 'routes: { file: r.yaml, control_plane: { addresses: [ "cp:1" ], tls: { cert_file: c.pem, key_file: k.pem } } }' | routes.control_plane.tls.ca_file: must be set (the CA that signed the control plane's certificate)
      cp cert without key  | 'routes: { file: r.yaml, control_plane: { addresses: [ "cp:1" ], tls: { ca_file: ca.pem, cert_file: c.pem } } }' | routes.control_plane.tls: cert_file and key_file go together (both for mutual TLS, or neither)
      ec2 mode             | ec2: maybe                                           | ec2: "maybe" is not one of auto, on, off
      logging format       | 'logging: { format: xml }'                           | logging.format: "xml" is not one of text, json
      statsd address       | 'metrics: { statsd: statsd }'                        | metrics.statsd: "statsd" must be host:port, e.g. 127.0.0.1:8125
      statsd interval      | 'metrics: { statsd: "127.0.0.1:8125", statsd_interval_ms: 10 }' | metrics.statsd_interval_ms: 10 is out of range (1000-600000)
      remote admin         | 'admin: { listen: "0.0.0.0:9902" }'                  | admin.listen: "0.0.0.0:9902" is not a loopback address; set admin.allow_remote: true to expose the agent's admin endpoint
      cp splay             | 'routes: { file: r.yaml, control_plane: { addresses: [ "cp:1" ], plaintext: true, splay_ms: 700000 } }' | routes.control_plane.splay_ms: 700000 is out of range (0-600000)
      """)
  void rules(String rule, String yaml, String expected) {
    String document =
        yaml.startsWith("node:")
            ? yaml + "\nroutes: { file: r.yaml }\n"
            : yaml.startsWith("routes:")
                ? "node: { id: a, cluster: web }\n" + yaml + "\n"
                : MINIMAL + yaml + "\n";
    assertThat(problems(document)).as(rule).containsExactly(expected);
  }

  @Test
  void controlPlaneHeartbeatAndLocalServicesAreRead() throws Exception {
    AgentSettings settings =
        parse(
            """
        node: { id: h1, cluster: web, address: 10.0.0.5 }
        routes:
          control_plane:
            addresses: [ "cp-a.internal:18000", "[::1]:18000" ]
            tls: { ca_file: ca.pem, cert_file: /etc/pki/agent.pem, key_file: agent.key }
            splay_ms: 0
        heartbeat: { interval_ms: 2000, timeout_ms: 500 }
        local_services:
          - { name: users-api, port: 8080, check: { http_path: /health }, interval_ms: 500, timeout_ms: 100, rise: 3, fall: 1 }
          - { name: db, port: 5432, check: { tcp: true } }
        """);
    assertThat(settings.node().address()).isEqualTo("10.0.0.5");
    var cp = settings.controlPlane().orElseThrow();
    assertThat(cp.addresses())
        .containsExactly(
            new AgentSettings.ListenAddress("cp-a.internal", 18000),
            new AgentSettings.ListenAddress("::1", 18000));
    assertThat(cp.tls())
        .contains(
            new AgentSettings.TlsFiles(
                Path.of("/etc/envoy-agent/ca.pem"),
                Optional.of(Path.of("/etc/pki/agent.pem")),
                Optional.of(Path.of("/etc/envoy-agent/agent.key"))));
    assertThat(cp.splayMs()).isZero();
    assertThat(cp.connectTimeoutMs()).isEqualTo(5000);
    assertThat(settings.heartbeat()).isEqualTo(new AgentSettings.HeartbeatSettings(2000, 500));
    assertThat(settings.localServices())
        .containsExactly(
            new AgentSettings.LocalServiceSettings("users-api", 8080, "/health", 500, 100, 3, 1),
            new AgentSettings.LocalServiceSettings("db", 5432, "", 1000, 500, 2, 2));
  }

  @Test
  void unquotedOnAndOffAreTheWordsNotBooleans() throws Exception {
    assertThat(parse(MINIMAL + "ec2: on\n").ec2()).isEqualTo(AgentSettings.Ec2Use.ON);
    assertThat(parse(MINIMAL + "ec2: off\n").ec2()).isEqualTo(AgentSettings.Ec2Use.OFF);
    assertThat(parse(MINIMAL + "ec2: auto\n").ec2()).isEqualTo(AgentSettings.Ec2Use.AUTO);
    assertThat(parse(MINIMAL).ec2())
        .as("nothing probes IMDS unless asked")
        .isEqualTo(AgentSettings.Ec2Use.OFF);
  }

  @Test
  void aMissingFileIsNamed(@TempDir Path dir) {
    assertThatThrownBy(() -> AgentConfigLoader.load(dir.resolve("agent.yaml")))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("no such file: " + dir.resolve("agent.yaml"));
  }

  @Test
  void relativePathsAreResolvedAgainstTheConfigFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("conf/agent.yaml");
    Files.createDirectories(file.getParent());
    Files.writeString(file, MINIMAL);
    assertThat(AgentConfigLoader.load(file).routesFile()).contains(dir.resolve("conf/routes.yaml"));
  }
}
