package dev.envoyagent.render;

import static org.assertj.core.api.Assertions.assertThatCode;

import org.junit.jupiter.api.Test;

class RenderWarmUpTest {

  @Test
  void theBuiltInSnapshotRendersInEveryDelivery() {
    // The agent only logs a failed warm-up; this is where a snapshot the validator no longer accepts shows.
    assertThatCode(RenderWarmUp::run).doesNotThrowAnyException();
  }
}
