package dev.envoyagent.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The class data sharing archive: the build writes one beside the launcher, the launcher maps it
 * (the renderer's classes come from it, not from the jar), one that does not fit this JVM and jar
 * is ignored without a word, and {@code appcds-archive} replaces it or says why it cannot.
 */
class AppCdsArchiveIT {

  static final String RENDERER_FROM_ARCHIVE =
      "dev.envoyagent.render.EnvoyConfigRenderer source: shared objects file";

  @TempDir Path dir;

  @Test
  void theLauncherMapsTheArchiveTheBuildWrote() throws Exception {
    assertThat(ItProcesses.agentLauncher().resolveSibling("envoy-agent.jsa")).isRegularFile();
    Path routes = dir.resolve("routes.yaml");
    Files.writeString(routes, FleetItSupport.httpRoutes("1", "web", 10080, 8080));
    Map<String, String> classLog =
        Map.of("ENVOY_AGENT_JAVA_OPTS", ItProcesses.JAVA_OPTS + " -Xlog:class+load");

    ItProcesses.Outcome mapped =
        ItProcesses.runAgentCommand(
            classLog,
            "render",
            "--routes",
            routes.toString(),
            "--out",
            dir.resolve("a").toString());
    assertThat(mapped.exitCode()).as(mapped.output()).isZero();
    assertThat(mapped.output()).contains(RENDERER_FROM_ARCHIVE);

    Map<String, String> noArchive =
        Map.of(
            "ENVOY_AGENT_JAVA_OPTS",
            ItProcesses.JAVA_OPTS + " -Xlog:class+load",
            "ENVOY_AGENT_APPCDS_ARCHIVE",
            dir.resolve("absent.jsa").toString());
    ItProcesses.Outcome fromJar =
        ItProcesses.runAgentCommand(
            noArchive,
            "render",
            "--routes",
            routes.toString(),
            "--out",
            dir.resolve("b").toString());
    assertThat(fromJar.exitCode()).as(fromJar.output()).isZero();
    assertThat(fromJar.output())
        .doesNotContain(RENDERER_FROM_ARCHIVE)
        .contains("dev.envoyagent.render.EnvoyConfigRenderer source: file:");
  }

  @Test
  void anArchiveForAnotherJvmOrJarIsIgnoredSilently() throws Exception {
    Path foreign = dir.resolve("foreign.jsa");
    Files.write(
        foreign,
        new byte[64 * 1024]); // what a stale archive amounts to: not this JVM's, not this jar's
    ItProcesses.Outcome version =
        ItProcesses.runAgentCommand(
            Map.of("ENVOY_AGENT_CDS_ARCHIVE", foreign.toString()), "version");
    assertThat(version.exitCode()).isZero();
    assertThat(version.output().strip())
        .startsWith("envoy-agent ")
        .doesNotContain("\n")
        .doesNotContainIgnoringCase("cds");
  }

  @Test
  void cdsArchiveWritesANewArchiveOrNamesTheOutputItCannotWrite() throws Exception {
    Path archive = dir.resolve("agent.jsa");
    ItProcesses.Outcome written =
        ItProcesses.runAgentCommand("appcds-archive", "--out", archive.toString());
    assertThat(written.exitCode()).as(written.output()).isZero();
    assertThat(written.output()).contains("wrote " + archive);
    assertThat(Files.size(archive)).isGreaterThan(1 << 20);
    try (var leftovers = Files.list(dir)) {
      assertThat(leftovers).as("no partial file left").containsExactly(archive);
    }

    // The deprecated name still works for one release, and says so.
    ItProcesses.Outcome refused =
        ItProcesses.runAgentCommand("cds-archive", "--out", "/nonexistent/agent.jsa");
    assertThat(refused.exitCode()).isEqualTo(1);
    assertThat(refused.output())
        .contains("'cds-archive' is deprecated; use 'appcds-archive'")
        .contains("--out /nonexistent/agent.jsa")
        .contains("does not exist or is not writable");
  }
}
