package dev.envoyagent.testkit.envoy;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;

/**
 * {@code --mode validate}, as Envoy's ValidationInstance
 * (source/server/config_validation/server.cc) with ValidationClusterManagerFactory
 * (config_validation/cluster_manager.cc): the bootstrap and its static resources are built — static
 * clusters, static listeners and their inline routes (whose cluster names must be static clusters)
 * — and nothing is served. No xDS file is read: the CDS API is created and thrown away (createCds),
 * no LDS API is created, EDS and RDS subscriptions of static resources are created (node check,
 * path check, inotify instance) but never started. DNS is not resolved: Envoy starts the lookups
 * but its dispatcher never runs them.
 */
final class Validator {
  private final Faults faults;
  private final Log log;

  Validator(Faults faults, Log log) {
    this.faults = faults;
    this.log = log;
  }

  /** Checks the configuration; throws with Envoy's wording where known. */
  void validate(SimulatorOptions options) throws ConfigException {
    if (faults.rejectAllConfig()) {
      throw new ConfigException(
          "simulator: every config is rejected (" + Faults.REJECT_ALL_CONFIG + ")");
    }
    ProtoTypes types = new ProtoTypes();
    ConfigLoader loader = new ConfigLoader(types);
    Stats stats = new Stats();
    loader.configure(options, stats, log);
    Bootstrap b = loader.loadBootstrap(options.configPath(), options.configYaml());
    try (FileWatcher watcher = new FileWatcher(Runnable::run, log)) {
      ClusterManager clusters = new ClusterManager(loader, stats, log, faults, watcher, true);
      try {
        clusters.addStatic(b.getStaticResources().getClustersList());
        if (b.getDynamicResources().hasCdsConfig()) {
          clusters.startCds(b.getDynamicResources().getCdsConfig());
        }
        FilterChains.Context ctx =
            new FilterChains.Context(
                loader,
                clusters,
                new UpstreamPool(),
                stats,
                log,
                faults,
                watcher,
                () -> false,
                true);
        ListenerManager listeners =
            new ListenerManager(loader, stats, log, faults, ctx, null, 0, true);
        try {
          listeners.addStatic(b.getStaticResources().getListenersList());
        } finally {
          listeners.closeAll();
        }
        if (b.hasAdmin()
            && b.getAdmin().hasAddress()
            && !b.getAdmin().getAddress().hasSocketAddress()) {
          throw new ConfigException("simulator: admin address must be a socket_address");
        }
      } finally {
        clusters.close();
      }
    }
  }
}
