package dev.envoyagent.controlplane;

import static org.assertj.core.api.Assertions.assertThat;

import dev.envoyagent.api.v1.Endpoint;
import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.model.SnapshotValidator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SnapshotMergeTest {

  private static Endpoint ep(String address, int port) {
    return Endpoint.newBuilder().setAddress(address).setPort(port).setZone("us-east-1a").build();
  }

  @Test
  void versionIsBaseVersionDotEightHexAndDeterministic() {
    RouteSnapshot a = SnapshotMerge.merge(Fixtures.base("7"), Map.of());
    RouteSnapshot b = SnapshotMerge.merge(Fixtures.base("7"), Map.of());
    assertThat(a.getVersion()).matches("7\\.[0-9a-f]{8}");
    assertThat(b).isEqualTo(a);
    assertThat(SnapshotValidator.validate(a)).isEmpty();
  }

  @Test
  void registeredEndpointsFollowTheBaseOnesAndChangeTheVersion() {
    RouteSnapshot plain = SnapshotMerge.merge(Fixtures.base("7"), Map.of());
    RouteSnapshot merged =
        SnapshotMerge.merge(
            Fixtures.base("7"),
            Map.of("users", List.of(ep("10.0.0.2", 8080), ep("10.0.0.3", 8080))));
    assertThat(merged.getServices(0).getEndpointsList())
        .extracting(Endpoint::getAddress)
        .containsExactly("10.0.0.1", "10.0.0.2", "10.0.0.3");
    assertThat(merged.getVersion()).startsWith("7.").isNotEqualTo(plain.getVersion());
  }

  @Test
  void anEndpointTheBaseAlreadyListsIsNotAddedTwice() {
    RouteSnapshot merged =
        SnapshotMerge.merge(Fixtures.base("7"), Map.of("users", List.of(ep("10.0.0.1", 8080))));
    assertThat(merged.getServices(0).getEndpointsCount()).isEqualTo(1);
    assertThat(SnapshotValidator.validate(merged)).isEmpty();
  }

  @Test
  void namesTheRoutesDoNotHaveAreIgnored() {
    RouteSnapshot plain = SnapshotMerge.merge(Fixtures.base("7"), Map.of());
    RouteSnapshot merged =
        SnapshotMerge.merge(Fixtures.base("7"), Map.of("nope", List.of(ep("10.0.0.2", 1))));
    assertThat(merged).isEqualTo(plain);
  }

  @Test
  void serviceOrderDoesNotChangeTheContentHash() {
    RouteSnapshot base = Fixtures.base("7");
    RouteSnapshot reversed =
        base.toBuilder()
            .clearServices()
            .addServices(base.getServices(1))
            .addServices(base.getServices(0))
            .build();
    assertThat(SnapshotMerge.merge(reversed, Map.of()).getVersion())
        .isEqualTo(SnapshotMerge.merge(base, Map.of()).getVersion());
  }

  @Test
  void aLongBaseVersionIsCutSoTheVersionStaysValid() {
    String longVersion = "v".repeat(128);
    RouteSnapshot merged = SnapshotMerge.merge(Fixtures.base(longVersion), Map.of());
    assertThat(merged.getVersion())
        .hasSize(128)
        .startsWith("v".repeat(SnapshotMerge.MAX_BASE_VERSION) + ".");
    assertThat(SnapshotValidator.validate(merged)).isEmpty();
  }
}
