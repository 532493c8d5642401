package dev.envoyagent.controlplane;

import dev.envoyagent.api.v1.Endpoint;
import dev.envoyagent.api.v1.HeartbeatRequest;
import dev.envoyagent.api.v1.HostState;
import dev.envoyagent.api.v1.InstanceIdentity;
import dev.envoyagent.api.v1.LocalServiceStatus;
import dev.envoyagent.api.v1.Node;
import dev.envoyagent.api.v1.Protocol;
import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.api.v1.Service;

final class Fixtures {
  private Fixtures() {}

  /** "users" (HTTP, one static endpoint) and "db" (TCP, none). */
  static RouteSnapshot base(String version) {
    return RouteSnapshot.newBuilder()
        .setVersion(version)
        .addServices(
            Service.newBuilder()
                .setName("users")
                .setProtocol(Protocol.HTTP)
                .setLocalPort(9001)
                .addEndpoints(Endpoint.newBuilder().setAddress("10.0.0.1").setPort(8080)))
        .addServices(
            Service.newBuilder().setName("db").setProtocol(Protocol.TCP).setLocalPort(9002))
        .build();
  }

  static Node node(String id, String address) {
    return Node.newBuilder()
        .setId(id)
        .setCluster("web")
        .setZone("us-east-1a")
        .setAddress(address)
        .build();
  }

  static LocalServiceStatus local(String name, int port, boolean healthy) {
    return LocalServiceStatus.newBuilder()
        .setName(name)
        .setPort(port)
        .setHealthy(healthy)
        .setDetail(healthy ? "" : "connection refused")
        .build();
  }

  static HeartbeatRequest heartbeat(Node node, HostState state, LocalServiceStatus... locals) {
    HeartbeatRequest.Builder request =
        HeartbeatRequest.newBuilder()
            .setNode(node)
            .setState(state)
            .setAgentVersion("0.1.0")
            .setEnvoyVersion("1.31.0")
            .setEnvoyState("LIVE")
            .setAppliedVersion("1.abc")
            .setIdentity(InstanceIdentity.newBuilder().setPrivateIpv4("10.9.9.9"));
    for (LocalServiceStatus local : locals) {
      request.addLocalServices(local);
    }
    return request.build();
  }
}
