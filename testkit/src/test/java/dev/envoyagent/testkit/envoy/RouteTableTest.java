package dev.envoyagent.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RouteTableTest {
  private static RouteTable table(String json) throws Exception {
    RouteConfiguration.Builder b = RouteConfiguration.newBuilder();
    new ProtoTypes().strictParser().merge(json, b);
    return RouteTable.compile(b.build());
  }

  private static String cluster(
      RouteTable t, String host, String path, Map<String, String> headers) {
    RouteTable.RouteEntry e = t.route(host, path, headers::get);
    return e == null ? null : e.cluster().apply(headers::get);
  }

  @Test
  void matchesPrefixPathRegexAndHeadersInOrder() throws Exception {
    RouteTable t =
        table(
            """
                {"name": "r", "virtual_hosts": [{"name": "v", "domains": ["*"], "routes": [
                  {"match": {"path": "/exact"}, "route": {"cluster": "exact"}},
                  {"match": {"prefix": "/api", "headers": [{"name": "x-v", "string_match": {"exact": "2"}}]},
                   "route": {"cluster": "v2"}},
                  {"match": {"safe_regex": {"regex": "/item/[0-9]+"}}, "route": {"cluster": "items"}},
                  {"match": {"prefix": "/api"}, "route": {"cluster": "v1"}}
                ]}]}""");
    assertThat(cluster(t, "h", "/exact", Map.of())).isEqualTo("exact");
    assertThat(cluster(t, "h", "/exact?q=1", Map.of())).isEqualTo("exact");
    assertThat(cluster(t, "h", "/exact/x", Map.of())).isNull();
    assertThat(cluster(t, "h", "/api/x", Map.of("x-v", "2"))).isEqualTo("v2");
    assertThat(cluster(t, "h", "/api/x", Map.of("x-v", "3"))).isEqualTo("v1");
    assertThat(cluster(t, "h", "/item/12", Map.of())).isEqualTo("items");
    assertThat(cluster(t, "h", "/item/x", Map.of())).isNull();
    assertThat(t.referencedClusters()).containsExactlyInAnyOrder("exact", "v2", "items", "v1");
  }

  @Test
  void picksVirtualHostByExactThenWildcardThenStar() throws Exception {
    RouteTable t =
        table(
            """
                {"virtual_hosts": [
                  {"name": "star", "domains": ["*"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "star"}}]},
                  {"name": "suffix", "domains": ["*.example.com"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "suffix"}}]},
                  {"name": "exact", "domains": ["api.example.com", "api.example.com:8080"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "exact"}}]}
                ]}""");
    assertThat(cluster(t, "api.example.com", "/", Map.of())).isEqualTo("exact");
    assertThat(cluster(t, "api.example.com:8080", "/", Map.of())).isEqualTo("exact");
    assertThat(cluster(t, "www.example.com", "/", Map.of())).isEqualTo("suffix");
    assertThat(cluster(t, "other", "/", Map.of())).isEqualTo("star");
  }

  @Test
  void weightedClustersFollowTheirWeightsAndCarryTimeoutAndRetries() throws Exception {
    RouteTable t =
        table(
            """
                {"virtual_hosts": [{"name": "v", "domains": ["*"], "routes": [{"match": {"prefix": "/"}, "route": {
                  "weighted_clusters": {"clusters": [{"name": "a", "weight": 1}, {"name": "b", "weight": 3}]},
                  "timeout": "2.5s", "retry_policy": {"retry_on": "connect-failure,5xx", "num_retries": 3}}}]}]}""");
    int b = 0;
    for (int i = 0; i < 40; i++) {
      if ("b".equals(cluster(t, "h", "/", Map.of()))) {
        b++;
      }
    }
    assertThat(b).isEqualTo(30);
    RouteTable.RouteEntry e = t.route("h", "/", name -> null);
    assertThat(e.timeoutMs()).isEqualTo(2500);
    assertThat(e.numRetries()).isEqualTo(3);
    assertThat(e.retryOn()).containsExactlyInAnyOrder("connect-failure", "5xx");
  }

  @Test
  void refusesWhatEnvoyRefuses() {
    assertThatThrownBy(
            () ->
                table(
                    """
                {"virtual_hosts": [{"name": "v", "domains": ["*"], "routes": [{"match": {"prefix": "/"}, "route": {
                  "weighted_clusters": {"clusters": [{"name": "a", "weight": 0}]}}}]}]}"""))
        .hasMessageContaining("Sum of weights");
    assertThatThrownBy(
            () ->
                table(
                    """
                {"virtual_hosts": [{"name": "v", "domains": ["*"]}, {"name": "w", "domains": ["*"]}]}"""))
        .hasMessageContaining("Duplicate entry of domain *");
  }
}
