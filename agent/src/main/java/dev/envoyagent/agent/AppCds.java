package dev.envoyagent.agent;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Whether this JVM uses the class data sharing archive the launcher passed it. The archive halves
 * the agent's start, which is how fast a rebooted host serves its last known good routes; after a
 * JDK upgrade the JVM ignores it silently (the launcher keeps it quiet), so the agent says so.
 */
final class AppCds {

  static final String ARCHIVE_FLAG = "-XX:SharedArchiveFile=";

  enum State {
    /** No archive was given (-1 in the metric). */
    OFF(-1),
    /** Given but not mapped: written for another JVM or jar (0). */
    NOT_USED(0),
    /** Given and mapped (1). */
    MAPPED(1);

    final int metric;

    State(int metric) {
      this.metric = metric;
    }
  }

  record Check(State state, String archive) {}

  private AppCds() {}

  /** From the JVM's arguments and the text of its /proc/self/maps. */
  static Check of(List<String> jvmArguments, String memoryMaps) {
    Optional<String> archive =
        jvmArguments.stream()
            .filter(a -> a.startsWith(ARCHIVE_FLAG))
            .map(a -> a.substring(ARCHIVE_FLAG.length()))
            .reduce((first, last) -> last);
    if (archive.isEmpty()) {
      return new Check(State.OFF, "");
    }
    String path = realPath(archive.get());
    boolean mapped = memoryMaps.lines().anyMatch(line -> line.endsWith(" " + path));
    return new Check(mapped ? State.MAPPED : State.NOT_USED, path);
  }

  /** As the kernel lists a mapped file: absolute, links resolved. */
  private static String realPath(String file) {
    Path path = Path.of(file).toAbsolutePath().normalize();
    try {
      return path.toRealPath().toString();
    } catch (IOException e) {
      return path.toString();
    }
  }

  /** This JVM's. */
  static Check current() {
    String maps;
    try {
      maps = Files.readString(Path.of("/proc/self/maps"));
    } catch (IOException e) {
      maps = "";
    }
    return of(ManagementFactory.getRuntimeMXBean().getInputArguments(), maps);
  }
}
