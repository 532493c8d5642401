package dev.envoyagent.render;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.api.v1.Service;
import dev.envoyagent.config.AgentSettings.NodeSettings;
import dev.envoyagent.config.Delivery;
import dev.envoyagent.model.InvalidInputException;
import dev.envoyagent.model.RouteSnapshots;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.filters.network.thrift_proxy.v3.ThriftProxy;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class EnvoyConfigRendererTest {

  static final Path DIR = Path.of("/var/lib/envoy-agent/envoy");
  static final RenderSettings FILES =
      new RenderSettings(
          new NodeSettings("i-0abc", "web", "us-east-1a"), 9901, Delivery.FILES, DIR);
  static final RenderSettings RESTART = FILES.withDelivery(Delivery.RESTART);

  static RouteSnapshot example() throws Exception {
    try (InputStream in =
        EnvoyConfigRendererTest.class.getResourceAsStream("/example-routes.yaml")) {
      return RouteSnapshots.parse(in.readAllBytes());
    }
  }

  static RouteSnapshot parse(String yaml) throws InvalidInputException {
    return RouteSnapshots.parse(yaml.getBytes(StandardCharsets.UTF_8));
  }

  /** Every written file read back strictly with the official protos, as Envoy would. */
  record ReadBack(Bootstrap bootstrap, Map<String, DiscoveryResponse> watched) {
    <M extends Message> List<M> resources(String file, Class<M> type)
        throws InvalidProtocolBufferException {
      List<M> out = new ArrayList<>();
      for (Any any : watched.get(file).getResourcesList()) {
        out.add(any.unpack(type));
      }
      return out;
    }
  }

  static ReadBack readBack(RenderedFiles files) throws Exception {
    Bootstrap bootstrap =
        EnvoyTypes.parseInto(
                new String(files.bootstrap(), StandardCharsets.UTF_8), Bootstrap.newBuilder())
            .build();
    Map<String, DiscoveryResponse> watched = new java.util.TreeMap<>();
    for (Map.Entry<String, byte[]> file : files.watched().entrySet()) {
      watched.put(
          file.getKey(),
          EnvoyTypes.parseInto(
                  new String(file.getValue(), StandardCharsets.UTF_8),
                  DiscoveryResponse.newBuilder())
              .build());
    }
    return new ReadBack(bootstrap, watched);
  }

  static <T> Map<String, T> byName(List<T> items, Function<T, String> name) {
    return items.stream().collect(Collectors.toMap(name, i -> i));
  }

  @Test
  void filesDeliveryPutsEverythingThatChangesInWatchedFiles() throws Exception {
    ReadBack config = readBack(EnvoyConfigRenderer.render(example(), FILES).toFiles());

    assertThat(config.watched().keySet())
        .containsExactly(
            "cds.json",
            "eds/users-api-v2.json",
            "eds/users-api.json",
            "lds.json",
            "rds/users-api-v2.json",
            "rds/users-api.json");
    Bootstrap bootstrap = config.bootstrap();
    assertThat(bootstrap.getNode().getId()).isEqualTo("i-0abc");
    assertThat(bootstrap.getNode().getCluster()).isEqualTo("web");
    assertThat(bootstrap.getNode().getLocality().getZone()).isEqualTo("us-east-1a");
    assertThat(bootstrap.getAdmin().getAddress().getSocketAddress().getAddress())
        .isEqualTo("127.0.0.1");
    assertThat(bootstrap.getAdmin().getAddress().getSocketAddress().getPortValue()).isEqualTo(9901);
    assertThat(bootstrap.getDynamicResources().getLdsConfig().getPathConfigSource().getPath())
        .isEqualTo("/var/lib/envoy-agent/envoy/lds.json");
    assertThat(bootstrap.getDynamicResources().getCdsConfig().getPathConfigSource().getPath())
        .isEqualTo("/var/lib/envoy-agent/envoy/cds.json");
    assertThat(bootstrap.hasStaticResources()).isFalse();
    assertThat(config.watched().values())
        .allSatisfy(response -> assertThat(response.getVersionInfo()).matches("[0-9a-f]{16}"));

    Map<String, Listener> listeners =
        byName(config.resources("lds.json", Listener.class), Listener::getName);
    assertThat(listeners).containsOnlyKeys("users-api", "users-api-v2", "postgres-main");
    Listener users = listeners.get("users-api");
    assertThat(users.getAddress().getSocketAddress().getAddress()).isEqualTo("127.0.0.1");
    assertThat(users.getAddress().getSocketAddress().getPortValue()).isEqualTo(9101);
    HttpConnectionManager hcm =
        users.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
    assertThat(hcm.getRds().getRouteConfigName()).isEqualTo("users-api");
    assertThat(hcm.getRds().getConfigSource().getPathConfigSource().getPath())
        .isEqualTo("/var/lib/envoy-agent/envoy/rds/users-api.json");
    assertThat(hcm.getHttpFilters(0).getName()).isEqualTo("envoy.filters.http.router");
    TcpProxy tcp =
        listeners
            .get("postgres-main")
            .getFilterChains(0)
            .getFilters(0)
            .getTypedConfig()
            .unpack(TcpProxy.class);
    assertThat(tcp.getCluster()).isEqualTo("postgres-main");
    assertThat(listeners.get("postgres-main").getAddress().getSocketAddress().getPortValue())
        .isEqualTo(15432);

    Map<String, Cluster> clusters =
        byName(config.resources("cds.json", Cluster.class), Cluster::getName);
    Cluster usersCluster = clusters.get("users-api");
    assertThat(usersCluster.getType()).isEqualTo(Cluster.DiscoveryType.EDS);
    assertThat(usersCluster.getEdsClusterConfig().getEdsConfig().getPathConfigSource().getPath())
        .isEqualTo("/var/lib/envoy-agent/envoy/eds/users-api.json");
    assertThat(usersCluster.getConnectTimeout().getSeconds()).isEqualTo(1);
    Cluster database = clusters.get("postgres-main");
    assertThat(database.getType())
        .as("a DNS name needs Envoy to resolve it")
        .isEqualTo(Cluster.DiscoveryType.STRICT_DNS);
    assertThat(
            database
                .getLoadAssignment()
                .getEndpoints(0)
                .getLbEndpoints(0)
                .getEndpoint()
                .getAddress()
                .getSocketAddress()
                .getAddress())
        .isEqualTo("db-main.internal.example");

    ClusterLoadAssignment endpoints =
        config.resources("eds/users-api.json", ClusterLoadAssignment.class).get(0);
    assertThat(endpoints.getClusterName()).isEqualTo("users-api");
    assertThat(endpoints.getEndpointsList())
        .extracting(l -> l.getLocality().getZone())
        .containsExactly("us-east-1a", "us-east-1b");
    LbEndpoint second = endpoints.getEndpoints(1).getLbEndpoints(0);
    assertThat(second.getEndpoint().getAddress().getSocketAddress().getAddress())
        .isEqualTo("10.0.2.7");
    assertThat(second.getEndpoint().getAddress().getSocketAddress().getPortValue()).isEqualTo(8080);
    assertThat(second.getLoadBalancingWeight().getValue()).isEqualTo(2);
    assertThat(endpoints.getEndpoints(0).getLbEndpoints(0).getLoadBalancingWeight().getValue())
        .isEqualTo(1);

    RouteConfiguration routes =
        config.resources("rds/users-api.json", RouteConfiguration.class).get(0);
    assertThat(routes.getName()).isEqualTo("users-api");
    List<Route> table = routes.getVirtualHosts(0).getRoutesList();
    assertThat(routes.getVirtualHosts(0).getDomainsList()).containsExactly("*");
    assertThat(table).hasSize(2);
    assertThat(table.get(0).getMatch().getPrefix()).isEqualTo("/v2/");
    assertThat(table.get(0).getRoute().getWeightedClusters().getClustersList())
        .extracting(c -> c.getName() + "=" + c.getWeight().getValue())
        .containsExactly("users-api-v2=90", "users-api=10");
    assertThat(table.get(0).getRoute().getTimeout().getSeconds()).isEqualTo(2);
    assertThat(table.get(0).getRoute().getRetryPolicy().getRetryOn()).isEqualTo("5xx,reset");
    assertThat(table.get(0).getRoute().getRetryPolicy().getNumRetries().getValue()).isEqualTo(2);
    assertThat(table.get(1).getMatch().getPrefix())
        .as("unmatched requests go to the service itself")
        .isEqualTo("/");
    assertThat(table.get(1).getRoute().getCluster()).isEqualTo("users-api");
  }

  @Test
  void restartDeliveryPutsEverythingInTheBootstrap() throws Exception {
    RenderedConfig rendered = EnvoyConfigRenderer.render(example(), RESTART);
    ReadBack config = readBack(rendered.toFiles());

    assertThat(config.watched()).isEmpty();
    assertThat(config.bootstrap().hasDynamicResources()).isFalse();
    var resources = config.bootstrap().getStaticResources();
    assertThat(resources.getListenersList())
        .extracting(Listener::getName)
        .containsExactly("postgres-main", "users-api", "users-api-v2");
    Map<String, Cluster> clusters = byName(resources.getClustersList(), Cluster::getName);
    assertThat(clusters.get("users-api").getType()).isEqualTo(Cluster.DiscoveryType.STATIC);
    assertThat(clusters.get("users-api").getLoadAssignment().getEndpointsCount()).isEqualTo(2);
    HttpConnectionManager hcm =
        resources
            .getListeners(1)
            .getFilterChains(0)
            .getFilters(0)
            .getTypedConfig()
            .unpack(HttpConnectionManager.class);
    assertThat(hcm.hasRds()).isFalse();
    assertThat(hcm.getRouteConfig().getVirtualHosts(0).getRoutesCount()).isEqualTo(2);
  }

  @Test
  void bothDeliveriesDescribeTheSameListenersAndClusters() throws Exception {
    ReadBack files = readBack(EnvoyConfigRenderer.render(example(), FILES).toFiles());
    ReadBack restart = readBack(EnvoyConfigRenderer.render(example(), RESTART).toFiles());
    assertThat(restart.bootstrap().getStaticResources().getListenersList())
        .extracting(Listener::getName)
        .containsExactlyElementsOf(
            files.resources("lds.json", Listener.class).stream().map(Listener::getName).toList());
    assertThat(restart.bootstrap().getStaticResources().getClustersList())
        .extracting(Cluster::getName)
        .containsExactlyElementsOf(
            files.resources("cds.json", Cluster.class).stream().map(Cluster::getName).toList());
  }

  @Test
  void trafficPolicyAndProtocolsReachEnvoy() throws Exception {
    RouteSnapshot snapshot =
        parse(
            """
        version: "9"
        services:
          - name: billing
            protocol: GRPC
            local_port: 9200
            endpoints: [ { address: "2001:db8::5", port: 50051 } ]
            connect_timeout_ms: 250
            circuit_breakers: { max_connections: 100, max_pending_requests: 10, max_requests: 200, max_retries: 3 }
            outlier_detection: { consecutive_5xx: 5, interval_ms: 10000, base_ejection_time_ms: 30000, max_ejection_percent: 50 }
            health_check: { http_path: /healthz, interval_ms: 2000, timeout_ms: 500, healthy_threshold: 1, unhealthy_threshold: 2 }
            routes:
              - match: { regex: "/billing\\\\.v1\\\\..*", headers: [ { name: x-tenant, exact: acme } ] }
                targets: [ { service: billing } ]
          - name: legacy
            protocol: THRIFT
            local_port: 9300
            endpoints: [ { address: 10.1.1.1, port: 9090 } ]
            health_check: {}
        """);
    ReadBack config = readBack(EnvoyConfigRenderer.render(snapshot, FILES).toFiles());
    Map<String, Cluster> clusters =
        byName(config.resources("cds.json", Cluster.class), Cluster::getName);

    Cluster billing = clusters.get("billing");
    assertThat(billing.getConnectTimeout().getNanos()).isEqualTo(250_000_000);
    HttpProtocolOptions options =
        billing
            .getTypedExtensionProtocolOptionsOrThrow(EnvoyTypes.HTTP_PROTOCOL_OPTIONS)
            .unpack(HttpProtocolOptions.class);
    assertThat(options.getExplicitHttpConfig().hasHttp2ProtocolOptions()).isTrue();
    var thresholds = billing.getCircuitBreakers().getThresholds(0);
    assertThat(thresholds.getMaxConnections().getValue()).isEqualTo(100);
    assertThat(thresholds.getMaxPendingRequests().getValue()).isEqualTo(10);
    assertThat(thresholds.getMaxRequests().getValue()).isEqualTo(200);
    assertThat(thresholds.getMaxRetries().getValue()).isEqualTo(3);
    assertThat(billing.getOutlierDetection().getConsecutive5Xx().getValue()).isEqualTo(5);
    assertThat(billing.getOutlierDetection().getInterval().getSeconds()).isEqualTo(10);
    assertThat(billing.getOutlierDetection().getBaseEjectionTime().getSeconds()).isEqualTo(30);
    assertThat(billing.getOutlierDetection().getMaxEjectionPercent().getValue()).isEqualTo(50);
    var check = billing.getHealthChecks(0);
    assertThat(check.getHttpHealthCheck().getPath()).isEqualTo("/healthz");
    assertThat(check.getInterval().getSeconds()).isEqualTo(2);
    assertThat(check.getTimeout().getNanos()).isEqualTo(500_000_000);
    assertThat(check.getHealthyThreshold().getValue()).isEqualTo(1);
    assertThat(check.getUnhealthyThreshold().getValue()).isEqualTo(2);

    Route route =
        config
            .resources("rds/billing.json", RouteConfiguration.class)
            .get(0)
            .getVirtualHosts(0)
            .getRoutes(0);
    assertThat(route.getMatch().getSafeRegex().getRegex()).isEqualTo("/billing\\.v1\\..*");
    assertThat(route.getMatch().getHeaders(0).getName()).isEqualTo("x-tenant");
    assertThat(route.getMatch().getHeaders(0).getStringMatch().getExact()).isEqualTo("acme");
    assertThat(route.getRoute().getCluster()).isEqualTo("billing");
    assertThat(route.getRoute().hasTimeout())
        .as("gRPC streams must not be cut by a default timeout")
        .isTrue();
    assertThat(route.getRoute().getTimeout().getSeconds()).isZero();

    Cluster legacy = clusters.get("legacy");
    assertThat(legacy.getHealthChecks(0).hasTcpHealthCheck()).isTrue();
    assertThat(legacy.getHealthChecks(0).getInterval().getSeconds()).isEqualTo(5);
    assertThat(legacy.getTypedExtensionProtocolOptionsMap()).isEmpty();
    Listener thrift =
        byName(config.resources("lds.json", Listener.class), Listener::getName).get("legacy");
    ThriftProxy proxy =
        thrift.getFilterChains(0).getFilters(0).getTypedConfig().unpack(ThriftProxy.class);
    assertThat(proxy.getRouteConfig().getRoutes(0).getRoute().getCluster()).isEqualTo("legacy");
    assertThat(config.watched()).doesNotContainKey("rds/legacy.json");
  }

  @Test
  void aServiceWithoutEndpointsStillGetsItsListenerAndCluster() throws Exception {
    ReadBack config =
        readBack(
            EnvoyConfigRenderer.render(
                    parse(
                        """
        version: "1"
        services: [ { name: nothing-yet, protocol: HTTP, local_port: 9000 } ]
        """),
                    FILES)
                .toFiles());
    assertThat(
            config
                .resources("eds/nothing-yet.json", ClusterLoadAssignment.class)
                .get(0)
                .getEndpointsList())
        .isEmpty();
    assertThat(config.resources("lds.json", Listener.class)).hasSize(1);
  }

  @Test
  void anEmptySnapshotRendersEmptyButTypedFiles() throws Exception {
    ReadBack config =
        readBack(
            EnvoyConfigRenderer.render(parse("version: \"0\"\nservices: []\n"), FILES).toFiles());
    assertThat(config.watched().get("lds.json").getTypeUrl())
        .isEqualTo("type.googleapis.com/envoy.config.listener.v3.Listener");
    assertThat(config.watched().get("cds.json").getTypeUrl())
        .isEqualTo("type.googleapis.com/envoy.config.cluster.v3.Cluster");
    assertThat(config.watched().get("lds.json").getResourcesList()).isEmpty();
  }

  @Test
  void theSameServicesInAnyOrderRenderTheSameBytes() throws Exception {
    RouteSnapshot snapshot = example();
    RenderedFiles first = EnvoyConfigRenderer.render(snapshot, FILES).toFiles();
    List<Service> shuffled = new ArrayList<>(snapshot.getServicesList());
    Collections.shuffle(shuffled, new Random(7));
    Collections.reverse(shuffled);
    RouteSnapshot reordered = snapshot.toBuilder().clearServices().addAllServices(shuffled).build();
    RenderedFiles second = EnvoyConfigRenderer.render(reordered, FILES).toFiles();

    assertThat(second.digest()).isEqualTo(first.digest());
    assertThat(second.bootstrap()).isEqualTo(first.bootstrap());
    assertThat(second.watched().keySet()).isEqualTo(first.watched().keySet());
    first
        .watched()
        .forEach((name, bytes) -> assertThat(second.watched().get(name)).as(name).isEqualTo(bytes));
  }

  @Test
  void anEndpointChangeLeavesTheBootstrapAlone() throws Exception {
    RouteSnapshot before = example();
    RouteSnapshot after =
        before.toBuilder()
            .setServices(
                1,
                before.getServices(1).toBuilder()
                    .setEndpoints(
                        0,
                        before.getServices(1).getEndpoints(0).toBuilder().setAddress("10.0.3.10")))
            .build();
    RenderedFiles a = EnvoyConfigRenderer.render(before, FILES).toFiles();
    RenderedFiles b = EnvoyConfigRenderer.render(after, FILES).toFiles();
    assertThat(b.bootstrapDigest()).isEqualTo(a.bootstrapDigest());
    assertThat(b.digest()).isNotEqualTo(a.digest());
    List<String> changed =
        a.watched().keySet().stream()
            .filter(name -> !java.util.Arrays.equals(a.watched().get(name), b.watched().get(name)))
            .toList();
    assertThat(changed)
        .as("only the changed service's endpoints file differs, so Envoy reloads only it")
        .containsExactly("eds/users-api-v2.json");

    RenderedFiles c = EnvoyConfigRenderer.render(before, RESTART).toFiles();
    RenderedFiles d = EnvoyConfigRenderer.render(after, RESTART).toFiles();
    assertThat(d.bootstrapDigest())
        .as("restart delivery: every change is a bootstrap change")
        .isNotEqualTo(c.bootstrapDigest());
  }

  @Test
  void aNewSnapshotVersionWithTheSameServicesChangesNoFile() throws Exception {
    RenderedFiles a = EnvoyConfigRenderer.render(example(), FILES).toFiles();
    RenderedFiles b =
        EnvoyConfigRenderer.render(example().toBuilder().setVersion("43").build(), FILES).toFiles();
    assertThat(b.digest()).isEqualTo(a.digest());
    assertThat(b.version()).isEqualTo("43");
  }

  @Test
  void zoneAwareServicesPreferTheHostsZoneAndFailOverToTheOthers() throws Exception {
    RouteSnapshot snapshot =
        example().toBuilder()
            .setServices(0, example().getServices(0).toBuilder().setZoneAware(true))
            .build();
    ReadBack config = readBack(EnvoyConfigRenderer.render(snapshot, FILES).toFiles());
    ClusterLoadAssignment zoneAware =
        config.resources("eds/users-api.json", ClusterLoadAssignment.class).get(0);
    assertThat(zoneAware.getEndpointsList())
        .extracting(l -> l.getLocality().getZone() + "@" + l.getPriority())
        .containsExactly("us-east-1a@0", "us-east-1b@1");
    ClusterLoadAssignment plain =
        config.resources("eds/users-api-v2.json", ClusterLoadAssignment.class).get(0);
    assertThat(plain.getEndpointsList()).allSatisfy(l -> assertThat(l.getPriority()).isZero());

    RenderSettings elsewhere =
        new RenderSettings(
            new NodeSettings("i-0abc", "web", "eu-west-1a"), 9901, Delivery.FILES, DIR);
    ReadBack noLocal = readBack(EnvoyConfigRenderer.render(snapshot, elsewhere).toFiles());
    assertThat(
            noLocal
                .resources("eds/users-api.json", ClusterLoadAssignment.class)
                .get(0)
                .getEndpointsList())
        .as("no endpoint in the host's zone: one priority, no empty priority 0")
        .allSatisfy(l -> assertThat(l.getPriority()).isZero());
  }

  @Test
  void aServiceOnEnvoysAdminPortIsRefused() {
    assertThatThrownBy(
            () ->
                EnvoyConfigRenderer.render(
                    parse(
                        """
        version: "1"
        services: [ { name: a, protocol: TCP, local_port: 9901 } ]
        """),
                    FILES))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining(
            "services[0].local_port: 9901 is Envoy's admin port on this host (envoy.admin_port)");
  }

  @Test
  void anInvalidSnapshotIsNeverRendered() {
    RouteSnapshot invalid =
        RouteSnapshot.newBuilder()
            .setVersion("1")
            .addServices(Service.newBuilder().setName("Bad Name").setLocalPort(1))
            .build();
    assertThatThrownBy(() -> EnvoyConfigRenderer.render(invalid, FILES))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("services[0].name")
        .hasMessageContaining("services[0].protocol: must be set")
        .hasMessageContaining("services[0].local_port: 1 is out of range");
  }
}
