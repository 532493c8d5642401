package dev.envoyagent.render;

import static dev.envoyagent.render.Protos.millis;
import static dev.envoyagent.render.Protos.uint32;

import com.google.protobuf.Any;
import dev.envoyagent.api.v1.Endpoint;
import dev.envoyagent.api.v1.Protocol;
import dev.envoyagent.api.v1.Service;
import dev.envoyagent.model.Addresses;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.HealthCheck;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.v3.CodecClientType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** A service's upstream side: its Envoy cluster and the endpoints in it. */
final class ClusterRenderer {

  static final long DEFAULT_CONNECT_TIMEOUT_MS = 1_000;
  static final long DEFAULT_CHECK_INTERVAL_MS = 5_000;
  static final long DEFAULT_CHECK_TIMEOUT_MS = 1_000;
  static final int DEFAULT_HEALTHY_THRESHOLD = 2;
  static final int DEFAULT_UNHEALTHY_THRESHOLD = 3;

  private ClusterRenderer() {}

  /** True when the service names endpoints by DNS: Envoy must resolve them, so they stay inline. */
  static boolean usesDns(Service service) {
    return service.getEndpointsList().stream()
        .anyMatch(
            e -> Addresses.kindOf(e.getAddress()).orElse(Addresses.Kind.DNS) == Addresses.Kind.DNS);
  }

  /**
   * The cluster; with {@code endpointsFromFile} and IP-only endpoints, the endpoints come from the
   * watched file {@code eds/<name>.json}, otherwise they are inline.
   */
  static Cluster cluster(
      Service service, Path configDir, boolean endpointsFromFile, String hostZone) {
    Cluster.Builder cluster =
        Cluster.newBuilder()
            .setName(service.getName())
            .setConnectTimeout(
                millis(
                    service.hasConnectTimeoutMs()
                        ? Integer.toUnsignedLong(service.getConnectTimeoutMs())
                        : DEFAULT_CONNECT_TIMEOUT_MS))
            .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN);
    if (usesDns(service)) {
      cluster
          .setType(Cluster.DiscoveryType.STRICT_DNS)
          .setDnsLookupFamily(Cluster.DnsLookupFamily.V4_PREFERRED)
          .setLoadAssignment(loadAssignment(service, hostZone));
    } else if (endpointsFromFile) {
      cluster
          .setType(Cluster.DiscoveryType.EDS)
          .setEdsClusterConfig(
              Cluster.EdsClusterConfig.newBuilder()
                  .setServiceName(service.getName())
                  .setEdsConfig(Protos.fileSource(configDir, edsFile(service))));
    } else {
      cluster
          .setType(Cluster.DiscoveryType.STATIC)
          .setLoadAssignment(loadAssignment(service, hostZone));
    }
    if (usesHttp2(service.getProtocol())) {
      HttpProtocolOptions http2 =
          HttpProtocolOptions.newBuilder()
              .setExplicitHttpConfig(
                  HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                      .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
              .build();
      cluster.putTypedExtensionProtocolOptions(EnvoyTypes.HTTP_PROTOCOL_OPTIONS, Any.pack(http2));
    }
    if (service.hasCircuitBreakers()) {
      cluster.setCircuitBreakers(circuitBreakers(service.getCircuitBreakers()));
    }
    if (service.hasOutlierDetection()) {
      cluster.setOutlierDetection(outlierDetection(service.getOutlierDetection()));
    }
    if (service.hasHealthCheck()) {
      cluster.addHealthChecks(healthCheck(service.getHealthCheck(), service.getProtocol()));
    }
    return cluster.build();
  }

  static String edsFile(Service service) {
    return RenderedConfig.EDS_DIR + "/" + service.getName() + ".json";
  }

  /**
   * Endpoints grouped by zone (zones in name order, endpoints in snapshot order within one). For a
   * zone-aware service on a host whose zone is known and has endpoints, that zone is priority 0 and
   * every other zone priority 1: Envoy sends everything to the host's zone and spills over to the
   * others only as local endpoints become unhealthy (no cross-zone traffic, no cross-zone cost,
   * while the zone copes).
   */
  static ClusterLoadAssignment loadAssignment(Service service, String hostZone) {
    Map<String, List<Endpoint>> byZone = new TreeMap<>();
    for (Endpoint endpoint : service.getEndpointsList()) {
      byZone.computeIfAbsent(endpoint.getZone(), z -> new ArrayList<>()).add(endpoint);
    }
    boolean preferHostZone =
        service.getZoneAware() && !hostZone.isEmpty() && byZone.containsKey(hostZone);
    ClusterLoadAssignment.Builder assignment =
        ClusterLoadAssignment.newBuilder().setClusterName(service.getName());
    for (Map.Entry<String, List<Endpoint>> zone : byZone.entrySet()) {
      LocalityLbEndpoints.Builder locality = LocalityLbEndpoints.newBuilder();
      if (!zone.getKey().isEmpty()) {
        locality.setLocality(Locality.newBuilder().setZone(zone.getKey()));
      }
      if (preferHostZone && !zone.getKey().equals(hostZone)) {
        locality.setPriority(1);
      }
      for (Endpoint endpoint : zone.getValue()) {
        locality.addLbEndpoints(
            LbEndpoint.newBuilder()
                .setEndpoint(
                    io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                        .setAddress(Protos.tcpAddress(endpoint.getAddress(), endpoint.getPort())))
                .setLoadBalancingWeight(uint32(endpoint.hasWeight() ? endpoint.getWeight() : 1)));
      }
      assignment.addEndpoints(locality);
    }
    return assignment.build();
  }

  private static boolean usesHttp2(Protocol protocol) {
    return protocol == Protocol.HTTP2 || protocol == Protocol.GRPC;
  }

  private static CircuitBreakers circuitBreakers(dev.envoyagent.api.v1.CircuitBreakers limits) {
    CircuitBreakers.Thresholds.Builder thresholds =
        CircuitBreakers.Thresholds.newBuilder().setPriority(RoutingPriority.DEFAULT);
    if (limits.hasMaxConnections()) {
      thresholds.setMaxConnections(uint32(limits.getMaxConnections()));
    }
    if (limits.hasMaxPendingRequests()) {
      thresholds.setMaxPendingRequests(uint32(limits.getMaxPendingRequests()));
    }
    if (limits.hasMaxRequests()) {
      thresholds.setMaxRequests(uint32(limits.getMaxRequests()));
    }
    if (limits.hasMaxRetries()) {
      thresholds.setMaxRetries(uint32(limits.getMaxRetries()));
    }
    return CircuitBreakers.newBuilder().addThresholds(thresholds).build();
  }

  private static OutlierDetection outlierDetection(dev.envoyagent.api.v1.OutlierDetection policy) {
    OutlierDetection.Builder outlier = OutlierDetection.newBuilder();
    if (policy.hasConsecutive5Xx()) {
      outlier.setConsecutive5Xx(uint32(policy.getConsecutive5Xx()));
    }
    if (policy.hasIntervalMs()) {
      outlier.setInterval(millis(Integer.toUnsignedLong(policy.getIntervalMs())));
    }
    if (policy.hasBaseEjectionTimeMs()) {
      outlier.setBaseEjectionTime(millis(Integer.toUnsignedLong(policy.getBaseEjectionTimeMs())));
    }
    if (policy.hasMaxEjectionPercent()) {
      outlier.setMaxEjectionPercent(uint32(policy.getMaxEjectionPercent()));
    }
    return outlier.build();
  }

  private static HealthCheck healthCheck(
      dev.envoyagent.api.v1.HealthCheck check, Protocol protocol) {
    HealthCheck.Builder health =
        HealthCheck.newBuilder()
            .setInterval(
                millis(
                    check.hasIntervalMs()
                        ? Integer.toUnsignedLong(check.getIntervalMs())
                        : DEFAULT_CHECK_INTERVAL_MS))
            .setTimeout(
                millis(
                    check.hasTimeoutMs()
                        ? Integer.toUnsignedLong(check.getTimeoutMs())
                        : DEFAULT_CHECK_TIMEOUT_MS))
            .setHealthyThreshold(
                uint32(
                    check.hasHealthyThreshold()
                        ? check.getHealthyThreshold()
                        : DEFAULT_HEALTHY_THRESHOLD))
            .setUnhealthyThreshold(
                uint32(
                    check.hasUnhealthyThreshold()
                        ? check.getUnhealthyThreshold()
                        : DEFAULT_UNHEALTHY_THRESHOLD));
    if (check.getHttpPath().isEmpty()) {
      health.setTcpHealthCheck(HealthCheck.TcpHealthCheck.getDefaultInstance());
    } else {
      health.setHttpHealthCheck(
          HealthCheck.HttpHealthCheck.newBuilder()
              .setPath(check.getHttpPath())
              .setCodecClientType(
                  usesHttp2(protocol) ? CodecClientType.HTTP2 : CodecClientType.HTTP1));
    }
    return health.build();
  }
}
