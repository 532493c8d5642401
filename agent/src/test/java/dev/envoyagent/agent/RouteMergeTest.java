package dev.envoyagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.envoyagent.api.v1.Protocol;
import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.api.v1.Service;
import java.util.List;
import org.junit.jupiter.api.Test;

class RouteMergeTest {

  static Service service(String name, int port) {
    return Service.newBuilder().setName(name).setProtocol(Protocol.TCP).setLocalPort(port).build();
  }

  static final RouteSnapshot CONTROL_PLANE =
      RouteSnapshot.newBuilder()
          .setVersion("cp-7")
          .addServices(service("users", 9101))
          .addServices(service("orders", 9102))
          .build();

  @Test
  void eitherSourceAloneIsUsedAsIs() {
    RouteSnapshot file =
        RouteSnapshot.newBuilder().setVersion("f1").addServices(service("db", 15432)).build();
    assertThat(RouteMerge.of(null, file)).isEqualTo(new RouteMerge(file, List.of()));
    assertThat(RouteMerge.of(CONTROL_PLANE, null))
        .isEqualTo(new RouteMerge(CONTROL_PLANE, List.of()));
  }

  @Test
  void fileServicesJoinTheControlPlanesAndTheControlPlaneWinsClashes() {
    RouteSnapshot file =
        RouteSnapshot.newBuilder()
            .setVersion("f1")
            .addServices(service("db", 15432))
            .addServices(service("users", 19999))
            .addServices(service("cache", 9102))
            .build();
    RouteMerge merge = RouteMerge.of(CONTROL_PLANE, file);
    assertThat(merge.snapshot().getVersion()).isEqualTo("cp-7+file.f1");
    assertThat(merge.snapshot().getServicesList())
        .extracting(Service::getName)
        .containsExactly("users", "orders", "db");
    assertThat(merge.clashes())
        .containsExactly(
            "routes file service \"users\" has the name of a control-plane service; the control plane's is used",
            "routes file service \"cache\" uses local_port 9102 of control-plane service \"orders\"; it is left out");
  }
}
