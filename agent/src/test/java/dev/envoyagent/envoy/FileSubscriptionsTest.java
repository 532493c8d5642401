package dev.envoyagent.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.envoyagent.envoy.FileSubscriptions.Subscription;
import dev.envoyagent.render.RenderedConfig;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class FileSubscriptionsTest {

  private static final Subscription LDS = sub("lds.json", "v2");
  private static final Subscription EDS = sub("eds/users-api.json", "e7");

  private static Subscription sub(String file, String version) {
    return new Subscription(file, RenderedConfig.subscriptionStatPrefix(file), version);
  }

  @Test
  void statPrefixesAreEnvoysForEachKindOfWatchedFile() {
    assertThat(RenderedConfig.subscriptionStatPrefix("lds.json"))
        .isEqualTo("listener_manager.lds.");
    assertThat(RenderedConfig.subscriptionStatPrefix("cds.json")).isEqualTo("cluster_manager.cds.");
    assertThat(RenderedConfig.subscriptionStatPrefix("rds/web.v2.json"))
        .isEqualTo("http.web.v2.rds.web.v2.");
    assertThat(RenderedConfig.subscriptionStatPrefix("eds/users-api.json"))
        .isEqualTo("cluster.users-api.");
  }

  @Test
  void theFilterAsksForExactlyTheseSubscriptionsVersionsAndFailureCounters() {
    Pattern filter = Pattern.compile(FileSubscriptions.statsFilter(List.of(LDS, EDS)));
    assertThat(filter.matcher("listener_manager.lds.version_text").find()).isTrue();
    assertThat(filter.matcher("cluster.users-api.update_rejected").find()).isTrue();
    assertThat(filter.matcher("cluster.users-api.update_failure").find()).isTrue();
    assertThat(filter.matcher("cluster.users-api.update_success").find()).isFalse();
    assertThat(filter.matcher("cluster.users-api.v2.version_text").find())
        .as("another cluster")
        .isFalse();
    assertThat(filter.matcher("cluster.usersXapi.version_text").find())
        .as("dots are literal")
        .isFalse();
  }

  @Test
  void manySubscriptionsAreAskedForWithOneShortFilter() {
    List<Subscription> many =
        IntStream.range(0, 1000).mapToObj(i -> sub("eds/s" + i + ".json", "x")).toList();
    String filter = FileSubscriptions.statsFilter(many);
    assertThat(filter.length()).isLessThan(100);
    assertThat(Pattern.compile(filter).matcher("cluster.s999.version_text").find()).isTrue();
  }

  @Test
  void confirmedOnlyWhenEveryVersionTextIsTheFilesVersion() {
    Map<String, Long> before = Map.of("lds.json", 0L, "eds/users-api.json", 0L);
    var pending =
        FileSubscriptions.progress(
            List.of(LDS, EDS),
            before,
            Map.of(
                "listener_manager.lds.version_text", "v2", "cluster.users-api.version_text", "e6"));
    assertThat(pending.confirmed()).isFalse();
    assertThat(pending.pending()).containsExactly("eds/users-api.json");
    var done =
        FileSubscriptions.progress(
            List.of(LDS, EDS),
            before,
            Map.of(
                "listener_manager.lds.version_text", "v2", "cluster.users-api.version_text", "e7"));
    assertThat(done.confirmed()).isTrue();
  }

  @Test
  void aRiseOfUpdateRejectedOrUpdateFailureIsARejection() {
    Map<String, String> earlier =
        Map.of(
            "listener_manager.lds.update_rejected", "2", "cluster.users-api.update_failure", "1");
    Map<String, Long> before = FileSubscriptions.failures(List.of(LDS, EDS), earlier);
    assertThat(before).containsEntry("lds.json", 2L).containsEntry("eds/users-api.json", 1L);

    var partlyRejected =
        FileSubscriptions.progress(
            List.of(LDS, EDS),
            before,
            Map.of(
                "listener_manager.lds.update_rejected",
                "3",
                "listener_manager.lds.version_text",
                "v1",
                "cluster.users-api.update_failure",
                "1",
                "cluster.users-api.version_text",
                "e7"));
    assertThat(partlyRejected.rejected()).containsExactly("lds.json");
    assertThat(partlyRejected.pending()).isEmpty();

    var unparsable =
        FileSubscriptions.progress(
            List.of(EDS), before, Map.of("cluster.users-api.update_failure", "2"));
    assertThat(unparsable.rejected()).containsExactly("eds/users-api.json");
  }

  @Test
  void withoutCountersFromBeforeTheWriteOnlyVersionsCount() {
    var progress =
        FileSubscriptions.progress(
            List.of(LDS),
            Collections.emptyMap(),
            Map.of("listener_manager.lds.update_rejected", "9"));
    assertThat(progress.rejected()).isEmpty();
    assertThat(progress.pending()).containsExactly("lds.json");
  }
}
