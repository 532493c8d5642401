package dev.envoyagent.testkit.envoy;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.http.health_check.v3.HealthCheck;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster.ClusterWeight;
import io.envoyproxy.envoy.extensions.filters.network.thrift_proxy.v3.ThriftProxy;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Builds a listener's terminal network filter from its first filter chain. */
final class FilterChains {
  static final String HCM =
      "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
  static final String TCP =
      "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
  static final String THRIFT =
      "type.googleapis.com/envoy.extensions.filters.network.thrift_proxy.v3.ThriftProxy";
  static final String ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
  static final String HEALTH_CHECK =
      "type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck";

  /**
   * What building needs. {@code validateMode}: subscriptions are created (node and path checks,
   * inotify instance) but never started, so no xDS file is read
   * (source/server/config_validation/server.cc).
   */
  record Context(
      ConfigLoader loader,
      ClusterManager clusters,
      UpstreamPool pool,
      Stats stats,
      Log log,
      Faults faults,
      FileWatcher watcher,
      BooleanSupplier healthCheckFailed,
      boolean validateMode) {}

  private FilterChains() {}

  static NetworkHandler build(Listener l, String listenerLabel, Context ctx)
      throws ConfigException {
    FilterChain chain;
    if (l.getFilterChainsCount() > 0) {
      chain =
          l.getFilterChains(0); // filter_chain_match is not evaluated: the first chain serves all
    } else if (l.hasDefaultFilterChain()) {
      chain = l.getDefaultFilterChain();
    } else {
      throw new ConfigException(
          "error adding listener '" + listenerLabel + "': no filter chains specified");
    }
    if (chain.getFiltersCount() == 0) {
      throw new ConfigException(
          "error adding listener '" + listenerLabel + "': filter chain has no filters");
    }
    for (Filter f : chain.getFiltersList()) {
      if (!f.hasTypedConfig()) {
        throw new ConfigException(
            "Didn't find a registered implementation for '" + f.getName() + "' with type URL: ''");
      }
    }
    Filter terminal = chain.getFilters(chain.getFiltersCount() - 1);
    Any config = terminal.getTypedConfig();
    return switch (config.getTypeUrl()) {
      case HCM -> http(ConfigLoader.unpack(config, HttpConnectionManager.class), ctx);
      case TCP ->
          tcp(
              ConfigLoader.unpack(
                  config,
                  io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.class),
              ctx);
      case THRIFT -> thrift(ConfigLoader.unpack(config, ThriftProxy.class), ctx);
      default -> {
        ctx.log()
            .warn(
                "listener",
                "listener "
                    + listenerLabel
                    + ": filter "
                    + config.getTypeUrl()
                    + " is not simulated; its connections are closed at once");
        yield connection -> {};
      }
    };
  }

  private static NetworkHandler http(HttpConnectionManager hcm, Context ctx)
      throws ConfigException {
    if (hcm.getStatPrefix().isEmpty()) {
      throw new ConfigException(
          "Proto constraint validation failed (HttpConnectionManagerValidationError."
              + "StatPrefix: value length must be at least 1 characters)");
    }
    HttpProxy.HealthCheckFilter healthCheck = httpFilters(hcm.getHttpFiltersList());
    Supplier<RouteTable> routes;
    AutoCloseable owned = null;
    switch (hcm.getRouteSpecifierCase()) {
      case ROUTE_CONFIG -> {
        RouteTable table = RouteTable.compile(hcm.getRouteConfig());
        // Envoy checks inline route configs against the clusters known now (validate_clusters
        // defaults true).
        boolean check =
            !hcm.getRouteConfig().hasValidateClusters()
                || hcm.getRouteConfig().getValidateClusters().getValue();
        if (check) {
          checkClusters(table, ctx);
        }
        routes = () -> table;
      }
      case RDS -> {
        var rds = hcm.getRds();
        RdsSubscription sub =
            new RdsSubscription(
                hcm.getStatPrefix(),
                rds.getRouteConfigName(),
                rds.getConfigSource(),
                ctx.loader(),
                ctx.stats(),
                ctx.log(),
                ctx.faults(),
                ctx.watcher());
        if (!ctx.validateMode()) {
          sub.start(); // validation creates the subscription but never reads the file
        }
        routes = () -> sub.table;
        owned = sub;
      }
      default ->
          throw new ConfigException(
              "simulator: route specifier " + hcm.getRouteSpecifierCase() + " is not supported");
    }
    return new HttpProxy(
        hcm.getStatPrefix(),
        routes,
        ctx.clusters(),
        ctx.pool(),
        ctx.stats(),
        healthCheck,
        ctx.healthCheckFailed(),
        owned);
  }

  /** Checks the router is last and picks up the health-check filter, if any. */
  // Envoy still honours these deprecated fields, so the simulator reads them too.
  @SuppressWarnings("deprecation")
  private static HttpProxy.HealthCheckFilter httpFilters(List<HttpFilter> filters)
      throws ConfigException {
    HttpProxy.HealthCheckFilter healthCheck = null;
    for (int i = 0; i < filters.size(); i++) {
      HttpFilter f = filters.get(i);
      String type = f.getTypedConfig().getTypeUrl();
      boolean last = i == filters.size() - 1;
      if (type.equals(ROUTER) && !last) {
        throw new ConfigException(
            "Error: terminal filter named "
                + f.getName()
                + " of type "
                + "envoy.filters.http.router must be the last filter in a http filter chain.");
      }
      if (!type.equals(ROUTER) && last) {
        throw new ConfigException(
            "Error: non-terminal filter named "
                + f.getName()
                + " of type "
                + type
                + " is the last filter in a http filter chain.");
      }
      if (type.equals(HEALTH_CHECK)) {
        HealthCheck hc = ConfigLoader.unpack(f.getTypedConfig(), HealthCheck.class);
        String path =
            hc.getHeadersList().stream()
                .filter(h -> h.getName().equals(":path"))
                .map(h -> h.hasStringMatch() ? h.getStringMatch().getExact() : h.getExactMatch())
                .findFirst()
                .orElse("/healthz");
        healthCheck = new HttpProxy.HealthCheckFilter(path, hc.getPassThroughMode().getValue());
      }
    }
    return healthCheck;
  }

  private static void checkClusters(RouteTable table, Context ctx) throws ConfigException {
    for (String c : table.referencedClusters()) {
      if (ctx.clusters().get(c) == null) {
        throw new ConfigException("route: unknown cluster '" + c + "'");
      }
    }
  }

  private static NetworkHandler tcp(
      io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy p, Context ctx)
      throws ConfigException {
    if (p.getStatPrefix().isEmpty()) {
      throw new ConfigException(
          "Proto constraint validation failed (TcpProxyValidationError.StatPrefix: "
              + "value length must be at least 1 characters)");
    }
    Supplier<String> cluster;
    List<String> names = new ArrayList<>();
    if (p.hasWeightedClusters()) {
      List<Integer> weights = new ArrayList<>();
      for (ClusterWeight w : p.getWeightedClusters().getClustersList()) {
        names.add(w.getName());
        weights.add(w.getWeight());
      }
      SmoothWeightedRoundRobin<String> wrr = new SmoothWeightedRoundRobin<>(names, weights);
      cluster = wrr::next;
    } else if (!p.getCluster().isEmpty()) {
      String name = p.getCluster();
      names.add(name);
      cluster = () -> name;
    } else {
      throw new ConfigException(
          "Proto constraint validation failed (TcpProxyValidationError.ClusterSpecifier: "
              + "value is required)");
    }
    // TcpProxy::Config does not check cluster names: an unknown one fails each connection
    // (no_route).
    int attempts = p.hasMaxConnectAttempts() ? p.getMaxConnectAttempts().getValue() : 1;
    return new TcpProxy(p.getStatPrefix(), cluster, attempts, ctx.clusters(), ctx.stats());
  }

  // Simplification (documented): Thrift is validated, then proxied as plain TCP to the first
  // route's cluster.
  private static NetworkHandler thrift(ThriftProxy p, Context ctx) throws ConfigException {
    if (p.getRouteConfig().getRoutesCount() == 0
        || p.getRouteConfig().getRoutes(0).getRoute().getCluster().isEmpty()) {
      throw new ConfigException(
          "simulator: thrift_proxy needs an inline route_config whose first route names a cluster");
    }
    String name = p.getRouteConfig().getRoutes(0).getRoute().getCluster();
    String prefix = p.getStatPrefix().isEmpty() ? "thrift" : p.getStatPrefix();
    return new TcpProxy(prefix, () -> name, 1, ctx.clusters(), ctx.stats());
  }
}
