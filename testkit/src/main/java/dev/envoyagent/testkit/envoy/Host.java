package dev.envoyagent.testkit.envoy;

import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicLong;

/** One upstream endpoint with its health flags and counters. */
final class Host {
  final InetSocketAddress address;
  final String hostname;
  final int weight;
  final int priority;
  final String region;
  final String zone;
  final String subZone;
  final HealthStatus edsHealth;

  /** Set while active health checking says no (Envoy's FAILED_ACTIVE_HC flag). */
  volatile boolean failedActiveHc;

  /** Not yet checked once (Envoy's PENDING_ACTIVE_HC). */
  volatile boolean pendingActiveHc;

  int consecutiveHealthy;
  int consecutiveUnhealthy;

  final AtomicLong cxTotal = new AtomicLong();
  final AtomicLong cxConnectFail = new AtomicLong();
  final AtomicLong cxActive = new AtomicLong();
  final AtomicLong rqTotal = new AtomicLong();
  final AtomicLong rqSuccess = new AtomicLong();
  final AtomicLong rqError = new AtomicLong();
  final AtomicLong rqTimeout = new AtomicLong();

  Host(
      InetSocketAddress address,
      String hostname,
      int weight,
      int priority,
      String region,
      String zone,
      String subZone,
      HealthStatus edsHealth) {
    this.address = address;
    this.hostname = hostname;
    this.weight = weight;
    this.priority = priority;
    this.region = region;
    this.zone = zone;
    this.subZone = subZone;
    this.edsHealth = edsHealth;
  }

  /**
   * EDS health status UNHEALTHY, DRAINING or TIMEOUT excludes a host, as does a failed active
   * check.
   */
  boolean healthy() {
    boolean edsOk =
        edsHealth == HealthStatus.UNKNOWN
            || edsHealth == HealthStatus.HEALTHY
            || edsHealth == HealthStatus.DEGRADED
            || edsHealth == HealthStatus.UNRECOGNIZED;
    return edsOk && !failedActiveHc;
  }

  /** Same endpoint (address and port): health and counters carry over when EDS re-sends it. */
  String key() {
    return address.getAddress().getHostAddress() + ":" + address.getPort();
  }

  void inheritFrom(Host old) {
    failedActiveHc = old.failedActiveHc;
    pendingActiveHc = old.pendingActiveHc;
    consecutiveHealthy = old.consecutiveHealthy;
    consecutiveUnhealthy = old.consecutiveUnhealthy;
    cxTotal.set(old.cxTotal.get());
    cxConnectFail.set(old.cxConnectFail.get());
    rqTotal.set(old.rqTotal.get());
    rqSuccess.set(old.rqSuccess.get());
    rqError.set(old.rqError.get());
    rqTimeout.set(old.rqTimeout.get());
  }

  @Override
  public String toString() {
    return key();
  }
}
