package dev.envoyagent.apply;

import dev.envoyagent.render.RenderedConfig;
import dev.envoyagent.render.RenderedFiles;
import dev.envoyagent.support.AtomicFiles;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Puts a rendered configuration into Envoy's config directory. Only files whose bytes differ are
 * rewritten, so Envoy reloads only what changed. Order matters to Envoy: route and endpoint files
 * first, then clusters, then listeners (a listener must not name a cluster Envoy has not seen), the
 * bootstrap last, and files of removed services only after the listeners and clusters that used
 * them are gone.
 */
public final class ConfigWriter {

  private final Path dir;

  public ConfigWriter(Path dir) {
    this.dir = dir.toAbsolutePath();
  }

  public Path dir() {
    return dir;
  }

  public WriteOutcome write(RenderedFiles files) throws IOException {
    Files.createDirectories(dir);
    removeTemporaries(dir);
    List<String> written = new ArrayList<>();
    for (Map.Entry<String, byte[]> file : files.watched().entrySet()) {
      String name = file.getKey();
      if (!name.equals(RenderedConfig.LDS_FILE) && !name.equals(RenderedConfig.CDS_FILE)) {
        writeIfChanged(name, file.getValue(), written);
      }
    }
    for (String topLevel : List.of(RenderedConfig.CDS_FILE, RenderedConfig.LDS_FILE)) {
      byte[] content = files.watched().get(topLevel);
      if (content != null) {
        writeIfChanged(topLevel, content, written);
      }
    }
    boolean bootstrapChanged =
        writeIfChanged(RenderedConfig.BOOTSTRAP_FILE, files.bootstrap(), written);
    List<String> removed = removeStale(files.watched().keySet());
    return new WriteOutcome(bootstrapChanged, written, removed);
  }

  private boolean writeIfChanged(String name, byte[] content, List<String> written)
      throws IOException {
    Path target = dir.resolve(name);
    if (AtomicFiles.hasContent(target, content)) {
      return false;
    }
    AtomicFiles.write(target, content);
    written.add(name);
    return true;
  }

  /**
   * Deletes watched files this configuration no longer has; never touches files it does not own.
   */
  private List<String> removeStale(Set<String> keep) throws IOException {
    Set<String> owned = new TreeSet<>();
    for (String topLevel : List.of(RenderedConfig.LDS_FILE, RenderedConfig.CDS_FILE)) {
      if (Files.isRegularFile(dir.resolve(topLevel))) {
        owned.add(topLevel);
      }
    }
    for (String sub : List.of(RenderedConfig.RDS_DIR, RenderedConfig.EDS_DIR)) {
      Path subDir = dir.resolve(sub);
      if (!Files.isDirectory(subDir)) {
        continue;
      }
      removeTemporaries(subDir);
      try (DirectoryStream<Path> entries = Files.newDirectoryStream(subDir, "*.json")) {
        for (Path entry : entries) {
          owned.add(sub + "/" + entry.getFileName());
        }
      }
    }
    List<String> removed = new ArrayList<>();
    for (String name : owned) {
      if (!keep.contains(name)) {
        Files.deleteIfExists(dir.resolve(name));
        removed.add(name);
      }
    }
    if (!removed.isEmpty()) {
      AtomicFiles.syncDirectory(dir);
    }
    return removed;
  }

  /** Left-overs of a write interrupted by a crash. */
  private static void removeTemporaries(Path in) throws IOException {
    try (DirectoryStream<Path> entries =
        Files.newDirectoryStream(in, AtomicFiles.TEMP_PREFIX + "*")) {
      for (Path entry : entries) {
        Files.deleteIfExists(entry);
      }
    }
  }
}
