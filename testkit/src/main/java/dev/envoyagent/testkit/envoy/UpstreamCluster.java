package dev.envoyagent.testkit.envoy;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import java.io.Closeable;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A running cluster: its hosts, load balancer and active health checker. */
final class UpstreamCluster implements Closeable {
  final String name;
  final Cluster proto;
  final String versionInfo;
  final Instant lastUpdated;
  final boolean dynamic;
  final long connectTimeoutMs;
  final String edsServiceName;
  private final int panicThresholdPercent;
  private final boolean localityWeighted;
  private final Stats stats;
  private final HealthChecker healthChecker;

  private volatile List<Host> hosts = List.of();
  private volatile PriorityBalancer balancer = PriorityBalancer.EMPTY;

  /**
   * ClusterLoadAssignment.policy.overprovisioning_factor, Envoy's default 140 (a priority at 72 %
   * healthy takes all its load).
   */
  private volatile int overprovisioningFactor = 140;

  volatile boolean hadTraffic;
  volatile ClusterLoadAssignment assignment;
  volatile FileSubscription eds;
  volatile java.util.concurrent.ScheduledFuture<?> dnsRefresh;
  private final Map<String, List<InetAddress>> dnsCache =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.concurrent.CountDownLatch dnsResolved =
      new java.util.concurrent.CountDownLatch(1);
  private boolean healthChecksAfterDns;

  UpstreamCluster(Cluster proto, String versionInfo, boolean dynamic, Stats stats, Log log) {
    this.name = proto.getName();
    this.proto = proto;
    this.versionInfo = versionInfo;
    this.lastUpdated = Instant.now();
    this.dynamic = dynamic;
    this.stats = stats;
    this.connectTimeoutMs =
        proto.hasConnectTimeout() ? RouteTable.millis(proto.getConnectTimeout()) : 5000;
    this.edsServiceName =
        proto.getEdsClusterConfig().getServiceName().isEmpty()
            ? proto.getName()
            : proto.getEdsClusterConfig().getServiceName();
    var lb = proto.getCommonLbConfig();
    this.panicThresholdPercent =
        lb.hasHealthyPanicThreshold() ? (int) lb.getHealthyPanicThreshold().getValue() : 50;
    this.localityWeighted = lb.hasLocalityWeightedLbConfig();
    this.healthChecker =
        proto.getHealthChecksCount() > 0 ? new HealthChecker(this, stats, log) : null;
    String p = "cluster." + name + ".";
    stats.declare(
        p,
        "upstream_cx_total",
        "upstream_cx_connect_fail",
        "upstream_cx_none_healthy",
        "upstream_rq_total",
        "upstream_rq_retry",
        "upstream_rq_timeout");
    if (proto.getType() == Cluster.DiscoveryType.EDS) {
      stats.declare(p, "update_empty"); // the subscription's own stats: FileSubscription
    }
    if (proto.getHealthChecksCount() > 0) {
      stats.declare(p + "health_check.", "attempt", "success", "failure", "network_failure");
    }
    stats.computedGauge(p + "membership_total", () -> hosts.size());
    stats.computedGauge(
        p + "membership_healthy", () -> hosts.stream().filter(Host::healthy).count());
  }

  String statPrefix() {
    return "cluster." + name + ".";
  }

  Stats stats() {
    return stats;
  }

  List<Host> hosts() {
    return hosts;
  }

  /** Replaces the host set; hosts already known keep their health and counters. */
  synchronized void setHosts(List<Host> fresh) {
    Map<String, Host> old = new HashMap<>();
    for (Host h : hosts) {
      old.put(h.key(), h);
    }
    for (Host h : fresh) {
      Host before = old.get(h.key());
      if (before != null) {
        h.inheritFrom(before);
      } else if (healthChecker != null) {
        // Like Envoy, a new host takes no traffic until its first active check passes.
        h.failedActiveHc = true;
        h.pendingActiveHc = true;
      }
    }
    hosts = List.copyOf(fresh);
    rebuildBalancer();
    if (healthChecker != null) {
      healthChecker.hostsChanged(hosts);
    }
  }

  void startHealthChecks() {
    if (healthChecker == null) {
      return;
    }
    synchronized (dnsResolved) {
      if (isDns() && dnsResolved.getCount() > 0) {
        healthChecksAfterDns = true; // the first round checks the hosts of the first resolution
        return;
      }
    }
    healthChecker.start();
  }

  boolean awaitFirstHealthCheck(long timeoutMs) throws InterruptedException {
    return healthChecker == null || healthChecker.awaitFirstRound(timeoutMs);
  }

  /**
   * One priority level: the hosts it balances over (its healthy ones, or all of them in panic), and
   * its share of the load in percent.
   */
  private record Level(SmoothWeightedRoundRobin<Host> hosts, boolean panic) {}

  /**
   * Picks a level in proportion to its load (smoothly interleaved), then a host in it by weight.
   */
  private record PriorityBalancer(SmoothWeightedRoundRobin<Level> levels) {
    static final PriorityBalancer EMPTY =
        new PriorityBalancer(new SmoothWeightedRoundRobin<>(List.of(), List.of()));
  }

  /**
   * Envoy's LoadBalancerBase::recalculatePerPriorityState and recalculatePerPriorityPanic
   * (load_balancer_impl.cc): each priority's health is min(100, overprovisioning factor x healthy /
   * hosts); the load goes to priorities in order, each taking health x 100 / normalized total
   * health (total capped at 100) until 100 % is given out, the remainder going to the first
   * priority with any health. A priority is in panic (all its hosts used) when the normalized total
   * is below 100 and its healthy share is below healthy_panic_threshold; when every priority is,
   * load follows host counts. Envoy picks the priority at random by these percentages; the
   * simulator interleaves them in proportion.
   */
  synchronized void rebuildBalancer() {
    List<Host> all = hosts;
    if (all.isEmpty()) {
      balancer = PriorityBalancer.EMPTY;
      return;
    }
    int levels = all.stream().mapToInt(h -> h.priority).max().orElse(0) + 1;
    List<List<Host>> byPriority = new ArrayList<>();
    List<List<Host>> healthyByPriority = new ArrayList<>();
    for (int i = 0; i < levels; i++) {
      byPriority.add(new ArrayList<>());
      healthyByPriority.add(new ArrayList<>());
    }
    for (Host h : all) {
      byPriority.get(h.priority).add(h);
      if (h.healthy()) {
        healthyByPriority.get(h.priority).add(h);
      }
    }
    int[] health = new int[levels];
    int totalHealth = 0;
    for (int i = 0; i < levels; i++) {
      int count = byPriority.get(i).size();
      health[i] =
          count == 0
              ? 0
              : (int)
                  Math.min(
                      100L,
                      (long) overprovisioningFactor * healthyByPriority.get(i).size() / count);
      totalHealth += health[i];
    }
    int normalized = Math.min(100, totalHealth);
    int[] load = new int[levels];
    if (normalized > 0) {
      int remaining = 100;
      int firstHealthy = -1;
      for (int i = 0; i < levels; i++) {
        if (firstHealthy < 0 && health[i] > 0) {
          firstHealthy = i;
        }
        load[i] = Math.min(remaining, health[i] * 100 / normalized);
        remaining -= load[i];
      }
      load[firstHealthy] += remaining;
    }
    boolean[] panic = new boolean[levels];
    if (panicThresholdPercent == 0 && normalized == 0) {
      load[0] = 100;
    } else {
      boolean totalPanic = true;
      for (int i = 0; i < levels; i++) {
        int count = byPriority.get(i).size();
        double healthyPercent = count == 0 ? 0 : 100.0 * healthyByPriority.get(i).size() / count;
        panic[i] = normalized != 100 && healthyPercent < panicThresholdPercent;
        totalPanic &= panic[i];
      }
      if (totalPanic) {
        int remaining = 100;
        int firstNonEmpty = -1;
        for (int i = 0; i < levels; i++) {
          if (firstNonEmpty < 0 && !byPriority.get(i).isEmpty()) {
            firstNonEmpty = i;
          }
          load[i] = 100 * byPriority.get(i).size() / all.size();
          remaining -= load[i];
        }
        load[firstNonEmpty] += remaining;
      }
    }
    List<Level> chosen = new ArrayList<>();
    List<Integer> weights = new ArrayList<>();
    for (int i = 0; i < levels; i++) {
      List<Host> pool = panic[i] ? byPriority.get(i) : healthyByPriority.get(i);
      chosen.add(
          new Level(
              new SmoothWeightedRoundRobin<>(pool, pool.stream().map(h -> h.weight).toList()),
              panic[i]));
      weights.add(load[i]);
    }
    balancer = new PriorityBalancer(new SmoothWeightedRoundRobin<>(chosen, weights));
  }

  /**
   * The next host: a priority by its load, then weighted round robin in it; null when there is
   * none.
   */
  Host choose() {
    hadTraffic = true;
    Level level = balancer.levels().next();
    if (level == null) {
      return null;
    }
    if (level.panic()) {
      stats.counter(statPrefix() + "lb_healthy_panic").incrementAndGet();
    }
    return level.hosts().next();
  }

  List<Host> hostsFrom(ClusterLoadAssignment cla) throws ConfigException {
    List<Host> out = new ArrayList<>();
    overprovisioningFactor =
        cla.getPolicy().hasOverprovisioningFactor()
            ? cla.getPolicy().getOverprovisioningFactor().getValue()
            : 140;
    Cluster.DiscoveryType type = proto.getType();
    for (LocalityLbEndpoints group : cla.getEndpointsList()) {
      int localityWeight =
          group.hasLoadBalancingWeight() ? group.getLoadBalancingWeight().getValue() : 1;
      if (localityWeighted && localityWeight == 0) {
        continue;
      }
      for (LbEndpoint e : group.getLbEndpointsList()) {
        if (!e.hasEndpoint() || !e.getEndpoint().getAddress().hasSocketAddress()) {
          throw new ConfigException(
              "simulator: only socket_address endpoints are supported in cluster " + name);
        }
        SocketAddress sa = e.getEndpoint().getAddress().getSocketAddress();
        int weight = e.hasLoadBalancingWeight() ? e.getLoadBalancingWeight().getValue() : 1;
        if (localityWeighted) {
          // Approximation: Envoy first picks a locality by its weight, then a host in it.
          weight *= localityWeight;
        }
        for (InetAddress ip : resolve(sa.getAddress(), type)) {
          out.add(
              new Host(
                  new InetSocketAddress(ip, sa.getPortValue()),
                  sa.getAddress(),
                  weight,
                  group.getPriority(),
                  group.getLocality().getRegion(),
                  group.getLocality().getZone(),
                  group.getLocality().getSubZone(),
                  e.getHealthStatus()));
        }
      }
    }
    return out;
  }

  private List<InetAddress> resolve(String address, Cluster.DiscoveryType type)
      throws ConfigException {
    boolean dns =
        type == Cluster.DiscoveryType.STRICT_DNS || type == Cluster.DiscoveryType.LOGICAL_DNS;
    if (!dns) {
      if (!isIpLiteral(address)) {
        throw new ConfigException(
            "malformed IP address: "
                + address
                + ". Consider setting resolver_name or "
                + "setting cluster type to 'STRICT_DNS' or 'LOGICAL_DNS'");
      }
      return List.of(literal(address));
    }
    // DNS clusters: what the last resolution found (none before the first one completes).
    List<InetAddress> all = dnsCache.getOrDefault(address, List.of());
    List<InetAddress> v4 = all.stream().filter(a -> a instanceof Inet4Address).toList();
    List<InetAddress> v6 = all.stream().filter(a -> a instanceof Inet6Address).toList();
    List<InetAddress> picked =
        switch (proto.getDnsLookupFamily()) {
          case V4_ONLY -> v4;
          case V6_ONLY -> v6;
          case V4_PREFERRED -> v4.isEmpty() ? v6 : v4;
          case ALL -> all;
          default -> v6.isEmpty() ? v4 : v6; // AUTO: IPv6 first, as Envoy does
        };
    if (type == Cluster.DiscoveryType.LOGICAL_DNS && !picked.isEmpty()) {
      return List.of(picked.get(0));
    }
    return picked;
  }

  boolean isDns() {
    return proto.getType() == Cluster.DiscoveryType.STRICT_DNS
        || proto.getType() == Cluster.DiscoveryType.LOGICAL_DNS;
  }

  /**
   * One DNS round (StrictDnsClusterImpl/LogicalDnsCluster's resolve targets): resolves every
   * endpoint name, then rebuilds the hosts. A name that fails keeps no address. Runs off the
   * dispatcher; the first round completes the cluster's pre-init.
   */
  void resolveDns(Dns dns, Log log) {
    for (LocalityLbEndpoints group : proto.getLoadAssignment().getEndpointsList()) {
      for (LbEndpoint e : group.getLbEndpointsList()) {
        String name = e.getEndpoint().getAddress().getSocketAddress().getAddress();
        try {
          dnsCache.put(name, dns.resolve(name));
        } catch (UnknownHostException ex) {
          dnsCache.put(name, List.of());
          log.debug("upstream", "DNS resolution for " + name + " failed: " + ex.getMessage());
        }
      }
    }
    try {
      setHosts(hostsFrom(proto.getLoadAssignment()));
    } catch (ConfigException ex) {
      log.warn("upstream", "cluster " + name + ": " + ex.getMessage());
    }
    boolean startChecks;
    synchronized (dnsResolved) {
      startChecks = healthChecksAfterDns && dnsResolved.getCount() > 0;
      dnsResolved.countDown();
    }
    if (startChecks) {
      healthChecker.start();
    }
  }

  /** Waits for the first DNS round (immediately true for other cluster types). */
  boolean awaitFirstDns(long timeoutMs) throws InterruptedException {
    return !isDns() || dnsResolved.await(timeoutMs, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  static boolean isIpLiteral(String address) {
    return address.matches("[0-9.]+") && address.split("\\.").length == 4 || address.contains(":");
  }

  private static InetAddress literal(String address) throws ConfigException {
    try {
      return InetAddress.getByName(address);
    } catch (UnknownHostException e) {
      throw new ConfigException("malformed IP address: " + address);
    }
  }

  @Override
  public void close() {
    FileSubscription sub = eds;
    if (sub != null) {
      sub.close();
    }
    java.util.concurrent.ScheduledFuture<?> refresh = dnsRefresh;
    if (refresh != null) {
      refresh.cancel(false);
    }
    if (healthChecker != null) {
      healthChecker.close();
    }
  }
}
