package dev.envoyagent.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SmoothWeightedRoundRobinTest {
  @Test
  void interleavesInProportionToWeight() {
    SmoothWeightedRoundRobin<String> wrr =
        new SmoothWeightedRoundRobin<>(List.of("a", "b", "c"), List.of(5, 1, 1));
    List<String> picks = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      picks.add(wrr.next());
    }
    assertThat(picks).containsExactly("a", "a", "b", "a", "c", "a", "a");
  }

  @Test
  void equalWeightsAreRoundRobinAndZeroWeightsNeverPicked() {
    SmoothWeightedRoundRobin<String> wrr =
        new SmoothWeightedRoundRobin<>(List.of("a", "b", "z"), List.of(1, 1, 0));
    assertThat(List.of(wrr.next(), wrr.next(), wrr.next(), wrr.next()))
        .containsExactly("a", "b", "a", "b");
  }

  @Test
  void emptyGivesNull() {
    assertThat(new SmoothWeightedRoundRobin<String>(List.of(), List.of()).next()).isNull();
    assertThat(new SmoothWeightedRoundRobin<>(List.of("a"), List.of(0)).isEmpty()).isTrue();
  }
}
