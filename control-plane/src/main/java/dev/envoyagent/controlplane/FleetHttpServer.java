package dev.envoyagent.controlplane;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator's window: {@code GET /fleet} (JSON) and {@code POST /fleet/<node-id>/drain}; 404 for
 * anything else. Plain HTTP on one thread: it serves a few operators, bind it to loopback or a
 * management network.
 */
final class FleetHttpServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(FleetHttpServer.class);
  private static final Pattern DRAIN = Pattern.compile("/fleet/([^/]+)/drain");

  private final HttpServer server;
  private final ExecutorService executor;

  private FleetHttpServer(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  static FleetHttpServer start(InetSocketAddress address, ControlPlaneCore core)
      throws IOException {
    HttpServer server = HttpServer.create(address, 16);
    ExecutorService executor =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread thread = new Thread(r, "control-plane-http");
              thread.setDaemon(true);
              return thread;
            });
    server.setExecutor(executor);
    server.createContext("/", exchange -> handle(exchange, core));
    server.start();
    return new FleetHttpServer(server, executor);
  }

  int port() {
    return server.getAddress().getPort();
  }

  private static void handle(HttpExchange exchange, ControlPlaneCore core) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getRawPath();
      String method = exchange.getRequestMethod();
      Matcher drain = DRAIN.matcher(path);
      if (path.equals("/fleet") || path.equals("/fleet/")) {
        if (!method.equals("GET")) {
          send(exchange, 405, "text/plain", "use GET\n");
          return;
        }
        send(exchange, 200, "application/json", FleetJson.write(core.fleet()));
      } else if (drain.matches()) {
        if (!method.equals("POST")) {
          send(exchange, 405, "text/plain", "use POST\n");
          return;
        }
        String nodeId = URLDecoder.decode(drain.group(1), StandardCharsets.UTF_8);
        boolean known = core.requestDrain(nodeId);
        send(
            exchange,
            known ? 200 : 404,
            "text/plain",
            known ? "drain requested for " + nodeId + "\n" : "no host " + nodeId + "\n");
      } else {
        send(exchange, 404, "text/plain", "not found; try GET /fleet\n");
      }
    } catch (IOException | RuntimeException e) {
      // The operator's client went away mid-response, or a bug: one line, the server keeps serving.
      LOG.warn(
          "http request failed path={} reason=\"{}\"",
          exchange.getRequestURI().getRawPath(),
          e.toString());
    }
  }

  private static void send(HttpExchange exchange, int status, String type, String body)
      throws IOException {
    send(exchange, status, type, body.getBytes(StandardCharsets.UTF_8));
  }

  private static void send(HttpExchange exchange, int status, String type, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(status, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
