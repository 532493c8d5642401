package dev.envoyagent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.envoyagent.model.InvalidInputException;
import dev.envoyagent.model.Problem;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AgentConfigLoaderTest {

  static final Path BASE = Path.of("/etc/envoy-agent");
  static final String MINIMAL = """
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
    assertThat(settings.routesFile()).isEqualTo(Path.of("/etc/envoy-agent/routes.yaml"));
    assertThat(settings.stateDir()).isEqualTo(Path.of("/var/lib/envoy-agent"));
    assertThat(settings.envoy()).isEqualTo(new AgentSettings.EnvoySettings(Path.of("/usr/bin/envoy"),
        Path.of("/var/lib/envoy-agent/envoy"), 9901, 0, 60, 90, Delivery.FILES, 2, 60, 10));
    assertThat(settings.restart()).isEqualTo(new AgentSettings.RestartSettings(5000, 500));
    assertThat(settings.adminListen()).isEqualTo(new AgentSettings.ListenAddress("127.0.0.1", 9902));
    assertThat(settings.historyKeep()).isEqualTo(10);
  }

  @Test
  void everyFieldCanBeSet() throws Exception {
    AgentSettings settings = parse("""
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
    assertThat(settings.routesFile()).isEqualTo(Path.of("/srv/routes.json"));
    assertThat(settings.stateDir()).isEqualTo(Path.of("/etc/envoy-agent/state"));
    assertThat(settings.envoy()).isEqualTo(new AgentSettings.EnvoySettings(Path.of("/etc/bin/envoy"),
        Path.of("/run/envoy"), 19000, 7, 5, 10, Delivery.RESTART, 4, 30, 5));
    assertThat(settings.restart()).isEqualTo(new AgentSettings.RestartSettings(100, 50));
    assertThat(settings.adminListen()).isEqualTo(new AgentSettings.ListenAddress("::1", 19001));
    assertThat(settings.adminListen()).hasToString("[::1]:19001");
    assertThat(settings.historyKeep()).isEqualTo(3);
  }

  @Test
  void theConfigDirFollowsTheStateDir() throws Exception {
    assertThat(parse(MINIMAL + "state_dir: /data/agent\n").envoy().configDir()).isEqualTo(Path.of("/data/agent/envoy"));
  }

  @Test
  void requiredFieldsAreNamed() {
    assertThat(problems("envoy: { delivery: files }\n")).containsExactly(
        "node.id: must be set (this host's unique name, e.g. its instance id)",
        "node.cluster: must be set (the group of hosts this one belongs to)",
        "routes.file: must be set (the routes file to serve)");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      bad id               | node: { id: 'a b', cluster: web }                    | node.id: "a b" must be 1-128 letters, digits, '.', '_', ':' or '-'
      bad cluster          | node: { id: a, cluster: 'web/1' }                    | node.cluster: "web/1" must be 1-128 letters, digits, '.', '_', ':' or '-'
      bad zone             | node: { id: a, cluster: web, zone: EU }              | node.zone: "EU" must be lowercase letters, digits and '-' (e.g. us-east-1a)
      unknown field        | node: { id: a, cluster: web, name: x }               | node.name: unknown field (known fields: id, cluster, zone)
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
      top-level typo       | statedir: /x                                         | statedir: unknown field (known fields: node, routes, envoy, state_dir, admin, history, restart)
      """)
  void rules(String rule, String yaml, String expected) {
    String document = yaml.startsWith("node:") ? yaml + "\nroutes: { file: r.yaml }\n" : MINIMAL + yaml + "\n";
    assertThat(problems(document)).as(rule).containsExactly(expected);
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
    assertThat(AgentConfigLoader.load(file).routesFile()).isEqualTo(dir.resolve("conf/routes.yaml"));
  }
}
