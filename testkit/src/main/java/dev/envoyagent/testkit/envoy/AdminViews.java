package dev.envoyagent.testkit.envoy;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;
import io.envoyproxy.envoy.admin.v3.BootstrapConfigDump;
import io.envoyproxy.envoy.admin.v3.ClusterStatus;
import io.envoyproxy.envoy.admin.v3.Clusters;
import io.envoyproxy.envoy.admin.v3.ClustersConfigDump;
import io.envoyproxy.envoy.admin.v3.ConfigDump;
import io.envoyproxy.envoy.admin.v3.EndpointsConfigDump;
import io.envoyproxy.envoy.admin.v3.HostHealthStatus;
import io.envoyproxy.envoy.admin.v3.HostStatus;
import io.envoyproxy.envoy.admin.v3.ListenerStatus;
import io.envoyproxy.envoy.admin.v3.Listeners;
import io.envoyproxy.envoy.admin.v3.ListenersConfigDump;
import io.envoyproxy.envoy.admin.v3.RoutesConfigDump;
import io.envoyproxy.envoy.admin.v3.SimpleMetric;
import io.envoyproxy.envoy.admin.v3.UpdateFailureState;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;

/** Admin answers built from the official admin protos, as Envoy builds them. */
final class AdminViews {
  private AdminViews() {}

  static void registerTypes(ProtoTypes types) {
    for (com.google.protobuf.Descriptors.Descriptor d :
        List.of(
            ConfigDump.getDescriptor(),
            BootstrapConfigDump.getDescriptor(),
            Clusters.getDescriptor(),
            Listeners.getDescriptor(),
            io.envoyproxy.envoy.admin.v3.ServerInfo.getDescriptor(),
            HttpConnectionManager.getDescriptor())) {
      types.add(d);
    }
  }

  static Clusters clusters(ClusterManager cm) {
    Clusters.Builder out = Clusters.newBuilder();
    cm.all().stream()
        .sorted(Comparator.comparing(c -> c.name))
        .forEach(
            c -> {
              ClusterStatus.Builder cs =
                  ClusterStatus.newBuilder().setName(c.name).setAddedViaApi(c.dynamic);
              if (c.proto.hasCircuitBreakers()) {
                cs.setCircuitBreakers(c.proto.getCircuitBreakers());
              }
              if (c.proto.getType()
                  == io.envoyproxy.envoy.config.cluster.v3.Cluster.DiscoveryType.EDS) {
                cs.setEdsServiceName(c.edsServiceName);
              }
              for (Host h : c.hosts()) {
                cs.addHostStatuses(
                    HostStatus.newBuilder()
                        .setAddress(
                            address(h.address.getAddress().getHostAddress(), h.address.getPort()))
                        .setHostname(
                            h.hostname.equals(h.address.getAddress().getHostAddress())
                                ? ""
                                : h.hostname)
                        .setWeight(h.weight)
                        .setPriority(h.priority)
                        .setLocality(
                            Locality.newBuilder()
                                .setRegion(h.region)
                                .setZone(h.zone)
                                .setSubZone(h.subZone))
                        .setHealthStatus(
                            HostHealthStatus.newBuilder()
                                .setFailedActiveHealthCheck(h.failedActiveHc)
                                .setPendingActiveHc(h.pendingActiveHc)
                                .setEdsHealthStatus(h.edsHealth))
                        .addStats(counter("cx_total", h.cxTotal.get()))
                        .addStats(counter("cx_connect_fail", h.cxConnectFail.get()))
                        .addStats(gauge("cx_active", h.cxActive.get()))
                        .addStats(counter("rq_total", h.rqTotal.get()))
                        .addStats(counter("rq_success", h.rqSuccess.get()))
                        .addStats(counter("rq_error", h.rqError.get()))
                        .addStats(counter("rq_timeout", h.rqTimeout.get())));
              }
              out.addClusterStatuses(cs);
            });
    return out.build();
  }

  static Listeners listeners(ListenerManager lm) {
    Listeners.Builder out = Listeners.newBuilder();
    lm.all().stream()
        .sorted(Comparator.comparing(l -> l.name))
        .forEach(
            l ->
                out.addListenerStatuses(
                    ListenerStatus.newBuilder()
                        .setName(l.name)
                        .setLocalAddress(
                            address(
                                l.address.getAddress().getHostAddress(), l.address.getPort()))));
    return out.build();
  }

  static ConfigDump configDump(
      Bootstrap bootstrap,
      Instant bootstrapLoaded,
      ClusterManager cm,
      ListenerManager lm,
      boolean includeEds) {
    ConfigDump.Builder out = ConfigDump.newBuilder();
    out.addConfigs(
        Any.pack(
            BootstrapConfigDump.newBuilder()
                .setBootstrap(bootstrap)
                .setLastUpdated(ts(bootstrapLoaded))
                .build()));

    ClustersConfigDump.Builder clusters =
        ClustersConfigDump.newBuilder().setVersionInfo(cm.cdsVersion);
    EndpointsConfigDump.Builder endpoints = EndpointsConfigDump.newBuilder();
    cm.all().stream()
        .sorted(Comparator.comparing(c -> c.name))
        .forEach(
            c -> {
              if (c.dynamic) {
                clusters.addDynamicActiveClusters(
                    ClustersConfigDump.DynamicCluster.newBuilder()
                        .setVersionInfo(c.versionInfo)
                        .setCluster(Any.pack(c.proto))
                        .setLastUpdated(ts(c.lastUpdated)));
              } else {
                clusters.addStaticClusters(
                    ClustersConfigDump.StaticCluster.newBuilder()
                        .setCluster(Any.pack(c.proto))
                        .setLastUpdated(ts(c.lastUpdated)));
              }
              // ConfigDumpHandler::dumpEndpointConfigs: active clusters only; dynamic = added via
              // API;
              // no version_info and no last_updated (Envoy never fills those proto fields).
              ClusterLoadAssignment cla =
                  (c.assignment != null ? c.assignment : c.proto.getLoadAssignment())
                      .toBuilder().setClusterName(c.edsServiceName).build();
              if (c.dynamic) {
                endpoints.addDynamicEndpointConfigs(
                    EndpointsConfigDump.DynamicEndpointConfig.newBuilder()
                        .setEndpointConfig(Any.pack(cla)));
              } else {
                endpoints.addStaticEndpointConfigs(
                    EndpointsConfigDump.StaticEndpointConfig.newBuilder()
                        .setEndpointConfig(Any.pack(cla)));
              }
            });
    cm.warming().stream()
        .sorted(Comparator.comparing(c -> c.name))
        .forEach(
            c ->
                clusters.addDynamicWarmingClusters(
                    ClustersConfigDump.DynamicCluster.newBuilder()
                        .setVersionInfo(c.versionInfo)
                        .setCluster(Any.pack(c.proto))
                        .setLastUpdated(ts(c.lastUpdated))));
    out.addConfigs(Any.pack(clusters.build()));

    ListenersConfigDump.Builder listeners =
        ListenersConfigDump.newBuilder().setVersionInfo(lm.ldsVersion);
    RoutesConfigDump.Builder routes = RoutesConfigDump.newBuilder();
    java.util.Map<String, ListenersConfigDump.DynamicListener.Builder> dynamic =
        new java.util.TreeMap<>();
    lm.all().stream()
        .sorted(Comparator.comparing(l -> l.name))
        .forEach(
            l -> {
              if (l.dynamic) {
                dynamic.put(
                    l.name,
                    ListenersConfigDump.DynamicListener.newBuilder()
                        .setName(l.name)
                        .setActiveState(
                            ListenersConfigDump.DynamicListenerState.newBuilder()
                                .setVersionInfo(l.versionInfo)
                                .setListener(Any.pack(l.proto))
                                .setLastUpdated(ts(l.lastUpdated))));
              } else {
                listeners.addStaticListeners(
                    ListenersConfigDump.StaticListener.newBuilder()
                        .setListener(Any.pack(l.proto))
                        .setLastUpdated(ts(l.lastUpdated)));
              }
              inlineRoute(l.proto)
                  .ifPresent(
                      rc ->
                          routes.addStaticRouteConfigs(
                              RoutesConfigDump.StaticRouteConfig.newBuilder()
                                  .setRouteConfig(Any.pack(rc))
                                  .setLastUpdated(ts(l.lastUpdated))));
              if (l.handler() instanceof HttpProxy http
                  && http.rds() != null
                  && http.rds().proto != null) {
                RdsSubscription rds = http.rds();
                routes.addDynamicRouteConfigs(
                    RoutesConfigDump.DynamicRouteConfig.newBuilder()
                        .setVersionInfo(rds.versionInfo)
                        .setRouteConfig(Any.pack(rds.proto))
                        .setLastUpdated(ts(rds.lastUpdated)));
              }
            });
    // ListenerManagerImpl::dumpListenerConfigs: the error state of each listener name that failed
    // (kept after later updates), then the failures of the last update, unnamed.
    lm.errorStates()
        .forEach(
            (name, e) ->
                dynamic
                    .computeIfAbsent(
                        name, n -> ListenersConfigDump.DynamicListener.newBuilder().setName(n))
                    .setErrorState(failure(e)));
    dynamic.values().forEach(listeners::addDynamicListeners);
    for (ListenerManager.ErrorState e : lm.lastUpdateErrors()) {
      listeners.addDynamicListeners(
          ListenersConfigDump.DynamicListener.newBuilder().setErrorState(failure(e)));
    }
    out.addConfigs(Any.pack(listeners.build()));
    out.addConfigs(Any.pack(routes.build()));
    if (includeEds) {
      out.addConfigs(Any.pack(endpoints.build()));
    }
    return out.build();
  }

  private static java.util.Optional<io.envoyproxy.envoy.config.route.v3.RouteConfiguration>
      inlineRoute(Listener l) {
    for (var chain : l.getFilterChainsList()) {
      for (var f : chain.getFiltersList()) {
        if (f.getTypedConfig().getTypeUrl().equals(FilterChains.HCM)) {
          try {
            HttpConnectionManager hcm = f.getTypedConfig().unpack(HttpConnectionManager.class);
            if (hcm.hasRouteConfig()) {
              return java.util.Optional.of(hcm.getRouteConfig());
            }
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            return java.util.Optional.empty();
          }
        }
      }
    }
    return java.util.Optional.empty();
  }

  private static UpdateFailureState failure(ListenerManager.ErrorState e) {
    UpdateFailureState.Builder b =
        UpdateFailureState.newBuilder()
            .setDetails(e.details())
            .setFailedConfiguration(Any.pack(e.failedConfiguration()));
    if (e.lastUpdateAttempt() != null) {
      b.setLastUpdateAttempt(ts(e.lastUpdateAttempt()));
    }
    return b.build();
  }

  static Address address(String ip, int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(port))
        .build();
  }

  private static SimpleMetric counter(String name, long v) {
    return SimpleMetric.newBuilder()
        .setType(SimpleMetric.Type.COUNTER)
        .setName(name)
        .setValue(v)
        .build();
  }

  private static SimpleMetric gauge(String name, long v) {
    return SimpleMetric.newBuilder()
        .setType(SimpleMetric.Type.GAUGE)
        .setName(name)
        .setValue(v)
        .build();
  }

  static Timestamp ts(Instant i) {
    Instant t = i == null ? Instant.EPOCH : i;
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }

  static String print(ProtoTypes types, Message m) {
    try {
      return types.printer().print(m);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      return "{\"error\":\"" + e.getMessage().replace("\"", "'") + "\"}";
    }
  }
}
