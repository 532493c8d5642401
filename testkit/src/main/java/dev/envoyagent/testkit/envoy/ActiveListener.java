package dev.envoyagent.testkit.envoy;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bound listener: accepts on its socket and hands each connection to the current network handler.
 */
final class ActiveListener {
  final String name;
  final InetSocketAddress address;
  final Stats stats;
  final Log log;
  volatile Listener proto;
  volatile String versionInfo;
  volatile Instant lastUpdated;
  volatile boolean dynamic;
  private volatile NetworkHandler handler;
  private volatile ServerSocketChannel channel;
  private final Set<DownstreamConnection> connections = ConcurrentHashMap.newKeySet();
  private final AtomicLong active;
  private volatile long drainStartNanos = -1;
  private volatile long drainTimeNanos;
  private volatile boolean drainImmediate;
  private Thread acceptor;

  ActiveListener(
      Listener proto,
      InetSocketAddress address,
      NetworkHandler handler,
      String versionInfo,
      boolean dynamic,
      Stats stats,
      Log log) {
    this.name = proto.getName();
    this.proto = proto;
    this.address = address;
    this.handler = handler;
    this.versionInfo = versionInfo;
    this.dynamic = dynamic;
    this.lastUpdated = Instant.now();
    this.stats = stats;
    this.log = log;
    this.active = stats.gauge(statPrefix() + "downstream_cx_active");
    stats.declare(statPrefix(), "downstream_cx_total");
  }

  /** Envoy names listener stats after the address: {@code listener.127.0.0.1_10000.}. */
  String statPrefix() {
    return "listener." + address.getAddress().getHostAddress() + "_" + address.getPort() + ".";
  }

  String addressKey() {
    return address.getAddress().getHostAddress() + ":" + address.getPort();
  }

  ServerSocketChannel channel() {
    return channel;
  }

  void useChannel(ServerSocketChannel ch) {
    this.channel = ch;
  }

  /** Swaps the filter chain (LDS update, same address): new connections get the new config. */
  NetworkHandler replaceHandler(Listener newProto, NetworkHandler newHandler, String version) {
    NetworkHandler old = handler;
    proto = newProto;
    handler = newHandler;
    versionInfo = version;
    lastUpdated = Instant.now();
    return old;
  }

  NetworkHandler handler() {
    return handler;
  }

  synchronized void startAccepting() {
    if (acceptor != null || channel == null) {
      return;
    }
    acceptor = new Thread(this::acceptLoop, "listener-" + addressKey());
    acceptor.setDaemon(true);
    acceptor.start();
  }

  private void acceptLoop() {
    ServerSocketChannel ch = channel;
    while (ch.isOpen()) {
      SocketChannel sc;
      try {
        sc = ch.accept();
      } catch (ClosedChannelException e) {
        return;
      } catch (IOException e) {
        if (!ch.isOpen()) {
          return;
        }
        log.warn("listener", "accept on " + addressKey() + " failed: " + e);
        continue;
      }
      serve(sc.socket());
    }
  }

  private void serve(Socket socket) {
    DownstreamConnection c = new DownstreamConnection(socket, this);
    NetworkHandler h = handler;
    connections.add(c);
    active.incrementAndGet();
    stats.inc(statPrefix() + "downstream_cx_total");
    Thread t =
        new Thread(
            () -> {
              try {
                socket.setTcpNoDelay(true);
                h.handle(c);
              } catch (IOException | RuntimeException e) {
                log.debug("conn", "connection on " + addressKey() + " ended: " + e);
              } finally {
                c.close();
                connections.remove(c);
                active.decrementAndGet();
              }
            },
            "cx-" + addressKey());
    t.setDaemon(true);
    t.start();
  }

  /** Stops accepting. The kernel socket lives on if another epoch holds it too. */
  synchronized void stopAccepting() {
    ServerSocketChannel ch = channel;
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException e) {
        log.warn("listener", "closing " + addressKey() + ": " + e);
      }
    }
  }

  void startDrain(long drainTimeMs, boolean immediate) {
    if (drainStartNanos < 0) {
      drainTimeNanos = drainTimeMs * 1_000_000L;
      drainImmediate = immediate;
      drainStartNanos = System.nanoTime();
    }
  }

  boolean draining() {
    return drainStartNanos >= 0;
  }

  /**
   * Whether the response being sent should close its connection. Gradual drain ramps the
   * probability from 0 to 1 over the drain time (Envoy's default); immediate closes all.
   */
  boolean drainClose() {
    long start = drainStartNanos;
    if (start < 0) {
      return false;
    }
    if (drainImmediate || drainTimeNanos <= 0) {
      return true;
    }
    double elapsed = (System.nanoTime() - start) / (double) drainTimeNanos;
    return elapsed >= 1 || ThreadLocalRandom.current().nextDouble() < elapsed;
  }

  /** End of the drain window: connections waiting for their next request are closed. */
  void closeIdleConnections() {
    for (DownstreamConnection c : connections) {
      if (c.idle()) {
        c.close();
      }
    }
  }

  int connectionCount() {
    return connections.size();
  }

  void closeAll() {
    stopAccepting();
    for (DownstreamConnection c : connections) {
      c.close();
    }
    handler.close();
  }
}
