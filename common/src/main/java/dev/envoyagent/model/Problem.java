package dev.envoyagent.model;

import java.util.Objects;

/**
 * One thing wrong with an input, named by where it is ({@code services[2].local_port}) and why. An
 * empty path means the document as a whole.
 */
public record Problem(String path, String reason) {

  public Problem {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(reason, "reason");
  }

  /** Whether this problem is at {@code other}'s path or inside it. */
  public boolean isAtOrUnder(String other) {
    return path.equals(other)
        || other.isEmpty()
        || path.startsWith(other + ".")
        || path.startsWith(other + "[");
  }

  @Override
  public String toString() {
    return path.isEmpty() ? reason : path + ": " + reason;
  }
}
