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
    int historyKeep) {

  public AgentSettings {
    Objects.requireNonNull(node, "node");
    Objects.requireNonNull(routesFile, "routesFile");
    Objects.requireNonNull(envoy, "envoy");
    Objects.requireNonNull(stateDir, "stateDir");
    Objects.requireNonNull(adminListen, "adminListen");
  }

  /** Who this host is, as Envoy's node and the control plane see it. */
  public record NodeSettings(String id, String cluster, String zone) {}

  public record EnvoySettings(
      Path binary,
      Path configDir,
      int adminPort,
      int baseId,
      int drainTimeS,
      int parentShutdownTimeS,
      Delivery delivery) {}

  /** A host and port to bind; the host is kept as written (an IP literal or a name). */
  public record ListenAddress(String host, int port) {
    @Override
    public String toString() {
      return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
  }
}
