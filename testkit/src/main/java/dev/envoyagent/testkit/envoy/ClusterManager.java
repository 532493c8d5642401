package dev.envoyagent.testkit.envoy;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Static clusters, CDS from a file and per-cluster EDS files. Config changes run on the dispatcher thread. */
final class ClusterManager {
    private final ConfigLoader loader;
    private final Stats stats;
    private final Log log;
    private final Faults faults;
    private final FileWatcher watcher;
    private final Map<String, UpstreamCluster> clusters = new ConcurrentHashMap<>();
    private final Map<String, PathSource.Subscription> edsSubscriptions = new ConcurrentHashMap<>();
    private final Set<String> staticNames = ConcurrentHashMap.newKeySet();
    private PathSource cds;
    volatile String cdsVersion = "";
    volatile Instant cdsLastUpdated;

    ClusterManager(ConfigLoader loader, Stats stats, Log log, Faults faults, FileWatcher watcher) {
        this.loader = loader;
        this.stats = stats;
        this.log = log;
        this.faults = faults;
        this.watcher = watcher;
        stats.computedGauge("cluster_manager.active_clusters", clusters::size);
        stats.declare("cluster_manager.", "cluster_added", "cluster_modified", "cluster_removed");
    }

    UpstreamCluster get(String name) {
        return clusters.get(name);
    }

    Collection<UpstreamCluster> all() {
        return clusters.values();
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
            subscribeEds(built);
        }
    }

    /** Subscribes to the CDS file and applies its current content; a bad file is counted, not fatal. */
    void startCds(ConfigSource source) throws ConfigException {
        cds = PathSource.of(source, "cds_config");
        stats.declare("cluster_manager.cds.", "update_attempt", "update_success", "update_rejected", "update_failure");
        cds.subscribe(watcher, this::onCdsFile);
        onCdsFile();
    }

    void onCdsFile() {
        stats.inc("cluster_manager.cds.update_attempt");
        try {
            if (faults.rejectAllConfig()) {
                throw new ConfigException("simulator: every config is rejected (" + Faults.REJECT_ALL_CONFIG + ")");
            }
            ConfigLoader.DiscoveryFile file = loader.loadDiscoveryFile(cds.path());
            applyCds(file.versionInfo(), ConfigLoader.resources(file, Cluster.class, ConfigLoader.CLUSTER_TYPE));
            stats.inc("cluster_manager.cds.update_success");
            stats.gauge("cluster_manager.cds.version").set(file.versionInfo().hashCode() & 0x7fffffffL);
            log.info("upstream", "cds: added/updated clusters from " + cds.path() + " version " + file.versionInfo());
        } catch (ConfigException e) {
            stats.inc("cluster_manager.cds.update_rejected");
            log.warn("config", "Filesystem config update rejected: " + e.getMessage());
        }
    }

    private void applyCds(String version, List<Cluster> list) throws ConfigException {
        checkNames(list);
        Map<String, UpstreamCluster> built = new LinkedHashMap<>();
        try {
            for (Cluster c : list) {
                if (staticNames.contains(c.getName())) {
                    throw new ConfigException("cds: cluster '" + c.getName() + "' is a static cluster and cannot be updated");
                }
                UpstreamCluster existing = clusters.get(c.getName());
                if (existing == null || !existing.proto.equals(c)) {
                    built.put(c.getName(), build(c, version, true));
                }
            }
        } catch (ConfigException | RuntimeException e) {
            built.values().forEach(this::retire);
            throw e;
        }
        Set<String> wanted = new java.util.HashSet<>();
        list.forEach(c -> wanted.add(c.getName()));
        for (UpstreamCluster old : new ArrayList<>(clusters.values())) {
            if (!old.dynamic || wanted.contains(old.name)) {
                continue;
            }
            clusters.remove(old.name);
            retire(old);
            PathSource.Subscription sub = edsSubscriptions.remove(old.name);
            if (sub != null) {
                sub.close();
            }
            stats.inc("cluster_manager.cluster_removed");
        }
        for (UpstreamCluster c : built.values()) {
            UpstreamCluster old = clusters.put(c.name, c);
            subscribeEds(c);
            c.startHealthChecks();
            if (old != null) {
                retire(old);
                stats.inc("cluster_manager.cluster_modified");
            } else {
                stats.inc("cluster_manager.cluster_added");
            }
        }
        cdsVersion = version;
        cdsLastUpdated = Instant.now();
    }

    private void retire(UpstreamCluster c) {
        c.close();
    }

    /** Points the cluster's EDS file subscription at the cluster now registered under its name. */
    private void subscribeEds(UpstreamCluster c) {
        PathSource source = c.edsSource;
        PathSource.Subscription old = source == null ? edsSubscriptions.remove(c.name)
                : edsSubscriptions.put(c.name, source.subscribe(watcher, () -> onEdsFile(c.name, source)));
        if (old != null) {
            old.close();
        }
    }

    void startHealthChecks() {
        clusters.values().forEach(UpstreamCluster::startHealthChecks);
    }

    /** Envoy's cluster warming waits for the first health-check round of every host. */
    void awaitInitialHealthChecks() throws InterruptedException {
        for (UpstreamCluster c : clusters.values()) {
            long timeout = c.proto.getHealthChecksCount() > 0
                    ? 2 * RouteTable.millis(c.proto.getHealthChecks(0).getTimeout()) + 2000 : 0;
            if (!c.awaitFirstHealthCheck(timeout)) {
                log.warn("upstream", "cluster " + c.name + ": first health check round not finished in time");
            }
        }
    }

    private static void checkNames(List<Cluster> list) throws ConfigException {
        Set<String> seen = new java.util.HashSet<>();
        for (Cluster c : list) {
            if (c.getName().isEmpty()) {
                throw new ConfigException("Proto constraint validation failed (ClusterValidationError.Name: "
                        + "value length must be at least 1 characters)");
            }
            if (!seen.add(c.getName())) {
                throw new ConfigException("cluster manager: duplicate cluster '" + c.getName() + "' found");
            }
        }
    }

    private UpstreamCluster build(Cluster c, String version, boolean dynamic) throws ConfigException {
        UpstreamCluster cluster = new UpstreamCluster(c, version, dynamic, stats, log);
        switch (c.getClusterDiscoveryTypeCase()) {
            case TYPE, CLUSTERDISCOVERYTYPE_NOT_SET -> { }
            default -> throw new ConfigException("simulator: custom cluster types are not supported (" + c.getName() + ")");
        }
        switch (c.getType()) {
            case STATIC, STRICT_DNS, LOGICAL_DNS -> {
                if (!c.hasLoadAssignment() && c.getType() != Cluster.DiscoveryType.STATIC) {
                    throw new ConfigException("cannot create " + c.getType().name().toLowerCase(java.util.Locale.ROOT)
                            + " cluster " + c.getName() + " without load_assignment");
                }
                cluster.setHosts(cluster.hostsFrom(c.getLoadAssignment()));
            }
            case EDS -> startEds(cluster);
            default -> throw new ConfigException("simulator: cluster type " + c.getType() + " is not supported ("
                    + c.getName() + ")");
        }
        return cluster;
    }

    private void startEds(UpstreamCluster cluster) throws ConfigException {
        Cluster c = cluster.proto;
        if (!c.hasEdsClusterConfig() || !c.getEdsClusterConfig().hasEdsConfig()) {
            throw new ConfigException("simulator: EDS cluster " + c.getName() + " needs eds_cluster_config.eds_config");
        }
        PathSource source = PathSource.of(c.getEdsClusterConfig().getEdsConfig(), "eds_config of " + c.getName());
        cluster.edsSource = source;
        loadEds(cluster, source);
    }

    private void onEdsFile(String name, PathSource source) {
        UpstreamCluster cluster = clusters.get(name);
        if (cluster != null) {
            loadEds(cluster, source);
        }
    }

    /** Applies the EDS file; a bad one leaves the hosts as they were and counts {@code update_rejected}. */
    private void loadEds(UpstreamCluster cluster, PathSource source) {
        String p = cluster.statPrefix();
        stats.inc(p + "update_attempt");
        try {
            if (faults.rejectAllConfig()) {
                throw new ConfigException("simulator: every config is rejected (" + Faults.REJECT_ALL_CONFIG + ")");
            }
            ConfigLoader.DiscoveryFile file = loader.loadDiscoveryFile(source.path());
            List<ClusterLoadAssignment> list =
                    ConfigLoader.resources(file, ClusterLoadAssignment.class, ConfigLoader.ENDPOINT_TYPE);
            if (list.size() != 1) {
                throw new ConfigException("Unexpected EDS resource length: " + list.size());
            }
            ClusterLoadAssignment cla = list.get(0);
            if (!cla.getClusterName().equals(cluster.edsServiceName)) {
                throw new ConfigException("Unexpected EDS cluster (expecting " + cluster.edsServiceName + "): "
                        + cla.getClusterName());
            }
            cluster.setHosts(cluster.hostsFrom(cla));
            cluster.assignment = cla;
            cluster.edsVersion = file.versionInfo();
            cluster.edsLastUpdated = Instant.now();
            stats.inc(p + "update_success");
            if (cla.getEndpointsCount() == 0) {
                stats.inc(p + "update_empty");
            }
        } catch (ConfigException e) {
            stats.inc(p + "update_rejected");
            log.warn("config", "Filesystem config update rejected: " + e.getMessage());
        }
    }

    void close() {
        edsSubscriptions.values().forEach(PathSource.Subscription::close);
        clusters.values().forEach(UpstreamCluster::close);
    }
}
