package dev.envoyagent.config;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The agent's configuration after defaults and validation: every value here is usable as is.
 * Built only by {@link AgentConfigLoader}.
 */
public record AgentSettings(
    NodeSettings node,
    Path routesFile,
    EnvoySettings envoy,
    Path stateDir,
    ListenAddress adminListen,
    int historyKeep,
    RestartSettings restart) {

  public AgentSettings {
    Objects.requireNonNull(node, "node");
    Objects.requireNonNull(routesFile, "routesFile");
    Objects.requireNonNull(envoy, "envoy");
    Objects.requireNonNull(stateDir, "stateDir");
    Objects.requireNonNull(adminListen, "adminListen");
    Objects.requireNonNull(restart, "restart");
  }

  /** Where the agent keeps Envoy's process table, logs and history. */
  public Path historyDir() {
    return stateDir.resolve("history");
  }

  /**
   * How often Envoy may be hot restarted: changes arriving within {@code debounceMs} are applied
   * together, and two restarts are at least {@code minIntervalMs} (plus jitter) apart.
   */
  public record RestartSettings(int minIntervalMs, int debounceMs) {}

  /** Who this host is, as Envoy's node and the control plane see it. */
  public record NodeSettings(String id, String cluster, String zone) {}

  public record EnvoySettings(
      Path binary,
      Path configDir,
      int adminPort,
      int baseId,
      int drainTimeS,
      int parentShutdownTimeS,
      Delivery delivery,
      int concurrency,
      int readyTimeoutS,
      int stopTimeoutS) {}

  /** A host and port to bind; the host is kept as written (an IP literal or a name). */
  public record ListenAddress(String host, int port) {
    @Override
    public String toString() {
      return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
  }
}
