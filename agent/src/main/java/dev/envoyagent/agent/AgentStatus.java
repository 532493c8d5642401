package dev.envoyagent.agent;

import dev.envoyagent.envoy.EnvoyProcess;
import java.util.List;

/** What the agent is doing, at one instant: for status output, health checks and tests. */
public record AgentStatus(
    String phase,
    List<EnvoyProcess> epochs,
    String appliedVersion,
    String pendingVersion,
    String newestVersion,
    long appliedCount,
    long hotRestarts,
    long coldRestarts,
    long failedRestarts,
    long envoyCrashes,
    long rejectedCount,
    String lastError,
    long lastErrorAtMs,
    String lastRejected,
    String sourceError,
    String controlPlaneTarget,
    boolean controlPlaneConnected,
    long startedAtMs,
    List<Applied> history,
    List<Restart> restarts,
    long reloads,
    String lastReload) {

  /** One applied version: when, whether Envoy restarted for it, and which services changed. */
  public record Applied(
      String version,
      long atMs,
      boolean restarted,
      List<String> added,
      List<String> removed,
      List<String> changed) {}

  /** One Envoy restart and why. */
  public record Restart(long atMs, String kind) {}
}
