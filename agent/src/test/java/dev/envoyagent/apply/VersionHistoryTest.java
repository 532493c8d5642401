package dev.envoyagent.apply;

import static org.assertj.core.api.Assertions.assertThat;

import dev.envoyagent.api.v1.Protocol;
import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.api.v1.Service;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VersionHistoryTest {

  @TempDir Path dir;

  static RouteSnapshot snapshot(String version) {
    return RouteSnapshot.newBuilder()
        .setVersion(version)
        .addServices(Service.newBuilder().setName("a").setProtocol(Protocol.TCP).setLocalPort(2000))
        .build();
  }

  @Test
  void keepsTheLastNAndReadsTheNewestBack() throws Exception {
    VersionHistory history = new VersionHistory(dir, 3);
    for (int v = 1; v <= 5; v++) {
      history.record(snapshot("v" + v));
    }
    assertThat(history.entries())
        .extracting(VersionHistory.Entry::sequence)
        .containsExactly(3L, 4L, 5L);
    assertThat(history.latest()).contains(snapshot("v5"));
  }

  @Test
  void aDamagedNewestEntryFallsBackToTheOneBefore() throws Exception {
    VersionHistory history = new VersionHistory(dir, 3);
    history.record(snapshot("good"));
    VersionHistory.Entry broken = history.record(snapshot("broken"));
    Files.writeString(broken.file(), "{ not json");
    assertThat(history.latest()).contains(snapshot("good"));
  }

  @Test
  void anEntryWhoseBytesChangedIsNotTrustedEvenIfItStillParses() throws Exception {
    VersionHistory history = new VersionHistory(dir, 3);
    history.record(snapshot("good"));
    VersionHistory.Entry tampered = history.record(snapshot("newer"));
    Files.writeString(
        tampered.file(), new String(Files.readAllBytes(tampered.file())).replace("newer", "other"));
    assertThat(history.latest()).contains(snapshot("good"));
  }

  @Test
  void anEntryWithoutItsChecksumIsSkipped() throws Exception {
    VersionHistory history = new VersionHistory(dir, 3);
    history.record(snapshot("good"));
    VersionHistory.Entry partial = history.record(snapshot("partial"));
    Files.delete(partial.file().resolveSibling(partial.file().getFileName() + ".sha256"));
    assertThat(history.latest()).contains(snapshot("good"));
  }

  @Test
  void anEmptyHistoryHasNoLatest() throws Exception {
    assertThat(new VersionHistory(dir.resolve("none"), 3).latest()).isEmpty();
  }
}
