package dev.envoyagent.testkit.envoy;

import java.util.List;

/**
 * Weighted round robin that interleaves picks (nginx's "smooth" variant): weights 5,1,1 give a a b
 * a c a a, not a a a a a b c. Envoy uses an EDF scheduler with the same proportions.
 */
final class SmoothWeightedRoundRobin<T> {
  private final List<T> items;
  private final long[] weights;
  private final long[] current;
  private final long total;

  SmoothWeightedRoundRobin(List<T> items, List<Integer> weights) {
    if (items.size() != weights.size()) {
      throw new IllegalArgumentException("one weight per item");
    }
    this.items = List.copyOf(items);
    this.weights = new long[items.size()];
    this.current = new long[items.size()];
    long sum = 0;
    for (int i = 0; i < weights.size(); i++) {
      this.weights[i] = Math.max(0, weights.get(i));
      sum += this.weights[i];
    }
    this.total = sum;
  }

  boolean isEmpty() {
    return total == 0;
  }

  List<T> items() {
    return items;
  }

  /** The next pick, or null when nothing has a positive weight. */
  synchronized T next() {
    if (total == 0) {
      return null;
    }
    int best = -1;
    for (int i = 0; i < current.length; i++) {
      current[i] += weights[i];
      if (weights[i] > 0 && (best < 0 || current[i] > current[best])) {
        best = i;
      }
    }
    current[best] -= total;
    return items.get(best);
  }
}
