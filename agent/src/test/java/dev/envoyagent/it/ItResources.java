package dev.envoyagent.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every end-to-end test shares: its log, its poll interval, and closing what it started
 * (agents, Envoys, control planes, backends) in reverse order after each test, even when it failed.
 */
abstract class ItResources {

  static final Logger LOG = LoggerFactory.getLogger("it");
  static final Duration POLL = Duration.ofMillis(100);

  private final List<AutoCloseable> resources = Collections.synchronizedList(new ArrayList<>());

  <T extends AutoCloseable> T closeLater(T resource) {
    resources.add(resource);
    return resource;
  }

  @AfterEach
  void closeEverything() throws Exception {
    List<AutoCloseable> copy = new ArrayList<>(resources);
    Collections.reverse(copy);
    Exception first = null;
    for (AutoCloseable r : copy) {
      try {
        r.close();
      } catch (Exception e) {
        first = first == null ? e : first;
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
