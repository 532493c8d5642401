package dev.envoyagent.ec2;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import software.amazon.awssdk.core.document.Document;
import software.amazon.awssdk.imds.Ec2MetadataResponse;

/** Turns IMDS answers into notices; pure, so the rules are tested without a server. */
final class TerminationNotices {
  /** What EC2 documents for the spot notice; also the fallback when its time cannot be read. */
  static final Duration SPOT_NOTICE = Duration.ofMinutes(2);

  /** Lifecycle states after which the instance will not serve again. */
  private static final Set<String> TERMINAL = Set.of("Terminated", "Warmed:Terminated");

  private TerminationNotices() {}

  /**
   * {@code {"action":"terminate","time":"2025-06-01T12:02:00Z"}}. Its mere presence means an
   * interruption is coming, so an unreadable body still gives a notice, with the documented two
   * minutes from now.
   */
  static TerminationNotice fromSpot(String body, Instant now) {
    String action = "unknown";
    Instant deadline = now.plus(SPOT_NOTICE);
    try {
      Document doc = Ec2MetadataResponse.create(body).asDocument();
      if (doc.isMap()) {
        Map<String, Document> map = doc.asMap();
        Document a = map.get("action");
        if (a != null && a.isString()) {
          action = a.asString();
        }
        Document t = map.get("time");
        if (t != null && t.isString()) {
          deadline = Instant.parse(t.asString());
        }
      }
    } catch (RuntimeException e) {
      // Untrusted text (the SDK's parser throws several unchecked types): keep the conservative
      // defaults.
    }
    return new TerminationNotice(TerminationNotice.Kind.SPOT_INTERRUPTION, action, now, deadline);
  }

  /**
   * A notice when the target lifecycle state is terminal; other states (InService, Standby, …) are
   * not.
   */
  static Optional<TerminationNotice> fromLifecycle(String state, Instant now, Duration grace) {
    String s = state.trim();
    if (!TERMINAL.contains(s)) {
      return Optional.empty();
    }
    return Optional.of(
        new TerminationNotice(TerminationNotice.Kind.ASG_TERMINATION, s, now, now.plus(grace)));
  }
}
