package dev.envoyagent.testkit.envoy;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The HTTP connection manager with the router filter, HTTP/1.1 only: routes each request by the
 * current route table, balances over the cluster's hosts, applies the route timeout and retry
 * policy, and on a draining listener answers with {@code Connection: close}.
 */
final class HttpProxy implements NetworkHandler {
  private static final String CONNECT_FAILURE_BODY =
      "upstream connect error or disconnect/reset before headers. reset reason: connection failure";
  private static final String RESET_BODY =
      "upstream connect error or disconnect/reset before headers. reset reason: connection termination";

  /** Outcome of one upstream try. */
  private record Attempt(
      Http1.Message response, int localStatus, String localBody, boolean retriable) {}

  private final String statPrefix;
  private final Supplier<RouteTable> routes;
  private final ClusterManager clusters;
  private final UpstreamPool pool;
  private final Stats stats;
  private final HealthCheckFilter healthCheck;
  private final BooleanSupplier healthCheckFailed;
  private final AutoCloseable owned;

  /** The health-check HTTP filter: answers a matching path itself (non pass-through mode only). */
  record HealthCheckFilter(String path, boolean passThrough) {}

  HttpProxy(
      String statPrefix,
      Supplier<RouteTable> routes,
      ClusterManager clusters,
      UpstreamPool pool,
      Stats stats,
      HealthCheckFilter healthCheck,
      BooleanSupplier healthCheckFailed,
      AutoCloseable owned) {
    this.statPrefix = "http." + statPrefix + ".";
    this.routes = routes;
    this.clusters = clusters;
    this.pool = pool;
    this.stats = stats;
    this.healthCheck = healthCheck;
    this.healthCheckFailed = healthCheckFailed;
    this.owned = owned;
    stats.declare(
        this.statPrefix,
        "downstream_cx_total",
        "downstream_rq_total",
        "no_route",
        "no_cluster",
        "rq_direct_response");
  }

  @Override
  public void handle(DownstreamConnection c) throws IOException {
    stats.inc(statPrefix + "downstream_cx_total");
    stats.gauge(statPrefix + "downstream_cx_active").incrementAndGet();
    try {
      InputStream in = new BufferedInputStream(c.socket.getInputStream(), 16 * 1024);
      OutputStream out = new BufferedOutputStream(c.socket.getOutputStream(), 16 * 1024);
      while (!c.closed()) {
        c.idle(true);
        Http1.Message request;
        try {
          request = Http1.readRequest(in, out);
        } catch (Http1.CleanEof e) {
          return;
        } finally {
          c.idle(false);
        }
        if (!serve(request, c, out)) {
          return;
        }
      }
    } finally {
      stats.gauge(statPrefix + "downstream_cx_active").decrementAndGet();
    }
  }

  /**
   * ListenerImpl::drainClose: the listener's own drain manager or the server's. A listener of drain
   * type DEFAULT drain-closes every response while the server fails health checks
   * (DrainManagerImpl::drainClose); a MODIFY_ONLY one only while it or the server drains (hot
   * restart, /drain_listeners, listener update), since the server's drain manager is MODIFY_ONLY.
   */
  private boolean drainClose(ActiveListener listener) {
    boolean defaultType =
        listener.proto.getDrainType()
            == io.envoyproxy.envoy.config.listener.v3.Listener.DrainType.DEFAULT;
    return defaultType && healthCheckFailed.getAsBoolean() || listener.drainClose();
  }

  /** Serves one request; false when the connection must close afterwards. */
  private boolean serve(Http1.Message request, DownstreamConnection c, OutputStream out)
      throws IOException {
    stats.inc(statPrefix + "downstream_rq_total");
    long start = System.nanoTime();
    String[] parts = request.startParts();
    if (parts.length < 3) {
      respondLocal(out, 400, "", true, 0);
      return false;
    }
    String version = parts[2].trim();
    String connection = request.header("connection");
    boolean clientClose =
        connection != null && connection.toLowerCase(Locale.ROOT).contains("close")
            || "HTTP/1.0".equals(version)
                && (connection == null
                    || !connection.toLowerCase(Locale.ROOT).contains("keep-alive"));
    Http1.Message response;
    int localStatus = 0;
    String localBody = "";
    try {
      Attempt a = route(request, parts[0], parts[1]);
      response = a.response();
      localStatus = a.localStatus();
      localBody = a.localBody();
    } catch (IOException e) {
      response = null;
      localStatus = 503;
      localBody = RESET_BODY;
    }
    boolean close = clientClose || drainClose(c.listener);
    long serviceMs = (System.nanoTime() - start) / 1_000_000;
    if (response != null) {
      int status = Http1.status(response);
      count(status);
      List<Map.Entry<String, String>> headers = new ArrayList<>();
      for (Map.Entry<String, String> h : response.headers()) {
        String n = h.getKey().toLowerCase(Locale.ROOT);
        if (!Http1.HOP_BY_HOP.contains(n) && !n.equals("content-length") && !n.equals("server")) {
          headers.add(h);
        }
      }
      headers.add(Map.entry("x-envoy-upstream-service-time", Long.toString(serviceMs)));
      headers.add(Map.entry("server", "envoy"));
      if (close) {
        headers.add(Map.entry("connection", "close"));
      }
      String[] sp = response.startParts();
      Http1.write(
          out,
          "HTTP/1.1 " + status + " " + (sp.length > 2 ? sp[2] : ""),
          headers,
          response.body(),
          !"HEAD".equals(parts[0]) && status != 204 && status != 304);
    } else {
      count(localStatus);
      respondLocal(out, localStatus, localBody, close, serviceMs);
    }
    return !close;
  }

  private void count(int status) {
    stats.inc(statPrefix + "downstream_rq_" + (status / 100) + "xx");
  }

  private Attempt route(Http1.Message request, String method, String target) throws IOException {
    String authority = request.header("host");
    String path = target;
    if (target.startsWith("http://") || target.startsWith("https://")) { // absolute-form
      int slash = target.indexOf('/', target.indexOf("//") + 2);
      authority =
          slash < 0
              ? target.substring(target.indexOf("//") + 2)
              : target.substring(target.indexOf("//") + 2, slash);
      path = slash < 0 ? "/" : target.substring(slash);
    }
    if (healthCheck != null && path.equals(healthCheck.path()) && !healthCheck.passThrough()) {
      return healthCheckFailed.getAsBoolean() ? local(503, "") : local(200, "");
    }
    RouteTable table = routes.get();
    RouteTable.RouteEntry entry =
        table == null ? null : table.route(authority, path, request::header);
    if (entry == null) {
      stats.inc(statPrefix + "no_route");
      return local(404, "");
    }
    if (entry.cluster() == null) {
      stats.inc(statPrefix + "rq_direct_response");
      return entry.redirectLocation() != null
          ? new Attempt(
              new Http1.Message(
                  "HTTP/1.1 301 Moved Permanently",
                  List.of(Map.entry("location", entry.redirectLocation())),
                  new byte[0]),
              0,
              "",
              false)
          : local(entry.directStatus(), entry.directBody());
    }
    String clusterName = entry.cluster().apply(request::header);
    UpstreamCluster cluster = clusterName == null ? null : clusters.get(clusterName);
    if (cluster == null) {
      stats.inc(statPrefix + "no_cluster");
      return local(503, "");
    }
    String upstreamPath = path;
    if (entry.prefixRewrite() != null
        && entry.matchedPrefix() != null
        && path.startsWith(entry.matchedPrefix())) {
      upstreamPath = entry.prefixRewrite() + path.substring(entry.matchedPrefix().length());
    }
    return forward(request, method, upstreamPath, authority, entry, cluster);
  }

  private Attempt forward(
      Http1.Message request,
      String method,
      String path,
      String authority,
      RouteTable.RouteEntry entry,
      UpstreamCluster cluster)
      throws IOException {
    String cp = cluster.statPrefix();
    long deadline =
        entry.timeoutMs() > 0 ? System.nanoTime() + entry.timeoutMs() * 1_000_000L : Long.MAX_VALUE;
    List<Map.Entry<String, String>> headers = upstreamHeaders(request, entry, authority);
    byte[] head = head(method, path, headers, request.body());
    Attempt last = null;
    for (int attempt = 0; attempt <= entry.numRetries(); attempt++) {
      if (attempt > 0) {
        stats.inc(cp + "upstream_rq_retry");
      }
      Host host = cluster.choose();
      if (host == null) {
        stats.inc(cp + "upstream_cx_none_healthy");
        return local(503, "no healthy upstream");
      }
      stats.inc(cp + "upstream_rq_total");
      host.rqTotal.incrementAndGet();
      last = tryHost(host, cluster, head, request.body(), method, entry, deadline);
      if (last.response() != null) {
        int status = Http1.status(last.response());
        stats.inc(cp + "upstream_rq_" + (status / 100) + "xx");
        boolean retry = retryOnStatus(entry, status) && attempt < entry.numRetries();
        if (!retry) {
          (status >= 500 ? host.rqError : host.rqSuccess).incrementAndGet();
          return last;
        }
        host.rqError.incrementAndGet();
        continue;
      }
      host.rqError.incrementAndGet();
      if (!last.retriable() || System.nanoTime() >= deadline) {
        return last;
      }
    }
    return last;
  }

  private Attempt tryHost(
      Host host,
      UpstreamCluster cluster,
      byte[] head,
      byte[] body,
      String method,
      RouteTable.RouteEntry entry,
      long deadline) {
    String cp = cluster.statPrefix();
    for (int fresh = 0; fresh < 2; fresh++) {
      UpstreamPool.Conn conn;
      try {
        conn =
            fresh == 0
                ? pool.acquire(host, (int) cluster.connectTimeoutMs)
                : pool.connect(host, (int) cluster.connectTimeoutMs);
        if (!conn.reused) {
          stats.inc(cp + "upstream_cx_total");
        }
      } catch (IOException e) {
        host.cxConnectFail.incrementAndGet();
        stats.inc(cp + "upstream_cx_connect_fail");
        return new Attempt(
            null,
            503,
            CONNECT_FAILURE_BODY,
            retryOn(entry, "connect-failure", "5xx", "gateway-error", "reset"));
      }
      boolean gotBytes = false;
      try {
        long remainingMs =
            deadline == Long.MAX_VALUE
                ? 0
                : Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
        long perTry = entry.perTryTimeoutMs();
        long soTimeout =
            perTry > 0 ? (remainingMs == 0 ? perTry : Math.min(perTry, remainingMs)) : remainingMs;
        conn.socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, soTimeout));
        conn.out.write(head);
        conn.out.write(body);
        conn.out.flush();
        conn.in.mark(1);
        int first = conn.in.read();
        if (first < 0) {
          throw new java.io.EOFException("upstream closed");
        }
        gotBytes = true;
        conn.in.reset();
        Http1.Message response = Http1.readResponse(conn.in, method);
        String connHeader = response.header("connection");
        boolean keep = connHeader == null || !connHeader.toLowerCase(Locale.ROOT).contains("close");
        keep &=
            response.header("content-length") != null
                || response.header("transfer-encoding") != null
                || "HEAD".equals(method);
        if (keep) {
          pool.release(host, conn);
        } else {
          conn.close();
        }
        return new Attempt(response, 0, "", false);
      } catch (SocketTimeoutException e) {
        conn.close();
        stats.inc(cp + "upstream_rq_timeout");
        host.rqTimeout.incrementAndGet();
        boolean perTryExpired = entry.perTryTimeoutMs() > 0 && System.nanoTime() < deadline;
        return new Attempt(
            null,
            504,
            "upstream request timeout",
            perTryExpired && retryOn(entry, "5xx", "gateway-error", "reset"));
      } catch (IOException e) {
        conn.close();
        if (conn.reused && !gotBytes) {
          continue; // a stale pooled connection: try once more on a fresh one
        }
        return new Attempt(null, 503, RESET_BODY, retryOn(entry, "reset", "5xx"));
      }
    }
    return new Attempt(null, 503, RESET_BODY, false);
  }

  private static boolean retryOnStatus(RouteTable.RouteEntry entry, int status) {
    return status >= 500 && entry.retryOn().contains("5xx")
        || (status == 502 || status == 503 || status == 504)
            && entry.retryOn().contains("gateway-error");
  }

  private static boolean retryOn(RouteTable.RouteEntry entry, String... reasons) {
    for (String r : reasons) {
      if (entry.retryOn().contains(r)) {
        return true;
      }
    }
    return false;
  }

  private static List<Map.Entry<String, String>> upstreamHeaders(
      Http1.Message request, RouteTable.RouteEntry entry, String authority) {
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    boolean requestId = false;
    for (Map.Entry<String, String> h : request.headers()) {
      String n = h.getKey().toLowerCase(Locale.ROOT);
      if (Http1.HOP_BY_HOP.contains(n) || n.equals("content-length") || n.equals("host")) {
        continue;
      }
      requestId |= n.equals("x-request-id");
      headers.add(h);
    }
    headers.add(
        0,
        Map.entry(
            "host",
            entry.hostRewrite() != null
                ? entry.hostRewrite()
                : authority == null ? "" : authority));
    headers.add(Map.entry("x-forwarded-proto", "http"));
    if (!requestId) {
      headers.add(Map.entry("x-request-id", UUID.randomUUID().toString()));
    }
    if (entry.timeoutMs() > 0) {
      headers.add(Map.entry("x-envoy-expected-rq-timeout-ms", Long.toString(entry.timeoutMs())));
    }
    return headers;
  }

  private static byte[] head(
      String method, String path, List<Map.Entry<String, String>> headers, byte[] body) {
    StringBuilder sb =
        new StringBuilder(256).append(method).append(' ').append(path).append(" HTTP/1.1\r\n");
    for (Map.Entry<String, String> h : headers) {
      sb.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
    }
    boolean mayHaveBody = !method.equals("GET") && !method.equals("HEAD");
    if (body.length > 0 || mayHaveBody) {
      sb.append("content-length: ").append(body.length).append("\r\n");
    }
    return sb.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  private static Attempt local(int status, String body) {
    return new Attempt(null, status, body, false);
  }

  private static void respondLocal(
      OutputStream out, int status, String body, boolean close, long serviceMs) throws IOException {
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    if (!body.isEmpty()) {
      headers.add(Map.entry("content-type", "text/plain"));
    }
    headers.add(
        Map.entry(
            "date",
            DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC))));
    headers.add(Map.entry("server", "envoy"));
    if (close) {
      headers.add(Map.entry("connection", "close"));
    }
    Http1.write(
        out,
        "HTTP/1.1 " + status + " " + reason(status),
        headers,
        body.getBytes(StandardCharsets.UTF_8),
        true);
  }

  private static String reason(int status) {
    return switch (status) {
      case 200 -> "OK";
      case 301 -> "Moved Permanently";
      case 400 -> "Bad Request";
      case 404 -> "Not Found";
      case 503 -> "Service Unavailable";
      case 504 -> "Gateway Timeout";
      default -> "Unknown";
    };
  }

  /** The RDS subscription feeding this manager, or null for an inline route config. */
  RdsSubscription rds() {
    return owned instanceof RdsSubscription r ? r : null;
  }

  @Override
  public void close() {
    if (owned != null) {
      try {
        owned.close();
      } catch (Exception ignored) {
        // closing a file subscription cannot fail meaningfully
      }
    }
  }
}
