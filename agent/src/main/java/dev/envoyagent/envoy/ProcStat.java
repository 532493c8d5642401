package dev.envoyagent.envoy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** The fields of /proc/PID/stat the agent needs: state, parent and start time. */
record ProcStat(char state, long parentPid, long startTicks) {

  static Optional<ProcStat> read(long pid) {
    String stat;
    try {
      stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
    } catch (IOException e) {
      return Optional.empty();
    }
    return parse(stat);
  }

  /**
   * The command name (field 2) may hold spaces and parentheses: fields are counted after the last
   * ')'.
   */
  static Optional<ProcStat> parse(String stat) {
    int end = stat.lastIndexOf(')');
    if (end < 0 || end + 2 >= stat.length()) {
      return Optional.empty();
    }
    String[] fields = stat.substring(end + 2).trim().split(" ");
    // fields[0] is field 3 (state); field N is fields[N - 3].
    if (fields.length < 20) {
      return Optional.empty();
    }
    try {
      return Optional.of(
          new ProcStat(fields[0].charAt(0), Long.parseLong(fields[1]), Long.parseLong(fields[19])));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }
}
