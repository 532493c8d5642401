package dev.envoyagent.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A small client for Envoy's admin API (works against the simulator and a real Envoy). */
public final class AdminClient {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final String base;

  public AdminClient(int port) {
    this.base = "http://127.0.0.1:" + port;
  }

  /** Status and body of a response. */
  public record Response(int status, String body) {}

  public Response get(String path) throws IOException {
    return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
  }

  public Response post(String path) throws IOException {
    return send(
        HttpRequest.newBuilder(URI.create(base + path)).POST(HttpRequest.BodyPublishers.noBody()));
  }

  public JsonNode json(String path) throws IOException {
    Response r = get(path);
    if (r.status() != 200) {
      throw new IOException("GET " + path + " -> " + r.status() + ": " + r.body());
    }
    return JSON.readTree(r.body());
  }

  public JsonNode serverInfo() throws IOException {
    return json("/server_info");
  }

  /**
   * The server state and epoch of whichever process answers the admin port, or null if none does.
   */
  public EpochState epochState() {
    try {
      JsonNode info = serverInfo();
      return new EpochState(
          info.path("command_line_options").path("restart_epoch").asInt(),
          info.path("state").asText());
    } catch (IOException e) {
      return null;
    }
  }

  /** Who answered /server_info. */
  public record EpochState(int epoch, String state) {}

  /** A stat's value from {@code /stats?format=json}, or -1 when absent. */
  public long stat(String name) throws IOException {
    for (JsonNode s : json("/stats?format=json").path("stats")) {
      if (name.equals(s.path("name").asText())) {
        return s.path("value").asLong();
      }
    }
    return -1;
  }

  private Response send(HttpRequest.Builder request) throws IOException {
    try {
      HttpResponse<String> r =
          http.send(
              request.timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      return new Response(r.statusCode(), r.body());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
