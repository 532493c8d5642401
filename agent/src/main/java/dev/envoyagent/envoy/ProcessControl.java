package dev.envoyagent.envoy;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The only place that starts, signals or inspects Envoy processes. Everything else decides; this
 * carries out. A fake stands in for it in unit tests.
 */
public interface ProcessControl {

  /**
   * Starts Envoy detached from the agent, so that it outlives the agent; returns once its pid is
   * known.
   */
  EnvoyProcess launch(
      EnvoyCommand command, Path logFile, String launchDigest, String hotRestartVersion)
      throws IOException;

  /** Whether the process is still this one (same pid and start time) and not a zombie. */
  boolean isAlive(EnvoyProcess process);

  /** Sends a signal by name (TERM, KILL, USR1) if the process is still alive. */
  void signal(EnvoyProcess process, String signal);

  /** Runs {@code binary --mode validate -c config}. */
  Validation validate(Path binary, Path config, Duration timeout);

  /** What {@code binary --hot-restart-version} prints, or empty if it cannot be run. */
  Optional<String> hotRestartVersion(Path binary, Duration timeout);

  /**
   * What {@code binary --version} prints (Envoy's release is in it), or empty if it cannot be run.
   */
  Optional<String> version(Path binary, Duration timeout);

  /**
   * The kernel's inotify limit for the user the agent (and so Envoy) runs as, and how many
   * instances that user's processes other than {@code envoy} hold; empty when it cannot be read.
   */
  Optional<InotifyBudget.InotifyLimit> inotifyLimit(java.util.Collection<EnvoyProcess> envoy);

  /** The outcome of a config validation, with Envoy's own words when it refused. */
  record Validation(boolean ok, String output) {}
}
