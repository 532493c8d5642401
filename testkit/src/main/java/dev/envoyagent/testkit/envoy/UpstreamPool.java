package dev.envoyagent.testkit.envoy;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * Keep-alive HTTP/1.1 connections to upstream hosts, shared by all listeners (Envoy pools per host
 * too).
 */
final class UpstreamPool {
  private static final int MAX_IDLE_PER_HOST = 64;

  /** One upstream connection with buffered streams. */
  static final class Conn {
    final Socket socket;
    final InputStream in;
    final OutputStream out;
    final boolean reused;

    Conn(Socket socket, boolean reused) throws IOException {
      this.socket = socket;
      this.in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
      this.out = new BufferedOutputStream(socket.getOutputStream(), 16 * 1024);
      this.reused = reused;
    }

    private Conn(Conn other) {
      this.socket = other.socket;
      this.in = other.in;
      this.out = other.out;
      this.reused = true;
    }

    void close() {
      try {
        socket.close();
      } catch (IOException ignored) {
        // best effort
      }
    }
  }

  private final Map<String, ConcurrentLinkedDeque<Conn>> idle = new ConcurrentHashMap<>();

  /** A pooled connection if one is idle, else a fresh one (connect timeout applies). */
  Conn acquire(Host host, int connectTimeoutMs) throws IOException {
    ConcurrentLinkedDeque<Conn> q = idle.get(host.key());
    if (q != null) {
      Conn c;
      while ((c = q.pollFirst()) != null) {
        if (!c.socket.isClosed()) {
          return new Conn(c);
        }
      }
    }
    return connect(host, connectTimeoutMs);
  }

  Conn connect(Host host, int connectTimeoutMs) throws IOException {
    Socket s = new Socket();
    try {
      s.connect(host.address, Math.max(1, connectTimeoutMs));
      s.setTcpNoDelay(true);
    } catch (IOException e) {
      s.close();
      throw e;
    }
    host.cxTotal.incrementAndGet();
    return new Conn(s, false);
  }

  void release(Host host, Conn c) {
    ConcurrentLinkedDeque<Conn> q =
        idle.computeIfAbsent(host.key(), k -> new ConcurrentLinkedDeque<>());
    if (q.size() >= MAX_IDLE_PER_HOST) {
      c.close();
    } else {
      q.addFirst(c);
    }
  }

  void closeAll() {
    idle.values().forEach(q -> q.forEach(Conn::close));
    idle.clear();
  }
}
