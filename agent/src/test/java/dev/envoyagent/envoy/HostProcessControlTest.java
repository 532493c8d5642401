package dev.envoyagent.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pid-reuse guard behind adoption, and the hot-restart version cache, on this very host. */
class HostProcessControlTest {

  @TempDir Path dir;

  @Test
  void aProcessIsAliveOnlyWithItsOwnStartTime() {
    HostProcessControl control = new HostProcessControl(dir);
    long self = ProcessHandle.current().pid();
    long startTicks = ProcStat.read(self).orElseThrow().startTicks();

    assertThat(control.isAlive(process(self, startTicks))).isTrue();
    // Same pid, other start time: a later process that reused the pid, never to be adopted.
    assertThat(control.isAlive(process(self, startTicks + 1))).isFalse();
    assertThat(control.isAlive(process(Integer.MAX_VALUE, startTicks))).isFalse();
  }

  @Test
  void theHotRestartVersionIsAskedAgainOnlyWhenTheBinaryFileChanges() throws Exception {
    HostProcessControl control = new HostProcessControl(dir);
    Path counter = dir.resolve("runs");
    Path binary = dir.resolve("envoy");
    writeBinary(binary, counter, "11.104");

    assertThat(control.hotRestartVersion(binary, Duration.ofSeconds(10))).contains("11.104");
    assertThat(control.hotRestartVersion(binary, Duration.ofSeconds(10))).contains("11.104");
    assertThat(Files.readAllLines(counter)).hasSize(1);

    writeBinary(binary, counter, "12.0"); // a new package: new file (inode, size)
    assertThat(control.hotRestartVersion(binary, Duration.ofSeconds(10))).contains("12.0");
    assertThat(Files.readAllLines(counter)).hasSize(2);
  }

  @Test
  void envoysVersionIsKeptOnDiskForTheNextAgentWhileTheBinaryIsTheSame() throws Exception {
    Path counter = dir.resolve("runs");
    Path binary = dir.resolve("envoy");
    writeBinary(binary, counter, "envoy  version: abc/1.36.2/Clean/RELEASE/BoringSSL");
    assertThat(new HostProcessControl(dir).version(binary, Duration.ofSeconds(10)))
        .hasValueSatisfying(v -> assertThat(v).contains("1.36.2"));
    assertThat(new HostProcessControl(dir).version(binary, Duration.ofSeconds(10)))
        .hasValueSatisfying(v -> assertThat(v).contains("1.36.2"));
    assertThat(Files.readAllLines(counter)).as("a new agent reads it from disk").hasSize(1);

    writeBinary(binary, counter, "envoy  version: def/1.37.0/Clean/RELEASE/BoringSSL");
    assertThat(new HostProcessControl(dir).version(binary, Duration.ofSeconds(10)))
        .hasValueSatisfying(v -> assertThat(v).contains("1.37.0"));
    assertThat(Files.readAllLines(counter)).hasSize(2);
  }

  @Test
  void theInotifyLimitIsTheSysctlsWholeValue() throws Exception {
    long sysctl;
    try (var in = Files.newInputStream(Path.of("/proc/sys/fs/inotify/max_user_instances"))) {
      sysctl =
          Long.parseLong(
              new String(in.readNBytes(64), java.nio.charset.StandardCharsets.US_ASCII).strip());
    }
    var limit = new HostProcessControl(dir).inotifyLimit(java.util.List.of());
    assertThat(limit)
        .hasValueSatisfying(
            l -> {
              assertThat(l.maxUserInstances()).isEqualTo(sysctl);
              assertThat(l.heldByOthers()).isNotNegative();
              assertThat(l.user()).contains("uid ");
            });
  }

  private static void writeBinary(Path binary, Path counter, String version) throws Exception {
    Path tmp = binary.resolveSibling("envoy.tmp");
    Files.writeString(tmp, "#!/bin/sh\necho run >> '" + counter + "'\necho " + version + " >&2\n");
    tmp.toFile().setExecutable(true);
    Files.move(
        tmp,
        binary,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private static EnvoyProcess process(long pid, long startTicks) {
    return new EnvoyProcess(0, pid, startTicks, "digest", "11.104", 0, 2, 0);
  }
}
