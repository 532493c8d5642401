package dev.envoyagent.controlplane;

import dev.envoyagent.api.v1.HostState;
import dev.envoyagent.api.v1.LocalServiceStatus;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The fleet as an operator sees it (the control plane's {@code GET /fleet}): plain values only, so
 * any JSON mapper can print it.
 *
 * @param servingVersion the merged snapshot's version
 * @param routesVersion the routes (base snapshot) version
 */
public record FleetView(
    String servingVersion,
    String routesVersion,
    long heartbeatIntervalMs,
    long nowMs,
    List<Host> hosts) {

  /**
   * One host. {@code state} is the reported {@link HostState} name, {@code LOST} after {@value
   * Registrations#MISSED_HEARTBEATS} missed heartbeats, or {@code UNKNOWN} before the first. {@code
   * lastHeartbeatMs} is -1 before the first heartbeat.
   */
  public record Host(
      String id,
      String cluster,
      String zone,
      String address,
      String state,
      String appliedVersion,
      long lastHeartbeatMs,
      long lastHeartbeatAgeMs,
      String lastError,
      String nackedVersion,
      List<String> nackErrors,
      boolean refusing,
      boolean streamConnected,
      boolean drainRequested,
      String agentVersion,
      String envoyVersion,
      String envoyState,
      List<Epoch> epochs,
      List<Upstream> upstreams,
      List<LocalService> localServices,
      String notRegisteredBecause) {}

  public record Epoch(int epoch, int pid, long uptimeS) {}

  public record Upstream(String service, int healthy, int total) {}

  /**
   * A local service the host reports; {@code note} says why it is not registered when it is not.
   */
  public record LocalService(
      String name, int port, boolean healthy, String detail, boolean registered, String note) {}

  static FleetView of(
      List<HostRecord> records,
      Set<String> routedServices,
      String servingVersion,
      String routesVersion,
      long intervalMs,
      long nowMs) {
    long staleAfter = Registrations.staleAfterMs(intervalMs);
    List<Host> hosts =
        records.stream().map(r -> host(r, routedServices, nowMs, staleAfter)).toList();
    return new FleetView(servingVersion, routesVersion, intervalMs, nowMs, hosts);
  }

  private static Host host(HostRecord r, Set<String> routed, long nowMs, long staleAfter) {
    var hb = r.heartbeat();
    Optional<String> hostWhy = Registrations.whyHostNotRegistered(r, nowMs, staleAfter);
    String state =
        !r.hasHeartbeat()
            ? "UNKNOWN"
            : nowMs - r.heartbeatAtMs() > staleAfter
                ? "LOST"
                : hb.getState() == HostState.HOST_STATE_UNSPECIFIED
                    ? "UNSPECIFIED"
                    : hb.getState().name();
    List<LocalService> locals =
        hb.getLocalServicesList().stream().map(s -> local(s, hostWhy, routed)).toList();
    HostRecord.Nack nack = r.lastNack();
    return new Host(
        r.nodeId(),
        r.node().getCluster(),
        r.node().getZone(),
        r.address(),
        state,
        r.appliedVersion(),
        r.heartbeatAtMs(),
        r.hasHeartbeat() ? nowMs - r.heartbeatAtMs() : -1,
        hb.getLastError(),
        nack == null ? "" : nack.version(),
        nack == null ? List.of() : nack.errors(),
        r.refusing(),
        r.openStreams() > 0,
        r.drainRequested(),
        hb.getAgentVersion(),
        hb.getEnvoyVersion(),
        hb.getEnvoyState(),
        hb.getEpochsList().stream()
            .map(e -> new Epoch(e.getEpoch(), e.getPid(), e.getUptimeS()))
            .toList(),
        hb.getUpstreamsList().stream()
            .map(u -> new Upstream(u.getService(), u.getHealthy(), u.getTotal()))
            .toList(),
        locals,
        hostWhy.orElse(""));
  }

  private static LocalService local(
      LocalServiceStatus s, Optional<String> hostWhy, Set<String> routed) {
    Optional<String> why =
        hostWhy
            .or(() -> Registrations.whyServiceNotRegistered(s))
            .or(
                () ->
                    routed.contains(s.getName())
                        ? Optional.empty()
                        : Optional.of("no such service in the routes"));
    return new LocalService(
        s.getName(), s.getPort(), s.getHealthy(), s.getDetail(), why.isEmpty(), why.orElse(""));
  }
}
