package dev.envoyagent.envoy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.TreeMap;

/**
 * Envoy's reasons for refusing individual resources, where its config dump has them: the {@code
 * error_state} of a dynamic listener (and of a cluster, where an Envoy fills it). Routes and
 * endpoints have none: Envoy gives those reasons only in its log.
 */
public final class ConfigDumpErrors {

  private ConfigDumpErrors() {}

  /** Resource kind and name ("listener foo") → Envoy's details of its last failed update. */
  public static Map<String, String> fromConfigDump(JsonNode dump) {
    Map<String, String> errors = new TreeMap<>();
    for (JsonNode config : dump.path("configs")) {
      String type = config.path("@type").asText("");
      if (type.endsWith(".ListenersConfigDump")) {
        collect(errors, "listener", config.path("dynamic_listeners"));
      } else if (type.endsWith(".ClustersConfigDump")) {
        collect(errors, "cluster", config.path("dynamic_active_clusters"));
        collect(errors, "cluster", config.path("dynamic_warming_clusters"));
      }
    }
    return errors;
  }

  private static void collect(Map<String, String> errors, String kind, JsonNode resources) {
    for (JsonNode resource : resources) {
      JsonNode error = resource.path("error_state");
      if (error.isMissingNode() || error.isNull()) {
        continue;
      }
      String name = resource.path("name").asText(resource.path("cluster").path("name").asText(""));
      if (name.isEmpty()) {
        name = error.path("failed_configuration").path("name").asText("?");
      }
      errors.put(kind + " " + name, error.path("details").asText("no details given"));
    }
  }
}
