package dev.envoyagent.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  @TempDir Path dir;

  private final ConfigLoader loader = new ConfigLoader(new ProtoTypes());

  private Bootstrap load(String name, String text) throws Exception {
    Path p = dir.resolve(name);
    Files.writeString(p, text);
    return loader.loadBootstrap(p.toString(), null);
  }

  private static String listener(String filterType) {
    return "{\"static_resources\": {\"listeners\": [{\"name\": \"l\", \"address\": {\"socket_address\": "
        + "{\"address\": \"127.0.0.1\", \"port_value\": 1}}, \"filter_chains\": [{\"filters\": [{\"name\": \"t\", "
        + "\"typed_config\": {\"@type\": \"type.googleapis.com/"
        + filterType
        + "\", \"stat_prefix\": \"t\", "
        + "\"cluster\": \"c\"}}]}]}]}}";
  }

  @Test
  void resolvesAnyTypesOnDemandFromJsonAndYaml() throws Exception {
    Bootstrap b =
        load("b.json", listener("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"));
    assertThat(
            b.getStaticResources()
                .getListeners(0)
                .getFilterChains(0)
                .getFilters(0)
                .getTypedConfig()
                .getTypeUrl())
        .endsWith("TcpProxy");
    Bootstrap y =
        load(
            "b.yaml",
            "node: {id: n}\nadmin: {address: {socket_address: {address: 127.0.0.1, port_value: 9}}}\n");
    assertThat(y.getNode().getId()).isEqualTo("n");
  }

  @Test
  void isStrictAboutFieldsEnumsAndTypes() {
    assertThatThrownBy(() -> load("a.json", "{\"nodee\": {}}"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("nodee");
    assertThatThrownBy(
            () ->
                load(
                    "b.json",
                    "{\"static_resources\": {\"clusters\": [{\"name\": \"c\", "
                        + "\"type\": \"NOPE\"}]}}"))
        .hasMessageContaining("NOPE");
    assertThatThrownBy(
            () -> load("c.json", listener("envoy.extensions.filters.network.tcp_proxy.v3.Missing")))
        .hasMessageContaining("Missing");
    assertThatThrownBy(() -> load("d.json", listener("com.example.Unknown")))
        .hasMessageContaining("com.example.Unknown");
  }

  @Test
  void readsDiscoveryResponsesAndChecksResourceTypes() throws Exception {
    Path lds = dir.resolve("lds.json");
    Files.writeString(
        lds,
        "{\"version_info\": \"7\", \"resources\": [{\"@type\": "
            + "\"type.googleapis.com/envoy.config.listener.v3.Listener\", \"name\": \"x\"}]}");
    ConfigLoader.DiscoveryFile f = loader.loadDiscoveryFile(lds);
    assertThat(f.versionInfo()).isEqualTo("7");
    assertThat(ConfigLoader.resources(f, Listener.class, ConfigLoader.LISTENER_TYPE)).hasSize(1);
    assertThatThrownBy(() -> ConfigLoader.resources(f, Listener.class, ConfigLoader.CLUSTER_TYPE))
        .hasMessageContaining("Unexpected resource type");
  }
}
