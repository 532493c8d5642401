package dev.envoyagent.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The agent's configuration after defaults and validation: every value here is usable as is. Built
 * only by {@link AgentConfigLoader}.
 */
public record AgentSettings(
    NodeSettings node,
    Optional<Path> routesFile,
    EnvoySettings envoy,
    Path stateDir,
    ListenAddress adminListen,
    int historyKeep,
    RestartSettings restart,
    Optional<ControlPlaneSettings> controlPlane,
    HeartbeatSettings heartbeat,
    List<LocalServiceSettings> localServices,
    LogFormat logFormat,
    Optional<ListenAddress> statsd,
    int statsdIntervalMs,
    Ec2Use ec2) {

  public AgentSettings {
    Objects.requireNonNull(node, "node");
    Objects.requireNonNull(routesFile, "routesFile");
    Objects.requireNonNull(envoy, "envoy");
    Objects.requireNonNull(stateDir, "stateDir");
    Objects.requireNonNull(adminListen, "adminListen");
    Objects.requireNonNull(restart, "restart");
    Objects.requireNonNull(controlPlane, "controlPlane");
    Objects.requireNonNull(heartbeat, "heartbeat");
    localServices = List.copyOf(localServices);
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

  /**
   * Who this host is, as Envoy's node and the control plane see it. {@code address} is where other
   * hosts reach this host's local services (empty: not known; the control plane may use the
   * instance's private IP).
   */
  public record NodeSettings(String id, String cluster, String zone, String address) {
    public NodeSettings(String id, String cluster, String zone) {
      this(id, cluster, zone, "");
    }
  }

  /** Where snapshots come from over gRPC, and how to reach it. */
  public record ControlPlaneSettings(
      List<ListenAddress> addresses, Optional<TlsFiles> tls, int splayMs, int connectTimeoutMs) {
    public ControlPlaneSettings {
      addresses = List.copyOf(addresses);
    }
  }

  /**
   * PEM files; the client certificate and key are for mutual TLS and come together or not at all.
   */
  public record TlsFiles(Path caFile, Optional<Path> certFile, Optional<Path> keyFile) {}

  public record HeartbeatSettings(int intervalMs, int timeoutMs) {}

  /** Same settings, another identity (filled from EC2 instance metadata). */
  public AgentSettings withNode(NodeSettings other) {
    return new AgentSettings(
        other,
        routesFile,
        envoy,
        stateDir,
        adminListen,
        historyKeep,
        restart,
        controlPlane,
        heartbeat,
        localServices,
        logFormat,
        statsd,
        statsdIntervalMs,
        ec2);
  }

  /**
   * Whether to read identity from EC2 instance metadata: AUTO (if reachable), ON (required), OFF.
   */
  public enum Ec2Use {
    AUTO,
    ON,
    OFF
  }

  /** TEXT: one human line per event (journald adds the time); JSON: one JSON object per line. */
  public enum LogFormat {
    TEXT,
    JSON
  }

  /**
   * A service this host serves, checked locally as Nerve did; an empty {@code httpPath} is a TCP
   * check.
   */
  public record LocalServiceSettings(
      String name, int port, String httpPath, int intervalMs, int timeoutMs, int rise, int fall) {}

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
