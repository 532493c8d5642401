package dev.envoyagent.envoy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashMap;
import java.util.Map;

/**
 * Which version of each watched file Envoy runs, read from its config dump. Keys are the file
 * names the agent writes: {@code lds.json}, {@code cds.json}, {@code rds/NAME.json},
 * {@code eds/NAME.json}; values are the version_info Envoy reports for them.
 */
public final class ConfigVersions {

  private ConfigVersions() {}

  public static Map<String, String> fromConfigDump(JsonNode dump) {
    Map<String, String> versions = new HashMap<>();
    for (JsonNode config : dump.path("configs")) {
      String type = config.path("@type").asText("");
      if (type.endsWith(".ListenersConfigDump")) {
        putIfPresent(versions, "lds.json", config.path("version_info"));
      } else if (type.endsWith(".ClustersConfigDump")) {
        putIfPresent(versions, "cds.json", config.path("version_info"));
      } else if (type.endsWith(".RoutesConfigDump")) {
        for (JsonNode route : config.path("dynamic_route_configs")) {
          String name = route.path("route_config").path("name").asText("");
          putIfPresent(versions, "rds/" + name + ".json", route.path("version_info"));
        }
      } else if (type.endsWith(".EndpointsConfigDump")) {
        for (JsonNode endpoints : config.path("dynamic_endpoint_configs")) {
          String name = endpoints.path("endpoint_config").path("cluster_name").asText("");
          putIfPresent(versions, "eds/" + name + ".json", endpoints.path("version_info"));
        }
      }
    }
    return versions;
  }

  private static void putIfPresent(Map<String, String> versions, String file, JsonNode version) {
    if (version.isTextual() && !version.asText().isEmpty()) {
      versions.put(file, version.asText());
    }
  }
}
