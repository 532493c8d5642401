package dev.envoyagent.render;

import com.google.protobuf.Any;
import dev.envoyagent.api.v1.Service;
import dev.envoyagent.model.SnapshotValidator;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.filters.network.thrift_proxy.v3.RouteAction;
import io.envoyproxy.envoy.extensions.filters.network.thrift_proxy.v3.RouteMatch;
import io.envoyproxy.envoy.extensions.filters.network.thrift_proxy.v3.ThriftProxy;
import java.nio.file.Path;

/**
 * A service's local side: the listener on 127.0.0.1:local_port and the filter its protocol needs.
 */
final class ListenerRenderer {

  /** As SmartStack did: applications reach every service on the loopback interface. */
  static final String LISTEN_HOST = "127.0.0.1";

  private ListenerRenderer() {}

  /**
   * With {@code routesFromFile}, HTTP routes come from {@code rds/<name>.json}; otherwise inline.
   */
  static Listener listener(Service service, Path configDir, boolean routesFromFile) {
    Filter filter =
        switch (service.getProtocol()) {
          case HTTP, HTTP2, GRPC ->
              Filter.newBuilder()
                  .setName(EnvoyTypes.HTTP_CONNECTION_MANAGER)
                  .setTypedConfig(
                      Any.pack(httpConnectionManager(service, configDir, routesFromFile)))
                  .build();
          case TCP ->
              Filter.newBuilder()
                  .setName(EnvoyTypes.TCP_PROXY)
                  .setTypedConfig(
                      Any.pack(
                          TcpProxy.newBuilder()
                              .setStatPrefix(service.getName())
                              .setCluster(service.getName())
                              .build()))
                  .build();
          case THRIFT ->
              Filter.newBuilder()
                  .setName(EnvoyTypes.THRIFT_PROXY)
                  .setTypedConfig(Any.pack(thriftProxy(service)))
                  .build();
          default ->
              throw new IllegalArgumentException(
                  "service " + service.getName() + " has no protocol: validate snapshots first");
        };
    return Listener.newBuilder()
        .setName(service.getName())
        .setAddress(Protos.tcpAddress(LISTEN_HOST, service.getLocalPort()))
        .addFilterChains(FilterChain.newBuilder().addFilters(filter))
        .build();
  }

  private static HttpConnectionManager httpConnectionManager(
      Service service, Path configDir, boolean routesFromFile) {
    assert SnapshotValidator.isHttpFamily(service.getProtocol());
    HttpConnectionManager.Builder hcm =
        HttpConnectionManager.newBuilder()
            .setStatPrefix(service.getName())
            .setCodecType(HttpConnectionManager.CodecType.AUTO)
            .addHttpFilters(
                HttpFilter.newBuilder()
                    .setName(EnvoyTypes.ROUTER)
                    .setTypedConfig(Any.pack(Router.getDefaultInstance())));
    if (routesFromFile) {
      hcm.setRds(
          Rds.newBuilder()
              .setRouteConfigName(service.getName())
              .setConfigSource(Protos.fileSource(configDir, RouteRenderer.rdsFile(service))));
    } else {
      hcm.setRouteConfig(RouteRenderer.routeConfiguration(service));
    }
    return hcm.build();
  }

  private static ThriftProxy thriftProxy(Service service) {
    // An empty service_name prefix matches every method: all calls go to the service's cluster.
    return ThriftProxy.newBuilder()
        .setStatPrefix(service.getName())
        .setRouteConfig(
            io.envoyproxy.envoy.extensions.filters.network.thrift_proxy.v3.RouteConfiguration
                .newBuilder()
                .setName(service.getName())
                .addRoutes(
                    io.envoyproxy.envoy.extensions.filters.network.thrift_proxy.v3.Route
                        .newBuilder()
                        .setMatch(RouteMatch.newBuilder().setServiceName(""))
                        .setRoute(RouteAction.newBuilder().setCluster(service.getName()))))
        .build();
  }
}
