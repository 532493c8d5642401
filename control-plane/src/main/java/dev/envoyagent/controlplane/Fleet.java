package dev.envoyagent.controlplane;

import dev.envoyagent.api.v1.HeartbeatRequest;
import dev.envoyagent.api.v1.Node;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Every host the control plane has heard from, by node id. Thread-safe: heartbeats and stream
 * events arrive on gRPC threads; each update replaces one immutable {@link HostRecord} atomically.
 * Time is passed in with every event; there is no clock inside.
 */
public final class Fleet {

  private final ConcurrentMap<String, HostRecord> hosts = new ConcurrentHashMap<>();

  void heartbeat(HeartbeatRequest request, long nowMs) {
    Node node = request.getNode();
    hosts.compute(
        node.getId(),
        (id, old) ->
            (old == null ? HostRecord.first(node, nowMs) : old).withHeartbeat(request, nowMs));
  }

  void streamOpened(Node node, long nowMs) {
    hosts.compute(
        node.getId(),
        (id, old) ->
            (old == null ? HostRecord.first(node, nowMs) : old).withStreams(1, node, nowMs));
  }

  void streamClosed(String nodeId, long nowMs) {
    hosts.computeIfPresent(nodeId, (id, old) -> old.withStreams(-1, old.node(), nowMs));
  }

  void acked(String nodeId, String version, long nowMs) {
    hosts.computeIfPresent(nodeId, (id, old) -> old.withAck(version, nowMs));
  }

  void nacked(
      String nodeId, String stillApplied, String refusedVersion, List<String> errors, long nowMs) {
    HostRecord.Nack nack = new HostRecord.Nack(refusedVersion, errors, nowMs);
    hosts.computeIfPresent(nodeId, (id, old) -> old.withNack(stillApplied, nack, nowMs));
  }

  /** Asks a known host to drain at its next heartbeat; false when no such host is known. */
  boolean requestDrain(String nodeId) {
    return hosts.computeIfPresent(nodeId, (id, old) -> old.withDrainRequested()) != null;
  }

  public Optional<HostRecord> host(String nodeId) {
    return Optional.ofNullable(hosts.get(nodeId));
  }

  /** A consistent-per-host copy, sorted by node id. */
  public List<HostRecord> hosts() {
    return hosts.values().stream().sorted(Comparator.comparing(HostRecord::nodeId)).toList();
  }

  /**
   * Forgets hosts with no open stream that have not been heard from since {@code cutoffMs}, so a
   * fleet that churns through instances does not grow this map forever. Returns how many.
   */
  int forgetSilentSince(long cutoffMs) {
    int before = hosts.size();
    hosts.values().removeIf(h -> h.openStreams() == 0 && h.lastSeenMs() < cutoffMs);
    return before - hosts.size();
  }
}
