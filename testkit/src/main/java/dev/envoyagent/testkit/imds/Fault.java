package dev.envoyagent.testkit.imds;

import java.util.Objects;

/**
 * An injected failure: requests whose path starts with {@code pathPrefix} (token PUTs included when
 * the prefix allows) are answered with {@code status}, with a short text body or with none.
 */
public record Fault(int status, boolean withBody, String pathPrefix) {
  public Fault {
    if (status < 400 || status > 599) {
      throw new IllegalArgumentException("fault status must be 4xx or 5xx: " + status);
    }
    Objects.requireNonNull(pathPrefix, "pathPrefix");
  }

  /** A failure of every request. */
  public static Fault of(int status, boolean withBody) {
    return new Fault(status, withBody, "/");
  }

  boolean matches(String path) {
    return path.startsWith(pathPrefix);
  }
}
