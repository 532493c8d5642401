package dev.envoyagent.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Priority load and spill-over as Envoy's LoadBalancerBase::recalculatePerPriorityState computes it
 * (overprovisioning factor 140 by default, healthy_panic_threshold 50 %).
 */
class PriorityLoadTest {
  private static final int PICKS = 1000;

  @Test
  void aHealthyEnoughPriorityTakesAllTheLoad() throws Exception {
    // 3 of 4 healthy: 75 % x 1.4 = 105, capped at 100: nothing spills.
    assertThat(share(null, new int[] {4, 4}, new int[] {3, 4})).isEqualTo(Map.of(0, PICKS));
  }

  @Test
  void loadSpillsToTheNextPriorityInProportion() throws Exception {
    // 2 of 4 healthy: 50 % x 1.4 = 70 -> P0 takes 70 %, P1 the other 30 %.
    assertThat(share(null, new int[] {4, 4}, new int[] {2, 4})).isEqualTo(Map.of(0, 700, 1, 300));
    // 1 of 4 healthy: 35 / 65.
    assertThat(share(null, new int[] {4, 4}, new int[] {1, 4})).isEqualTo(Map.of(0, 350, 1, 650));
  }

  @Test
  void theOverprovisioningFactorComesFromThePolicy() throws Exception {
    // Factor 100: 2 of 4 healthy is 50 % health, half of the load.
    assertThat(share(100, new int[] {4, 4}, new int[] {2, 4})).isEqualTo(Map.of(0, 500, 1, 500));
  }

  @Test
  void whenEveryPriorityIsInPanicLoadFollowsHostCounts() throws Exception {
    // 1 of 10 healthy in each: 14 + 14 = 28 < 100 and 10 % < 50 % in both: total panic, all hosts
    // used.
    Map<Integer, Integer> byPriority = share(null, new int[] {10, 10}, new int[] {1, 1});
    assertThat(byPriority).isEqualTo(Map.of(0, 500, 1, 500));
  }

  /** Picks per priority for hosts[i] hosts at priority i of which healthy[i] pass health checks. */
  private static Map<Integer, Integer> share(Integer factor, int[] hosts, int[] healthy)
      throws Exception {
    ClusterLoadAssignment.Builder cla = ClusterLoadAssignment.newBuilder().setClusterName("c");
    if (factor != null) {
      cla.getPolicyBuilder().setOverprovisioningFactor(UInt32Value.of(factor));
    }
    int port = 20_000;
    for (int priority = 0; priority < hosts.length; priority++) {
      LocalityLbEndpoints.Builder level = cla.addEndpointsBuilder().setPriority(priority);
      for (int i = 0; i < hosts[priority]; i++) {
        level.addLbEndpoints(
            LbEndpoint.newBuilder()
                .setEndpoint(
                    Endpoint.newBuilder()
                        .setAddress(
                            Address.newBuilder()
                                .setSocketAddress(
                                    SocketAddress.newBuilder()
                                        .setAddress("127.0.0.1")
                                        .setPortValue(port++)))));
      }
    }
    Cluster proto =
        Cluster.newBuilder()
            .setName("c")
            .setType(Cluster.DiscoveryType.STATIC)
            .setLoadAssignment(cla)
            .build();
    UpstreamCluster cluster =
        new UpstreamCluster(proto, "", false, new Stats(), Log.create(null, "error"));
    List<Host> all = cluster.hostsFrom(cla.build());
    int[] healthyLeft = healthy.clone();
    for (Host h : all) {
      h.failedActiveHc = healthyLeft[h.priority]-- <= 0;
    }
    cluster.setHosts(all);
    Map<Integer, Integer> out = new TreeMap<>();
    for (int i = 0; i < PICKS; i++) {
      out.merge(cluster.choose().priority, 1, Integer::sum);
    }
    return out;
  }
}
