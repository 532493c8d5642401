package dev.envoyagent.testkit.envoy;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.time.Instant;
import java.util.List;
import java.util.function.Predicate;

/** One HTTP connection manager's RDS file: exactly one RouteConfiguration named route_config_name. */
final class RdsSubscription implements AutoCloseable {
    final String routeConfigName;
    final PathSource source;
    private final String statPrefix;
    private final ConfigLoader loader;
    private final Stats stats;
    private final Log log;
    private final Faults faults;
    private final Predicate<String> clusterCheck;
    private PathSource.Subscription subscription;
    volatile RouteTable table;
    volatile RouteConfiguration proto;
    volatile String versionInfo = "";
    volatile Instant lastUpdated;

    RdsSubscription(String hcmStatPrefix, String routeConfigName, PathSource source, ConfigLoader loader, Stats stats,
                    Log log, Faults faults, Predicate<String> clusterCheck) {
        this.routeConfigName = routeConfigName;
        this.source = source;
        this.statPrefix = "http." + hcmStatPrefix + ".rds." + routeConfigName + ".";
        this.loader = loader;
        this.stats = stats;
        this.log = log;
        this.faults = faults;
        this.clusterCheck = clusterCheck;
        stats.declare(statPrefix, "update_attempt", "update_success", "update_rejected", "config_reload");
    }

    void start(FileWatcher watcher) {
        subscription = source.subscribe(watcher, this::load);
        load();
    }

    /** Loads the file; a bad one keeps the previous routes and counts {@code update_rejected}. */
    void load() {
        stats.inc(statPrefix + "update_attempt");
        try {
            Loaded loaded = read(loader, source, routeConfigName, faults);
            RouteConfiguration rc = loaded.config();
            RouteTable compiled = RouteTable.compile(rc);
            if (clusterCheck != null) {
                for (String c : compiled.referencedClusters()) {
                    if (!clusterCheck.test(c)) {
                        throw new ConfigException("route: unknown cluster '" + c + "'");
                    }
                }
            }
            table = compiled;
            proto = rc;
            versionInfo = loaded.versionInfo();
            lastUpdated = Instant.now();
            stats.inc(statPrefix + "update_success");
            stats.inc(statPrefix + "config_reload");
        } catch (ConfigException e) {
            stats.inc(statPrefix + "update_rejected");
            log.warn("config", "Filesystem config update rejected: " + e.getMessage());
        }
    }

    /** A route configuration and the version_info of the file carrying it. */
    record Loaded(String versionInfo, RouteConfiguration config) {
    }

    static Loaded read(ConfigLoader loader, PathSource source, String name, Faults faults)
            throws ConfigException {
        if (faults != null && faults.rejectAllConfig()) {
            throw new ConfigException("simulator: every config is rejected (" + Faults.REJECT_ALL_CONFIG + ")");
        }
        ConfigLoader.DiscoveryFile file = loader.loadDiscoveryFile(source.path());
        List<RouteConfiguration> list = ConfigLoader.resources(file, RouteConfiguration.class, ConfigLoader.ROUTE_TYPE);
        if (list.size() != 1) {
            throw new ConfigException("Unexpected RDS resource length: " + list.size());
        }
        RouteConfiguration rc = list.get(0);
        if (!rc.getName().equals(name)) {
            throw new ConfigException("Unexpected RDS configuration (expecting " + name + "): " + rc.getName());
        }
        return new Loaded(file.versionInfo(), rc);
    }

    @Override
    public void close() {
        if (subscription != null) {
            subscription.close();
        }
    }
}
