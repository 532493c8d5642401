package dev.envoyagent.agent;

import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.config.AgentSettings;
import dev.envoyagent.envoy.EnvoyCommand;
import dev.envoyagent.model.InvalidInputException;
import dev.envoyagent.render.EnvoyConfigRenderer;
import dev.envoyagent.render.RenderSettings;
import dev.envoyagent.render.RenderedConfig;
import dev.envoyagent.render.RenderedFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything needed to put one snapshot into Envoy: the files for the live config directory and
 * the digest of what Envoy reads only at start (bootstrap, flags, binary): when it differs from the
 * running epoch's, a restart is needed; otherwise writing the watched files is enough. The same
 * config for a candidate directory, which only a restart validates, is rendered on demand.
 */
record LaunchPlan(RouteSnapshot snapshot, RenderSettings renderSettings, RenderedConfig config, RenderedFiles files,
    String launchDigest) {

  static final String CANDIDATE_DIR = "candidate";

  static LaunchPlan of(RouteSnapshot snapshot, AgentSettings settings) throws InvalidInputException {
    RenderSettings live = RenderSettings.from(settings);
    RenderedConfig config = EnvoyConfigRenderer.render(snapshot, live);
    RenderedFiles files = config.toFiles();
    return new LaunchPlan(snapshot, live, config, files, launchDigest(files, command(settings, 0)));
  }

  /**
   * This config rendered for {@code dir}, for Envoy to validate before a restart. Rendered only
   * then: most updates just write watched files, and the last known good starts without it.
   */
  RenderedFiles candidate(Path dir) {
    try {
      return EnvoyConfigRenderer.render(snapshot, renderSettings.withConfigDir(dir)).toFiles();
    } catch (InvalidInputException e) {
      throw new IllegalStateException("snapshot " + snapshot.getVersion() + " rendered once but not for " + dir, e);
    }
  }

  static Path candidateDir(AgentSettings settings) {
    return settings.stateDir().resolve(CANDIDATE_DIR);
  }

  static EnvoyCommand command(AgentSettings settings, int epoch) {
    var envoy = settings.envoy();
    return new EnvoyCommand(envoy.binary(), envoy.configDir().resolve(RenderedConfig.BOOTSTRAP_FILE), epoch,
        envoy.baseId(), envoy.drainTimeS(), envoy.parentShutdownTimeS(), envoy.concurrency(), "", "");
  }

  /** The versions Envoy must report (per watched file) once it runs these files. */
  Map<String, String> expectedVersions() {
    Map<String, String> versions = new TreeMap<>();
    config.watchedFiles().forEach((file, response) -> versions.put(file, response.getVersionInfo()));
    return versions;
  }

  /** What Envoy reads only at start, for these files run by this command (and binary file). */
  static String launchDigest(RenderedFiles files, EnvoyCommand epochZero) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(files.bootstrapDigest().getBytes(StandardCharsets.UTF_8));
      for (String arg : epochZero.argv()) {
        sha.update(arg.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
      }
      sha.update(binaryIdentity(epochZero.binary()).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /** A new Envoy installed at the same path needs a restart too: size and mtime tell it apart. */
  private static String binaryIdentity(Path binary) {
    try {
      return Files.size(binary) + "/" + Files.getLastModifiedTime(binary).toMillis();
    } catch (IOException e) {
      return "absent";
    }
  }
}
