package dev.envoyagent.controlplane;

import dev.envoyagent.api.v1.HeartbeatRequest;
import dev.envoyagent.api.v1.Node;
import java.util.List;
import java.util.Objects;

/**
 * What the control plane knows about one host, from its heartbeats and its route stream. Immutable:
 * every event makes a new record, so a reader never sees half an update.
 *
 * @param heartbeat the last heartbeat; the default instance until one arrives
 * @param heartbeatAtMs when the last heartbeat arrived (control-plane clock), or -1 for never
 * @param appliedVersion the version the agent last said it applies (ACK, NACK or heartbeat)
 * @param ackedAtMs when the last ACK arrived, or -1
 * @param lastNack the last refused snapshot, or null when none was ever refused
 * @param openStreams route streams open now (two for a moment while an agent reconnects)
 */
public record HostRecord(
    String nodeId,
    Node node,
    HeartbeatRequest heartbeat,
    long heartbeatAtMs,
    String appliedVersion,
    long ackedAtMs,
    Nack lastNack,
    int openStreams,
    long lastSeenMs,
    boolean drainRequested) {

  /** A refused snapshot: its version, every reason the agent gave, and when. */
  public record Nack(String version, List<String> errors, long atMs) {
    public Nack {
      Objects.requireNonNull(version, "version");
      errors = List.copyOf(errors);
    }
  }

  public HostRecord {
    Objects.requireNonNull(nodeId, "nodeId");
    Objects.requireNonNull(node, "node");
    Objects.requireNonNull(heartbeat, "heartbeat");
    Objects.requireNonNull(appliedVersion, "appliedVersion");
  }

  static HostRecord first(Node node, long nowMs) {
    return new HostRecord(
        node.getId(),
        node,
        HeartbeatRequest.getDefaultInstance(),
        -1,
        "",
        -1,
        null,
        0,
        nowMs,
        false);
  }

  public boolean hasHeartbeat() {
    return heartbeatAtMs >= 0;
  }

  /** Where other hosts reach this one: {@code node.address}, else the instance's private IPv4. */
  public String address() {
    return node.getAddress().isEmpty()
        ? heartbeat.getIdentity().getPrivateIpv4()
        : node.getAddress();
  }

  /**
   * Whether the last NACK is newer than the last ACK, i.e. the agent is refusing what it was sent.
   */
  public boolean refusing() {
    return lastNack != null && lastNack.atMs() >= ackedAtMs;
  }

  HostRecord withHeartbeat(HeartbeatRequest request, long nowMs) {
    // The heartbeat's node is the host's registered identity: it replaces what a stream said.
    return new HostRecord(
        nodeId,
        request.getNode(),
        request,
        nowMs,
        request.getAppliedVersion(),
        ackedAtMs,
        lastNack,
        openStreams,
        nowMs,
        drainRequested);
  }

  HostRecord withStreams(int delta, Node streamNode, long nowMs) {
    Node known = hasHeartbeat() ? node : streamNode;
    return new HostRecord(
        nodeId,
        known,
        heartbeat,
        heartbeatAtMs,
        appliedVersion,
        ackedAtMs,
        lastNack,
        Math.max(0, openStreams + delta),
        nowMs,
        drainRequested);
  }

  HostRecord withAck(String version, long nowMs) {
    return new HostRecord(
        nodeId,
        node,
        heartbeat,
        heartbeatAtMs,
        version,
        nowMs,
        lastNack,
        openStreams,
        nowMs,
        drainRequested);
  }

  HostRecord withNack(String stillApplied, Nack nack, long nowMs) {
    return new HostRecord(
        nodeId,
        node,
        heartbeat,
        heartbeatAtMs,
        stillApplied,
        ackedAtMs,
        nack,
        openStreams,
        nowMs,
        drainRequested);
  }

  HostRecord withDrainRequested() {
    return new HostRecord(
        nodeId,
        node,
        heartbeat,
        heartbeatAtMs,
        appliedVersion,
        ackedAtMs,
        lastNack,
        openStreams,
        lastSeenMs,
        true);
  }
}
