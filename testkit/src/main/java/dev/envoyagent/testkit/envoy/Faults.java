package dev.envoyagent.testkit.envoy;

import java.util.Map;

/**
 * Misbehaviour on demand, read from the environment, so tests of the agent can provoke the failures
 * a real Envoy shows. Names are documented in docs/envoy-simulator.md.
 */
record Faults(
    String hotRestartVersion,
    long initDelayMs,
    boolean neverLive,
    long crashAfterMs,
    boolean crashDuringHotRestart,
    boolean stuckInitializing,
    boolean rejectAllConfig,
    int parentConnectAttempts,
    long parentConnectIntervalMs,
    String sharedMemoryDir) {

  static final String HOT_RESTART_VERSION = "ENVOY_SIM_HOT_RESTART_VERSION";
  static final String INIT_DELAY_MS = "ENVOY_SIM_INIT_DELAY_MS";
  static final String NEVER_LIVE = "ENVOY_SIM_NEVER_LIVE";
  static final String CRASH_AFTER_MS = "ENVOY_SIM_CRASH_AFTER_MS";
  static final String CRASH_DURING_HOT_RESTART = "ENVOY_SIM_CRASH_DURING_HOT_RESTART";
  static final String STUCK_INITIALIZING = "ENVOY_SIM_STUCK_INITIALIZING";
  static final String REJECT_ALL_CONFIG = "ENVOY_SIM_REJECT_ALL_CONFIG";
  static final String PARENT_CONNECT_ATTEMPTS = "ENVOY_SIM_PARENT_CONNECT_ATTEMPTS";
  static final String PARENT_CONNECT_INTERVAL_MS = "ENVOY_SIM_PARENT_CONNECT_INTERVAL_MS";
  static final String SHARED_MEMORY_DIR = "ENVOY_SIM_SHM_DIR";

  /** Shaped like Envoy's "<hot restart version>.<shared memory size>". */
  static final String DEFAULT_HOT_RESTART_VERSION = "11.104";

  static Faults fromEnvironment(Map<String, String> env) {
    return new Faults(
        env.getOrDefault(HOT_RESTART_VERSION, DEFAULT_HOT_RESTART_VERSION),
        number(env, INIT_DELAY_MS, 0),
        flag(env, NEVER_LIVE),
        number(env, CRASH_AFTER_MS, -1),
        flag(env, CRASH_DURING_HOT_RESTART),
        flag(env, STUCK_INITIALIZING),
        flag(env, REJECT_ALL_CONFIG),
        (int) number(env, PARENT_CONNECT_ATTEMPTS, 10),
        number(env, PARENT_CONNECT_INTERVAL_MS, 1000),
        env.getOrDefault(SHARED_MEMORY_DIR, defaultSharedMemoryDir()));
  }

  private static String defaultSharedMemoryDir() {
    return new java.io.File("/dev/shm").isDirectory()
        ? "/dev/shm"
        : System.getProperty("java.io.tmpdir");
  }

  private static boolean flag(Map<String, String> env, String name) {
    String v = env.get(name);
    return v != null && !v.isEmpty() && !"0".equals(v) && !"false".equalsIgnoreCase(v);
  }

  private static long number(Map<String, String> env, String name, long dflt) {
    String v = env.get(name);
    if (v == null || v.isBlank()) {
      return dflt;
    }
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be a number, got '" + v + "'", e);
    }
  }
}
