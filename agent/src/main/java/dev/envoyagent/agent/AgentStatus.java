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
    String lastRejected) {}
