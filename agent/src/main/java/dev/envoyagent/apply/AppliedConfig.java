package dev.envoyagent.apply;

import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.render.RenderedConfig;
import dev.envoyagent.render.RenderedFiles;
import dev.envoyagent.support.AtomicFiles;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What the config directory holds since the last apply, recorded in the state directory so that a
 * restarted agent can start Envoy from those files without rendering them again (the first render
 * in a fresh JVM takes about half a second): which snapshot and render inputs they came from, the
 * digest over all of them, and the version Envoy reports for each watched file.
 *
 * @param version the snapshot's version
 * @param snapshotSha256 sha256 of the snapshot's protobuf bytes
 * @param renderInputs everything besides the snapshot that rendering depends on (settings, agent
 *     version)
 * @param filesDigest {@link RenderedFiles#digest()} of the files as written
 * @param watchedVersions each watched file (relative to the config directory) and its version_info
 */
public record AppliedConfig(
    String version,
    String snapshotSha256,
    String renderInputs,
    String filesDigest,
    SortedMap<String, String> watchedVersions) {

  private static final String VERSION = "version";
  private static final String SNAPSHOT_SHA256 = "snapshot_sha256";
  private static final String RENDER_INPUTS = "render_inputs";
  private static final String FILES_DIGEST = "files_digest";
  private static final String WATCHED_PREFIX = "watched.";

  public AppliedConfig {
    Objects.requireNonNull(version, "version");
    Objects.requireNonNull(snapshotSha256, "snapshotSha256");
    Objects.requireNonNull(renderInputs, "renderInputs");
    Objects.requireNonNull(filesDigest, "filesDigest");
    watchedVersions = new TreeMap<>(Objects.requireNonNull(watchedVersions, "watchedVersions"));
  }

  public static String snapshotSha256(RouteSnapshot snapshot) {
    return VersionHistory.sha256(snapshot.toByteArray());
  }

  /** Whether this record describes {@code snapshot} rendered with {@code renderInputs}. */
  public boolean describes(RouteSnapshot snapshot, String renderInputs) {
    return version.equals(snapshot.getVersion())
        && this.renderInputs.equals(renderInputs)
        && snapshotSha256.equals(snapshotSha256(snapshot));
  }

  /**
   * The files this record names, read from {@code configDir}, if they are all there and are still
   * exactly the ones written (same digest); otherwise empty.
   */
  public Optional<RenderedFiles> readFiles(Path configDir) throws IOException {
    try {
      byte[] bootstrap = Files.readAllBytes(configDir.resolve(RenderedConfig.BOOTSTRAP_FILE));
      SortedMap<String, byte[]> watched = new TreeMap<>();
      for (String file : watchedVersions.keySet()) {
        watched.put(file, Files.readAllBytes(configDir.resolve(file)));
      }
      RenderedFiles files = new RenderedFiles(version, bootstrap, watched);
      return files.digest().equals(filesDigest) ? Optional.of(files) : Optional.empty();
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  /** Replaces {@code file} atomically. */
  public void write(Path file) throws IOException {
    StringBuilder text =
        new StringBuilder("# envoy-agent: what ")
            .append(RenderedConfig.BOOTSTRAP_FILE)
            .append(" and its watched files were rendered from; see AppliedConfig\n");
    appendProperty(text, VERSION, version);
    appendProperty(text, SNAPSHOT_SHA256, snapshotSha256);
    appendProperty(text, RENDER_INPUTS, renderInputs);
    appendProperty(text, FILES_DIGEST, filesDigest);
    watchedVersions.forEach(
        (watched, versionInfo) -> appendProperty(text, WATCHED_PREFIX + watched, versionInfo));
    AtomicFiles.write(file, text.toString().getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The record in {@code file}; empty if there is none.
   *
   * @throws IOException if it cannot be read or lacks a field (e.g. truncated)
   */
  public static Optional<AppliedConfig> read(Path file) throws IOException {
    // java.util.Properties rather than JSON: read on the way to starting Envoy after a reboot,
    // where
    // a cold JSON mapper would cost a few hundred milliseconds.
    Properties properties = new Properties();
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      properties.load(in);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IllegalArgumentException e) {
      throw new IOException(file + " is not a record of applied config: " + e.getMessage(), e);
    }
    SortedMap<String, String> watched = new TreeMap<>();
    for (String key : properties.stringPropertyNames()) {
      if (key.startsWith(WATCHED_PREFIX)) {
        watched.put(key.substring(WATCHED_PREFIX.length()), properties.getProperty(key));
      }
    }
    return Optional.of(
        new AppliedConfig(
            required(properties, VERSION, file),
            required(properties, SNAPSHOT_SHA256, file),
            required(properties, RENDER_INPUTS, file),
            required(properties, FILES_DIGEST, file),
            watched));
  }

  private static String required(Properties properties, String key, Path file) throws IOException {
    String value = properties.getProperty(key);
    if (value == null) {
      throw new IOException(file + " is not a record of applied config: " + key + " is missing");
    }
    return value;
  }

  private static void appendProperty(StringBuilder text, String key, String value) {
    Properties one = new Properties();
    one.setProperty(key, value);
    StringWriter line = new StringWriter();
    try {
      one.store(line, null);
    } catch (IOException e) {
      throw new UncheckedIOException("a StringWriter does not fail", e);
    }
    // store() starts with a date comment; only the escaped key=value line is kept, so equal records
    // are equal files.
    line.toString()
        .lines()
        .filter(l -> !l.startsWith("#"))
        .forEach(l -> text.append(l).append('\n'));
  }
}
