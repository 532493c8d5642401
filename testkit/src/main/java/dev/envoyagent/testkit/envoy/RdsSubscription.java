package dev.envoyagent.testkit.envoy;

import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.time.Instant;
import java.util.List;

/**
 * One HTTP connection manager's RDS file (RdsRouteConfigSubscription in
 * source/common/router/rds_impl.cc): stats under {@code
 * http.<stat_prefix>.rds.<route_config_name>.}, exactly one RouteConfiguration named
 * route_config_name, no cluster check (validate_clusters defaults to false for RDS).
 */
final class RdsSubscription implements AutoCloseable {
  final String routeConfigName;
  private final String statPrefix;
  private final Stats stats;
  private final FileSubscription subscription;
  volatile RouteTable table;
  volatile RouteConfiguration proto;
  volatile String versionInfo = "";
  volatile Instant lastUpdated;

  RdsSubscription(
      String hcmStatPrefix,
      String routeConfigName,
      ConfigSource source,
      ConfigLoader loader,
      Stats stats,
      Log log,
      Faults faults,
      FileWatcher watcher)
      throws ConfigException {
    this.routeConfigName = routeConfigName;
    this.statPrefix = "http." + hcmStatPrefix + ".rds." + routeConfigName + ".";
    this.stats = stats;
    stats.declare(statPrefix, "config_reload", "update_empty");
    this.subscription =
        FileSubscription.create(
            source,
            "rds config_source",
            ConfigLoader.ROUTE_TYPE,
            statPrefix,
            loader,
            stats,
            log,
            faults,
            watcher,
            this::onConfigUpdate);
  }

  void start() {
    subscription.start();
  }

  /** RdsRouteConfigSubscription::onConfigUpdate. */
  private void onConfigUpdate(ConfigLoader.DiscoveryFile file) throws ConfigException {
    List<RouteConfiguration> list =
        ConfigLoader.resources(file, RouteConfiguration.class, ConfigLoader.ROUTE_TYPE);
    if (list.isEmpty()) {
      stats.inc(statPrefix + "update_empty");
      return;
    }
    if (list.size() != 1) {
      throw new ConfigException("Unexpected RDS resource length: " + list.size());
    }
    RouteConfiguration rc = list.get(0);
    if (!rc.getName().equals(routeConfigName)) {
      throw new ConfigException(
          "Unexpected RDS configuration (expecting " + routeConfigName + "): " + rc.getName());
    }
    RouteTable compiled = RouteTable.compile(rc);
    table = compiled;
    proto = rc;
    versionInfo = file.versionInfo();
    lastUpdated = Instant.now();
    stats.inc(statPrefix + "config_reload");
  }

  @Override
  public void close() {
    subscription.close();
  }
}
