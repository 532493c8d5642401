package dev.envoyagent.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * /stats as Envoy's stats_params.cc, stats_request.cc, stats_render.cc and prometheus_stats.cc
 * render it.
 */
class StatsRenderTest {
  private final Stats stats = new Stats();

  StatsRenderTest() {
    stats.declare("listener_manager.lds.", "update_attempt", "update_rejected", "update_failure");
    stats.inc("listener_manager.lds.update_attempt");
    stats.inc("listener_manager.lds.update_rejected");
    stats.textReadout("listener_manager.lds.version_text").set("v\"1");
    stats.textReadout("cluster.foo.version_text").set("7");
    stats.counter("cluster.foo.update_rejected");
    stats.gauge("cluster.foo.version").set(XxHash64.hash("7"));
    stats.textReadout("cluster.bar.version_text"); // never set: not "used"
  }

  @Test
  void jsonHasStringValuesForTextReadoutsFirstThenNumbersSortedByName() throws Exception {
    StatsRender.Answer a =
        StatsRender.stats(
            stats,
            Map.of(
                "format",
                "json",
                "filter",
                "^(listener_manager\\.lds\\.|cluster\\.foo\\.)(version_text|update_rejected|update_failure)$"));
    assertThat(a.status()).isEqualTo(200);
    assertThat(a.body())
        .isEqualTo(
            "{\"stats\":[{\"name\":\"cluster.foo.version_text\",\"value\":\"7\"},"
                + "{\"name\":\"listener_manager.lds.version_text\",\"value\":\"v\\\"1\"},"
                + "{\"name\":\"cluster.foo.update_rejected\",\"value\":0},"
                + "{\"name\":\"listener_manager.lds.update_failure\",\"value\":0},"
                + "{\"name\":\"listener_manager.lds.update_rejected\",\"value\":1}]}");
    JsonNode parsed = new ObjectMapper().readTree(a.body());
    assertThat(parsed.path("stats").get(0).path("value").isTextual()).isTrue();
    assertThat(parsed.path("stats").get(4).path("value").isNumber()).isTrue();
  }

  @Test
  void textQuotesTextReadoutsAndGaugesAreUnsigned() {
    StatsRender.Answer a = StatsRender.stats(stats, Map.of("filter", "cluster\\.foo"));
    assertThat(a.body())
        .isEqualTo(
            "cluster.foo.version_text: \"7\"\ncluster.foo.update_rejected: 0\n"
                + "cluster.foo.version: "
                + Long.toUnsignedString(XxHash64.hash("7"))
                + "\n");
  }

  @Test
  void filterIsAPartialRe2MatchAndBadRegexesAre400() {
    assertThat(StatsRender.stats(stats, Map.of("filter", "lds")).body())
        .contains("listener_manager.lds.update_attempt")
        .doesNotContain("cluster.foo");
    StatsRender.Answer bad = StatsRender.stats(stats, Map.of("filter", "(unclosed"));
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.body()).isEqualTo("Invalid re2 regex");
    // valid for java.util.regex, refused by RE2
    assertThat(StatsRender.stats(stats, Map.of("filter", "foo(?=bar)")).status()).isEqualTo(400);
  }

  @Test
  void typeAndUsedOnlySelect() {
    assertThat(StatsRender.stats(stats, Map.of("type", "TextReadouts")).body())
        .isEqualTo(
            "cluster.bar.version_text: \"\"\ncluster.foo.version_text: \"7\"\n"
                + "listener_manager.lds.version_text: \"v\"1\"\n");
    assertThat(StatsRender.stats(stats, Map.of("type", "TextReadouts", "usedonly", "")).body())
        .doesNotContain("cluster.bar");
    assertThat(StatsRender.stats(stats, Map.of("type", "Counters", "filter", "foo")).body())
        .isEqualTo("cluster.foo.update_rejected: 0\n");
    assertThat(StatsRender.stats(stats, Map.of("type", "Gauges", "filter", "foo")).body())
        .startsWith("cluster.foo.version: ");
    assertThat(StatsRender.stats(stats, Map.of("type", "Nope")).status()).isEqualTo(400);
    assertThat(StatsRender.stats(stats, Map.of("usedonly", "", "filter", "lds")).body())
        .contains("update_attempt: 1")
        .doesNotContain("update_failure");
  }

  @Test
  void prometheusOmitsTextReadoutsUnlessAsked() {
    String plain = StatsRender.prometheus(stats, Map.of("filter", "lds")).body();
    assertThat(plain)
        .contains(
            "# TYPE envoy_listener_manager_lds_update_attempt counter\n"
                + "envoy_listener_manager_lds_update_attempt{} 1\n\n")
        .doesNotContain("text_value");
    String with =
        StatsRender.prometheus(stats, Map.of("filter", "lds", "text_readouts", "")).body();
    assertThat(with)
        .contains(
            "# TYPE envoy_listener_manager_lds_version_text gauge\n"
                + "envoy_listener_manager_lds_version_text{text_value=\"v\"1\"} 1\n");
  }
}
