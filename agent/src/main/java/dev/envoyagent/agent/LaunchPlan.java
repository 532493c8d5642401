package dev.envoyagent.agent;

import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.apply.AppliedConfig;
import dev.envoyagent.config.AgentSettings;
import dev.envoyagent.config.Delivery;
import dev.envoyagent.envoy.EnvoyCommand;
import dev.envoyagent.model.InvalidInputException;
import dev.envoyagent.render.EnvoyConfigRenderer;
import dev.envoyagent.render.RenderSettings;
import dev.envoyagent.render.RenderedConfig;
import dev.envoyagent.render.RenderedFiles;
import dev.envoyagent.support.Sha256;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Everything needed to put one snapshot into Envoy: the files for the live config directory, the
 * version Envoy reports for each watched file once it runs them, and the digest of what Envoy reads
 * only at start (bootstrap, flags, binary): when it differs from the running epoch's, a restart is
 * needed; otherwise writing the watched files is enough. The same config for a candidate directory,
 * which only a restart validates, is rendered on demand.
 */
record LaunchPlan(
    RouteSnapshot snapshot,
    RenderSettings renderSettings,
    RenderedFiles files,
    SortedMap<String, String> expectedVersions,
    String launchDigest) {

  static final String CANDIDATE_DIR = "candidate";
  static final String APPLIED_RECORD = "applied-config.properties";

  LaunchPlan {
    expectedVersions = Collections.unmodifiableSortedMap(new TreeMap<>(expectedVersions));
  }

  static LaunchPlan of(RouteSnapshot snapshot, AgentSettings settings)
      throws InvalidInputException {
    RenderSettings live = RenderSettings.from(settings);
    RenderedConfig config = EnvoyConfigRenderer.render(snapshot, live);
    RenderedFiles files = config.toFiles();
    SortedMap<String, String> versions = new TreeMap<>();
    config
        .watchedFiles()
        .forEach((file, response) -> versions.put(file, response.getVersionInfo()));
    return new LaunchPlan(
        snapshot, live, files, versions, launchDigest(files, command(settings, 0)));
  }

  /**
   * The plan for {@code snapshot} from the files the config directory still holds, when {@code
   * record} shows they are its rendering with these settings by this agent version and the files
   * are unchanged since; empty otherwise. Rendering is pure, so this plan equals {@link #of}'s,
   * without its cost.
   */
  static Optional<LaunchPlan> fromAppliedFiles(
      RouteSnapshot snapshot, AgentSettings settings, AppliedConfig record) throws IOException {
    RenderSettings live = RenderSettings.from(settings);
    if (!record.describes(snapshot, renderInputs(live))) {
      return Optional.empty();
    }
    return record
        .readFiles(settings.envoy().configDir())
        .map(
            files ->
                new LaunchPlan(
                    snapshot,
                    live,
                    files,
                    record.watchedVersions(),
                    launchDigest(files, command(settings, 0))));
  }

  /** What {@link #fromAppliedFiles} needs to find this plan's files again. */
  AppliedConfig appliedRecord() {
    return new AppliedConfig(
        snapshot.getVersion(),
        AppliedConfig.snapshotSha256(snapshot),
        renderInputs(renderSettings),
        files.digest(),
        expectedVersions);
  }

  /** Rendering's inputs besides the snapshot: the settings, and the agent that renders. */
  private static String renderInputs(RenderSettings settings) {
    return "envoy-agent " + AgentVersion.version() + " " + settings;
  }

  static Path appliedRecordFile(AgentSettings settings) {
    return settings.stateDir().resolve(APPLIED_RECORD);
  }

  /**
   * This snapshot rendered for Envoy to validate before a restart, in {@code dir}: shaped for
   * restart delivery (every listener, cluster and route in {@code static_resources}) whatever the
   * delivery, because Envoy's {@code --mode validate} builds only the bootstrap and its static
   * resources and reads no xDS file. Rendered only then: most updates just write watched files, and
   * the last known good starts without it.
   */
  RenderedFiles candidate(Path dir) {
    try {
      return EnvoyConfigRenderer.render(
              snapshot, renderSettings.withDelivery(Delivery.RESTART).withConfigDir(dir))
          .toFiles();
    } catch (InvalidInputException e) {
      throw new IllegalStateException(
          "snapshot " + snapshot.getVersion() + " rendered once but not for " + dir, e);
    }
  }

  static Path candidateDir(AgentSettings settings) {
    return settings.stateDir().resolve(CANDIDATE_DIR);
  }

  static EnvoyCommand command(AgentSettings settings, int epoch) {
    var envoy = settings.envoy();
    return new EnvoyCommand(
        envoy.binary(),
        envoy.configDir().resolve(RenderedConfig.BOOTSTRAP_FILE),
        epoch,
        envoy.baseId(),
        envoy.drainTimeS(),
        envoy.parentShutdownTimeS(),
        envoy.concurrency(),
        "",
        "");
  }

  /** What Envoy reads only at start, for these files run by this command (and binary file). */
  static String launchDigest(RenderedFiles files, EnvoyCommand epochZero) {
    MessageDigest sha = Sha256.newDigest();
    sha.update(files.bootstrapDigest().getBytes(StandardCharsets.UTF_8));
    for (String arg : epochZero.argv()) {
      sha.update(arg.getBytes(StandardCharsets.UTF_8));
      sha.update((byte) 0);
    }
    sha.update(binaryIdentity(epochZero.binary()).getBytes(StandardCharsets.UTF_8));
    return HexFormat.of().formatHex(sha.digest());
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
