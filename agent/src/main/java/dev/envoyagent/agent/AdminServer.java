package dev.envoyagent.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.envoyagent.config.AgentSettings;
import dev.envoyagent.metrics.AgentMetrics;
import dev.envoyagent.render.RenderedConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's own admin listener (loopback by default): read-only views of what it does, plus the
 * documented {@code POST /drain}. Everything else is 404, and a wrong method is 405.
 */
final class AdminServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(AdminServer.class);
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** Longer than this without a supervisor tick, and the agent's loops count as hung. */
  static final Duration STALLED_AFTER = Duration.ofSeconds(10);

  private final HttpServer server;
  private final StatusBoard status;
  private final AgentMetrics metrics;
  private final Path configDir;
  private final Supplier<Map<String, Object>> extras;
  private final Runnable drain;
  private final LongSupplier clockMs;

  AdminServer(
      AgentSettings settings,
      StatusBoard status,
      Supplier<Map<String, Object>> extras,
      Runnable drain,
      LongSupplier clockMs)
      throws IOException {
    this.status = status;
    this.metrics = status.metrics();
    this.configDir = settings.envoy().configDir();
    this.extras = extras;
    this.drain = drain;
    this.clockMs = clockMs;
    var listen = settings.adminListen();
    this.server = HttpServer.create(new InetSocketAddress(listen.host(), listen.port()), 16);
    server.setExecutor(
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "agent-admin");
              thread.setDaemon(true);
              return thread;
            }));
    server.createContext("/", this::handle);
  }

  void start() {
    server.start();
    LOG.info("agent admin listening address={}", server.getAddress());
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      String method = exchange.getRequestMethod();
      boolean post = path.equals("/drain");
      if (!List.of("/metrics", "/healthz", "/ready", "/status", "/config", "/history", "/drain")
          .contains(path)) {
        send(exchange, 404, "text/plain", "not found: " + path + "\n");
        return;
      }
      if (!method.equals(post ? "POST" : "GET")) {
        exchange.getResponseHeaders().add("Allow", post ? "POST" : "GET");
        send(exchange, 405, "text/plain", path + " needs " + (post ? "POST" : "GET") + "\n");
        return;
      }
      switch (path) {
        case "/metrics" ->
            send(exchange, 200, metrics.prometheusContentType(), metrics.prometheusText());
        case "/healthz" -> healthz(exchange);
        case "/ready" -> ready(exchange);
        case "/status" ->
            send(exchange, 200, "application/json", JSON.writeValueAsString(statusView()));
        case "/config" ->
            send(exchange, 200, "application/json", JSON.writeValueAsString(appliedConfig()));
        case "/history" ->
            send(
                exchange,
                200,
                "application/json",
                JSON.writeValueAsString(status.snapshot().history()));
        case "/drain" -> {
          drain.run();
          send(exchange, 200, "text/plain", "draining\n");
        }
        default -> send(exchange, 404, "text/plain", "not found\n");
      }
    } catch (RuntimeException e) {
      LOG.warn(
          "agent admin request failed path={} reason={}", exchange.getRequestURI(), e.toString());
    }
  }

  private void healthz(HttpExchange exchange) throws IOException {
    long silentMs = clockMs.getAsLong() - status.lastTickAtMs();
    if (status.lastTickAtMs() > 0 && silentMs <= STALLED_AFTER.toMillis()) {
      send(exchange, 200, "text/plain", "ok\n");
    } else {
      send(exchange, 503, "text/plain", "supervisor loop silent for " + silentMs + " ms\n");
    }
  }

  /** Ready: Envoy LIVE under the agent's care and nothing waiting to be applied. */
  static String notReadyReason(AgentStatus now) {
    if (!now.phase().equals("SERVING") || now.epochs().isEmpty()) {
      return "Envoy is not serving (phase " + now.phase() + ")";
    }
    if (now.appliedVersion().isEmpty()) {
      return "no routes applied yet";
    }
    if (!now.pendingVersion().isEmpty()) {
      return "version " + now.pendingVersion() + " is being applied";
    }
    return null;
  }

  private void ready(HttpExchange exchange) throws IOException {
    String reason = notReadyReason(status.snapshot());
    if (reason == null) {
      send(exchange, 200, "text/plain", "ready\n");
    } else {
      send(exchange, 503, "text/plain", reason + "\n");
    }
  }

  private Map<String, Object> statusView() {
    AgentStatus now = status.snapshot();
    Map<String, Object> view = new LinkedHashMap<>();
    view.put("agent_version", AgentVersion.version());
    view.put("uptime_s", (clockMs.getAsLong() - now.startedAtMs()) / 1000);
    view.put("ready", notReadyReason(now) == null);
    view.put("not_ready_reason", notReadyReason(now));
    view.put(
        "healthy_loops", clockMs.getAsLong() - status.lastTickAtMs() <= STALLED_AFTER.toMillis());
    view.put("status", now);
    view.putAll(extras.get());
    return view;
  }

  /** The files Envoy runs now, each parsed, keyed by its path in the config directory. */
  private Map<String, JsonNode> appliedConfig() {
    Map<String, JsonNode> files = new TreeMap<>();
    read(configDir.resolve(RenderedConfig.BOOTSTRAP_FILE), RenderedConfig.BOOTSTRAP_FILE, files);
    read(configDir.resolve(RenderedConfig.LDS_FILE), RenderedConfig.LDS_FILE, files);
    read(configDir.resolve(RenderedConfig.CDS_FILE), RenderedConfig.CDS_FILE, files);
    for (String sub : List.of(RenderedConfig.RDS_DIR, RenderedConfig.EDS_DIR)) {
      Path dir = configDir.resolve(sub);
      if (Files.isDirectory(dir)) {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, "*.json")) {
          entries.forEach(entry -> read(entry, sub + "/" + entry.getFileName(), files));
        } catch (IOException e) {
          LOG.debug("cannot list {}: {}", dir, e.toString());
        }
      }
    }
    return files;
  }

  private static void read(Path file, String name, Map<String, JsonNode> into) {
    try {
      if (Files.isRegularFile(file)) {
        into.put(name, JSON.readTree(file.toFile()));
      }
    } catch (IOException e) {
      LOG.debug("cannot read {}: {}", file, e.toString());
    }
  }

  private static void send(HttpExchange exchange, int code, String type, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(code, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
