package dev.envoyagent.testkit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An upstream for proxy tests: every path answers 200 with the backend's name as body, except
 * {@code /health} (status settable) and {@code /slow} (answers after {@code delayMs}).
 */
public final class HttpBackend implements AutoCloseable {
  private final String name;
  private final HttpServer server;
  private final ExecutorService executor;
  private final AtomicLong requests = new AtomicLong();
  private final AtomicInteger healthStatus = new AtomicInteger(200);
  private volatile long delayMs = 2000;

  private HttpBackend(String name, HttpServer server, ExecutorService executor) {
    this.name = name;
    this.server = server;
    this.executor = executor;
  }

  public static HttpBackend start(String name) throws IOException {
    // Without TCP_NODELAY the JDK server's separate header and body writes meet delayed ACKs (40 ms
    // stalls).
    System.setProperty("sun.net.httpserver.nodelay", "true");
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 512);
    ExecutorService executor =
        Executors.newFixedThreadPool(
            16,
            r -> {
              Thread t = new Thread(r, "backend-" + name);
              t.setDaemon(true);
              return t;
            });
    HttpBackend b = new HttpBackend(name, server, executor);
    server.createContext("/", b::handle);
    server.setExecutor(executor);
    server.start();
    return b;
  }

  public String name() {
    return name;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  public long requests() {
    return requests.get();
  }

  public void healthStatus(int status) {
    healthStatus.set(status);
  }

  public void delayMs(long ms) {
    delayMs = ms;
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      ex.getRequestBody().readAllBytes();
      String path = ex.getRequestURI().getPath();
      int status = 200;
      if (path.equals("/health")) {
        status = healthStatus.get();
      } else {
        requests.incrementAndGet();
      }
      if (path.equals("/slow")) {
        try {
          Thread.sleep(delayMs);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      byte[] body = name.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("content-type", "text/plain");
      ex.getResponseHeaders().set("x-backend", name);
      ex.sendResponseHeaders(status, body.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
