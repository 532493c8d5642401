package dev.envoyagent.testkit.envoy;

import io.envoyproxy.envoy.config.core.v3.HealthCheck;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Active health checking of one cluster (the first health check of the cluster config), HTTP or TCP
 * connect. Follows Envoy's rules as read from its code (inferred): a host fails at once on a bad
 * HTTP status but only after {@code unhealthy_threshold} network failures; an unhealthy host needs
 * {@code healthy_threshold} passes, except a host never checked, which one pass clears. Until the
 * cluster has carried traffic Envoy checks at {@code no_traffic_interval} (60 s default).
 */
final class HealthChecker {
  private final UpstreamCluster cluster;
  private final Stats stats;
  private final Log log;
  private final HealthCheck config;
  private final ScheduledExecutorService scheduler;
  private final Set<Host> scheduled = ConcurrentHashMap.newKeySet();
  private final CountDownLatch firstRound = new CountDownLatch(1);
  private volatile List<Host> current = List.of();
  private volatile boolean started;

  HealthChecker(UpstreamCluster cluster, Stats stats, Log log) {
    this.cluster = cluster;
    this.stats = stats;
    this.log = log;
    this.config = cluster.proto.getHealthChecks(0);
    this.scheduler =
        Executors.newScheduledThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "hc-" + cluster.name);
              t.setDaemon(true);
              return t;
            });
  }

  void start() {
    started = true;
    hostsChanged(current);
    if (current.isEmpty()) {
      firstRound.countDown();
    }
  }

  void hostsChanged(List<Host> hosts) {
    current = hosts;
    if (!started) {
      return;
    }
    for (Host h : hosts) {
      if (scheduled.add(h)) {
        scheduler.execute(() -> check(h));
      }
    }
  }

  boolean awaitFirstRound(long timeoutMs) throws InterruptedException {
    return firstRound.await(timeoutMs, TimeUnit.MILLISECONDS);
  }

  private void check(Host host) {
    if (!current.contains(host) || scheduler.isShutdown()) {
      scheduled.remove(host);
      return;
    }
    String p = cluster.statPrefix() + "health_check.";
    stats.inc(p + "attempt");
    Failure failure = probe(host);
    synchronized (host) {
      if (failure == null) {
        stats.inc(p + "success");
        onSuccess(host);
      } else {
        stats.inc(p + "failure");
        if (failure == Failure.NETWORK) {
          stats.inc(p + "network_failure");
        }
        onFailure(host, failure);
      }
    }
    if (current.stream().noneMatch(h -> h.pendingActiveHc)) {
      firstRound.countDown();
    }
    long next =
        !cluster.hadTraffic && config.hasNoTrafficInterval()
            ? RouteTable.millis(config.getNoTrafficInterval())
            : !cluster.hadTraffic
                ? 60_000
                : host.failedActiveHc && config.hasUnhealthyInterval()
                    ? RouteTable.millis(config.getUnhealthyInterval())
                    : RouteTable.millis(config.getInterval());
    try {
      scheduler.schedule(() -> check(host), Math.max(10, next), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      scheduled.remove(host); // shutting down
    }
  }

  private void onSuccess(Host host) {
    host.consecutiveUnhealthy = 0;
    boolean wasPending = host.pendingActiveHc;
    host.pendingActiveHc = false;
    if (host.failedActiveHc) {
      host.consecutiveHealthy++;
      int needed = Math.max(1, config.getHealthyThreshold().getValue());
      if (wasPending || host.consecutiveHealthy >= needed) {
        host.failedActiveHc = false;
        host.consecutiveHealthy = 0;
        log.info("hc", "cluster " + cluster.name + " host " + host + " is now healthy");
        cluster.rebuildBalancer();
      }
    }
  }

  private void onFailure(Host host, Failure failure) {
    host.consecutiveHealthy = 0;
    host.pendingActiveHc = false;
    if (!host.failedActiveHc) {
      host.consecutiveUnhealthy++;
      int needed = Math.max(1, config.getUnhealthyThreshold().getValue());
      if (failure == Failure.ACTIVE || host.consecutiveUnhealthy >= needed) {
        host.failedActiveHc = true;
        host.consecutiveUnhealthy = 0;
        log.info(
            "hc",
            "cluster " + cluster.name + " host " + host + " is now unhealthy (" + failure + ")");
        cluster.rebuildBalancer();
      }
    }
  }

  private enum Failure {
    NETWORK,
    ACTIVE
  }

  private Failure probe(Host host) {
    int timeout = (int) Math.max(1, RouteTable.millis(config.getTimeout()));
    try (Socket s = new Socket()) {
      s.connect(host.address, timeout);
      s.setSoTimeout(timeout);
      if (config.hasHttpHealthCheck()) {
        return httpProbe(s, host);
      }
      return null; // TCP check: a completed connect is a pass (payload checks not modelled)
    } catch (IOException | RuntimeException e) {
      return Failure.NETWORK;
    }
  }

  private Failure httpProbe(Socket s, Host host) throws IOException {
    HealthCheck.HttpHealthCheck http = config.getHttpHealthCheck();
    String authority = http.getHost().isEmpty() ? cluster.name : http.getHost();
    String request =
        "GET "
            + http.getPath()
            + " HTTP/1.1\r\nHost: "
            + authority
            + "\r\nUser-Agent: Envoy/HC\r\nConnection: close\r\n\r\n";
    OutputStream out = s.getOutputStream();
    out.write(request.getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
    InputStream in = s.getInputStream();
    StringBuilder line = new StringBuilder();
    int c;
    while ((c = in.read()) >= 0 && c != '\n') {
      line.append((char) c);
    }
    String[] parts = line.toString().trim().split(" ");
    if (parts.length < 2) {
      return Failure.NETWORK;
    }
    int status = Integer.parseInt(parts[1]);
    boolean ok =
        http.getExpectedStatusesCount() == 0
            ? status == 200
            : http.getExpectedStatusesList().stream()
                .anyMatch(r -> status >= r.getStart() && status < r.getEnd());
    return ok ? null : Failure.ACTIVE;
  }

  void close() {
    scheduler.shutdownNow();
  }
}
