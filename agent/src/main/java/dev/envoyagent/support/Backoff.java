package dev.envoyagent.support;

import java.time.Duration;
import java.util.Random;

/**
 * Jittered exponential backoff. It only answers "how long before attempt n?"; it never sleeps, and
 * randomness comes from outside, so tests choose it.
 */
public record Backoff(Duration initial, Duration max, double jitter) {

  public Backoff {
    if (initial.isNegative() || max.compareTo(initial) < 0 || jitter < 0 || jitter >= 1) {
      throw new IllegalArgumentException("need 0 <= initial <= max and 0 <= jitter < 1");
    }
  }

  /** The delay before retry number {@code attempt} (1 = the first retry). */
  public Duration delay(int attempt, Random random) {
    double base = initial.toMillis() * Math.pow(2, Math.max(0, Math.min(attempt - 1, 30)));
    double capped = Math.min(base, max.toMillis());
    double spread = capped * jitter * (2 * random.nextDouble() - 1);
    return Duration.ofMillis(Math.max(0, Math.round(capped + spread)));
  }
}
