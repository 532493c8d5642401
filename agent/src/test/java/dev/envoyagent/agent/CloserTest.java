package dev.envoyagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CloserTest {

  @Test
  void closesNewestFirstAndGoesOnAfterAFailure() throws Exception {
    List<String> closed = new ArrayList<>();
    Closer closer = new Closer();
    closer.onClose("loop", () -> closed.add("loop"));
    AutoCloseable feed = () -> closed.add("feed");
    assertThat(closer.register("feed", feed)).isSameAs(feed);
    closer.onClose(
        "broken",
        () -> {
          closed.add("broken");
          throw new IllegalStateException("cannot");
        });
    closer.onClose("admin", () -> closed.add("admin"));

    closer.closeAll();
    assertThat(closed).containsExactly("admin", "broken", "feed", "loop");
    closer.closeAll();
    assertThat(closed).as("each thing is closed once").hasSize(4);
  }
}
