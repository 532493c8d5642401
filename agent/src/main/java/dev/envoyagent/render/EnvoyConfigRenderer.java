package dev.envoyagent.render;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.api.v1.Service;
import dev.envoyagent.config.Delivery;
import dev.envoyagent.model.InvalidInputException;
import dev.envoyagent.model.Problem;
import dev.envoyagent.model.SnapshotValidator;
import dev.envoyagent.support.Sha256;
import io.envoyproxy.envoy.config.bootstrap.v3.Admin;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Turns a route snapshot into Envoy configuration. A pure function: no I/O, no clock, no
 * environment; services are taken in name order so that reordering a snapshot changes nothing.
 */
public final class EnvoyConfigRenderer {

  /** Envoy's admin listens on loopback only: it can stop Envoy. */
  static final String ADMIN_HOST = "127.0.0.1";

  private EnvoyConfigRenderer() {}

  public static RenderedConfig render(RouteSnapshot snapshot, RenderSettings settings)
      throws InvalidInputException {
    List<Problem> problems = new ArrayList<>(SnapshotValidator.validate(snapshot));
    problems.addAll(conflicts(snapshot, settings));
    if (!problems.isEmpty()) {
      throw new InvalidInputException("snapshot " + snapshot.getVersion(), problems);
    }
    List<Service> services = new ArrayList<>(snapshot.getServicesList());
    services.sort(Comparator.comparing(Service::getName));
    boolean files = settings.delivery() == Delivery.FILES;

    // Services render independently; a parallel, ordered stream keeps the result deterministic.
    List<ServiceResources> rendered =
        services.parallelStream()
            .map(
                service ->
                    ServiceResources.of(
                        service, settings.configDir(), files, settings.node().zone()))
            .toList();
    List<Listener> listeners = new ArrayList<>(rendered.size());
    List<Cluster> clusters = new ArrayList<>(rendered.size());
    SortedMap<String, DiscoveryResponse> watched = new TreeMap<>();
    for (ServiceResources resources : rendered) {
      listeners.add(resources.listener());
      clusters.add(resources.cluster());
      if (resources.routes() != null) {
        watched.put(
            RouteRenderer.rdsFile(resources.service()),
            discoveryResponse(
                RouteConfiguration.getDefaultInstance(), List.of(resources.routes())));
      }
      if (resources.endpoints() != null) {
        watched.put(
            ClusterRenderer.edsFile(resources.service()),
            discoveryResponse(
                ClusterLoadAssignment.getDefaultInstance(), List.of(resources.endpoints())));
      }
    }

    Bootstrap.Builder bootstrap =
        Bootstrap.newBuilder()
            .setNode(node(settings))
            .setAdmin(
                Admin.newBuilder().setAddress(Protos.tcpAddress(ADMIN_HOST, settings.adminPort())));
    if (files) {
      watched.put(
          RenderedConfig.LDS_FILE, discoveryResponse(Listener.getDefaultInstance(), listeners));
      watched.put(
          RenderedConfig.CDS_FILE, discoveryResponse(Cluster.getDefaultInstance(), clusters));
      bootstrap
          .getDynamicResourcesBuilder()
          .setLdsConfig(Protos.fileSource(settings.configDir(), RenderedConfig.LDS_FILE))
          .setCdsConfig(Protos.fileSource(settings.configDir(), RenderedConfig.CDS_FILE));
    } else {
      bootstrap.getStaticResourcesBuilder().addAllListeners(listeners).addAllClusters(clusters);
    }
    return new RenderedConfig(snapshot.getVersion(), bootstrap.build(), watched);
  }

  /**
   * What one service contributes; with files delivery its routes and endpoints live in their own
   * watched files (null when the service has none: TCP/Thrift routes, DNS or inline endpoints).
   */
  private record ServiceResources(
      Service service,
      Listener listener,
      Cluster cluster,
      RouteConfiguration routes,
      ClusterLoadAssignment endpoints) {

    static ServiceResources of(Service service, Path configDir, boolean files, String hostZone) {
      Cluster cluster = ClusterRenderer.cluster(service, configDir, files, hostZone);
      RouteConfiguration routes =
          files && SnapshotValidator.isHttpFamily(service.getProtocol())
              ? RouteRenderer.routeConfiguration(service)
              : null;
      ClusterLoadAssignment endpoints =
          files && cluster.getType() == Cluster.DiscoveryType.EDS
              ? ClusterRenderer.loadAssignment(service, hostZone)
              : null;
      return new ServiceResources(
          service,
          ListenerRenderer.listener(service, configDir, files),
          cluster,
          routes,
          endpoints);
    }
  }

  /** Problems that only show once the snapshot meets this host's settings. */
  static List<Problem> conflicts(RouteSnapshot snapshot, RenderSettings settings) {
    List<Problem> problems = new ArrayList<>();
    for (int i = 0; i < snapshot.getServicesCount(); i++) {
      if (snapshot.getServices(i).getLocalPort() == settings.adminPort()) {
        problems.add(
            new Problem(
                "services[" + i + "].local_port",
                settings.adminPort() + " is Envoy's admin port on this host (envoy.admin_port)"));
      }
    }
    return problems;
  }

  private static Node node(RenderSettings settings) {
    Node.Builder node =
        Node.newBuilder().setId(settings.node().id()).setCluster(settings.node().cluster());
    if (!settings.node().zone().isEmpty()) {
      node.setLocality(Locality.newBuilder().setZone(settings.node().zone()));
    }
    return node.build();
  }

  /**
   * A file's content. Its version_info is a digest of its resources, not the snapshot version, so a
   * file whose resources did not change keeps its bytes, is not rewritten, and Envoy does not
   * reload it; the agent reads these versions back from Envoy's config_dump to confirm an update.
   * The type URL is set even when there are no resources, so Envoy can check it.
   */
  private static <M extends Message> DiscoveryResponse discoveryResponse(
      M prototype, List<M> resources) {
    DiscoveryResponse.Builder response =
        DiscoveryResponse.newBuilder().setTypeUrl(Any.pack(prototype).getTypeUrl());
    MessageDigest sha = sha256();
    for (M resource : resources) {
      Any packed = Any.pack(resource);
      response.addResources(packed);
      packed.getValue().asReadOnlyByteBufferList().forEach(sha::update);
    }
    return response.setVersionInfo(HexFormat.of().formatHex(sha.digest(), 0, 8)).build();
  }

  private static MessageDigest sha256() {
    return Sha256.newDigest();
  }
}
