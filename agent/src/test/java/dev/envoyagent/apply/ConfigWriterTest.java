package dev.envoyagent.apply;

import static org.assertj.core.api.Assertions.assertThat;

import dev.envoyagent.render.RenderedFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigWriterTest {

  @TempDir Path dir;

  static RenderedFiles files(String bootstrap, Map<String, String> watched) {
    Map<String, byte[]> bytes = new TreeMap<>();
    watched.forEach((name, content) -> bytes.put(name, content.getBytes(StandardCharsets.UTF_8)));
    return new RenderedFiles("v", bootstrap.getBytes(StandardCharsets.UTF_8), new TreeMap<>(bytes));
  }

  static final RenderedFiles FIRST =
      files(
          "boot-1",
          Map.of(
              "lds.json",
              "lds-1",
              "cds.json",
              "cds-1",
              "eds/a.json",
              "eds-a-1",
              "eds/b.json",
              "eds-b-1",
              "rds/a.json",
              "rds-a-1"));

  @Test
  void theFirstWriteWritesEverythingInEnvoysOrder() throws Exception {
    WriteOutcome outcome = new ConfigWriter(dir).write(FIRST);
    assertThat(outcome.bootstrapChanged()).isTrue();
    assertThat(outcome.written())
        .containsExactly(
            "eds/a.json", "eds/b.json", "rds/a.json", "cds.json", "lds.json", "bootstrap.json");
    assertThat(outcome.removed()).isEmpty();
    assertThat(Files.readString(dir.resolve("eds/b.json"))).isEqualTo("eds-b-1");
    assertThat(Files.readString(dir.resolve("bootstrap.json"))).isEqualTo("boot-1");
  }

  @Test
  void writingTheSameFilesAgainTouchesNothing() throws Exception {
    ConfigWriter writer = new ConfigWriter(dir);
    writer.write(FIRST);
    long modified = Files.getLastModifiedTime(dir.resolve("lds.json")).toMillis();
    Object inode = Files.getAttribute(dir.resolve("lds.json"), "unix:ino");

    WriteOutcome again = writer.write(FIRST);
    assertThat(again.changedAnything()).isFalse();
    assertThat(again.bootstrapChanged()).isFalse();
    assertThat(Files.getAttribute(dir.resolve("lds.json"), "unix:ino")).isEqualTo(inode);
    assertThat(Files.getLastModifiedTime(dir.resolve("lds.json")).toMillis()).isEqualTo(modified);
  }

  @Test
  void aChangedFileIsReplacedByRenameNotRewrittenInPlace() throws Exception {
    ConfigWriter writer = new ConfigWriter(dir);
    writer.write(FIRST);
    Object inode = Files.getAttribute(dir.resolve("eds/a.json"), "unix:ino");

    WriteOutcome outcome =
        writer.write(
            files(
                "boot-1",
                Map.of(
                    "lds.json",
                    "lds-1",
                    "cds.json",
                    "cds-1",
                    "eds/a.json",
                    "eds-a-2",
                    "eds/b.json",
                    "eds-b-1",
                    "rds/a.json",
                    "rds-a-1")));
    assertThat(outcome.written()).containsExactly("eds/a.json");
    assertThat(outcome.bootstrapChanged()).isFalse();
    assertThat(Files.readString(dir.resolve("eds/a.json"))).isEqualTo("eds-a-2");
    assertThat(Files.getAttribute(dir.resolve("eds/a.json"), "unix:ino"))
        .as("Envoy reloads only on a file moved into place")
        .isNotEqualTo(inode);
  }

  @Test
  void filesOfRemovedServicesGoAfterTheListenersThatUsedThem() throws Exception {
    ConfigWriter writer = new ConfigWriter(dir);
    writer.write(FIRST);
    Files.writeString(dir.resolve("operator-notes.txt"), "keep me");

    WriteOutcome outcome =
        writer.write(
            files(
                "boot-1",
                Map.of(
                    "lds.json",
                    "lds-2",
                    "cds.json",
                    "cds-2",
                    "eds/a.json",
                    "eds-a-1",
                    "rds/a.json",
                    "rds-a-1")));
    assertThat(outcome.written()).containsExactly("cds.json", "lds.json");
    assertThat(outcome.removed()).containsExactly("eds/b.json");
    assertThat(dir.resolve("eds/b.json")).doesNotExist();
    assertThat(dir.resolve("operator-notes.txt")).hasContent("keep me");
  }

  @Test
  void switchingToRestartDeliveryRemovesTheWatchedFiles() throws Exception {
    ConfigWriter writer = new ConfigWriter(dir);
    writer.write(FIRST);
    WriteOutcome outcome = writer.write(files("boot-static", Map.of()));
    assertThat(outcome.bootstrapChanged()).isTrue();
    assertThat(outcome.removed())
        .containsExactly("cds.json", "eds/a.json", "eds/b.json", "lds.json", "rds/a.json");
  }

  @Test
  void leftOversOfAnInterruptedWriteAreCleanedUp() throws Exception {
    Files.createDirectories(dir.resolve("eds"));
    Files.writeString(dir.resolve(".tmp-1234-lds.json"), "half");
    Files.writeString(dir.resolve("eds/.tmp-99-a.json"), "half");
    new ConfigWriter(dir).write(FIRST);
    try (var entries = Files.list(dir)) {
      assertThat(entries.map(p -> p.getFileName().toString()))
          .noneMatch(n -> n.startsWith(".tmp-"));
    }
    try (var entries = Files.list(dir.resolve("eds"))) {
      assertThat(entries.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder("a.json", "b.json");
    }
  }
}
