package dev.envoyagent.apply;

import java.util.List;

/**
 * What a write changed on disk. When the bootstrap changed, Envoy must be (hot) restarted to see
 * it; otherwise Envoy picks the watched files up by itself.
 */
public record WriteOutcome(boolean bootstrapChanged, List<String> written, List<String> removed) {

  public WriteOutcome {
    written = List.copyOf(written);
    removed = List.copyOf(removed);
  }

  public boolean changedAnything() {
    return !written.isEmpty() || !removed.isEmpty();
  }
}
