package dev.envoyagent.envoy;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An Envoy release number, as {@code envoy --version} prints it ({@code envoy version:
 * <commit>/1.36.2/Clean/RELEASE/BoringSSL}).
 */
public record EnvoyVersion(int major, int minor, int patch) implements Comparable<EnvoyVersion> {

  /**
   * The oldest Envoy this agent supports: the behaviour it relies on (file subscriptions and their
   * stats, hot restart, admin API) was read from Envoy's source from this release on.
   */
  public static final EnvoyVersion MINIMUM = new EnvoyVersion(1, 30, 0);

  private static final Pattern IN_VERSION_LINE =
      Pattern.compile("version: [^/\\s]*/(\\d+)\\.(\\d+)\\.(\\d+)");

  /** The release in {@code --version}'s output; empty when the output has none. */
  public static Optional<EnvoyVersion> parse(String versionOutput) {
    Matcher m = IN_VERSION_LINE.matcher(versionOutput);
    if (!m.find()) {
      return Optional.empty();
    }
    try {
      return Optional.of(
          new EnvoyVersion(
              Integer.parseInt(m.group(1)),
              Integer.parseInt(m.group(2)),
              Integer.parseInt(m.group(3))));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  public boolean supported() {
    return compareTo(MINIMUM) >= 0;
  }

  @Override
  public int compareTo(EnvoyVersion other) {
    int byMajor = Integer.compare(major, other.major);
    if (byMajor != 0) {
      return byMajor;
    }
    int byMinor = Integer.compare(minor, other.minor);
    return byMinor != 0 ? byMinor : Integer.compare(patch, other.patch);
  }

  @Override
  public String toString() {
    return major + "." + minor + "." + patch;
  }
}
