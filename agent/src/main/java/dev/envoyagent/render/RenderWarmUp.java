package dev.envoyagent.render;

import dev.envoyagent.api.v1.Endpoint;
import dev.envoyagent.api.v1.HealthCheck;
import dev.envoyagent.api.v1.Protocol;
import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.api.v1.Service;
import dev.envoyagent.config.AgentSettings;
import dev.envoyagent.config.Delivery;
import dev.envoyagent.model.InvalidInputException;
import java.nio.file.Path;

/**
 * The first render in a fresh JVM costs about half a second, mostly building the Envoy API's
 * descriptors and the JSON printer, where later ones take milliseconds. The agent renders this
 * small snapshot on a spare thread while it reads its config and state, so that a rebooted host's
 * Envoy starts from the last known good routes without paying that cost on the way.
 */
public final class RenderWarmUp {

  private RenderWarmUp() {}

  /** Renders and serialises one service of each kind in both deliveries, and drops the result. */
  public static void run() {
    RouteSnapshot sample = RouteSnapshot.newBuilder().setVersion("warm-up")
        .addServices(Service.newBuilder().setName("web").setProtocol(Protocol.HTTP).setLocalPort(10080)
            .setZoneAware(true).setHealthCheck(HealthCheck.newBuilder().setHttpPath("/healthz"))
            .addEndpoints(Endpoint.newBuilder().setAddress("127.0.0.1").setPort(8080).setZone("zone-a"))
            .addEndpoints(Endpoint.newBuilder().setAddress("127.0.0.2").setPort(8080).setZone("zone-b")))
        .addServices(Service.newBuilder().setName("db").setProtocol(Protocol.TCP).setLocalPort(15432)
            .addEndpoints(Endpoint.newBuilder().setAddress("127.0.0.1").setPort(5432)))
        .build();
    for (Delivery delivery : Delivery.values()) {
      RenderSettings settings = new RenderSettings(new AgentSettings.NodeSettings("warm-up", "warm-up", "zone-a"),
          9901, delivery, Path.of("/envoy-agent-warm-up"));
      try {
        EnvoyConfigRenderer.render(sample, settings).toFiles();
      } catch (InvalidInputException e) {
        throw new IllegalStateException("the built-in warm-up snapshot is invalid: " + e.getMessage(), e);
      }
    }
  }
}
