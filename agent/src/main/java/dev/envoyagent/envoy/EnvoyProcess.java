package dev.envoyagent.envoy;

/**
 * One running Envoy epoch, as the agent remembers it across its own restarts. {@code startTicks}
 * (field 22 of /proc/PID/stat) tells this process from a later one that got the same pid; {@code
 * launchDigest} covers everything Envoy reads only at start (bootstrap, flags, binary), so a
 * different digest means a restart is needed.
 */
public record EnvoyProcess(
    int epoch,
    long pid,
    long startTicks,
    String launchDigest,
    String hotRestartVersion,
    int baseId,
    int concurrency,
    long launchedAtMs) {}
