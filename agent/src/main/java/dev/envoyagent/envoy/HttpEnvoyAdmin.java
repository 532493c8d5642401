package dev.envoyagent.envoy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Envoy's admin API over loopback HTTP, with short timeouts: a hung Envoy must not hang the agent.
 */
public final class HttpEnvoyAdmin implements EnvoyAdmin {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final URI base;
  private final Duration timeout;
  private final HttpClient client;

  public HttpEnvoyAdmin(int port, Duration timeout) {
    this.base = URI.create("http://127.0.0.1:" + port);
    this.timeout = timeout;
    this.client =
        HttpClient.newBuilder()
            .connectTimeout(timeout)
            .version(HttpClient.Version.HTTP_1_1)
            .build();
  }

  @Override
  public ServerInfo serverInfo() throws IOException {
    JsonNode info = getJson("/server_info");
    JsonNode uptime = info.path("uptime_current_epoch");
    return new ServerInfo(
        info.path("state").asText(""),
        info.path("command_line_options").path("restart_epoch").asInt(-1),
        info.path("hot_restart_version").asText(""),
        info.path("version").asText(""),
        parseSeconds(uptime.asText("0s")));
  }

  @Override
  public JsonNode configDump() throws IOException {
    return getJson("/config_dump");
  }

  @Override
  public Map<String, String> stats(String filter) throws IOException {
    Map<String, String> values = new LinkedHashMap<>();
    String query = "/stats?format=json&filter=" + URLEncoder.encode(filter, StandardCharsets.UTF_8);
    for (JsonNode stat : getJson(query).path("stats")) {
      JsonNode value = stat.path("value");
      // Histograms come as one entry without a name/value pair; they are not asked for.
      if (stat.has("name") && (value.isNumber() || value.isTextual())) {
        values.put(stat.get("name").asText(), value.asText());
      }
    }
    return values;
  }

  @Override
  public Map<String, UpstreamCount> upstreamHealth() throws IOException {
    Map<String, UpstreamCount> counts = new java.util.TreeMap<>();
    for (JsonNode cluster : getJson("/clusters?format=json").path("cluster_statuses")) {
      int healthy = 0;
      int total = 0;
      for (JsonNode host : cluster.path("host_statuses")) {
        total++;
        JsonNode health = host.path("health_status");
        String eds = health.path("eds_health_status").asText("UNKNOWN");
        boolean failed =
            health.path("failed_active_health_check").asBoolean(false)
                || health.path("failed_outlier_check").asBoolean(false)
                || health.path("pending_active_hc").asBoolean(false);
        if (!failed && (eds.equals("HEALTHY") || eds.equals("UNKNOWN"))) {
          healthy++;
        }
      }
      counts.put(cluster.path("name").asText(""), new UpstreamCount(healthy, total));
    }
    return counts;
  }

  @Override
  public boolean post(String pathAndQuery) throws IOException {
    return send(HttpRequest.newBuilder(base.resolve(pathAndQuery))
                .POST(HttpRequest.BodyPublishers.noBody()))
            .statusCode()
        == 200;
  }

  private JsonNode getJson(String pathAndQuery) throws IOException {
    HttpResponse<String> response = send(HttpRequest.newBuilder(base.resolve(pathAndQuery)).GET());
    if (response.statusCode() != 200) {
      throw new IOException("GET " + pathAndQuery + " answered " + response.statusCode());
    }
    return JSON.readTree(response.body());
  }

  private HttpResponse<String> send(HttpRequest.Builder request) throws IOException {
    try {
      return client.send(request.timeout(timeout).build(), HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  /** Envoy prints durations as proto JSON ("12s", "0.5s"). */
  static long parseSeconds(String duration) {
    String number =
        duration.endsWith("s") ? duration.substring(0, duration.length() - 1) : duration;
    try {
      return (long) Double.parseDouble(number);
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
