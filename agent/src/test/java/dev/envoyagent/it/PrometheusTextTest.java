package dev.envoyagent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The ITs' Prometheus text parser refuses what a Prometheus server would refuse. */
class PrometheusTextTest {

  @Test
  void readsTheFormat() {
    PrometheusText text =
        PrometheusText.parse(
            """
        # HELP a_total Things.
        # TYPE a_total counter
        a_total 3.0
        # TYPE t summary
        t{quantile="0.5",x="a\\"b\\\\c\\n"} 0.25
        t_count 4
        t_sum 1.5 1700000000000
        g NaN
        h +Inf
        """);
    assertThat(text.value("a_total")).isEqualTo(3.0);
    assertThat(text.type("t")).isEqualTo("summary");
    assertThat(text.samples().get(1).labels())
        .containsEntry("x", "a\"b\\c\n")
        .containsEntry("quantile", "0.5");
    assertThat(text.value("t_count")).isEqualTo(4);
    assertThat(Double.isNaN(text.value("g"))).isTrue();
    assertThat(text.value("absent_total")).isZero();
  }

  @Test
  void refusesWhatPrometheusRefuses() {
    for (String bad :
        new String[] {
          "1abc 1\n",
          "a{b=\"c} 1\n",
          "a{b=c} 1\n",
          "a 1x\n",
          "a\n",
          "a 1",
          "# TYPE a nonsense\na 1\n",
          "# TYPE a gauge\n# TYPE a gauge\na 1\n",
          "a 1\n# TYPE a gauge\n",
          "a 1\nb 1\na{x=\"1\"} 2\n",
          "a 1\na 2\n",
          "a{b=\"\\x\"} 1\n",
          "a 1 2 3\n",
          "a 1.0d\n"
        }) {
      assertThatThrownBy(() -> PrometheusText.parse(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }
}
