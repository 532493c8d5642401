package dev.envoyagent.apply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.render.RenderedFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AppliedConfigTest {

  @TempDir Path dir;

  private final RouteSnapshot snapshot = RouteSnapshot.newBuilder().setVersion("3").build();

  @Test
  void aRecordReadsBackAndFindsTheFilesItWasWrittenFor() throws Exception {
    RenderedFiles files = files("{\"eds\": 1}");
    new ConfigWriter(dir.resolve("envoy")).write(files);
    AppliedConfig record = recordFor(files);
    record.write(dir.resolve("applied.properties"));

    AppliedConfig read = AppliedConfig.read(dir.resolve("applied.properties")).orElseThrow();
    assertThat(read).isEqualTo(record);
    assertThat(Files.readString(dir.resolve("applied.properties")))
        .as("no date: equal records, equal files")
        .doesNotContainPattern("#.*20[0-9][0-9]");
    assertThat(read.describes(snapshot, "inputs")).isTrue();
    assertThat(read.readFiles(dir.resolve("envoy")))
        .hasValueSatisfying(f -> assertThat(f.digest()).isEqualTo(files.digest()));
  }

  @Test
  void otherInputsOrChangedOrMissingFilesAreNotTheRecordedOnes() throws Exception {
    RenderedFiles files = files("{\"eds\": 1}");
    new ConfigWriter(dir.resolve("envoy")).write(files);
    AppliedConfig record = recordFor(files);

    assertThat(record.describes(snapshot, "other inputs")).isFalse();
    assertThat(record.describes(snapshot.toBuilder().setVersion("4").build(), "inputs")).isFalse();
    Files.writeString(dir.resolve("envoy/eds/web.json"), "{\"eds\": 2}");
    assertThat(record.readFiles(dir.resolve("envoy"))).isEmpty();
    Files.delete(dir.resolve("envoy/eds/web.json"));
    assertThat(record.readFiles(dir.resolve("envoy"))).isEmpty();
  }

  @Test
  void noRecordIsEmptyAndATruncatedOneIsAnErrorNamingTheFile() throws Exception {
    assertThat(AppliedConfig.read(dir.resolve("absent.json"))).isEmpty();
    Path truncated = dir.resolve("applied.properties");
    Files.writeString(truncated, "version=3\nsnapshot_sha256=ab");
    assertThatThrownBy(() -> AppliedConfig.read(truncated))
        .hasMessageContaining(truncated.toString())
        .hasMessageContaining("render_inputs is missing");
  }

  private AppliedConfig recordFor(RenderedFiles files) {
    SortedMap<String, String> versions = new TreeMap<>();
    files.watched().keySet().forEach(name -> versions.put(name, "v-" + name));
    return new AppliedConfig(
        "3", AppliedConfig.snapshotSha256(snapshot), "inputs", files.digest(), versions);
  }

  private static RenderedFiles files(String eds) {
    SortedMap<String, byte[]> watched = new TreeMap<>();
    watched.put("eds/web.json", eds.getBytes(StandardCharsets.UTF_8));
    return new RenderedFiles(
        "3", "{\"bootstrap\": true}".getBytes(StandardCharsets.UTF_8), watched);
  }
}
