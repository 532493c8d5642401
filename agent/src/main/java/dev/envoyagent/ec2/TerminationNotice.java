package dev.envoyagent.ec2;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * EC2 is about to take this instance away: drain before {@code deadline}.
 *
 * @param kind where the notice came from
 * @param action the spot action ({@code terminate}, {@code stop}, {@code hibernate}) or the
 *     lifecycle state
 * @param noticedAt when the agent saw it
 * @param deadline when the instance goes: the spot notice's {@code time}, or {@code noticedAt} plus
 *     the configured lifecycle grace for Auto Scaling (IMDS gives no time for it)
 */
public record TerminationNotice(Kind kind, String action, Instant noticedAt, Instant deadline) {

  public enum Kind {
    /** {@code spot/instance-action}: about two minutes' notice, best effort. */
    SPOT_INTERRUPTION,
    /**
     * {@code autoscaling/target-lifecycle-state} turned {@code Terminated}: scale-in or instance
     * refresh.
     */
    ASG_TERMINATION
  }

  public TerminationNotice {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(action, "action");
    Objects.requireNonNull(noticedAt, "noticedAt");
    Objects.requireNonNull(deadline, "deadline");
  }

  /** Time left at {@code now}, never negative. */
  public Duration remaining(Instant now) {
    Duration left = Duration.between(now, deadline);
    return left.isNegative() ? Duration.ZERO : left;
  }
}
