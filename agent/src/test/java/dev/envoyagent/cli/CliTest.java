package dev.envoyagent.cli;

import static dev.envoyagent.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.envoyagent.cli.CliRun.Result;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliTest {

  @TempDir Path dir;
  Path routes;

  @BeforeEach
  void writeRoutes() throws Exception {
    routes = dir.resolve("routes.yaml");
    try (InputStream in = CliTest.class.getResourceAsStream("/example-routes.yaml")) {
      Files.write(routes, in.readAllBytes());
    }
  }

  @Test
  void everyCommandAnswersHelpWithItsOwnUsage() {
    for (String command :
        EnvoyAgentCommand.commandLine().getSubcommands().values().stream()
            .map(c -> c.getCommandName())
            .distinct()
            .toList()) {
      Result result = run(command, "--help");
      assertThat(result.exitCode()).as(command).isZero();
      assertThat(result.out()).as(command).startsWith("Usage: envoy-agent " + command + " ");
    }
    assertThat(run("status", "--help").out()).contains("2   unreachable, or a usage error");
  }

  @Test
  void validateSaysOkWithTheServiceCount() {
    Result result = run("validate", "--routes", routes.toString());
    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).isEqualTo("OK: 3 services (version 42)\n");
  }

  @Test
  void validatePrintsEveryProblemAndExitsOne() throws Exception {
    Files.writeString(
        routes,
        """
        version: "1"
        services:
          - { name: a, protocol: TCP, local_port: 80 }
          - { name: a, protocol: TCP, local_port: 2000, endpoints: [ { address: "10.0.0.1", port: 0 } ] }
        """);
    Result result = run("validate", "--routes", routes.toString());
    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.err())
        .isEqualTo(
            routes
                + ": 3 problems\n"
                + "  services[1].name: \"a\" is already used by services[0]\n"
                + "  services[0].local_port: 80 is out of range (1024-65535)\n"
                + "  services[1].endpoints[0].port: must be set (1-65535)\n");
  }

  @Test
  void validateChecksTheAgentConfigAndTheRoutesAgainstIt() throws Exception {
    Path config = dir.resolve("agent.yaml");
    Files.writeString(
        config,
        "node: { id: h1, cluster: web }\nroutes: { file: routes.yaml }\nenvoy: { admin_port: 9101 }\n");
    Result result = run("validate", "--config", config.toString(), "--routes", routes.toString());
    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.out())
        .startsWith("OK: " + config + ": node h1, routes " + routes + ", delivery files");
    assertThat(result.err())
        .contains("services[0].local_port: 9101 is Envoy's admin port on this host");

    Files.writeString(config, "node: { id: h1 }\n");
    Result bad = run("validate", "--config", config.toString());
    assertThat(bad.exitCode()).isEqualTo(1);
    assertThat(bad.err())
        .contains("node.cluster: must be set")
        .contains("routes: set routes.file, routes.control_plane or both");
  }

  @Test
  void validateReportsTheInotifyInstancesTheWatchedFilesNeed() throws Exception {
    Path config = dir.resolve("agent.yaml");
    Files.writeString(
        config,
        "node: { id: h1, cluster: web }\nroutes: { file: routes.yaml }\nstate_dir: state\n");
    Result result = run("validate", "--config", config.toString(), "--routes", routes.toString());
    // users-api and users-api-v2: routes and endpoints files each; postgres-main is DNS-named
    // (inline).
    assertThat(result.out() + result.err())
        .contains("6 watched files")
        .contains("need 12 inotify instances during a hot restart");

    Files.writeString(config, Files.readString(config) + "envoy: { delivery: restart }\n");
    assertThat(run("validate", "--config", config.toString(), "--routes", routes.toString()).out())
        .contains("inotify: no watched files (delivery restart)");
  }

  @Test
  void usageErrorsExitTwo() {
    assertThat(run("validate").exitCode()).isEqualTo(2);
    assertThat(run("validate").err()).contains("give --routes FILE, --config FILE or both");
    assertThat(run("nonsense").exitCode()).isEqualTo(2);
    assertThat(run().exitCode()).isEqualTo(2);
    assertThat(run("render", "--routes", routes.toString()).err())
        .contains("Missing required option: '--out=DIR'");
    Result badDelivery =
        run("render", "--routes", routes.toString(), "--out", dir.toString(), "--delivery", "xds");
    assertThat(badDelivery.exitCode()).isEqualTo(2);
    assertThat(badDelivery.err()).contains("--delivery").contains("xds");
  }

  @Test
  void renderWritesEveryFileAndSaysWhich() {
    Path out = dir.resolve("out");
    Result result = run("render", "--routes", routes.toString(), "--out", out.toString());
    assertThat(result.exitCode()).isZero();
    assertThat(out.resolve("bootstrap.json")).exists();
    assertThat(out.resolve("rds/users-api.json")).exists();
    assertThat(out.resolve("eds/users-api-v2.json")).exists();
    assertThat(result.out())
        .contains(out.resolve("bootstrap.json") + " (bootstrap)")
        .contains(out.resolve("lds.json").toString())
        .contains("7 written, 0 unchanged, 0 removed");

    Result again =
        run(
            "render",
            "--routes",
            routes.toString(),
            "--out",
            out.toString(),
            "--delivery",
            "RESTART");
    assertThat(again.exitCode()).isZero();
    assertThat(again.out())
        .contains("(restart delivery)")
        .contains("1 written, 0 unchanged, 6 removed");
    assertThat(out.resolve("lds.json")).doesNotExist();
  }

  @Test
  void renderRefusesInvalidRoutesAndWritesNothing() throws Exception {
    Files.writeString(routes, "version: \"1\"\nservices: [ { name: a } ]\n");
    Path out = dir.resolve("out");
    Result result = run("render", "--routes", routes.toString(), "--out", out.toString());
    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.err()).contains("services[0].protocol: must be set");
    assertThat(out).doesNotExist();
  }

  @Test
  void versionNamesTheAgent() {
    Result result = run("version");
    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).matches("envoy-agent \\d+\\.\\d+\\.\\d+(-SNAPSHOT)? \\(java .+\\)\\n");
  }
}
