package dev.envoyagent.testkit.envoy;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code --mode validate}: strict load of the bootstrap and every file it points to, then the
 * reference checks. Reading LDS/CDS/RDS/EDS files and checking RDS and TCP-proxy cluster names
 * is stricter than Envoy's validation server (a guess about Envoy, documented).
 */
final class Validator {
    private final Faults faults;
    private final Log log;

    Validator(Faults faults, Log log) {
        this.faults = faults;
        this.log = log;
    }

    /** Checks the configuration; throws with Envoy's wording where known. */
    void validate(String configPath, String configYaml) throws ConfigException {
        if (faults.rejectAllConfig()) {
            throw new ConfigException("simulator: every config is rejected (" + Faults.REJECT_ALL_CONFIG + ")");
        }
        ProtoTypes types = new ProtoTypes();
        ConfigLoader loader = new ConfigLoader(types);
        Bootstrap b = loader.loadBootstrap(configPath, configYaml);
        Stats stats = new Stats();
        ClusterManager clusters = new ClusterManager(loader, stats, log, faults, null);
        try {
            List<Cluster> all = new ArrayList<>(b.getStaticResources().getClustersList());
            if (b.getDynamicResources().hasCdsConfig()) {
                PathSource cds = PathSource.of(b.getDynamicResources().getCdsConfig(), "cds_config");
                all.addAll(ConfigLoader.resources(loader.loadDiscoveryFile(cds.path()), Cluster.class,
                        ConfigLoader.CLUSTER_TYPE));
            }
            clusters.addStatic(all);
            for (UpstreamCluster c : clusters.all()) {
                if (stats.value(c.statPrefix() + "update_rejected") > 0) {
                    throw new ConfigException("cluster '" + c.name + "': EDS file rejected (see log)");
                }
            }
            FilterChains.Context ctx = new FilterChains.Context(loader, clusters, new UpstreamPool(), stats, log,
                    faults, null, () -> false, true);
            ListenerManager listeners = new ListenerManager(loader, stats, log, faults, ctx, null, 0, true);
            List<Listener> ls = new ArrayList<>(b.getStaticResources().getListenersList());
            if (b.getDynamicResources().hasLdsConfig()) {
                PathSource lds = PathSource.of(b.getDynamicResources().getLdsConfig(), "lds_config");
                ls.addAll(ConfigLoader.resources(loader.loadDiscoveryFile(lds.path()), Listener.class,
                        ConfigLoader.LISTENER_TYPE));
            }
            listeners.addStatic(ls);
            if (b.hasAdmin() && b.getAdmin().hasAddress() && !b.getAdmin().getAddress().hasSocketAddress()) {
                throw new ConfigException("simulator: admin address must be a socket_address");
            }
        } finally {
            clusters.close();
        }
    }
}
