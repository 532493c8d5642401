package dev.envoyagent.controlplane;

import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.model.InvalidInputException;
import dev.envoyagent.model.RouteSnapshots;
import dev.envoyagent.routesfile.FileChangeHint;
import dev.envoyagent.routesfile.RoutesFileSource;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reference control plane as a process: {@link ControlPlaneCore} behind a Netty gRPC server
 * (TLS, mTLS or explicit plaintext), the routes file polled every second, and the fleet on an HTTP
 * port. One scheduler thread does all periodic work (routes, TLS files, stale hosts); one thread
 * fans snapshots out.
 */
public final class ControlPlaneServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ControlPlaneServer.class);
  private static final long TICK_MS = 1000;

  /**
   * Agents ping every 10 s (ChannelFactory); gRPC's default minimum of 5 minutes would answer that
   * with GOAWAY, so allow pings down to 5 s, also on idle connections.
   */
  static final long PERMIT_KEEPALIVE_MS = 5_000;

  static final long KEEPALIVE_MS = 30_000;
  static final long KEEPALIVE_TIMEOUT_MS = 10_000;

  /**
   * @param tls empty means plaintext, which the command allows only with --plaintext
   */
  public record Options(
      Path routesFile,
      InetSocketAddress listen,
      InetSocketAddress http,
      Optional<ReloadingTls.TlsFiles> tls,
      long heartbeatIntervalMs) {
    public Options {
      Objects.requireNonNull(routesFile, "routesFile");
      Objects.requireNonNull(listen, "listen");
      Objects.requireNonNull(http, "http");
      Objects.requireNonNull(tls, "tls");
    }
  }

  private final ControlPlaneCore core;
  private final Server grpc;
  private final FleetHttpServer http;
  private final ScheduledExecutorService tick;
  private final ExecutorService push;
  private final FileChangeHint hint;
  private final AtomicBoolean closed = new AtomicBoolean();

  private ControlPlaneServer(
      ControlPlaneCore core,
      Server grpc,
      FleetHttpServer http,
      ScheduledExecutorService tick,
      ExecutorService push,
      FileChangeHint hint) {
    this.core = core;
    this.grpc = grpc;
    this.http = http;
    this.tick = tick;
    this.push = push;
    this.hint = hint;
  }

  /**
   * Loads the routes and TLS files (refusing to start when they do not load), binds both ports and
   * starts polling.
   */
  public static ControlPlaneServer start(Options options)
      throws InvalidInputException, IOException, GeneralSecurityException {
    RouteSnapshot routes = RouteSnapshots.load(options.routesFile());
    Optional<ReloadingTls> tls =
        options.tls().isPresent()
            ? Optional.of(ReloadingTls.load(options.tls().get()))
            : Optional.empty();
    ExecutorService push = Executors.newSingleThreadExecutor(daemon("control-plane-push"));
    ScheduledExecutorService tick =
        Executors.newSingleThreadScheduledExecutor(daemon("control-plane-tick"));
    // Silent hosts leave the fleet view after an hour, or 10 stale periods for long intervals.
    long forgetAfterMs =
        Math.max(3_600_000, 10 * Registrations.staleAfterMs(options.heartbeatIntervalMs()));
    ControlPlaneCore core =
        ControlPlaneCore.create(
            routes,
            new ControlPlaneCore.Options(
                options.heartbeatIntervalMs(), forgetAfterMs, Clock.systemUTC(), push));
    Server grpc = null;
    FleetHttpServer http = null;
    try {
      ServerCredentials credentials =
          tls.map(ReloadingTls::credentials).orElse(InsecureServerCredentials.create());
      NettyServerBuilder builder =
          NettyServerBuilder.forAddress(options.listen(), credentials)
              .keepAliveTime(KEEPALIVE_MS, TimeUnit.MILLISECONDS)
              .keepAliveTimeout(KEEPALIVE_TIMEOUT_MS, TimeUnit.MILLISECONDS)
              .permitKeepAliveTime(PERMIT_KEEPALIVE_MS, TimeUnit.MILLISECONDS)
              .permitKeepAliveWithoutCalls(true);
      core.services().forEach(builder::addService);
      grpc = builder.build().start();
      http = FleetHttpServer.start(options.http(), core);
    } catch (IOException | RuntimeException e) {
      if (grpc != null) {
        grpc.shutdownNow();
      }
      tick.shutdownNow();
      push.shutdownNow();
      throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
    }
    RoutesFileSource source =
        new RoutesFileSource(
            options.routesFile(),
            snapshot -> replace(core, snapshot),
            error -> {
              /* RoutesFileSource has logged it; the previous routes keep serving */
            });
    FileChangeHint hint =
        FileChangeHint.start(options.routesFile(), () -> tick.execute(source::poll));
    tick.scheduleWithFixedDelay(
        () -> periodic(source, tls, core), TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    ControlPlaneServer server = new ControlPlaneServer(core, grpc, http, tick, push, hint);
    LOG.info(
        "control plane serving grpc={} http={} tls={} mtls={} version={} heartbeat_interval_ms={}",
        HostPort.format(new InetSocketAddress(options.listen().getAddress(), server.grpcPort())),
        HostPort.format(new InetSocketAddress(options.http().getAddress(), server.httpPort())),
        tls.isPresent(),
        options.tls().flatMap(ReloadingTls.TlsFiles::clientCa).isPresent(),
        core.current().getVersion(),
        options.heartbeatIntervalMs());
    return server;
  }

  private static void replace(ControlPlaneCore core, RouteSnapshot snapshot) {
    try {
      core.replaceRoutes(snapshot);
    } catch (InvalidInputException e) {
      // RoutesFileSource already validated it; the store validates again, defensively.
      LOG.warn("routes refused version={} reason=\"{}\"", snapshot.getVersion(), e.getMessage());
    }
  }

  private static void periodic(
      RoutesFileSource source, Optional<ReloadingTls> tls, ControlPlaneCore core) {
    // A throw would cancel the schedule for good: every step reports its own failures and goes on.
    try {
      source.poll();
      tls.ifPresent(ReloadingTls::reloadIfChanged);
      core.refresh();
    } catch (RuntimeException e) {
      LOG.error("control plane tick failed", e);
    }
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread thread = new Thread(r, name);
      thread.setDaemon(true);
      return thread;
    };
  }

  public int grpcPort() {
    return grpc.getPort();
  }

  public int httpPort() {
    return http.port();
  }

  public ControlPlaneCore core() {
    return core;
  }

  /** Blocks until {@link #close()} has stopped the gRPC server. */
  public void awaitTermination() throws InterruptedException {
    grpc.awaitTermination();
  }

  /**
   * Ends the streams (agents reconnect elsewhere), stops both ports and the threads; idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    LOG.info("control plane stopping streams={}", core.routeDiscovery().openStreams());
    tick.shutdownNow();
    try {
      hint.close();
    } catch (IOException e) {
      LOG.debug("file watch close failed reason={}", e.toString());
    }
    core.close();
    http.close();
    grpc.shutdown();
    try {
      if (!grpc.awaitTermination(5, TimeUnit.SECONDS)) {
        grpc.shutdownNow();
      }
    } catch (InterruptedException e) {
      grpc.shutdownNow();
      Thread.currentThread().interrupt();
    }
    push.shutdownNow();
  }
}
