package dev.envoyagent.testkit.envoy;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Static clusters, CDS from a file and per-cluster EDS files (ClusterManagerImpl, CdsApiImpl,
 * CdsApiHelper, EdsClusterImpl). Config changes run on the dispatcher thread.
 *
 * <ul>
 *   <li>CDS applies resource by resource (CdsApiHelper::onConfigUpdate): a cluster that fails is
 *       reported, the others apply; clusters the file no longer names are removed; the config-dump
 *       {@code version_info} moves when anything applied, the subscription counts the update
 *       rejected when anything failed ("Error adding/updating cluster(s) a: why, b: why").
 *   <li>Once the initial clusters are up, an added or modified cluster warms
 *       (ClusterManagerImpl::addOrUpdateCluster, onClusterInit): its EDS file is read, its first
 *       DNS round and first health-check round complete, and only then it replaces the active one,
 *       so traffic keeps using the old cluster until then.
 *   <li>DNS clusters resolve off the dispatcher (Dns), again every {@code dns_refresh_rate}
 *       (default 5 s); in validate mode nothing is resolved (Envoy starts lookups there but its
 *       dispatcher never runs them).
 * </ul>
 */
final class ClusterManager {
  private final ConfigLoader loader;
  private final Stats stats;
  private final Log log;
  private final Faults faults;
  private final FileWatcher watcher;
  private final boolean validateMode;
  private final Dns dns = Dns.fromEnvironment();
  private final Map<String, UpstreamCluster> clusters = new ConcurrentHashMap<>();
  private final Map<String, UpstreamCluster> warming = new ConcurrentHashMap<>();
  private final Set<String> staticNames = ConcurrentHashMap.newKeySet();
  private final List<FileSubscription> discarded = new ArrayList<>();
  private ScheduledExecutorService dnsExecutor;
  private ExecutorService warmers;
  private FileSubscription cds;
  private volatile boolean initialized;
  volatile String cdsVersion = "";
  volatile Instant cdsLastUpdated;

  ClusterManager(ConfigLoader loader, Stats stats, Log log, Faults faults, FileWatcher watcher) {
    this(loader, stats, log, faults, watcher, false);
  }

  ClusterManager(
      ConfigLoader loader,
      Stats stats,
      Log log,
      Faults faults,
      FileWatcher watcher,
      boolean validateMode) {
    this.loader = loader;
    this.stats = stats;
    this.log = log;
    this.faults = faults;
    this.watcher = watcher;
    this.validateMode = validateMode;
    stats.computedGauge("cluster_manager.active_clusters", clusters::size);
    stats.computedGauge("cluster_manager.warming_clusters", warming::size);
    stats.declare("cluster_manager.", "cluster_added", "cluster_modified", "cluster_removed");
  }

  UpstreamCluster get(String name) {
    return clusters.get(name);
  }

  /** Active clusters: the ones traffic uses. */
  Collection<UpstreamCluster> all() {
    return clusters.values();
  }

  /** Clusters warming before they replace (or join) the active ones. */
  Collection<UpstreamCluster> warming() {
    return warming.values();
  }

  boolean isStatic(String name) {
    return staticNames.contains(name);
  }

  void addStatic(List<Cluster> list) throws ConfigException {
    checkNames(list);
    for (Cluster c : list) {
      UpstreamCluster built = build(c, "", false);
      clusters.put(c.getName(), built);
      staticNames.add(c.getName());
      startDiscovery(built);
    }
  }

  /**
   * CdsApiImpl: subscribes to the CDS file and applies its current content; a bad file is counted,
   * not fatal. In validate mode the API is created and thrown away
   * (ValidationClusterManagerFactory::createCds): the file is never read.
   */
  void startCds(ConfigSource source) throws ConfigException {
    cds =
        FileSubscription.create(
            source,
            "cds_config",
            ConfigLoader.CLUSTER_TYPE,
            "cluster_manager.cds.",
            loader,
            stats,
            log,
            faults,
            watcher,
            this::onCdsUpdate);
    if (validateMode) {
      discarded.add(cds);
      cds = null;
      return;
    }
    cds.start();
  }

  /** CdsApiImpl::onConfigUpdate (state of the world) and CdsApiHelper::onConfigUpdate. */
  private void onCdsUpdate(ConfigLoader.DiscoveryFile file) throws ConfigException {
    List<Cluster> list = ConfigLoader.resources(file, Cluster.class, ConfigLoader.CLUSTER_TYPE);
    for (Cluster c : list) {
      if (c.getName().isEmpty()) {
        throw new ConfigException(
            "Proto constraint validation failed (ClusterValidationError.Name: "
                + "value length must be at least 1 characters)");
      }
    }
    String version = file.versionInfo();
    List<String> errors = new ArrayList<>();
    Set<String> names = new HashSet<>();
    boolean anyApplied = false;
    int added = 0;
    for (Cluster c : list) {
      try {
        if (!names.add(c.getName())) {
          throw new ConfigException("duplicate cluster " + c.getName() + " found");
        }
        if (addOrUpdate(c, version)) {
          anyApplied = true;
          added++;
        }
      } catch (ConfigException | RuntimeException e) {
        errors.add(c.getName() + ": " + e.getMessage());
      }
    }
    Set<String> toRemove = new LinkedHashSet<>();
    clusters.values().stream().filter(c -> c.dynamic).forEach(c -> toRemove.add(c.name));
    toRemove.addAll(warming.keySet());
    toRemove.removeAll(names);
    for (String name : toRemove) {
      if (remove(name)) {
        anyApplied = true;
      }
    }
    log.info(
        "upstream",
        "cds: added/updated "
            + added
            + " cluster(s), skipped "
            + (list.size() - added - errors.size())
            + " unmodified cluster(s)");
    if (anyApplied) {
      cdsVersion = version;
      cdsLastUpdated = Instant.now();
    }
    if (!errors.isEmpty()) {
      throw new ConfigException("Error adding/updating cluster(s) " + String.join(", ", errors));
    }
  }

  /** ClusterManagerImpl::addOrUpdateCluster: false when skipped (static name, or unchanged). */
  private boolean addOrUpdate(Cluster c, String version) throws ConfigException {
    String name = c.getName();
    if (staticNames.contains(name)) {
      return false; // blockUpdate: a static cluster cannot be changed by CDS
    }
    UpstreamCluster existingWarming = warming.get(name);
    UpstreamCluster existing = clusters.get(name);
    if (existingWarming != null
        ? existingWarming.proto.equals(c)
        : existing != null && existing.proto.equals(c)) {
      return false;
    }
    stats.inc(
        existing != null || existingWarming != null
            ? "cluster_manager.cluster_modified"
            : "cluster_manager.cluster_added");
    UpstreamCluster built = build(c, version, true);
    if (!initialized) {
      UpstreamCluster old = clusters.put(name, built);
      if (old != null) {
        old.close();
      }
      startDiscovery(built);
      return true;
    }
    UpstreamCluster oldWarming = warming.put(name, built);
    if (oldWarming != null) {
      oldWarming.close();
    }
    startDiscovery(built);
    built.startHealthChecks();
    warmers().execute(() -> warm(built));
    return true;
  }

  /**
   * Waits for the warming cluster's first DNS and health-check rounds, then activates it on the
   * dispatcher.
   */
  private void warm(UpstreamCluster c) {
    try {
      c.awaitFirstDns(30_000);
      c.awaitFirstHealthCheck(firstHealthCheckTimeout(c));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    watcher
        .dispatcher()
        .execute(
            () -> {
              if (warming.get(c.name) != c) {
                return; // replaced or removed while warming
              }
              warming.remove(c.name);
              UpstreamCluster old = clusters.put(c.name, c);
              if (old != null) {
                old.close();
              }
              log.info("upstream", "warming cluster " + c.name + " complete");
            });
  }

  /** ClusterManagerImpl::removeCluster: API clusters only, active and warming. */
  private boolean remove(String name) {
    boolean removed = false;
    UpstreamCluster active = clusters.get(name);
    if (active != null && active.dynamic) {
      clusters.remove(name);
      active.close();
      removed = true;
    }
    UpstreamCluster w = warming.remove(name);
    if (w != null) {
      w.close();
      removed = true;
    }
    if (removed) {
      stats.inc("cluster_manager.cluster_removed");
    }
    return removed;
  }

  /** EDS subscription (created, and started unless validating) and the first DNS round. */
  private void startDiscovery(UpstreamCluster c) throws ConfigException {
    if (c.proto.getType() == Cluster.DiscoveryType.EDS) {
      FileSubscription sub =
          FileSubscription.create(
              c.proto.getEdsClusterConfig().getEdsConfig(),
              "eds_config of " + c.name,
              ConfigLoader.ENDPOINT_TYPE,
              c.statPrefix(),
              loader,
              stats,
              log,
              faults,
              watcher,
              file -> onEdsUpdate(c, file));
      c.eds = sub;
      if (!validateMode) {
        sub.start();
      }
    }
    if (c.isDns() && !validateMode) {
      long refresh =
          c.proto.hasDnsRefreshRate()
              ? Math.max(1, RouteTable.millis(c.proto.getDnsRefreshRate()))
              : 5000;
      ScheduledExecutorService ex = dnsExecutor();
      ex.execute(() -> c.resolveDns(dns, log));
      c.dnsRefresh =
          ex.scheduleWithFixedDelay(
              () -> c.resolveDns(dns, log), refresh, refresh, TimeUnit.MILLISECONDS);
    }
  }

  private synchronized ScheduledExecutorService dnsExecutor() {
    if (dnsExecutor == null) {
      dnsExecutor = Executors.newScheduledThreadPool(2, daemon("dns"));
    }
    return dnsExecutor;
  }

  private synchronized ExecutorService warmers() {
    if (warmers == null) {
      warmers = Executors.newCachedThreadPool(daemon("cluster-warming"));
    }
    return warmers;
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  void startHealthChecks() {
    clusters.values().forEach(UpstreamCluster::startHealthChecks);
  }

  /**
   * Envoy's cluster initialisation waits for each cluster's first DNS round and first health-check
   * round. Afterwards added or modified clusters warm on their own.
   */
  void awaitInitialHealthChecks() throws InterruptedException {
    for (UpstreamCluster c : clusters.values()) {
      if (!c.awaitFirstDns(30_000)) {
        log.warn("upstream", "cluster " + c.name + ": first DNS resolution not finished in time");
      }
      if (!c.awaitFirstHealthCheck(firstHealthCheckTimeout(c))) {
        log.warn(
            "upstream", "cluster " + c.name + ": first health check round not finished in time");
      }
    }
    initialized = true;
  }

  private static long firstHealthCheckTimeout(UpstreamCluster c) {
    return c.proto.getHealthChecksCount() > 0
        ? 2 * RouteTable.millis(c.proto.getHealthChecks(0).getTimeout()) + 2000
        : 0;
  }

  private static void checkNames(List<Cluster> list) throws ConfigException {
    Set<String> seen = new HashSet<>();
    for (Cluster c : list) {
      if (c.getName().isEmpty()) {
        throw new ConfigException(
            "Proto constraint validation failed (ClusterValidationError.Name: "
                + "value length must be at least 1 characters)");
      }
      if (!seen.add(c.getName())) {
        throw new ConfigException("cluster manager: duplicate cluster '" + c.getName() + "'");
      }
    }
  }

  private UpstreamCluster build(Cluster c, String version, boolean dynamic) throws ConfigException {
    switch (c.getClusterDiscoveryTypeCase()) {
      case TYPE, CLUSTERDISCOVERYTYPE_NOT_SET -> {}
      default ->
          throw new ConfigException(
              "simulator: custom cluster types are not supported (" + c.getName() + ")");
    }
    switch (c.getType()) {
      case STATIC, STRICT_DNS, LOGICAL_DNS -> {
        if (!c.hasLoadAssignment() && c.getType() != Cluster.DiscoveryType.STATIC) {
          throw new ConfigException(
              "cannot create "
                  + c.getType().name().toLowerCase(java.util.Locale.ROOT)
                  + " cluster "
                  + c.getName()
                  + " without load_assignment");
        }
      }
      case EDS -> {
        if (!c.hasEdsClusterConfig() || !c.getEdsClusterConfig().hasEdsConfig()) {
          throw new ConfigException(
              "simulator: EDS cluster " + c.getName() + " needs eds_cluster_config.eds_config");
        }
      }
      default ->
          throw new ConfigException(
              "simulator: cluster type " + c.getType() + " is not supported (" + c.getName() + ")");
    }
    UpstreamCluster cluster = new UpstreamCluster(c, version, dynamic, stats, log);
    if (c.getType() != Cluster.DiscoveryType.EDS) {
      cluster.setHosts(cluster.hostsFrom(c.getLoadAssignment()));
    }
    return cluster;
  }

  /**
   * EdsClusterImpl::onConfigUpdate: no resource counts update_empty; one resource named as the
   * cluster expects.
   */
  private void onEdsUpdate(UpstreamCluster cluster, ConfigLoader.DiscoveryFile file)
      throws ConfigException {
    List<ClusterLoadAssignment> list =
        ConfigLoader.resources(file, ClusterLoadAssignment.class, ConfigLoader.ENDPOINT_TYPE);
    if (list.isEmpty()) {
      stats.inc(cluster.statPrefix() + "update_empty");
      return;
    }
    if (list.size() != 1) {
      throw new ConfigException("Unexpected EDS resource length: " + list.size());
    }
    ClusterLoadAssignment cla = list.get(0);
    if (!cla.getClusterName().equals(cluster.edsServiceName)) {
      throw new ConfigException(
          "Unexpected EDS cluster (expecting "
              + cluster.edsServiceName
              + "): "
              + cla.getClusterName());
    }
    cluster.setHosts(cluster.hostsFrom(cla));
    cluster.assignment = cla;
  }

  void close() {
    if (cds != null) {
      cds.close();
    }
    discarded.forEach(FileSubscription::close);
    warming.values().forEach(UpstreamCluster::close);
    clusters.values().forEach(UpstreamCluster::close);
    if (dnsExecutor != null) {
      dnsExecutor.shutdownNow();
    }
    if (warmers != null) {
      warmers.shutdownNow();
    }
  }
}
