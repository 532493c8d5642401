package dev.envoyagent.testkit.envoy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Envoy's admin API, the endpoints a supervisor uses. Handlers registered as mutating server state
 * answer any method but POST with 405 "Method GET not allowed, POST required." (admin.cc,
 * AdminImpl::makeRequest).
 */
final class AdminServer {
  private static final Set<String> MUTATIONS =
      Set.of(
          "/healthcheck/fail",
          "/healthcheck/ok",
          "/drain_listeners",
          "/quitquitquit",
          "/logging",
          "/reset_counters",
          "/runtime_modify",
          "/cpuprofiler",
          "/heapprofiler",
          "/reopen_logs");

  /** What the admin endpoints read and do. */
  interface Backend {
    String state();

    String serverInfoJson();

    String hotRestartVersion();

    String clustersJson();

    String clustersText();

    String listenersJson();

    /** The stat store, with the server's gauges brought up to date. */
    Stats stats();

    String configDumpJson(boolean includeEds);

    void healthCheckFail(boolean fail);

    void drainListeners(boolean graceful);

    void quit();
  }

  private final HttpServer server;
  private final ExecutorService executor;
  private final Backend backend;

  private AdminServer(HttpServer server, ExecutorService executor, Backend backend) {
    this.server = server;
    this.executor = executor;
    this.backend = backend;
  }

  /** Binds, retrying for a while: during a hot restart the parent has only just let the port go. */
  static AdminServer start(InetSocketAddress address, Backend backend, Log log) throws IOException {
    IOException last = null;
    for (int attempt = 0; attempt < 50; attempt++) {
      try {
        HttpServer server = HttpServer.create(address, 128);
        ExecutorService executor =
            Executors.newFixedThreadPool(
                2,
                r -> {
                  Thread t = new Thread(r, "admin");
                  t.setDaemon(true);
                  return t;
                });
        AdminServer admin = new AdminServer(server, executor, backend);
        server.createContext("/", admin::handle);
        server.setExecutor(executor);
        server.start();
        log.info(
            "main",
            "admin address: "
                + address.getAddress().getHostAddress()
                + ":"
                + server.getAddress().getPort());
        return admin;
      } catch (BindException e) {
        last = e;
        try {
          Thread.sleep(100);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    throw new IOException(
        "cannot bind admin address " + address + ": " + (last == null ? "" : last.getMessage()));
  }

  int port() {
    return server.getAddress().getPort();
  }

  void stop() {
    server.stop(0);
    executor.shutdownNow();
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      Map<String, String> q = query(ex.getRequestURI().getRawQuery());
      boolean post = "POST".equals(ex.getRequestMethod());
      if (MUTATIONS.contains(path) && !post) {
        send(
            ex,
            405,
            "text/plain",
            "Method " + ex.getRequestMethod() + " not allowed, POST required.");
        return;
      }
      boolean json = "json".equals(q.get("format"));
      switch (path) {
        case "/ready" -> {
          String state = backend.state();
          send(ex, "LIVE".equals(state) ? 200 : 503, "text/plain", state + "\n");
        }
        case "/server_info" -> send(ex, 200, "application/json", backend.serverInfoJson());
        case "/hot_restart_version" ->
            send(ex, 200, "text/plain", backend.hotRestartVersion() + "\n");
        case "/clusters" ->
            send(
                ex,
                200,
                json ? "application/json" : "text/plain",
                json ? backend.clustersJson() : backend.clustersText());
        case "/listeners" -> send(ex, 200, "application/json", backend.listenersJson());
        case "/stats" -> stats(ex, q, json);
        case "/stats/prometheus" -> prometheus(ex, q);
        case "/config_dump" ->
            send(ex, 200, "application/json", backend.configDumpJson(q.containsKey("include_eds")));
        case "/healthcheck/fail" -> {
          backend.healthCheckFail(true);
          send(ex, 200, "text/plain", "OK\n");
        }
        case "/healthcheck/ok" -> {
          backend.healthCheckFail(false);
          send(ex, 200, "text/plain", "OK\n");
        }
        case "/drain_listeners" -> {
          backend.drainListeners(q.containsKey("graceful"));
          send(ex, 200, "text/plain", "OK\n");
        }
        case "/quitquitquit" -> {
          send(ex, 200, "text/plain", "OK\n");
          backend.quit();
        }
        case "/" ->
            send(
                ex,
                200,
                "text/plain",
                "admin commands are:\n  /clusters\n  /config_dump\n"
                    + "  /drain_listeners\n  /healthcheck/fail\n  /healthcheck/ok\n  /hot_restart_version\n"
                    + "  /listeners\n  /quitquitquit\n  /ready\n  /server_info\n  /stats\n  /stats/prometheus\n");
        default -> send(ex, 404, "text/plain", "invalid path. admin commands are: see /\n");
      }
    } catch (RuntimeException e) {
      send(ex, 500, "text/plain", e + "\n");
    }
  }

  // Rendering follows Envoy's admin stats handler: see StatsRender.
  private void stats(HttpExchange ex, Map<String, String> q, boolean json) throws IOException {
    StatsRender.Answer a = StatsRender.stats(backend.stats(), q);
    send(ex, a.status(), a.contentType(), a.body());
  }

  private void prometheus(HttpExchange ex, Map<String, String> q) throws IOException {
    StatsRender.Answer a = StatsRender.prometheus(backend.stats(), q);
    send(ex, a.status(), a.contentType(), a.body());
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> out = new HashMap<>();
    if (raw == null || raw.isEmpty()) {
      return out;
    }
    for (String part : raw.split("&")) {
      int eq = part.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? part : part.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8);
      out.put(k, v);
    }
    return out;
  }

  private static void send(HttpExchange ex, int status, String type, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("content-type", type);
    ex.getResponseHeaders().set("cache-control", "no-cache, max-age=0");
    ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    if (bytes.length > 0) {
      try (OutputStream out = ex.getResponseBody()) {
        out.write(bytes);
      }
    }
  }
}
