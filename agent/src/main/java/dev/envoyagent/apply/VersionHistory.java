package dev.envoyagent.apply;

import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.model.InvalidInputException;
import dev.envoyagent.model.RouteSnapshots;
import dev.envoyagent.support.AtomicFiles;
import dev.envoyagent.support.Sha256;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last N applied snapshots, one routes file each ({@code 00000042.json}), so an operator can
 * see or re-apply what ran before, and a restarted agent knows what it last applied.
 */
public final class VersionHistory {

  private static final Logger LOG = LoggerFactory.getLogger(VersionHistory.class);
  private static final Pattern ENTRY = Pattern.compile("([0-9]{8})\\.json");

  private final Path dir;
  private final int keep;

  public VersionHistory(Path dir, int keep) {
    if (keep < 1) {
      throw new IllegalArgumentException("keep must be at least 1, got " + keep);
    }
    this.dir = dir;
    this.keep = keep;
  }

  /** One applied snapshot on disk; a higher sequence number was applied later. */
  public record Entry(long sequence, Path file) {}

  /** Records {@code snapshot} as applied and drops the oldest beyond the limit. */
  public Entry record(RouteSnapshot snapshot) throws IOException {
    Files.createDirectories(dir);
    List<Entry> entries = entries();
    long next = entries.isEmpty() ? 1 : entries.get(entries.size() - 1).sequence() + 1;
    Path file = dir.resolve(String.format("%08d.json", next));
    byte[] content = RouteSnapshots.toJson(snapshot);
    // The checksum goes first: an entry without its checksum is never taken for a good one.
    AtomicFiles.write(checksumFile(file), sha256(content).getBytes(StandardCharsets.UTF_8));
    AtomicFiles.write(file, content);
    entries.add(new Entry(next, file));
    for (int i = 0; i < entries.size() - keep; i++) {
      Files.deleteIfExists(entries.get(i).file());
      Files.deleteIfExists(checksumFile(entries.get(i).file()));
    }
    return entries.get(entries.size() - 1);
  }

  /** Entries from oldest to newest. */
  public List<Entry> entries() throws IOException {
    List<Entry> entries = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return entries;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path file : files) {
        Matcher name = ENTRY.matcher(file.getFileName().toString());
        if (name.matches()) {
          entries.add(new Entry(Long.parseLong(name.group(1)), file));
        }
      }
    }
    entries.sort(Comparator.comparingLong(Entry::sequence));
    return entries;
  }

  /**
   * The newest applied snapshot whose checksum matches and that still validates: the last known
   * good. A damaged entry is reported and skipped; an older good one is better than none.
   */
  public Optional<RouteSnapshot> latest() throws IOException {
    List<Entry> entries = entries();
    for (int i = entries.size() - 1; i >= 0; i--) {
      Path file = entries.get(i).file();
      try {
        byte[] content = Files.readAllBytes(file);
        String expected = Files.readString(checksumFile(file), StandardCharsets.UTF_8).strip();
        if (!expected.equals(sha256(content))) {
          LOG.warn("history entry corrupt (checksum mismatch), skipped file={}", file);
          continue;
        }
        return Optional.of(RouteSnapshots.parse(content));
      } catch (java.nio.file.NoSuchFileException e) {
        LOG.warn("history entry has no checksum, skipped file={}", file);
      } catch (InvalidInputException e) {
        LOG.warn("history entry unreadable, skipped file={} reason={}", file, e.getMessage());
      }
    }
    return Optional.empty();
  }

  private static Path checksumFile(Path entry) {
    return entry.resolveSibling(entry.getFileName() + ".sha256");
  }

  static String sha256(byte[] content) {
    return Sha256.hex(content);
  }
}
