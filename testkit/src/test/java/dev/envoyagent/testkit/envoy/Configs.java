package dev.envoyagent.testkit.envoy;

/** Envoy v3 configs in the two shapes the agent renders, as JSON text. */
final class Configs {
  private Configs() {}

  static String node() {
    return "\"node\": {\"id\": \"node-1\", \"cluster\": \"test\", \"locality\": {\"zone\": \"z1\"}}";
  }

  static String admin(int port) {
    return "\"admin\": {\"address\": {\"socket_address\": {\"address\": \"127.0.0.1\", \"port_value\": "
        + port
        + "}}}";
  }

  static String router() {
    return "{\"name\": \"envoy.filters.http.router\", \"typed_config\": {\"@type\": "
        + "\"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\"}}";
  }

  static String httpListener(String name, int port, String routeSpecifier) {
    return "{\"name\": \""
        + name
        + "\", \"address\": {\"socket_address\": {\"address\": \"127.0.0.1\", \"port_value\": "
        + port
        + "}}, \"filter_chains\": [{\"filters\": [{\"name\": \"envoy.filters.network.http_connection_manager\","
        + " \"typed_config\": {\"@type\": \"type.googleapis.com/envoy.extensions.filters.network."
        + "http_connection_manager.v3.HttpConnectionManager\", \"stat_prefix\": \""
        + name
        + "\", \"codec_type\": \"AUTO\", "
        + routeSpecifier
        + ", \"http_filters\": ["
        + router()
        + "]}}]}]}";
  }

  static String tcpListener(String name, int port, String cluster) {
    return "{\"name\": \""
        + name
        + "\", \"address\": {\"socket_address\": {\"address\": \"127.0.0.1\", \"port_value\": "
        + port
        + "}}, \"filter_chains\": [{\"filters\": [{\"name\": \"envoy.filters.network.tcp_proxy\","
        + " \"typed_config\": {\"@type\": \"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy\","
        + " \"stat_prefix\": \""
        + name
        + "\", \"cluster\": \""
        + cluster
        + "\"}}]}]}";
  }

  static String inlineRoutes(String routes) {
    return "\"route_config\": {\"name\": \"local\", \"virtual_hosts\": [{\"name\": \"all\", \"domains\": [\"*\"], "
        + "\"routes\": ["
        + routes
        + "]}]}";
  }

  static String rds(String path, String name) {
    return "\"rds\": {\"route_config_name\": \""
        + name
        + "\", \"config_source\": {\"path_config_source\": {\"path\": \""
        + path
        + "\"}, \"resource_api_version\": \"V3\"}}";
  }

  static String route(String match, String action) {
    return "{\"match\": " + match + ", \"route\": " + action + "}";
  }

  static String prefixRoute(String prefix, String cluster) {
    return route(
        "{\"prefix\": \"" + prefix + "\"}",
        "{\"cluster\": \"" + cluster + "\", \"timeout\": \"5s\"}");
  }

  static String endpoint(String address, int port, int weight) {
    return "{\"endpoint\": {\"address\": {\"socket_address\": {\"address\": \""
        + address
        + "\", \"port_value\": "
        + port
        + "}}}, \"load_balancing_weight\": "
        + weight
        + "}";
  }

  static String staticCluster(String name, String type, String extra, String... endpoints) {
    return "{\"name\": \""
        + name
        + "\", \"type\": \""
        + type
        + "\", \"connect_timeout\": \"1s\""
        + extra
        + ", \"load_assignment\": {\"cluster_name\": \""
        + name
        + "\", \"endpoints\": [{\"locality\": {\"zone\": \"z1\"},"
        + " \"lb_endpoints\": ["
        + String.join(", ", endpoints)
        + "]}]}}";
  }

  static String edsCluster(String name, String edsPath) {
    return "{\"name\": \""
        + name
        + "\", \"type\": \"EDS\", \"connect_timeout\": \"1s\", \"eds_cluster_config\": "
        + "{\"eds_config\": {\"path_config_source\": {\"path\": \""
        + edsPath
        + "\"}, \"resource_api_version\": \"V3\"}}}";
  }

  static String staticBootstrap(int adminPort, String listeners, String clusters) {
    return "{"
        + node()
        + ", "
        + admin(adminPort)
        + ", \"static_resources\": {\"listeners\": ["
        + listeners
        + "], \"clusters\": ["
        + clusters
        + "]}}";
  }

  static String filesBootstrap(int adminPort, String ldsPath, String cdsPath) {
    return "{"
        + node()
        + ", "
        + admin(adminPort)
        + ", \"dynamic_resources\": {"
        + "\"lds_config\": {\"path_config_source\": {\"path\": \""
        + ldsPath
        + "\"}, \"resource_api_version\": \"V3\"}, "
        + "\"cds_config\": {\"path_config_source\": {\"path\": \""
        + cdsPath
        + "\"}, \"resource_api_version\": \"V3\"}}}";
  }

  static String discovery(String version, String typeSuffix, String... resources) {
    StringBuilder sb =
        new StringBuilder(
            "{\"version_info\": \""
                + version
                + "\", \"type_url\": \"type.googleapis.com/"
                + typeSuffix
                + "\", \"resources\": [");
    for (int i = 0; i < resources.length; i++) {
      String r = resources[i].trim();
      sb.append(i == 0 ? "" : ", ")
          .append("{\"@type\": \"type.googleapis.com/")
          .append(typeSuffix)
          .append("\", ")
          .append(r.substring(1));
    }
    return sb.append("]}").toString();
  }

  static String listenerType() {
    return "envoy.config.listener.v3.Listener";
  }

  static String clusterType() {
    return "envoy.config.cluster.v3.Cluster";
  }

  static String routeType() {
    return "envoy.config.route.v3.RouteConfiguration";
  }

  static String endpointType() {
    return "envoy.config.endpoint.v3.ClusterLoadAssignment";
  }

  static String routeConfiguration(String name, String routes) {
    return "{\"name\": \""
        + name
        + "\", \"virtual_hosts\": [{\"name\": \"all\", \"domains\": [\"*\"], \"routes\": ["
        + routes
        + "]}]}";
  }

  static String loadAssignment(String cluster, String... endpoints) {
    return "{\"cluster_name\": \""
        + cluster
        + "\", \"endpoints\": [{\"locality\": {\"zone\": \"z1\"}, "
        + "\"load_balancing_weight\": 1, \"lb_endpoints\": ["
        + String.join(", ", endpoints)
        + "]}]}";
  }
}
