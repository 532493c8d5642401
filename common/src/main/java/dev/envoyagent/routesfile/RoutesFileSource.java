package dev.envoyagent.routesfile;

import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.model.InvalidInputException;
import dev.envoyagent.model.RouteSnapshots;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a routes file whenever its content changes. A file that does not parse or validate is
 * reported once and ignored: the last good snapshot keeps serving. Polling (not inotify) because
 * editors and config management replace files in every possible way, and a poll costs one small
 * read a second.
 */
public final class RoutesFileSource {

  private static final Logger LOG = LoggerFactory.getLogger(RoutesFileSource.class);

  private final Path file;
  private final Consumer<RouteSnapshot> onSnapshot;
  private final Consumer<String> onError;
  private byte[] lastContent;
  private boolean missingReported;

  public RoutesFileSource(Path file, Consumer<RouteSnapshot> onSnapshot, Consumer<String> onError) {
    this.file = file;
    this.onSnapshot = onSnapshot;
    this.onError = onError;
  }

  public Path file() {
    return file;
  }

  /** Reads the file now; hands on a new snapshot if the content changed and is valid. */
  public void poll() {
    byte[] content;
    try {
      content = Files.readAllBytes(file);
      missingReported = false;
    } catch (NoSuchFileException e) {
      if (!missingReported) {
        LOG.warn("routes file missing file={}; serving the last applied routes", file);
        onError.accept("routes file missing: " + file);
        missingReported = true;
      }
      return;
    } catch (IOException e) {
      LOG.warn("routes file unreadable file={} reason={}", file, e.toString());
      onError.accept("routes file unreadable: " + e.getMessage());
      return;
    }
    if (Arrays.equals(content, lastContent)) {
      return;
    }
    lastContent = content;
    try {
      RouteSnapshot snapshot = RouteSnapshots.parse(content);
      LOG.info(
          "routes file read file={} version={} services={}",
          file,
          snapshot.getVersion(),
          snapshot.getServicesCount());
      onSnapshot.accept(snapshot);
    } catch (InvalidInputException e) {
      LOG.warn(
          "routes file refused file={} problems={}; serving the last applied routes",
          file,
          e.problems().size());
      e.problems().forEach(p -> LOG.warn("routes file refused file={} problem=\"{}\"", file, p));
      onError.accept("routes file " + file + " refused: " + e.getMessage());
    }
  }

  /** Forgets the last content, so the next poll re-reads and re-applies it (SIGHUP). */
  public void forget() {
    lastContent = null;
  }
}
